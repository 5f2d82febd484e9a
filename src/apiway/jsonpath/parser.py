"""Parsing a path expression into a `CompiledPath`: `compile_path` (cached by expression text, since templates
pass literal strings) and `evaluate` for a one-off evaluation."""

from __future__ import annotations

import re
from typing import Any

from apiway.jsonpath.errors import JsonPathError
from apiway.jsonpath.filters import FilterParser
from apiway.jsonpath.functions import FUNCTIONS
from apiway.jsonpath.lexing import closing_bracket, skip_quoted, unescape
from apiway.jsonpath.path import SCAN, WILDCARD, CompiledPath, Filter, Function, Index, Property, Slice, Token

_INDEX = re.compile(r"\s*-?\d+\s*")


class _PathParser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        text = expression.strip()
        if not text:
            raise JsonPathError("Path must not be empty")
        if text[0] not in "$@":
            text = "$." + text  # Jayway reads `a.b` as `$.a.b`
        if text.endswith("."):
            raise JsonPathError(f"Path must not end with a '.' or '..': {expression!r}")
        self.text = text
        self.pos = 1

    def fail(self, message: str) -> JsonPathError:
        return JsonPathError(f"{message} at position {self.pos} in {self.expression!r}")

    def parse(self) -> CompiledPath:
        text = self.text
        n = len(text)
        raw: list[tuple[str, Any]] = []
        while self.pos < n:
            c = text[self.pos]
            if c == ".":
                if text.startswith("..", self.pos):
                    raw.append(("scan", None))
                    self.pos += 2
                    if self.pos >= n or text[self.pos] == ".":
                        raise self.fail("Deep scan must be followed by a name, '*' or '['")
                else:
                    self.pos += 1
                    if self.pos >= n or text[self.pos] == ".":
                        raise self.fail("Unexpected '.'")
                if text[self.pos] == "[":
                    continue
                raw.append(self.read_dot_token())
            elif c == "[":
                raw.append(self.read_bracket())
            else:
                raise self.fail(f"Unexpected character {c!r}")
        tokens: list[Token] = []
        last = len(raw) - 1
        for k, (kind, value) in enumerate(raw):
            if kind == "property":
                tokens.append(Property(value, k == last))
            elif kind == "function":
                if k != last:
                    raise JsonPathError(f"A function must end the path: {self.expression!r}")
                if k > 0 and raw[k - 1][0] == "scan":
                    raise JsonPathError(f"A deep scan must not be followed by a function: {self.expression!r}")
                tokens.append(Function(value))
            elif kind == "scan":
                tokens.append(SCAN)
            else:
                tokens.append(value)
        return CompiledPath(self.expression, text[0], tuple(tokens))

    def read_dot_token(self) -> tuple[str, Any]:
        text = self.text
        if text[self.pos] == "*":
            self.pos += 1
            return ("token", WILDCARD)
        start = self.pos
        n = len(text)
        while self.pos < n and text[self.pos] not in ".[(":
            if text[self.pos].isspace():
                raise self.fail("Use bracket notation ['my prop'] for names with blanks")
            self.pos += 1
        name = text[start : self.pos]
        if not name:
            raise self.fail("Empty property name")
        if self.pos < n and text[self.pos] == "(":
            close = text.find(")", self.pos)
            if close < 0 or text[self.pos + 1 : close].strip():
                raise self.fail(f"Unsupported function call {name}(...)")
            if name not in FUNCTIONS:
                raise self.fail(f"Function with name {name!r} does not exist")
            self.pos = close + 1
            return ("function", name)
        return ("property", (name,))

    def skip_blanks(self) -> None:
        text = self.text
        while self.pos < len(text) and text[self.pos].isspace():
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_blanks()
        if self.pos >= len(self.text) or self.text[self.pos] != char:
            raise self.fail(f"Expected {char!r}")
        self.pos += 1

    def read_bracket(self) -> tuple[str, Any]:
        text = self.text
        self.pos += 1
        self.skip_blanks()
        if self.pos >= len(text):
            raise self.fail("Unterminated '['")
        c = text[self.pos]
        if c == "?":
            self.pos += 1
            if not text.startswith("(", self.pos):
                raise self.fail("Expected '(' after '?'")
            close = closing_bracket(text, self.pos, "(", ")", regex=True)
            parser = FilterParser(text[self.pos + 1 : close], self.expression, compile_path)
            accept = parser.parse()
            self.pos = close + 1
            self.expect("]")
            return ("token", Filter(accept, parser.depth))
        if c == "*":
            self.pos += 1
            self.expect("]")
            return ("token", WILDCARD)
        if c in "'\"":
            names = []
            while True:
                self.skip_blanks()
                if self.pos >= len(text) or text[self.pos] not in "'\"":
                    raise self.fail("Expected a quoted name")
                end = skip_quoted(text, self.pos)
                names.append(unescape(text[self.pos + 1 : end - 1]))
                self.pos = end
                self.skip_blanks()
                if text.startswith(",", self.pos):
                    self.pos += 1
                    continue
                self.expect("]")
                return ("property", tuple(names))
        close = text.find("]", self.pos)
        if close < 0:
            raise self.fail("Unterminated '['")
        content = text[self.pos : close]
        self.pos = close + 1
        if ":" in content:
            if any(not (ch.isdigit() or ch in "-:" or ch.isspace()) for ch in content):
                raise self.fail(f"Invalid slice [{content}]")
            parts = content.split(":")
            start = self._slice_bound(parts[0])
            stop = self._slice_bound(parts[1])
            if start is None and stop is None:
                raise self.fail(f"Invalid slice [{content}]")
            return ("token", Slice(start, stop))
        parts = content.split(",")
        if not all(_INDEX.fullmatch(part) for part in parts):
            raise self.fail(f"Invalid array index [{content}]")
        # strip(), not int()'s own trimming: `\s` also matches \x1c-\x1f, which int() refuses.
        return ("token", Index(tuple(int(part.strip()) for part in parts)))

    def _slice_bound(self, part: str) -> int | None:
        part = part.strip()
        if not part:
            return None
        if not _INDEX.fullmatch(part):
            raise self.fail(f"Invalid slice bound {part!r}")
        return int(part)


_CACHE: dict[str, CompiledPath] = {}
_CACHE_LIMIT = 4096


def compile_path(expression: str) -> CompiledPath:
    """Parse `expression` (cached). Raises JsonPathError when it is not valid JSONPath."""
    compiled = _CACHE.get(expression)
    if compiled is None:
        if not isinstance(expression, str):
            raise JsonPathError("JSONPath expression must be a string")
        try:
            compiled = _PathParser(expression).parse()
        except RecursionError:  # filters nested in parentheses or in filters: the parsers recurse per level
            raise JsonPathError(f"Path nested too deeply: {expression[:80]!r}") from None
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[expression] = compiled
    return compiled


def evaluate(expression: str, document: Any) -> Any:
    """Evaluate `expression` on `document` (plain JSON values): the value, or None when absent, for a definite path;
    a list of matches for an indefinite one."""
    return compile_path(expression).evaluate(document)

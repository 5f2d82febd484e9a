"""The filter parser: the text between `[?(` and `)]` becomes a predicate on (item, document) built from
relations over path and literal operands, `&&`, `||`, `!` and parentheses."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from apiway.jsonpath.errors import MISSING, JsonPathError
from apiway.jsonpath.lexing import closing_bracket, skip_quoted, skip_regex, unescape
from apiway.jsonpath.path import CompiledPath
from apiway.jsonpath.relations import BOOL, JSON, NULL, NUM, PATTERN, STR, Node, relation, to_node
from apiway.patterns import Pattern

_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_]+")

# Filters in the paths a filter tests, in filters … : Jayway sets no bound, but evaluation recurses per level, and
# compiled paths are cached, so without one a path could be built up level by level past the stack.
MAX_FILTER_DEPTH = 32

_Operand = Callable[[Any, Any], Node]
_Predicate = Callable[[Any, Any], bool]

_SYMBOL_OPERATORS = ("===", "!==", "==", "!=", "<=", ">=", "=~", "<", ">")
_WORD_OPERATORS = frozenset({"in", "nin", "subsetof", "anyof", "noneof", "contains", "all", "size", "empty"})
_PATH_STOP = frozenset(" \t\r\n<>=~!&|,")
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def _permissive_json(text: str) -> Any:
    """A JSON literal in a filter, where strings may use single quotes (`['a','b']`)."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            end = skip_quoted(text, i)
            out.append(orjson.dumps(unescape(text[i + 1 : end - 1])).decode())
            i = end
        else:
            out.append(c)
            i += 1
    return orjson.loads("".join(out))


class FilterParser:
    """Recursive descent over the text between `[?(` and `)]`.

    Paths hold filters and filters hold paths: the path parser hands in `compile_path` for the path operands, so this
    module needs only the compiled form and the parser module imports this one, not the other way round."""

    def __init__(self, text: str, expression: str, compile_path: Callable[[str], CompiledPath]) -> None:
        self.text = text
        self.expression = expression
        self.compile_path = compile_path
        self.pos = 0
        self.depth = 1  # this filter's nesting: one more than the deepest filter in its path operands

    def fail(self, message: str) -> JsonPathError:
        return JsonPathError(f"{message} in filter [?({self.text})] of {self.expression!r}")

    def skip_blanks(self) -> None:
        text = self.text
        while self.pos < len(text) and text[self.pos].isspace():
            self.pos += 1

    def at(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def parse(self) -> _Predicate:
        predicate = self.parse_or()
        self.skip_blanks()
        if self.pos != len(self.text):
            raise self.fail(f"Unexpected {self.text[self.pos :]!r}")
        return predicate

    def _chain(self, operator: str, operand: Callable[[], _Predicate], combine: Callable[..., bool]) -> _Predicate:
        """`operand (operator operand)*`, combined with `any` or `all`."""
        terms = [operand()]
        while True:
            self.skip_blanks()
            if not self.at(operator):
                break
            self.pos += len(operator)
            terms.append(operand())
        if len(terms) == 1:
            return terms[0]
        return lambda item, root: combine(term(item, root) for term in terms)

    def parse_or(self) -> _Predicate:
        return self._chain("||", self.parse_and, any)

    def parse_and(self) -> _Predicate:
        return self._chain("&&", self.parse_unary, all)

    def parse_unary(self) -> _Predicate:
        self.skip_blanks()
        if self.at("!") and not self.at("!="):
            self.pos += 1
            self.skip_blanks()
            if self.at("@") or self.at("$"):
                path = self.read_path()
                return lambda item, root: not self._exists(path, item, root)
            inner = self.parse_unary()
            return lambda item, root: not inner(item, root)
        if self.at("("):
            self.pos += 1
            inner = self.parse_or()
            self.skip_blanks()
            if not self.at(")"):
                raise self.fail("Expected ')'")
            self.pos += 1
            return inner
        return self.parse_relation()

    @staticmethod
    def _exists(path: CompiledPath, item: Any, root: Any) -> bool:
        return path.exists(root if path.root == "$" else item, root)

    def parse_relation(self) -> _Predicate:
        self.skip_blanks()
        if self.at("@") or self.at("$"):
            path = self.read_path()
            self.skip_blanks()
            if self.pos == len(self.text) or self.at(")") or self.at("&&") or self.at("||"):
                return lambda item, root: self._exists(path, item, root)
            left = self.path_operand(path)
        else:
            literal = self.read_literal()
            self.skip_blanks()
            if self.pos == len(self.text) or self.at(")") or self.at("&&") or self.at("||"):
                if literal[0] == BOOL:
                    constant = bool(literal[1])
                    return lambda item, root: constant
                raise self.fail("Expected a relational operator")
            left = self.literal_operand(literal)
        op = self.read_operator()
        self.skip_blanks()
        if self.at("@") or self.at("$"):
            right = self.path_operand(self.read_path())
        else:
            right = self.literal_operand(self.read_literal())

        def test(item: Any, root: Any) -> bool:
            return relation(op, left(item, root), right(item, root))

        return test

    @staticmethod
    def path_operand(path: CompiledPath) -> _Operand:
        if path.root == "$":
            return lambda item, root: to_node(path.evaluate(root, MISSING, root))
        return lambda item, root: to_node(path.evaluate(item, MISSING, root))

    @staticmethod
    def literal_operand(literal: Node) -> _Operand:
        return lambda item, root: literal

    def read_operator(self) -> str:
        for symbol in _SYMBOL_OPERATORS:
            if self.at(symbol):
                self.pos += len(symbol)
                return symbol
        match = _WORD.match(self.text, self.pos)
        if match and match.group().lower() in _WORD_OPERATORS:
            self.pos = match.end()
            return match.group().lower()
        raise self.fail("Expected a relational operator")

    def read_path(self) -> CompiledPath:
        """A path operand ends at a blank, an operator character or a `)` that closes no function call."""
        text = self.text
        start = self.pos
        self.pos += 1
        depth = 0
        while self.pos < len(text):
            c = text[self.pos]
            if c == "[":
                self.pos = closing_bracket(text, self.pos, "[", "]", regex=False) + 1
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and c in _PATH_STOP:
                break
            self.pos += 1
        path = self.compile_path(text[start : self.pos])
        if path.depth >= MAX_FILTER_DEPTH:
            raise self.fail(f"Filters nested more than {MAX_FILTER_DEPTH} deep")
        self.depth = max(self.depth, path.depth + 1)
        return path

    def read_literal(self) -> Node:
        text = self.text
        if self.pos >= len(text):
            raise self.fail("Expected a value")
        c = text[self.pos]
        if c in "'\"":
            end = skip_quoted(text, self.pos)
            value = unescape(text[self.pos + 1 : end - 1])
            self.pos = end
            return (STR, value)
        if c == "/":
            end = skip_regex(text, self.pos)
            source = text[self.pos + 1 : end - 1]
            self.pos = end
            flags = 0
            while self.pos < len(text) and text[self.pos].isalpha():
                flags |= _REGEX_FLAGS.get(text[self.pos], 0)
                self.pos += 1
            try:
                return (PATTERN, Pattern(source, flags))  # its matches raise TimeoutError past the bound
            except re.error as exc:
                raise self.fail(f"Invalid regular expression /{source}/: {exc}") from None
        if c in "[{":
            end = closing_bracket(text, self.pos, c, "]" if c == "[" else "}", regex=False) + 1
            literal = text[self.pos : end]
            self.pos = end
            try:
                return (JSON, _permissive_json(literal))
            except orjson.JSONDecodeError:
                raise self.fail(f"Invalid JSON literal {literal}") from None
        match = _NUMBER.match(text, self.pos)
        if match:
            self.pos = match.end()
            try:
                return (NUM, Decimal(match.group()))
            except InvalidOperation:  # pragma: no cover - the pattern only admits valid numbers
                raise self.fail(f"Invalid number {match.group()}") from None
        match = _WORD.match(text, self.pos)
        if match and match.group() in ("true", "false", "null"):
            self.pos = match.end()
            word = match.group()
            return (NULL, None) if word == "null" else (BOOL, word == "true")
        raise self.fail(f"Unexpected {text[self.pos :]!r}")

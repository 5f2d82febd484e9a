"""JSONPath as API Gateway evaluates it in mapping templates (`$input.json(...)`, `$input.path(...)`).

API Gateway uses Jayway JsonPath, so this module follows Jayway's semantics rather than Goessner's original:

* A *definite* path (only single names and single indexes, e.g. `$.a.b[0]`) yields one value; an *indefinite* path
  (wildcard, deep scan, filter, slice, several indexes, several names before the last step) yields a list.
* A definite path that finds nothing has no result (`evaluate` returns None). So does an indefinite path whose
  definite prefix fails: Jayway's default options throw "missing property" for `$.absent[*]`, while `$.a[*].absent`
  merely skips the elements without the property.
* Several names in the last step (`$['a','b']`) merge into one object holding the names that exist (definite).
* Filters `[?(...)]` support `==` `!=` `===` `!==` `<` `<=` `>` `>=` `=~ /re/flags` `in` `nin` `subsetof` `anyof`
  `noneof` `contains` `all` `size` `empty`, `&&` `||` `!` and parentheses; `@` is the current item and `$` the
  whole document.
* The functions `length()`, `size()`, `keys()`, `first()`, `last()`, `min()`, `max()`, `avg()`, `sum()` and
  `stddev()` may end a path.

Compiled paths are cached by expression text, since templates pass literal strings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

__all__ = ["MISSING", "CompiledPath", "JsonPathError", "compile_path", "evaluate"]


class JsonPathError(ValueError):
    """The expression is not valid JSONPath."""


class _MissingType:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _MissingType()
"""Passed as `missing=` to `CompiledPath.evaluate` to tell "no result" apart from a JSON null."""


class _NotFound(Exception):
    """Jayway's PathNotFoundException: aborts the whole evaluation."""


# --------------------------------------------------------------------------------------------------------------------
# Path tokens. Each `apply` evaluates the token at position `i` of `tokens` against `model` and hands every selected
# value to `_step` for the rest of the path; `path` carries the per-position definiteness flags.


class _Token:
    __slots__ = ()
    definite = True

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        raise NotImplementedError

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        """Whether a deep scan (`..`) evaluates this token at `model` (Jayway's scan predicates)."""
        return False


def _step(path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
    tokens = path.tokens
    if i == len(tokens):
        out.append(model)
    else:
        tokens[i].apply(path, i, model, root, out, require)


class _Property(_Token):
    __slots__ = ("definite", "names")

    def __init__(self, names: tuple[str, ...], leaf: bool) -> None:
        self.names = names
        # Several names in the last step merge into one map, which Jayway counts as definite.
        self.definite = len(names) == 1 or leaf

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        if not isinstance(model, dict):
            if path.upstream_definite[i]:
                raise _NotFound
            return
        names = self.names
        leaf = i == len(path.tokens) - 1
        if len(names) > 1 and leaf:
            merged = {}
            for name in names:
                if name in model:
                    merged[name] = model[name]
                elif require:
                    raise _NotFound
            out.append(merged)
            return
        for name in names:
            if name in model:
                _step(path, i + 1, model[name], root, out, require)
            elif require or (not leaf and path.upstream_definite[i] and self.definite):
                raise _NotFound

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        # A definite property step matches only the objects holding all its names.
        if not isinstance(model, dict):
            return False
        return not self.definite or all(name in model for name in self.names)


class _Index(_Token):
    __slots__ = ("definite", "indexes")

    def __init__(self, indexes: tuple[int, ...]) -> None:
        self.indexes = indexes
        self.definite = len(indexes) == 1

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        if not isinstance(model, list):
            if path.upstream_definite[i]:
                raise _NotFound
            return
        size = len(model)
        for index in self.indexes:
            if index < 0:
                index += size
            if 0 <= index < size:
                _step(path, i + 1, model[index], root, out, require)

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        return isinstance(model, list)


class _Slice(_Token):
    __slots__ = ("start", "stop")
    definite = False

    def __init__(self, start: int | None, stop: int | None) -> None:
        self.start = start
        self.stop = stop

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        if not isinstance(model, list):
            if path.upstream_definite[i]:
                raise _NotFound
            return
        size = len(model)
        start, stop = self.start, self.stop
        # Jayway's three slice forms, including its handling of negative bounds.
        if stop is None:  # [from:]
            assert start is not None
            begin = max(0, start + size if start < 0 else start)
            indexes = range(begin, size)
        elif start is None:  # [:to]
            indexes = range(min(size, stop + size if stop < 0 else stop))
        else:  # [from:to]
            indexes = range(start, min(size, stop))
        for index in indexes:
            if index < 0:
                index += size
            if 0 <= index < size:
                _step(path, i + 1, model[index], root, out, require)

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        return isinstance(model, list)


class _Wildcard(_Token):
    __slots__ = ()
    definite = False

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        if isinstance(model, dict):
            values: Any = list(model.values())
        elif isinstance(model, list):
            values = model
        else:
            return
        for value in values:
            _step(path, i + 1, value, root, out, require)

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        return True


class _Filter(_Token):
    __slots__ = ("accept",)
    definite = False

    def __init__(self, accept: Callable[[Any, Any], bool]) -> None:
        self.accept = accept

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        accept = self.accept
        if isinstance(model, dict):
            if accept(model, root):
                _step(path, i + 1, model, root, out, require)
        elif isinstance(model, list):
            for item in model:
                if accept(item, root):
                    _step(path, i + 1, item, root, out, require)
        elif path.upstream_definite[i]:
            raise _NotFound

    def scan_match(self, model: Any, root: Any, require: bool) -> bool:
        return self.accept(model, root)


class _Scan(_Token):
    """`..`: visits the model and everything below it, depth first, and evaluates the next token where that token's
    scan predicate matches (Jayway's ScanPathToken walk). On a matching array Jayway 2.x evaluates the rest of the
    path on every element and then filters by index in a roundabout way; evaluating the next token on the array
    gives the same results for `..[*]`, `..[n].name` and `..[?(...)]`."""

    __slots__ = ()
    definite = False

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        j = i + 1
        target = path.tokens[j]
        stack = [iter((model,))]
        while stack:
            node = next(stack[-1], MISSING)
            if node is MISSING:
                stack.pop()
                continue
            if isinstance(node, dict):
                children: Any = list(node.values())
            elif isinstance(node, list):
                children = node
            else:
                continue
            if target.scan_match(node, root, require):
                target.apply(path, j, node, root, out, require)
            stack.append(iter(children))


def _numbers(values: Any) -> list[float]:
    if not isinstance(values, list):
        return []
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def _aggregate(name: str, numbers: list[float]) -> Any:
    if not numbers:
        raise _NotFound  # Jayway: "Aggregation function attempted to calculate value using empty array"
    if name == "min":
        return min(numbers)
    if name == "max":
        return max(numbers)
    total = math.fsum(numbers)
    if name == "sum":
        return total
    mean = total / len(numbers)
    if name == "avg":
        return mean
    square_mean = math.fsum(n * n for n in numbers) / len(numbers)
    return math.sqrt(max(0.0, square_mean - mean * mean))  # stddev (population)


_AGGREGATES = frozenset({"min", "max", "avg", "sum", "stddev"})
_FUNCTIONS = frozenset({"length", "size", "keys", "first", "last"}) | _AGGREGATES


def _apply_function(name: str, model: Any) -> Any:
    if name in ("length", "size"):
        return len(model) if isinstance(model, list | dict) else None
    if name == "keys":
        return list(model) if isinstance(model, dict) else None
    if name == "first":
        return model[0] if isinstance(model, list) and model else None
    if name == "last":
        return model[-1] if isinstance(model, list) and model else None
    return _aggregate(name, _numbers(model))


class _Function(_Token):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def apply(self, path: CompiledPath, i: int, model: Any, root: Any, out: list[Any], require: bool) -> None:
        out.append(_apply_function(self.name, model))


_WILDCARD = _Wildcard()
_SCAN = _Scan()


# --------------------------------------------------------------------------------------------------------------------
# Compiled paths


class CompiledPath:
    """One parsed JSONPath expression; immutable and shareable."""

    __slots__ = ("_scan_function", "definite", "expression", "root", "tokens", "upstream_definite")

    def __init__(self, expression: str, root: str, tokens: tuple[_Token, ...]) -> None:
        self.expression = expression
        self.root = root  # "$" (document) or "@" (current filter item)
        self.tokens = tokens
        flags = []
        definite = True
        for token in tokens:
            flags.append(definite)
            definite = definite and token.definite
        self.upstream_definite = tuple(flags)
        self._scan_function: tuple[str, CompiledPath, CompiledPath] | None = None
        if len(tokens) > 2 and tokens[0] is _SCAN and isinstance(tokens[-1], _Function):
            # Jayway turns `$..x.fn()` into `$.fn($..x)`: the function sees all the scan's results at once.
            # `length()` then counts the children of the matches (it appends a wildcard to its parameter path).
            parameter = CompiledPath(expression, root, tokens[:-1])
            children = CompiledPath(expression, root, (*tokens[:-1], _WILDCARD))
            self._scan_function = (tokens[-1].name, parameter, children)  # type: ignore[attr-defined]
            definite = True
        self.definite = definite

    def __repr__(self) -> str:
        return f"CompiledPath({self.expression!r})"

    def evaluate(self, document: Any, missing: Any = None, root: Any = MISSING) -> Any:
        """The value of a definite path (`missing` when there is none) or the list of matches of an indefinite one
        (`missing` when the evaluation fails as a whole). `root` is what `$` means inside filters (the document
        unless this is a filter's `@` path)."""
        try:
            out = self._collect(document, document if root is MISSING else root, False)
        except _NotFound:
            return missing
        if self.definite:
            return out[-1] if out else missing
        return out

    def exists(self, document: Any, root: Any) -> bool:
        """A filter's existence test (`[?(@.isbn)]`): Jayway evaluates it with REQUIRE_PROPERTIES."""
        try:
            out = self._collect(document, root, True)
        except _NotFound:
            return False
        return bool(out) if self.definite else True

    def _collect(self, document: Any, root: Any, require: bool) -> list[Any]:
        out: list[Any] = []
        if self._scan_function is not None:
            name, parameter, children = self._scan_function
            if name in ("length", "size"):
                out.append(len(children._collect(document, root, require)))
            elif name in _AGGREGATES:
                values = _numbers(document) + _numbers(parameter._collect(document, root, require))
                out.append(_aggregate(name, values))
            else:
                out.append(_apply_function(name, document))
            return out
        _step(self, 0, document, root, out, require)
        return out


_CACHE: dict[str, CompiledPath] = {}
_CACHE_LIMIT = 4096


def compile_path(expression: str) -> CompiledPath:
    """Parse `expression` (cached). Raises JsonPathError when it is not valid JSONPath."""
    compiled = _CACHE.get(expression)
    if compiled is None:
        if not isinstance(expression, str):
            raise JsonPathError("JSONPath expression must be a string")
        compiled = _PathParser(expression).parse()
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[expression] = compiled
    return compiled


def evaluate(expression: str, document: Any) -> Any:
    """Evaluate `expression` on `document` (plain JSON values): the value, or None when absent, for a definite path;
    a list of matches for an indefinite one."""
    return compile_path(expression).evaluate(document)


# --------------------------------------------------------------------------------------------------------------------
# Parsing

_INDEX = re.compile(r"\s*-?\d+\s*")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_]+")
_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(text: str) -> str:
    """Backslash escapes in quoted names and string literals (Jayway's Utils.unescape)."""
    if "\\" not in text:
        return text
    out = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "\\" or i + 1 == n:
            out.append(c)
            i += 1
            continue
        e = text[i + 1]
        if e == "u" and i + 6 <= n:
            try:
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            except ValueError:
                pass
        out.append(_SIMPLE_ESCAPES.get(e, e))
        i += 2
    return "".join(out)


def _skip_quoted(text: str, i: int) -> int:
    """Index just after the string literal starting at text[i] (a quote)."""
    quote = text[i]
    i += 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i + 1
        i += 1
    raise JsonPathError(f"Unterminated string literal in {text!r}")


def _skip_regex(text: str, i: int) -> int:
    """Index just after the closing slash of the regex literal starting at text[i] (a slash)."""
    i += 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "/":
            return i + 1
        i += 1
    raise JsonPathError(f"Unterminated regular expression in {text!r}")


def _matching(text: str, i: int, opening: str, closing: str, regex: bool) -> int:
    """Index of the bracket closing the one at text[i], skipping string (and regex) literals."""
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            i = _skip_quoted(text, i)
            continue
        if regex and c == "/":
            i = _skip_regex(text, i)
            continue
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise JsonPathError(f"Unbalanced {opening}{closing} in {text!r}")


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
        tokens: list[_Token] = []
        last = len(raw) - 1
        for k, (kind, value) in enumerate(raw):
            if kind == "property":
                tokens.append(_Property(value, k == last))
            elif kind == "function":
                if k != last:
                    raise JsonPathError(f"A function must end the path: {self.expression!r}")
                if k > 0 and raw[k - 1][0] == "scan":
                    raise JsonPathError(f"A deep scan must not be followed by a function: {self.expression!r}")
                tokens.append(_Function(value))
            elif kind == "scan":
                tokens.append(_SCAN)
            else:
                tokens.append(value)
        return CompiledPath(self.expression, text[0], tuple(tokens))

    def read_dot_token(self) -> tuple[str, Any]:
        text = self.text
        if text[self.pos] == "*":
            self.pos += 1
            return ("token", _WILDCARD)
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
            if name not in _FUNCTIONS:
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
            close = _matching(text, self.pos, "(", ")", regex=True)
            accept = _FilterParser(text[self.pos + 1 : close], self.expression).parse()
            self.pos = close + 1
            self.expect("]")
            return ("token", _Filter(accept))
        if c == "*":
            self.pos += 1
            self.expect("]")
            return ("token", _WILDCARD)
        if c in "'\"":
            names = []
            while True:
                self.skip_blanks()
                if self.pos >= len(text) or text[self.pos] not in "'\"":
                    raise self.fail("Expected a quoted name")
                end = _skip_quoted(text, self.pos)
                names.append(_unescape(text[self.pos + 1 : end - 1]))
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
            return ("token", _Slice(start, stop))
        parts = content.split(",")
        if not all(_INDEX.fullmatch(part) for part in parts):
            raise self.fail(f"Invalid array index [{content}]")
        return ("token", _Index(tuple(int(part) for part in parts)))

    def _slice_bound(self, part: str) -> int | None:
        part = part.strip()
        if not part:
            return None
        if not _INDEX.fullmatch(part):
            raise self.fail(f"Invalid slice bound {part!r}")
        return int(part)


# --------------------------------------------------------------------------------------------------------------------
# Filters. Operands evaluate to (kind, value) pairs mirroring Jayway's ValueNode types.

_UNDEF, _NULL, _BOOL, _NUM, _STR, _JSON, _PATTERN = range(7)
_UNDEFINED = (_UNDEF, None)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

_Node = tuple[int, Any]
_Operand = Callable[[Any, Any], _Node]
_Predicate = Callable[[Any, Any], bool]


def _node(value: Any) -> _Node:
    if value is None:
        return (_NULL, None)
    if value is True or value is False:
        return (_BOOL, value)
    if isinstance(value, int):
        return (_NUM, Decimal(value))
    if isinstance(value, float):
        return (_NUM, Decimal(repr(value)))
    if isinstance(value, str):
        return (_STR, value)
    if isinstance(value, list | dict):
        return (_JSON, value)
    if value is MISSING:
        return _UNDEFINED
    return (_STR, str(value))


def _strict_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values as Java's equals sees them: 1 and 1.0 differ, true is not 1."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_strict_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strict_equal(v, b[k]) for k, v in a.items())
    return bool(a == b)


def _equals(left: _Node, right: _Node) -> bool:
    lk, lv = left
    rk, rv = right
    if lk == _JSON and rk == _JSON:
        return _strict_equal(lv, rv)
    if lk == _NUM:
        if rk == _NUM:
            return bool(lv == rv)
        if rk == _STR and _DECIMAL.fullmatch(rv):
            return bool(lv == Decimal(rv))
        return False
    if lk == _STR:
        if rk == _STR:
            return bool(lv == rv)
        if rk == _NUM:
            return bool(lv == str(rv))
        return False
    if lk == _BOOL:
        return rk == _BOOL and lv == rv
    if lk == _NULL:
        return rk == _NULL
    if lk == _PATTERN:
        return rk == _PATTERN and lv.pattern == rv.pattern
    return False


def _java_compare(a: str, b: str) -> int:
    """Java's String.compareTo (UTF-16 code units)."""
    if a.isascii() and b.isascii():
        return (a > b) - (a < b)
    ea = a.encode("utf-16-be", "surrogatepass")
    eb = b.encode("utf-16-be", "surrogatepass")
    return (ea > eb) - (ea < eb)


def _utf16_length(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-16-le", "surrogatepass")) // 2


def _ordering(left: _Node, right: _Node) -> int | None:
    if left[0] == _NUM and right[0] == _NUM:
        return (left[1] > right[1]) - (left[1] < right[1])
    if left[0] == _STR and right[0] == _STR:
        return _java_compare(left[1], right[1])
    return None


def _regex_input(node: _Node) -> str:
    kind, value = node
    if kind == _STR:
        return str(value)
    if kind == _NUM:
        return str(value)
    if kind == _BOOL:
        return "true" if value else "false"
    return ""


def _list_nodes(node: _Node) -> list[_Node] | None:
    if node[0] == _JSON and isinstance(node[1], list):
        return [_node(item) for item in node[1]]
    return None


def _contains(nodes: list[_Node], wanted: _Node) -> bool:
    return any(_equals(wanted, node) for node in nodes)


def _relation(op: str, left: _Node, right: _Node) -> bool:
    if op == "==":
        return _equals(left, right)
    if op == "!=":
        return not _equals(left, right)
    if op in ("<", "<=", ">", ">="):
        order = _ordering(left, right)
        if order is None:
            return False
        return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[op]
    if op == "=~":
        if left[0] == _PATTERN and right[0] != _PATTERN:
            return left[1].fullmatch(_regex_input(right)) is not None
        if right[0] == _PATTERN and left[0] != _PATTERN:
            return right[1].fullmatch(_regex_input(left)) is not None
        return False
    if op == "===":
        return left[0] == right[0] and _equals(left, right)
    if op == "!==":
        return not (left[0] == right[0] and _equals(left, right))
    if op in ("in", "nin"):
        nodes = _list_nodes(right)
        found = nodes is not None and _contains(nodes, left)
        return found if op == "in" else not found
    if op == "contains":
        if left[0] == _STR and right[0] == _STR:
            return right[1] in left[1]
        nodes = _list_nodes(left)
        return nodes is not None and _contains(nodes, right)
    if op == "all":
        if left[0] != _JSON:
            return False
        haves = _list_nodes(left)
        wanted = _list_nodes(right) or []
        return haves is None or all(_contains(haves, node) for node in wanted)
    if op in ("subsetof", "anyof", "noneof"):
        lefts = _list_nodes(left)
        rights = _list_nodes(right)
        if lefts is None or rights is None:
            return False
        if op == "subsetof":
            return all(_contains(rights, node) for node in lefts)
        hit = any(_contains(rights, node) for node in lefts)
        return hit if op == "anyof" else not hit
    if op == "size":
        if right[0] != _NUM:
            return False
        expected = int(right[1])
        if left[0] == _STR:
            return _utf16_length(left[1]) == expected
        return left[0] == _JSON and isinstance(left[1], list) and len(left[1]) == expected
    if op == "empty":
        if right[0] != _BOOL:
            return False
        if left[0] == _STR or left[0] == _JSON:
            return (len(left[1]) == 0) == right[1]
        return False
    raise AssertionError(op)


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
            end = _skip_quoted(text, i)
            out.append(orjson.dumps(_unescape(text[i + 1 : end - 1])).decode())
            i = end
        else:
            out.append(c)
            i += 1
    return orjson.loads("".join(out))


class _FilterParser:
    """Recursive descent over the text between `[?(` and `)]`."""

    def __init__(self, text: str, expression: str) -> None:
        self.text = text
        self.expression = expression
        self.pos = 0

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
                if literal[0] == _BOOL:
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
            return _relation(op, left(item, root), right(item, root))

        return test

    @staticmethod
    def path_operand(path: CompiledPath) -> _Operand:
        if path.root == "$":
            return lambda item, root: _node(path.evaluate(root, MISSING, root))
        return lambda item, root: _node(path.evaluate(item, MISSING, root))

    @staticmethod
    def literal_operand(literal: _Node) -> _Operand:
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
                self.pos = _matching(text, self.pos, "[", "]", regex=False) + 1
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
        return compile_path(text[start : self.pos])

    def read_literal(self) -> _Node:
        text = self.text
        if self.pos >= len(text):
            raise self.fail("Expected a value")
        c = text[self.pos]
        if c in "'\"":
            end = _skip_quoted(text, self.pos)
            value = _unescape(text[self.pos + 1 : end - 1])
            self.pos = end
            return (_STR, value)
        if c == "/":
            end = _skip_regex(text, self.pos)
            source = text[self.pos + 1 : end - 1]
            self.pos = end
            flags = 0
            while self.pos < len(text) and text[self.pos].isalpha():
                flags |= _REGEX_FLAGS.get(text[self.pos], 0)
                self.pos += 1
            try:
                return (_PATTERN, re.compile(source, flags))
            except re.error as exc:
                raise self.fail(f"Invalid regular expression /{source}/: {exc}") from None
        if c in "[{":
            end = _matching(text, self.pos, c, "]" if c == "[" else "}", regex=False) + 1
            literal = text[self.pos : end]
            self.pos = end
            try:
                return (_JSON, _permissive_json(literal))
            except orjson.JSONDecodeError:
                raise self.fail(f"Invalid JSON literal {literal}") from None
        match = _NUMBER.match(text, self.pos)
        if match:
            self.pos = match.end()
            try:
                return (_NUM, Decimal(match.group()))
            except InvalidOperation:  # pragma: no cover - the pattern only admits valid numbers
                raise self.fail(f"Invalid number {match.group()}") from None
        match = _WORD.match(text, self.pos)
        if match and match.group() in ("true", "false", "null"):
            self.pos = match.end()
            word = match.group()
            return (_NULL, None) if word == "null" else (_BOOL, word == "true")
        raise self.fail(f"Unexpected {text[self.pos :]!r}")

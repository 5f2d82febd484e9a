"""CloudWatch Logs filter patterns, compiled once into a predicate over an event's message.

- terms: `ERROR timeout` (every term, case-sensitive), `"a phrase"`, `-term` (must not occur), `?a ?b` (any one
  of them), and `%regex%`;
- JSON selectors: `{ $.status = 5* }`, `{ $.latency > 100 }`, `{ $.user.id != "x" }`, `{ $.a[0] IS NULL }`,
  `{ $.b NOT EXISTS }`, `{ $.ok IS TRUE }`, joined by `&&` and `||` with parentheses; `*` in a value is a
  wildcard; a number compares as a number (`=`, `!=`, `<`, `<=`, `>`, `>=`);
- space-delimited: `[ip, user, ..., status = 4*, size > 1000]`, fields split on spaces (quoted and bracketed
  text is one field), `...` for any number of fields.

A pattern AWS would refuse raises `InvalidPattern` (the API's InvalidParameterException)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["InvalidPattern", "compile_pattern"]

Predicate = Callable[[str], bool]
_MISSING = object()


class InvalidPattern(ValueError):
    pass


def compile_pattern(pattern: str | None) -> Predicate:
    text = (pattern or "").strip()
    if not text:
        return _always
    if text.startswith("{"):
        if not text.endswith("}"):
            raise InvalidPattern("Invalid metric filter pattern")
        test = _JsonParser(text[1:-1]).parse()
        return lambda message: (doc := _json(message)) is not _MISSING and test(doc)  # only JSON events
    if text.startswith("["):
        if not text.endswith("]"):
            raise InvalidPattern("Invalid metric filter pattern")
        return _delimited(text[1:-1])
    return _terms(text)


def _always(_message: str) -> bool:
    return True


def _json(message: str) -> Any:
    try:
        return orjson.loads(message)
    except orjson.JSONDecodeError:
        return _MISSING


# -- terms ----------------------------------------------------------------------------------------------

_TERM = re.compile(r'\s*([-?]?)(?:"((?:[^"\\]|\\.)*)"|%([^%]*)%|(\S+))')


def _searches(regex: re.Pattern[str]) -> Predicate:
    return lambda message: regex.search(message) is not None


def _contains(word: str) -> Predicate:
    return lambda message: word in message


def _terms(text: str) -> Predicate:
    required: list[Predicate] = []
    excluded: list[Predicate] = []
    anyof: list[Predicate] = []
    pos = 0
    while pos < len(text):
        found = _TERM.match(text, pos)
        if found is None:
            if text[pos:].strip():
                raise InvalidPattern("Invalid metric filter pattern")
            break
        pos = found.end()
        sign, quoted, regex, bare = found.groups()
        if regex is not None:
            try:
                compiled = re.compile(regex)
            except re.error:
                raise InvalidPattern("Invalid regex in filter pattern") from None
            test: Predicate = _searches(compiled)
        else:
            test = _contains(quoted.replace('\\"', '"') if quoted is not None else bare)
        {"-": excluded, "?": anyof, "": required}[sign].append(test)

    def match(message: str) -> bool:
        return (all(t(message) for t in required) and not any(t(message) for t in excluded)
                and (not anyof or any(t(message) for t in anyof)))

    return match


# -- values and comparisons -----------------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def _compare(op: str, literal: str, quoted: bool) -> Callable[[Any], bool]:
    """A test of one value against a pattern's literal."""
    number = float(literal) if not quoted and _NUMBER.match(literal) else None
    if op in ("<", "<=", ">", ">="):
        if number is None:
            raise InvalidPattern(f"Invalid numeric value in filter pattern: {literal}")
        bound = number
        compare = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}[op]

        def ordered(value: Any) -> bool:
            n = _as_number(value)
            return n is not None and compare(n, bound)

        return ordered
    if "*" in literal:
        def wild(value: Any) -> bool:
            return value is not _MISSING and value is not None and fnmatch.fnmatchcase(_text(value), literal)
        equal = wild
    elif number is not None:
        def numeric(value: Any) -> bool:
            n = _as_number(value)
            return n is not None and n == number
        equal = numeric
    else:
        def textual(value: Any) -> bool:
            return value is not _MISSING and value is not None and _text(value) == literal
        equal = textual
    if op == "=":
        return equal
    if op == "!=":
        return lambda value: value is not _MISSING and not equal(value)
    raise InvalidPattern(f"Invalid operator in filter pattern: {op}")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value):
        return float(value)
    return None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return orjson.dumps(value).decode() if isinstance(value, dict | list) else str(value)


# -- JSON selectors -------------------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(\(|\)|&&|\|\||!=|<=|>=|=|<|>|"(?:[^"\\]|\\.)*"|\$[^\s=!<>()&|]*|[^\s=!<>()&|"]+)')
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


class _JsonParser:
    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        pos = 0
        while pos < len(text):
            found = _TOKEN.match(text, pos)
            if found is None:
                if text[pos:].strip():
                    raise InvalidPattern("Invalid metric filter pattern")
                break
            self.tokens.append(found.group(1))
            pos = found.end()
        self.at = 0

    def parse(self) -> Callable[[Any], bool]:
        test = self._or()
        if self.at != len(self.tokens):
            raise InvalidPattern("Invalid metric filter pattern")
        return test

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _next(self) -> str:
        token = self._peek()
        if token is None:
            raise InvalidPattern("Invalid metric filter pattern")
        self.at += 1
        return token

    def _or(self) -> Callable[[Any], bool]:
        tests = [self._and()]
        while self._peek() == "||":
            self.at += 1
            tests.append(self._and())
        return tests[0] if len(tests) == 1 else lambda doc: any(t(doc) for t in tests)

    def _and(self) -> Callable[[Any], bool]:
        tests = [self._term()]
        while self._peek() == "&&":
            self.at += 1
            tests.append(self._term())
        return tests[0] if len(tests) == 1 else lambda doc: all(t(doc) for t in tests)

    def _term(self) -> Callable[[Any], bool]:
        token = self._next()
        if token == "(":
            test = self._or()
            if self._next() != ")":
                raise InvalidPattern("Invalid metric filter pattern")
            return test
        if not token.startswith("$"):
            raise InvalidPattern("Invalid metric filter pattern: a selector starts with $")
        select = _selector(token)
        op = self._next()
        upper = op.upper()
        if upper in ("IS", "NOT"):
            word = self._next().upper()
            if upper == "NOT" and word == "EXISTS":
                return lambda doc: select(doc) is _MISSING
            if upper == "IS" and word in ("NULL", "TRUE", "FALSE"):
                want = {"NULL": None, "TRUE": True, "FALSE": False}[word]
                return lambda doc: (v := select(doc)) is not _MISSING and v is want
            raise InvalidPattern("Invalid metric filter pattern")
        literal = self._next()
        quoted = literal.startswith('"')
        compare = _compare(op, literal[1:-1].replace('\\"', '"') if quoted else literal, quoted)
        return lambda doc: compare(select(doc))


def _selector(token: str) -> Callable[[Any], Any]:
    rest = token[1:]
    steps: list[str | int] = []
    pos = 0
    while pos < len(rest):
        found = _STEP.match(rest, pos)
        if found is None:
            raise InvalidPattern(f"Invalid selector in filter pattern: {token}")
        steps.append(found.group(1) if found.group(1) is not None else int(found.group(2)))
        pos = found.end()

    def select(doc: Any) -> Any:
        for step in steps:
            if isinstance(step, int):
                if not isinstance(doc, list) or step >= len(doc):
                    return _MISSING
                doc = doc[step]
            elif isinstance(doc, dict) and step in doc:
                doc = doc[step]
            else:
                return _MISSING
        return doc

    return select


# -- space-delimited ------------------------------------------------------------------------------------

_FIELD = re.compile(r'"[^"]*"|\[[^\]]*\]|\S+')
_CONDITION = re.compile(r"\s*([\w.]+)\s*(!=|<=|>=|=|<|>)\s*(.+?)\s*$")


def _delimited(spec: str) -> Predicate:
    fields: list[Callable[[Any], bool] | str | None] = []  # a test, None (any value), or "..." (any fields)
    for raw in (part.strip() for part in spec.split(",")) if spec.strip() else ():
        if raw == "...":
            fields.append("...")
            continue
        condition = _CONDITION.match(raw)
        if condition is None:
            if not re.fullmatch(r"[\w.]+", raw):
                raise InvalidPattern("Invalid metric filter pattern")
            fields.append(None)
            continue
        literal = condition.group(3)
        quoted = literal.startswith('"') and literal.endswith('"') and len(literal) > 1
        compare = _compare(condition.group(2), literal[1:-1] if quoted else literal, quoted)
        fields.append(compare)

    def match(message: str) -> bool:
        values = [v[1:-1] if v[:1] in ('"', "[") else v for v in _FIELD.findall(message)]
        return _fits(fields, values)

    return match


def _fits(fields: list[Callable[[Any], bool] | str | None], values: list[str]) -> bool:
    if not fields:
        return not values
    head = fields[0]
    if head == "...":
        return any(_fits(fields[1:], values[i:]) for i in range(len(values) + 1))
    if not values:
        return False
    if callable(head) and not head(values[0]):
        return False
    return _fits(fields[1:], values[1:])

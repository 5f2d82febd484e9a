"""Jayway's filter relations (`==`, `<`, `=~`, `in`, `subsetof`, `size` …). Operands evaluate to (kind, value)
pairs mirroring Jayway's ValueNode types, and the kinds decide how two values compare."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from apiway.jsonpath.errors import MISSING

UNDEF, NULL, BOOL, NUM, STR, JSON, PATTERN = range(7)
_UNDEFINED = (UNDEF, None)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

Node = tuple[int, Any]
_MAX_SIZE = 2**31  # no string or list is longer: Java's int


def to_node(value: Any) -> Node:
    """A JSON value (or MISSING) as the (kind, value) pair Jayway's ValueNode would make of it."""
    if value is None:
        return (NULL, None)
    if value is True or value is False:
        return (BOOL, value)
    if isinstance(value, int):
        return (NUM, Decimal(value))
    if isinstance(value, float):
        return (NUM, Decimal(repr(value)))
    if isinstance(value, str):
        return (STR, value)
    if isinstance(value, list | dict):
        return (JSON, value)
    if value is MISSING:
        return _UNDEFINED
    return (STR, str(value))


def _strict_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values as Java's equals sees them: 1 and 1.0 differ, true is not 1."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_strict_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strict_equal(v, b[k]) for k, v in a.items())
    return bool(a == b)


def _equals(left: Node, right: Node) -> bool:
    lk, lv = left
    rk, rv = right
    if lk == JSON and rk == JSON:
        return _strict_equal(lv, rv)
    if lk == NUM:
        if rk == NUM:
            return bool(lv == rv)
        if rk == STR and _DECIMAL.fullmatch(rv):
            return bool(lv == Decimal(rv))
        return False
    if lk == STR:
        if rk == STR:
            return bool(lv == rv)
        if rk == NUM:
            return bool(lv == str(rv))
        return False
    if lk == BOOL:
        return rk == BOOL and lv == rv
    if lk == NULL:
        return rk == NULL
    if lk == PATTERN:
        return rk == PATTERN and lv.pattern == rv.pattern
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


def _ordering(left: Node, right: Node) -> int | None:
    if left[0] == NUM and right[0] == NUM:
        return (left[1] > right[1]) - (left[1] < right[1])
    if left[0] == STR and right[0] == STR:
        return _java_compare(left[1], right[1])
    return None


def _regex_input(node: Node) -> str:
    kind, value = node
    if kind == STR:
        return str(value)
    if kind == NUM:
        return str(value)
    if kind == BOOL:
        return "true" if value else "false"
    return ""


def _list_nodes(node: Node) -> list[Node] | None:
    if node[0] == JSON and isinstance(node[1], list):
        return [to_node(item) for item in node[1]]
    return None


def _contains(nodes: list[Node], wanted: Node) -> bool:
    return any(_equals(wanted, node) for node in nodes)


def relation(op: str, left: Node, right: Node) -> bool:
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
        if left[0] == PATTERN and right[0] != PATTERN:
            return left[1].fullmatch(_regex_input(right)) is not None
        if right[0] == PATTERN and left[0] != PATTERN:
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
        if left[0] == STR and right[0] == STR:
            return right[1] in left[1]
        nodes = _list_nodes(left)
        return nodes is not None and _contains(nodes, right)
    if op == "all":
        if left[0] != JSON:
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
        # int() of a literal like 1e999999 would take minutes; copy_abs(), unlike abs(), never overflows (10e999999)
        if right[0] != NUM or right[1].copy_abs() > _MAX_SIZE:
            return False
        expected = int(right[1])
        if left[0] == STR:
            return _utf16_length(left[1]) == expected
        return left[0] == JSON and isinstance(left[1], list) and len(left[1]) == expected
    if op == "empty":
        if right[0] != BOOL:
            return False
        if left[0] == STR or left[0] == JSON:
            return (len(left[1]) == 0) == right[1]
        return False
    raise AssertionError(op)

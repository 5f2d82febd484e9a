"""The methods of java.util.List (a JSONArray or an ArrayList) and of String[], which refuses to change size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiway.vtl.java.conversions import INT_MAX, INT_MIN, arg_collection, arg_int
from apiway.vtl.java.exceptions import java_error
from apiway.vtl.java.limits import grow
from apiway.vtl.java.ops import java_equals
from apiway.vtl.java.text import to_string
from apiway.vtl.java.values import JList


def _list_index(items: list, index: Any, size_extra: int = 0) -> int:
    index = arg_int(index)
    if not 0 <= index < len(items) + size_extra:
        raise java_error("IndexOutOfBoundsException", f"Index: {index}, Size: {len(items)}")
    return index


def _list_get(items: list, index: Any) -> Any:
    return items[_list_index(items, index)]


def _list_add(items: list, value: Any) -> bool:
    grow(items, 1)
    items.append(value)
    return True


def _list_insert(items: list, index: Any, value: Any) -> str:
    position = _list_index(items, index, 1)
    grow(items, 1)
    items.insert(position, value)
    return ""  # void


def _list_add_all(items: list, other: Any) -> bool:
    other = arg_collection(other)
    grow(items, len(other))
    items.extend(list(other))
    return bool(other)


def _list_insert_all(items: list, index: Any, other: Any) -> bool:
    position = _list_index(items, index, 1)
    other = arg_collection(other)
    grow(items, len(other))
    items[position:position] = list(other)
    return bool(other)


def list_set(items: list, index: Any, value: Any) -> Any:
    position = _list_index(items, index)
    previous = items[position]
    items[position] = value
    return previous


def _list_remove(items: list, value: Any) -> Any:
    if type(value) is int and INT_MIN <= value <= INT_MAX:  # remove(int index)
        return items.pop(_list_index(items, value))
    for position, item in enumerate(items):
        if java_equals(item, value):
            del items[position]
            return True
    return False


def _list_index_of(items: list, value: Any) -> int:
    for position, item in enumerate(items):
        if java_equals(item, value):
            return position
    return -1


def _list_last_index_of(items: list, value: Any) -> int:
    for position in range(len(items) - 1, -1, -1):
        if java_equals(items[position], value):
            return position
    return -1


def _list_contains(items: list, value: Any) -> bool:
    return any(java_equals(item, value) for item in items)


def _list_sub(items: list, begin: Any, end: Any) -> JList:
    begin, end = arg_int(begin), arg_int(end)
    if begin < 0 or end > len(items) or begin > end:
        raise java_error("IndexOutOfBoundsException", f"fromIndex {begin}, toIndex {end}, size {len(items)}")
    return JList(items[begin:end])


def _list_clear(items: list) -> str:
    items.clear()
    return ""  # void


LIST_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("size", 0): len,
    ("isEmpty", 0): lambda x: not x,
    ("get", 1): _list_get,
    ("add", 1): _list_add,
    ("add", 2): _list_insert,
    ("addAll", 1): _list_add_all,
    ("addAll", 2): _list_insert_all,
    ("set", 2): list_set,
    ("remove", 1): _list_remove,
    ("contains", 1): _list_contains,
    ("containsAll", 1): lambda x, other: all(_list_contains(x, item) for item in arg_collection(other)),
    ("indexOf", 1): _list_index_of,
    ("lastIndexOf", 1): _list_last_index_of,
    ("clear", 0): _list_clear,
    ("subList", 2): _list_sub,
    ("toString", 0): to_string,
    ("equals", 1): java_equals,
}


def _unsupported(*_args: Any) -> Any:
    raise java_error("UnsupportedOperationException")


ARRAY_METHODS = dict(LIST_METHODS)
for _name in ("add", "addAll", "remove", "clear"):
    for _count in range(3):
        if (_name, _count) in ARRAY_METHODS:
            ARRAY_METHODS[(_name, _count)] = _unsupported
ARRAY_METHODS[("equals", 1)] = lambda a, b: a is b

"""The methods of java.util.Map (a LinkedHashMap) and of the Map.Entry objects `entrySet()` gives, and what may be a
map key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiway.vtl.errors import TemplateRuntimeError
from apiway.vtl.java.conversions import arg_map
from apiway.vtl.java.limits import grow
from apiway.vtl.java.ops import java_equals
from apiway.vtl.java.text import to_string
from apiway.vtl.java.values import Entry, JList


def hashable_key(key: Any) -> Any:
    """A map key: lists and maps cannot be keys here."""
    if isinstance(key, dict | list):
        raise TemplateRuntimeError("a list or map cannot be a map key")
    return key


def map_get(mapping: dict, key: Any) -> Any:
    try:
        return mapping.get(key)
    except TypeError:  # an unhashable key is never present
        return None


def map_put(mapping: dict, key: Any, value: Any) -> Any:
    key = hashable_key(key)
    previous = mapping.get(key)
    if key not in mapping:
        grow(mapping, 1)
    mapping[key] = value
    return previous


def _map_put_if_absent(mapping: dict, key: Any, value: Any) -> Any:
    key = hashable_key(key)
    previous = mapping.get(key)
    if previous is None:
        map_put(mapping, key, value)
    return previous


def _map_remove(mapping: dict, key: Any) -> Any:
    try:
        return mapping.pop(key, None)
    except TypeError:
        return None


def _map_put_all(mapping: dict, other: Any) -> str:
    other = arg_map(other)
    grow(mapping, len(other))
    mapping.update(other)
    return ""  # void


def _map_contains_key(mapping: dict, key: Any) -> bool:
    try:
        return key in mapping
    except TypeError:
        return False


def _map_get_or_default(mapping: dict, key: Any, default: Any) -> Any:
    try:
        return mapping.get(key, default)
    except TypeError:
        return default


def _map_clear(mapping: dict) -> str:
    mapping.clear()
    return ""  # void


MAP_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("get", 1): map_get,
    ("put", 2): map_put,
    ("putIfAbsent", 2): _map_put_if_absent,
    ("putAll", 1): _map_put_all,
    ("remove", 1): _map_remove,
    ("containsKey", 1): _map_contains_key,
    ("containsValue", 1): lambda m, v: any(java_equals(item, v) for item in m.values()),
    ("getOrDefault", 2): _map_get_or_default,
    ("keySet", 0): lambda m: JList(m.keys()),
    ("values", 0): lambda m: JList(m.values()),
    ("entrySet", 0): lambda m: JList(Entry(m, key) for key in m),
    ("size", 0): len,
    ("isEmpty", 0): lambda m: not m,
    ("clear", 0): _map_clear,
    ("toString", 0): to_string,
    ("equals", 1): java_equals,
}


def entry_set_value(entry: Entry, value: Any) -> Any:
    previous = entry.map.get(entry.key)
    entry.map[entry.key] = value
    return previous


ENTRY_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("getKey", 0): lambda e: e.key,
    ("getValue", 0): lambda e: e.map.get(e.key),
    ("setValue", 1): entry_set_value,
    ("toString", 0): to_string,
    ("equals", 1): java_equals,
}

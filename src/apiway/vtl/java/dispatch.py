"""Reference steps: `$obj.name`, `$obj.name(args)`, `$obj[key]` and `#set` targets, dispatched on the value's
type to its Java method table (or to a host object's `vtl_get`/`vtl_call`). Nothing else of a value is reached."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiway.vtl.java.conversions import INT_MAX, INT_MIN
from apiway.vtl.java.exceptions import NoMethod, java_error
from apiway.vtl.java.lists import ARRAY_METHODS, LIST_METHODS, list_set
from apiway.vtl.java.maps import ENTRY_METHODS, MAP_METHODS, entry_set_value, map_get, map_put
from apiway.vtl.java.primitives import BOOL_METHODS, FLOAT_METHODS, INT_METHODS
from apiway.vtl.java.scopes import BLOCK_METHODS, SCOPE_METHODS
from apiway.vtl.java.strings import STRING_METHODS
from apiway.vtl.java.values import Block, Entry, ForeachScope, JList, StrArray
from apiway.vtl.protocol import Missing, VtlObject

# One table per exact type, so the common case is one dict lookup; subclasses of the JSON types (a host's str or
# dict subclass) fall back to their base's table in `_table`.
METHODS: dict[type, dict[tuple[str, int], Callable[..., Any]]] = {
    str: STRING_METHODS,
    list: LIST_METHODS,
    JList: LIST_METHODS,
    StrArray: ARRAY_METHODS,
    dict: MAP_METHODS,
    int: INT_METHODS,
    float: FLOAT_METHODS,
    bool: BOOL_METHODS,
    Entry: ENTRY_METHODS,
    ForeachScope: SCOPE_METHODS,
    Block: BLOCK_METHODS,
}


def _table(value: Any) -> dict[tuple[str, int], Callable[..., Any]] | None:
    table = METHODS.get(type(value))
    if table is None:
        for base in (dict, list, str, bool, int, float):
            if isinstance(value, base):
                return METHODS[base]
    return table


def _invoke(table: dict, obj: Any, name: str, args: list[Any]) -> Any:
    method = table.get((name, len(args)))
    if method is None:
        return None
    try:
        return method(obj, *args)
    except NoMethod:
        return None


def call(obj: Any, name: str, args: list[Any]) -> Any:
    """`$obj.name(args…)`; None when no method matches."""
    table = METHODS.get(type(obj))
    if table is not None:
        return _invoke(table, obj, name, args)
    if isinstance(obj, VtlObject):
        try:
            return obj.vtl_call(name, args)
        except Missing:
            pass
        if not args and len(name) > 3 and name.startswith("get"):
            try:
                return obj.vtl_get(name[3].lower() + name[4:])
            except Missing:
                return None
        return None
    table = _table(obj)
    return None if table is None else _invoke(table, obj, name, args)


_GETTERS: dict[str, tuple[tuple[str, int], tuple[str, int], tuple[str, int]]] = {}


def prop(obj: Any, name: str) -> Any:
    """`$obj.name`: a map's key; a host object's property; else the Java bean getter getName()/isName()."""
    kind = type(obj)
    if kind is dict:
        return obj.get(name)
    if kind is ForeachScope:
        if name == "hasNext":
            return obj.has_next
        if name == "index":
            return obj.index
        if name == "count":
            return obj.index + 1
    if isinstance(obj, VtlObject):
        try:
            return obj.vtl_get(name)
        except Missing:
            return None
    if isinstance(obj, dict):
        return map_get(obj, name)
    table = _table(obj)
    if table is None:
        return None
    getters = _GETTERS.get(name)
    if getters is None:
        cap = name[:1].upper() + name[1:]
        getters = _GETTERS[name] = (("get" + cap, 0), ("get" + name, 0), ("is" + cap, 0))
    for key in getters:
        method = table.get(key)
        if method is not None:
            try:
                return method(obj)
            except NoMethod:
                return None
    return None


def index(obj: Any, key: Any) -> Any:
    """`$obj[key]`: list/array get(int) (negative counts from the end), map get(key), else a get(key) method."""
    kind = type(obj)
    if kind is dict:
        return map_get(obj, key)
    if kind is list or kind is JList or kind is StrArray or (kind is not str and isinstance(obj, list)):
        if type(key) is not int or not INT_MIN <= key <= INT_MAX:
            return None  # no get(String) on a list
        if key < 0:
            key += len(obj)
        if not 0 <= key < len(obj):
            raise java_error("IndexOutOfBoundsException", f"Index: {key}, Size: {len(obj)}")
        return obj[key]
    if isinstance(obj, VtlObject):
        try:
            return obj.vtl_call("get", [key])
        except Missing:
            return None
    return call(obj, "get", [key])


def set_prop(obj: Any, name: str, value: Any) -> None:
    """`#set($obj.name = value)`: a map's put; a setter; silently nothing when there is neither."""
    if type(obj) is dict or isinstance(obj, dict):
        map_put(obj, name, value)
        return
    if isinstance(obj, VtlObject):
        for method, args in (("set" + name[:1].upper() + name[1:], [value]), ("put", [name, value])):
            try:
                obj.vtl_call(method, args)
                return
            except Missing:
                continue
        return
    if type(obj) is Entry and name == "value":
        entry_set_value(obj, value)


def set_index(obj: Any, key: Any, value: Any) -> None:
    """`#set($obj[key] = value)`: set(int, value) on a list (negative counts from the end), else put(key, value)."""
    if isinstance(obj, dict):
        map_put(obj, key, value)
        return
    if isinstance(obj, list):
        if type(key) is not int:
            return
        if key < 0:
            key += len(obj)
        list_set(obj, key, value)
        return
    if isinstance(obj, VtlObject):
        for method in ("set", "put"):
            try:
                obj.vtl_call(method, [key, value])
                return
            except Missing:
                continue

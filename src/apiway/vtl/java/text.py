"""How values print: Java's toString (Double.toString, ArrayList's `[a, b]`, a Map's `{k=v}`) and json-smart's
JSON text, which is how a JSON array from `$input.path` prints."""

from __future__ import annotations

import math
import re
import zlib
from decimal import Decimal
from typing import Any

from apiway.vtl.errors import TemplateRuntimeError
from apiway.vtl.java.limits import MAX_DEPTH
from apiway.vtl.java.values import Block, Entry, JList, StrArray
from apiway.vtl.protocol import VtlObject


def java_double(value: float) -> str:
    """Double.toString: plain notation with at least one fraction digit in [1e-3, 1e7), else `d.dddE±n`."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    point = len(digits) + exponent  # the decimal point sits after this many digits
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        if point <= 0:
            text = "0." + "0" * -point + digits
        elif point >= len(digits):
            text = digits + "0" * (point - len(digits)) + ".0"
        else:
            text = digits[:point] + "." + digits[point:]
    else:
        text = f"{digits[0]}.{digits[1:] or '0'}E{point - 1}"
    return "-" + text if sign else text


def int_str(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # beyond Python's digit limit for int → str
        raise TemplateRuntimeError("integer too large to print") from None


def to_string(value: Any) -> str:
    """How a value renders: Java's toString, with null (and anything unknown) as the empty string."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return ""
    return _str(value, kind, 0)


def elem_string(value: Any, depth: int = 0) -> str:
    """String.valueOf inside a collection or a concatenation: null is `null`."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return value
    return _str(value, kind, depth)


def _str(value: Any, kind: type, depth: int) -> str:
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int_str(value)
    if kind is float:
        return java_double(value)
    if depth > MAX_DEPTH:
        raise TemplateRuntimeError("value nested too deeply to print")
    if kind is dict or (kind is not JList and kind is not StrArray and isinstance(value, dict)):
        parts = []
        for key, item in value.items():
            key_text = "(this Map)" if key is value else elem_string(key, depth + 1)
            item_text = "(this Map)" if item is value else elem_string(item, depth + 1)
            parts.append(f"{key_text}={item_text}")
        return "{" + ", ".join(parts) + "}"
    if kind is JList:
        items = ("(this Collection)" if item is value else elem_string(item, depth + 1) for item in value)
        return "[" + ", ".join(items) + "]"
    if kind is StrArray:
        return "[Ljava.lang.String;@" + format(zlib.crc32("\x00".join(map(elem_string, value)).encode()), "x")
    if kind is list or kind is tuple or isinstance(value, list):
        return json_text(value, depth)
    if isinstance(value, VtlObject):
        return value.vtl_str()
    if kind is Block:
        return value.render()
    if kind is Entry:
        return elem_string(value.key, depth + 1) + "=" + elem_string(value.map.get(value.key), depth + 1)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int_str(int.__index__(value))
    if isinstance(value, float):
        return java_double(float.__float__(value))
    return ""


def _json_escapes() -> dict[int, str]:
    # json-smart's default string escaping (the JSON text of a JSONArray).
    table = {ord('"'): '\\"', ord("\\"): "\\\\", ord("/"): "\\/", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t"}
    for code in [*range(0x20), *range(0x7F, 0xA0), *range(0x2000, 0x2100)]:
        table.setdefault(code, f"\\u{code:04X}")
    return table


JSON_ESCAPES = _json_escapes()
_JSON_SPECIAL = re.compile('["\\\\/\x00-\x1f\x7f-\x9f\u2000-\u20ff]')


def _json_string(text: str) -> str:
    if _JSON_SPECIAL.search(text):
        text = text.translate(JSON_ESCAPES)
    return '"' + text + '"'


def json_text(value: Any, depth: int = 0) -> str:
    """json-smart's JSONValue.toJSONString, which is how a JSON array prints (maps inside it included)."""
    if depth > MAX_DEPTH:
        raise TemplateRuntimeError("value nested too deeply to print")
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return _json_string(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int_str(value)
    if kind is float:
        return java_double(value) if math.isfinite(value) else "null"
    if isinstance(value, dict):
        items = (f"{_json_string(elem_string(k))}:{json_text(v, depth + 1)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(json_text(item, depth + 1) for item in value) + "]"
    return _json_string(_str(value, kind, depth + 1))

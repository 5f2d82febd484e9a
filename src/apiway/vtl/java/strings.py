"""The methods of java.lang.String a template may call, keyed by (name, argument count)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiway.vtl.java.conversions import arg_int, arg_str
from apiway.vtl.java.exceptions import java_error
from apiway.vtl.java.limits import check_len
from apiway.vtl.java.regex import java_matches, java_split, replace_regex
from apiway.vtl.java.text import elem_string
from apiway.vtl.java.values import StrArray


def _string_hash(text: str) -> int:
    h = 0
    for ch in text:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >> 31 else h


def _compare(a: str, b: str) -> int:
    for x, y in zip(a, b, strict=False):
        if x != y:
            return ord(x) - ord(y)
    return len(a) - len(b)


def _java_trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def _substring(text: str, begin: Any, end: Any = None) -> str:
    begin = arg_int(begin)
    stop = len(text) if end is None else arg_int(end)
    if begin < 0 or stop > len(text) or begin > stop:
        raise java_error("StringIndexOutOfBoundsException", f"begin {begin}, end {stop}, length {len(text)}")
    return text[begin:stop]


def _needle(value: Any) -> str | None:
    """indexOf's argument: a String, or an int code point (indexOf(int ch)); None for a code point that no
    string holds."""
    if type(value) is int:
        return chr(value) if 0 <= value <= 0x10FFFF else None
    return arg_str(value)


def _index_of(text: str, needle: Any, start: Any = 0) -> int:
    sub = _needle(needle)
    begin = min(max(arg_int(start), 0), len(text))
    return -1 if sub is None else text.find(sub, begin)


def _last_index_of(text: str, needle: Any, start: Any = None) -> int:
    sub = _needle(needle)
    if sub is None:
        return -1
    if start is None:
        return text.rfind(sub)
    begin = arg_int(start)
    if begin < 0:
        return -1
    return text.rfind(sub, 0, min(begin, len(text)) + len(sub))


def _char_at(text: str, index: Any) -> str:
    index = arg_int(index)
    if not 0 <= index < len(text):
        raise java_error("StringIndexOutOfBoundsException", f"index {index}, length {len(text)}")
    return text[index]


def _starts_with(text: str, prefix: Any, offset: Any = 0) -> bool:
    prefix = arg_str(prefix)
    offset = arg_int(offset)
    if offset < 0 or offset > len(text):
        return False
    return text.startswith(prefix, offset)


def _equals_ignore_case(text: str, other: Any) -> bool:
    if type(other) is not str:
        return False
    return len(text) == len(other) and (text == other or text.upper().lower() == other.upper().lower())


def _replace(text: str, target: Any, replacement: Any) -> str:
    return check_len(text.replace(arg_str(target), arg_str(replacement)))


def _matches(text: str, pattern: Any) -> bool:
    return java_matches(text, arg_str(pattern))


def _split(text: str, pattern: Any, limit: Any = 0) -> StrArray:
    return java_split(text, arg_str(pattern), arg_int(limit))


def _concat(text: str, other: Any) -> str:
    return check_len(text + arg_str(other))


def _value_of(_text: str, value: Any) -> str:
    return elem_string(value)


STRING_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("length", 0): len,
    ("isEmpty", 0): lambda s: not s,
    ("toString", 0): lambda s: s,
    ("intern", 0): lambda s: s,
    ("trim", 0): _java_trim,
    ("toLowerCase", 0): str.lower,
    ("toUpperCase", 0): str.upper,
    ("hashCode", 0): _string_hash,
    ("substring", 1): _substring,
    ("substring", 2): _substring,
    ("indexOf", 1): _index_of,
    ("indexOf", 2): _index_of,
    ("lastIndexOf", 1): _last_index_of,
    ("lastIndexOf", 2): _last_index_of,
    ("charAt", 1): _char_at,
    ("replace", 2): _replace,
    ("replaceAll", 2): lambda s, p, r: replace_regex(s, p, r, 0),
    ("replaceFirst", 2): lambda s, p, r: replace_regex(s, p, r, 1),
    ("split", 1): _split,
    ("split", 2): _split,
    ("matches", 1): _matches,
    ("contains", 1): lambda s, x: arg_str(x) in s,
    ("equals", 1): lambda s, x: type(x) is str and s == x,
    ("equalsIgnoreCase", 1): _equals_ignore_case,
    ("startsWith", 1): _starts_with,
    ("startsWith", 2): _starts_with,
    ("endsWith", 1): lambda s, x: s.endswith(arg_str(x)),
    ("concat", 1): _concat,
    ("compareTo", 1): lambda s, x: _compare(s, arg_str(x)),
    ("compareToIgnoreCase", 1): lambda s, x: _compare(s.upper().lower(), arg_str(x).upper().lower()),
    ("valueOf", 1): _value_of,
}

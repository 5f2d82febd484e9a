"""Velocity 1.7's operators with Java semantics: `==` (ASTEQNode, Object.equals), `<` … (ASTLTNode …), `+ - * / %`
(ASTMathNode with MathUtils), and #if's truth."""

from __future__ import annotations

import math
from typing import Any

from apiway.vtl.errors import TemplateRuntimeError
from apiway.vtl.java.conversions import is_number, to_float
from apiway.vtl.java.limits import MAX_DEPTH, MAX_INT_BITS, check_len
from apiway.vtl.java.text import elem_string, to_string
from apiway.vtl.java.values import Block, Entry, ForeachScope, JList, StrArray
from apiway.vtl.protocol import VtlObject


def _family(value: Any) -> Any:
    """The Java class family of a value for `==`: values of one family compare with equals()."""
    kind = type(value)
    if kind is JList or kind is list or kind is tuple:
        return list  # JSONArray extends ArrayList
    if kind is StrArray:
        return StrArray
    if kind is dict:
        return dict
    if kind is str or kind is bool or kind is Entry or kind is ForeachScope or kind is Block:
        return kind
    if isinstance(value, VtlObject):
        return VtlObject
    if isinstance(value, dict):
        return dict
    if isinstance(value, list):
        return list
    return kind


def java_equals(a: Any, b: Any, depth: int = 0) -> bool:
    """Object.equals as the Java classes define it (Integer 1 does not equal Double 1.0, nor Boolean true)."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    ka, kb = type(a), type(b)
    if ka is str or ka is bool or ka is int or ka is float:
        return ka is kb and a == b
    if depth > MAX_DEPTH:
        raise TemplateRuntimeError("value nested too deeply to compare")
    fa = _family(a)
    if fa is not _family(b):
        return False
    if fa is list or fa is StrArray:
        if fa is StrArray:
            return False  # arrays compare by identity
        return len(a) == len(b) and all(java_equals(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    if fa is dict:
        if len(a) != len(b):
            return False
        for key, item in a.items():
            try:
                other = b[key]
            except (KeyError, TypeError):
                return False
            if not java_equals(item, other, depth + 1):
                return False
        return True
    if fa is Entry:
        return java_equals(a.key, b.key, depth + 1) and java_equals(a.map.get(a.key), b.map.get(b.key), depth + 1)
    return False  # host objects, scopes, blocks: identity only


def eq(a: Any, b: Any) -> bool:
    """`==`: numbers by value; same class by equals(); otherwise by their toString; null equals only null."""
    ka = type(a)
    if ka is type(b) and (ka is str or ka is int or ka is bool):
        return a == b
    if is_number(a) and is_number(b):
        return a == b
    if a is None or b is None:
        return a is None and b is None
    if _family(a) is _family(b):
        return java_equals(a, b)
    return to_string(a) == to_string(b)


def ne(a: Any, b: Any) -> bool:
    return not eq(a, b)


def lt(a: Any, b: Any) -> bool:
    return is_number(a) and is_number(b) and a < b


def le(a: Any, b: Any) -> bool:
    return is_number(a) and is_number(b) and a <= b


def gt(a: Any, b: Any) -> bool:
    return is_number(a) and is_number(b) and a > b


def ge(a: Any, b: Any) -> bool:
    return is_number(a) and is_number(b) and a >= b


def truthy(value: Any) -> bool:
    """#if: null and false are false; everything else (an empty string, 0, an empty list) is true."""
    return value is not None and value is not False


def add(a: Any, b: Any) -> Any:
    """`+`: concatenation when either side is a String, else arithmetic; null for anything else."""
    ka, kb = type(a), type(b)
    if ka is str or kb is str:
        return check_len(elem_string(a) + elem_string(b))
    if ka is int and kb is int:
        return a + b
    if is_number(a) and is_number(b):
        return to_float(a) + to_float(b)
    return None


def sub(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a - b
    if is_number(a) and is_number(b):
        return to_float(a) - to_float(b)
    return None


def mul(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        result = a * b
        if result.bit_length() > MAX_INT_BITS:
            raise TemplateRuntimeError("integer product too large")
        return result
    if is_number(a) and is_number(b):
        return to_float(a) * to_float(b)
    return None


def div(a: Any, b: Any) -> Any:
    """Integer division truncates toward zero (Java); dividing by zero gives null (Velocity logs it)."""
    if not (is_number(a) and is_number(b)) or b == 0:
        return None
    if type(a) is int and type(b) is int:
        quotient = abs(a) // abs(b)
        return -quotient if (a < 0) != (b < 0) else quotient
    return to_float(a) / to_float(b)


def mod(a: Any, b: Any) -> Any:
    """The remainder takes the sign of the dividend (Java); modulo zero gives null."""
    if not (is_number(a) and is_number(b)) or b == 0:
        return None
    if type(a) is int and type(b) is int:
        remainder = abs(a) % abs(b)
        return -remainder if a < 0 else remainder
    return math.fmod(to_float(a), to_float(b))

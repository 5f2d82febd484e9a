"""Java's conversions: numbers (is it one, to double, narrowing to int/long, saturating a double) and an
argument to a method parameter's type, which is how a call picks (or misses) a Java overload."""

from __future__ import annotations

from typing import Any

from apiway.vtl.errors import TemplateRuntimeError
from apiway.vtl.java.exceptions import NoMethod, java_error
from apiway.vtl.java.values import StrArray

# Java's int: a larger integer argument matches no int parameter.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def is_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


def to_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        raise TemplateRuntimeError("number too large for a double") from None


def arg_int(value: Any) -> int:
    if type(value) is int and INT_MIN <= value <= INT_MAX:
        return value
    raise NoMethod


def arg_str(value: Any) -> str:
    """A CharSequence/String parameter; null matches too but the call then throws NullPointerException."""
    if type(value) is str:
        return value
    if value is None:
        raise java_error("NullPointerException")
    if isinstance(value, str):
        return str.__str__(value)
    raise NoMethod


def arg_collection(value: Any) -> list:
    if isinstance(value, list) and type(value) is not StrArray:
        return value
    if value is None:
        raise java_error("NullPointerException")
    raise NoMethod


def arg_map(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    if value is None:
        raise java_error("NullPointerException")
    raise NoMethod


def saturate(value: float, bits: int) -> int:
    """A double's intValue()/longValue(): NaN is 0, and beyond the range it sticks at the nearest end."""
    if value != value:
        return 0
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if value <= low:
        return low
    if value >= high:
        return high
    return int(value)


def wrap(value: int, bits: int) -> int:
    """An integer narrowed to `bits` bits (intValue() of a Long): the low bits, read as two's complement."""
    mask = (1 << bits) - 1
    value &= mask
    return value - (1 << bits) if value >> (bits - 1) else value

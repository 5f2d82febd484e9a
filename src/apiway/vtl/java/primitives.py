"""The methods of the boxed primitives a template holds: Integer/Long (a Python int), Double (a float) and
Boolean."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from apiway.vtl.java.conversions import is_number, saturate, to_float, wrap
from apiway.vtl.java.exceptions import NoMethod
from apiway.vtl.java.ops import java_equals
from apiway.vtl.java.text import int_str, java_double


def _compare_numbers(a: Any, b: Any) -> int:
    if not is_number(b):
        raise NoMethod
    return (a > b) - (a < b)


INT_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("toString", 0): int_str,
    ("intValue", 0): lambda n: wrap(n, 32),
    ("longValue", 0): lambda n: wrap(n, 64),
    ("shortValue", 0): lambda n: wrap(n, 16),
    ("byteValue", 0): lambda n: wrap(n, 8),
    ("doubleValue", 0): to_float,
    ("floatValue", 0): to_float,
    ("equals", 1): java_equals,
    ("compareTo", 1): _compare_numbers,
    ("hashCode", 0): lambda n: wrap(n ^ (n >> 32), 32),
}

FLOAT_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("toString", 0): java_double,
    ("intValue", 0): lambda d: saturate(d, 32),
    ("longValue", 0): lambda d: saturate(d, 64),
    ("doubleValue", 0): lambda d: d,
    ("floatValue", 0): lambda d: d,
    ("isNaN", 0): lambda d: d != d,
    ("isInfinite", 0): lambda d: d in (math.inf, -math.inf),
    ("equals", 1): java_equals,
    ("compareTo", 1): _compare_numbers,
}

BOOL_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("toString", 0): lambda b: "true" if b else "false",
    ("booleanValue", 0): lambda b: b,
    ("equals", 1): java_equals,
}

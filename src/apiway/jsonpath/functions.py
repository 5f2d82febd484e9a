"""The functions that may end a path: `length()`, `size()`, `keys()`, `first()`, `last()` and the numeric
aggregates `min()`, `max()`, `avg()`, `sum()`, `stddev()`."""

from __future__ import annotations

import math
from typing import Any

from apiway.jsonpath.errors import NotFound


def numeric_values(values: Any) -> list[float]:
    if not isinstance(values, list):
        return []
    return [_double(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def _double(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer past the double range (JSON allows any): Java's doubleValue() is ±Infinity
        return math.inf if value > 0 else -math.inf


def _sum(numbers: list[float]) -> float:
    try:
        return math.fsum(numbers)
    except (OverflowError, ValueError):  # past the double range, or inf + -inf: Java's double sum gives ±Infinity, NaN
        return sum(numbers)


def aggregate(name: str, numbers: list[float]) -> Any:
    if not numbers:
        raise NotFound  # Jayway: "Aggregation function attempted to calculate value using empty array"
    if name == "min":
        return min(numbers)
    if name == "max":
        return max(numbers)
    total = _sum(numbers)
    if name == "sum":
        return total
    mean = total / len(numbers)
    if name == "avg":
        return mean
    square_mean = _sum([n * n for n in numbers]) / len(numbers)
    return math.sqrt(max(0.0, square_mean - mean * mean))  # stddev (population)


AGGREGATES = frozenset({"min", "max", "avg", "sum", "stddev"})
FUNCTIONS = frozenset({"length", "size", "keys", "first", "last"}) | AGGREGATES


def apply_function(name: str, model: Any) -> Any:
    if name in ("length", "size"):
        return len(model) if isinstance(model, list | dict) else None
    if name == "keys":
        return list(model) if isinstance(model, dict) else None
    if name == "first":
        return model[0] if isinstance(model, list) and model else None
    if name == "last":
        return model[-1] if isinstance(model, list) and model else None
    return aggregate(name, numeric_values(model))

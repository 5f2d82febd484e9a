"""The functions that may end a path: `length()`, `size()`, `keys()`, `first()`, `last()` and the numeric
aggregates `min()`, `max()`, `avg()`, `sum()`, `stddev()`."""

from __future__ import annotations

import math
from typing import Any

from apiway.jsonpath.errors import NotFound


def numeric_values(values: Any) -> list[float]:
    if not isinstance(values, list):
        return []
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def aggregate(name: str, numbers: list[float]) -> Any:
    if not numbers:
        raise NotFound  # Jayway: "Aggregation function attempted to calculate value using empty array"
    if name == "min":
        return min(numbers)
    if name == "max":
        return max(numbers)
    total = math.fsum(numbers)
    if name == "sum":
        return total
    mean = total / len(numbers)
    if name == "avg":
        return mean
    square_mean = math.fsum(n * n for n in numbers) / len(numbers)
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

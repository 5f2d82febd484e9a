"""What `#foreach` walks (a snapshot of a list, a map's values) and integer ranges `[n..m]`."""

from __future__ import annotations

from typing import Any

from apiway.vtl.errors import TemplateRuntimeError
from apiway.vtl.java.conversions import saturate, wrap
from apiway.vtl.java.limits import MAX_ELEMENTS
from apiway.vtl.java.values import JList, StrArray


def _range_end(value: Any) -> int | None:
    """A range end: any number, as its intValue()."""
    kind = type(value)
    if kind is int:
        return wrap(value, 32)
    if kind is float:
        return saturate(value, 32)
    return None


def int_range(low: Any, high: Any) -> JList | None:
    """`[n..m]`, ascending or descending; null unless both ends are numbers."""
    start, stop = _range_end(low), _range_end(high)
    if start is None or stop is None:
        return None
    if abs(stop - start) >= MAX_ELEMENTS:
        raise TemplateRuntimeError(f"range [{start}..{stop}] has more than {MAX_ELEMENTS} elements")
    step = 1 if stop >= start else -1
    return JList(range(start, stop + step, step))


def loop_range(low: Any, high: Any) -> range | None:
    """`#foreach($i in [n..m])`: the same numbers without building the list."""
    start, stop = _range_end(low), _range_end(high)
    if start is None or stop is None:
        return None
    step = 1 if stop >= start else -1
    return range(start, stop + step, step)


def iterate(value: Any) -> Any:
    """What #foreach walks: a list's elements (a snapshot), a map's values; nothing for anything else."""
    kind = type(value)
    if kind is list or kind is JList or kind is StrArray:
        return value[:]
    if kind is dict:
        return list(value.values())
    if kind is range:
        return value
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list | tuple):
        return list(value)
    return None

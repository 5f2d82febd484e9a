"""The fuzz targets, one module per surface. Each module defines:

* `one_input(data: bytes) -> None` — runs the input through the surface; returns when the invariant holds, raises
  `fuzz.common.Finding` when it does not, and lets any exception the surface does not document escape;
* `INSTRUMENT` — the packages atheris instruments for coverage;
* `OPTIONS` — libFuzzer options the target needs (input size, per-input timeout).

None of them imports atheris: the regression tests replay kept inputs through `one_input` without it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

TARGETS = ("http", "vtl", "jsonpath", "openapi", "sigv4")


def load(name: str) -> ModuleType:
    if name not in TARGETS:
        raise ValueError(f"unknown fuzz target {name!r} (one of {', '.join(TARGETS)})")
    return importlib.import_module(f"fuzz.targets.{name}")


def entry(name: str) -> Callable[[bytes], None]:
    one_input: Callable[[bytes], None] = load(name).one_input
    return one_input

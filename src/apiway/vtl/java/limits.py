"""How much work one render may do. Beyond these bounds a render fails with TemplateRuntimeError: they bound
what one request can cause (AWS bounds it with its timeout)."""

from __future__ import annotations

from typing import Any

from apiway.vtl.errors import MAX_OUTPUT, TemplateRuntimeError

MAX_ITERATIONS = 1_000_000  # #foreach iterations per render, all loops together
MAX_ELEMENTS = 1_000_000  # elements a list or map may grow to
MAX_INT_BITS = 8192  # size of an integer product
MAX_DEPTH = 200  # nesting of a value that is printed or compared


def check_len(text: str) -> str:
    if len(text) > MAX_OUTPUT:
        raise TemplateRuntimeError(f"string exceeds {MAX_OUTPUT} characters")
    return text


def grow(collection: Any, extra: int) -> None:
    if len(collection) + extra > MAX_ELEMENTS:
        raise TemplateRuntimeError(f"collection exceeds {MAX_ELEMENTS} elements")

"""How much work one render may do. Beyond these bounds a render fails with TemplateRuntimeError: they bound
what one request can cause (AWS bounds it with its timeout)."""

from __future__ import annotations

from typing import Any

from apiway.vtl.errors import MAX_OUTPUT, TemplateRuntimeError

MAX_ITERATIONS = 1_000_000  # #foreach iterations per render, all loops together
MAX_ELEMENTS = 1_000_000  # elements a list or map may grow to
MAX_INT_BITS = 8192  # size of an integer product
MAX_DEPTH = 200  # nesting of a value that is printed or compared
# What macro calls and #define renders may add up to in one render: each counts CALL_COST, and a #define block
# also the characters it prints (a nested block counts again in each block around it). Calls and blocks that
# double at every level of nesting exceed it in well under a second, where they would otherwise run for minutes
# and fill memory even when they print nothing; real templates call a macro or print a block per item of a
# #foreach (at most MAX_LOOP items), far below it.
CALL_COST = 40
MAX_EXPANDED = 4 * MAX_OUTPUT


def check_len(text: str) -> str:
    if len(text) > MAX_OUTPUT:
        raise TemplateRuntimeError(f"string exceeds {MAX_OUTPUT} characters")
    return text


def grow(collection: Any, extra: int) -> None:
    if len(collection) + extra > MAX_ELEMENTS:
        raise TemplateRuntimeError(f"collection exceeds {MAX_ELEMENTS} elements")

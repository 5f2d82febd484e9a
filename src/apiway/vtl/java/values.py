"""The Java value types a template makes (ArrayList, String[], Map.Entry, `$foreach`, `#define` blocks) and the
per-render state and output buffers the compiled code writes into."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiway.vtl.errors import MAX_MACRO_DEPTH, MAX_OUTPUT, TemplateRuntimeError
from apiway.vtl.java.exceptions import BreakSignal
from apiway.vtl.java.limits import CALL_COST, MAX_EXPANDED, MAX_ITERATIONS


class JList(list):
    """java.util.ArrayList (made by the template)."""

    __slots__ = ()


class StrArray(list):
    """java.lang.String[] (from String.split)."""

    __slots__ = ()


class Entry:
    """A Map.Entry of `entrySet()`; setValue writes through to the map."""

    __slots__ = ("key", "map")

    def __init__(self, mapping: dict, key: Any) -> None:
        self.map = mapping
        self.key = key


class ForeachScope:
    """`$foreach` inside a loop."""

    __slots__ = ("has_next", "index", "parent")

    def __init__(self, parent: Any) -> None:
        self.parent = parent
        self.index = -1
        self.has_next = False


class State:
    """Per-render counters shared by every output buffer of one render."""

    __slots__ = ("budget", "depth", "expanded")

    def __init__(self) -> None:
        self.budget = MAX_ITERATIONS  # #foreach iterations left
        self.depth = 0
        self.expanded = 0  # macro calls and #define renders so far, counted as limits.MAX_EXPANDED says


class Out(list):
    """An output buffer: pieces of text. `limit` is the piece count at which the size is next checked."""

    __slots__ = ("limit", "st")
    limit: int
    st: State

    def check(self) -> None:
        if sum(map(len, self)) > MAX_OUTPUT:
            raise TemplateRuntimeError(f"template output exceeds {MAX_OUTPUT} characters")
        self.limit = len(self) * 2 + 64


def new_out(st: State) -> Out:
    out = Out()
    out.limit = 64
    out.st = st
    return out


class Block:
    """The value `#define($name)` stores: rendering it renders the block in the context of the moment."""

    __slots__ = ("ctx", "fn", "st")

    def __init__(self, fn: Callable[[dict, Out], None], ctx: dict, st: State) -> None:
        self.fn = fn
        self.ctx = ctx
        self.st = st

    def render(self) -> str:
        st = self.st
        if st.depth >= MAX_MACRO_DEPTH:
            raise TemplateRuntimeError(f"#define block nested more than {MAX_MACRO_DEPTH} deep")
        st.depth += 1
        out = new_out(st)
        try:
            self.fn(self.ctx, out)
        except BreakSignal:
            pass
        finally:
            st.depth -= 1
        text = "".join(out)
        size = len(text)
        if size > MAX_OUTPUT:  # blocks that print blocks: each level's text is bounded, not just the whole render's
            raise TemplateRuntimeError(f"#define block output exceeds {MAX_OUTPUT} characters")
        st.expanded += size + CALL_COST
        if st.expanded > MAX_EXPANDED:
            raise_overexpanded()
        return text


def raise_overexpanded() -> None:
    """Callers add to State.expanded inline (it is counted on every call) and call this past MAX_EXPANDED."""
    raise TemplateRuntimeError(f"macro calls and #define blocks expand to more than {MAX_EXPANDED} characters")

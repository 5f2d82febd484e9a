"""The methods of the engine's own objects: `$foreach` inside a loop, and the value a `#define` block stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiway.vtl.java.values import Block, ForeachScope

SCOPE_METHODS: dict[tuple[str, int], Callable[..., Any]] = {
    ("getIndex", 0): lambda s: s.index,
    ("getCount", 0): lambda s: s.index + 1,
    ("hasNext", 0): lambda s: s.has_next,
    ("getHasNext", 0): lambda s: s.has_next,
    ("isFirst", 0): lambda s: s.index == 0,
    ("getFirst", 0): lambda s: s.index == 0,
    ("isLast", 0): lambda s: not s.has_next,
    ("getLast", 0): lambda s: not s.has_next,
    ("getParent", 0): lambda s: s.parent,
    ("getTopmost", 0): lambda s: _topmost(s),
    ("getDepth", 0): lambda s: _depth(s),
}


def _topmost(scope: ForeachScope) -> ForeachScope:
    while type(scope.parent) is ForeachScope:
        scope = scope.parent
    return scope


def _depth(scope: ForeachScope) -> int:
    depth = 1
    while type(scope.parent) is ForeachScope:
        scope = scope.parent
        depth += 1
    return depth


BLOCK_METHODS: dict[tuple[str, int], Callable[..., Any]] = {("toString", 0): Block.render}

"""Operation name → handler. Handler modules register themselves with `@operation("CreateRestApi")`;
a handler takes the control plane and the parsed input and returns the output members (or None)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from apiway.control.plane import ControlPlane

Result = dict[str, Any] | None
Handler = Callable[["ControlPlane", dict[str, Any]], Result | Awaitable[Result]]

HANDLERS: dict[str, Handler] = {}


def operation(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            if name in HANDLERS:
                raise RuntimeError(f"{name} is registered twice")
            HANDLERS[name] = fn
        return fn

    return register

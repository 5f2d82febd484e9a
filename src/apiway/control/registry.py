"""(service, operation name) → handler. Handler modules register themselves with `@operation("CreateRestApi")`
(the `apigateway` service, REST APIs) or `@operation("CreateApi", service=V2)` (`apigatewayv2`: HTTP and
WebSocket APIs); the two services share operation names such as CreateStage. A handler takes the control
plane and the parsed input and returns the output members (or None)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from apiway.control.plane import ControlPlane

V1 = "apigateway"
V2 = "apigatewayv2"
SERVICES = (V1, V2)

Result = dict[str, Any] | None
Handler = Callable[["ControlPlane", dict[str, Any]], Result | Awaitable[Result]]

HANDLERS: dict[str, dict[str, Handler]] = {service: {} for service in SERVICES}


def operation(*names: str, service: str = V1) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        handlers = HANDLERS[service]
        for name in names:
            if name in handlers:
                raise RuntimeError(f"{service} {name} is registered twice")
            handlers[name] = fn
        return fn

    return register

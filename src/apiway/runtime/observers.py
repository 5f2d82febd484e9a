"""How a stage's observers are told of a finished request (REST, HTTP API, or WebSocket event)."""

from __future__ import annotations

from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Invocation, StageRuntime
from apiway.observe.log import log


def tell_observers(stage: StageRuntime, request: HttpRequest, response: HttpResponse, inv: Invocation | None,
                   error: str | None, latency_ms: int) -> None:
    """Each observer of the stage, in order; one that fails is logged and never changes the client's answer."""
    for observer in stage.observers:
        try:
            observer(request, response, stage, inv, error, latency_ms)
        except Exception as exc:
            log("ERROR", "observer failed", error=f"{type(exc).__name__}: {exc}", api=stage.api_id)

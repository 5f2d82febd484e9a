"""How a request's completion is told: to its stage's observers (REST, HTTP API, or WebSocket event), and to
its trace when it was sampled."""

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


def finished_request(stage: StageRuntime | None, req: HttpRequest, response: HttpResponse, inv: Invocation | None,
                     error: str | None) -> None:
    """The one completion point of REST and HTTP API requests, whatever their outcome: the invocation's status,
    the stage's observers, and a sampled request's trace."""
    if inv is not None:
        inv.status = response.status
        inv.error_type = error
    if stage is not None and stage.observers:
        tell_observers(stage, req, response, inv, error, stage.wall_ms() - inv.epoch_ms if inv is not None else 0)
    if inv is not None and inv.spans is not None:
        try:
            inv.spans.done(req, response, inv)
        except Exception as exc:
            log("ERROR", "finishing a trace failed", error=f"{type(exc).__name__}: {exc}", api=inv.stage.api_id)

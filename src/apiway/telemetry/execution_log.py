"""Execution logs (spec §12.2, REST and WebSocket): for the methods or routes whose `loggingLevel` is ERROR or INFO,
a starter gives each request a trail (`Invocation.trail`, entries in core/trail.py) and an observer writes it, in
AWS's wording and each line prefixed with `(requestId)`, to `API-Gateway-Execution-Logs_{apiId}/{stage}` (a
canary's to `.../{stage}/Canary`; a WebSocket API's to `/aws/apigateway/{apiId}/{stage}`). ERROR writes the
failures, INFO every step; `dataTraceEnabled` adds headers and bodies, secrets masked. An event longer than 1 KB is
cut there, as AWS cuts it. Methods left at OFF get no trail and cost nothing."""

from __future__ import annotations

from typing import Any

from apiway.core import trail
from apiway.core.errors import GatewayError
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Integration, Invocation, MethodPlan, StageRuntime
from apiway.core.ws_invocation import WsInvocation, WsStageRuntime
from apiway.model.method_settings import method_key
from apiway.observe.log_groups import LogGroups
from apiway.telemetry.hub import Equipment, MethodLogging, StageSettings
from apiway.telemetry.streams import stream_name

MAX_EVENT = 1024  # bytes of one log event; the rest is cut
TRUNCATED = " [TRUNCATED]"
# Query parameters that carry credentials (a presigned request's SigV4 fields).
_SECRET_QUERY = frozenset(("x-amz-signature", "x-amz-security-token", "x-amz-credential"))
# AWS's line for a failure whose error carries no reason of its own.
_REASONS = {"INTEGRATION_TIMEOUT": "Execution failed due to a timeout error"}


def log_group(settings: StageSettings) -> str:
    if settings.kind == "WEBSOCKET":
        return f"/aws/apigateway/{settings.api_id}/{settings.stage_name}"
    group = f"API-Gateway-Execution-Logs_{settings.api_id}/{settings.stage_name}"
    return group + "/Canary" if settings.is_canary else group


def cut(message: str) -> str:
    """A log event as AWS keeps it: at most 1 KB of it, marked when cut."""
    if len(message) <= MAX_EVENT // 4:  # surely short enough: no encoding needed
        return message
    data = message.encode()
    if len(data) <= MAX_EVENT:
        return message
    return data[:MAX_EVENT].decode("utf-8", "ignore") + TRUNCATED


def _map(pairs: Any) -> str:
    """`{name=value, ...}` as execution logs print path and query parameters."""
    return "{" + ", ".join(f"{k}={trail.mask(v) if k.lower() in _SECRET_QUERY else v}" for k, v in pairs) + "}"


class _Logged:
    """A logged method's integration: the lines that start its execution, then the integration itself, whose
    failure is written with AWS's reason."""

    __slots__ = ("inner",)

    def __init__(self, inner: Integration) -> None:
        self.inner = inner

    async def __call__(self, inv: Invocation) -> HttpResponse:
        steps = inv.trail
        if steps is None:
            return await self.inner(inv)
        req = inv.request
        steps.append((trail.INFO, f"Starting execution for request: {inv.request_id}"))
        if isinstance(inv, WsInvocation):
            steps.append((trail.INFO, f"WebSocket Event Type: {inv.event_type}, Route Key: {inv.route_key}, "
                                      f"Connection Id: {inv.connection.connection_id}"))
            steps.append((trail.DATA, f"Method request body before transformations: {trail.body_text(req.body)}"))
        else:
            steps.append((trail.INFO, f"HTTP Method: {req.method}, Resource Path: {inv.path}"))
            steps.append((trail.DATA, f"Method request path: {_map(inv.path_params.items())}"))
            last = req.query_params()[0] or {}
            steps.append((trail.DATA, f"Method request query string: {_map(last.items())}"))
            steps.append((trail.DATA, f"Method request headers: {trail.masked_headers(req.headers)}"))
            steps.append((trail.DATA, f"Method request body before transformations: {trail.body_text(req.body)}"))
        try:
            return await self.inner(inv)
        except GatewayError as err:
            reason = (err.log or _REASONS.get(err.response_type)
                      or f"Execution failed: {err.message or err.response_type}")
            steps.append((trail.ERROR, reason))
            raise


class ExecutionLogs:
    """The execution-log part."""

    def __init__(self, groups: LogGroups) -> None:
        self.groups = groups

    def equip(self, runtime: StageRuntime, settings: StageSettings, out: Equipment) -> None:
        if settings.kind not in ("REST", "WEBSOCKET"):
            return  # HTTP APIs have no execution logs
        levels: dict[int, MethodLogging] = {}
        for plan in _plans(runtime):
            if isinstance(plan.integration, _Logged):  # equipped before (a stage re-equipped as a canary)
                plan.integration = plan.integration.inner
            key = method_key(plan.resource_path, plan.http_method) if settings.kind == "REST" else plan.resource_path
            logging = settings.method(key)
            if logging.logging_level in ("ERROR", "INFO"):
                levels[id(plan)] = logging
                plan.integration = _Logged(plan.integration)
        if not levels:
            return
        put = self.groups.stream(log_group(settings), stream_name()).put

        def start(inv: Invocation) -> None:
            if id(inv.plan) in levels:
                inv.trail = [(trail.INFO, f"Extended Request Id: {inv.extended_request_id}")]

        def observe(request: HttpRequest, response: HttpResponse, stage: StageRuntime, inv: Invocation | None,
                    error: str | None, latency: int) -> None:
            if inv is None or inv.trail is None:
                return
            logging = levels[id(inv.plan)]
            info = logging.logging_level == "INFO"
            data = logging.data_trace
            steps = inv.trail
            _finish(response, error, steps)
            prefix = f"({inv.request_id}) "
            now = stage.wall_ms()
            hidden = _secrets(inv) if data else ()
            for kind, text in steps:
                if kind == trail.ERROR or (kind == trail.INFO and info):
                    put(now, cut(prefix + text))
                elif kind == trail.DATA and data:
                    for secret in hidden:  # wherever a body or header map repeats them
                        text = text.replace(secret, trail.mask(secret))
                    put(now, cut(prefix + text))

        out.starters.append(start)
        out.observers.append(observe)


def _secrets(inv: Invocation) -> list[str]:
    """The request's secret values (credential headers, a presigned URL's signature fields), masked wherever a
    logged header map or body repeats them."""
    found = trail.secrets(inv.request.headers)
    if inv.request.query:
        last = inv.request.query_params()[0] or {}
        found += [v for k, v in last.items() if k.lower() in _SECRET_QUERY and len(v) >= 4]
    return found


def _plans(runtime: StageRuntime) -> list[MethodPlan]:
    if isinstance(runtime, WsStageRuntime):
        return [route.plan for route in runtime.routes.values()]
    return runtime.plans


def _finish(response: HttpResponse, error: str | None, steps: list[Any]) -> None:
    """The lines only the completion knows: the method's response, or the gateway response a failure became."""
    headers = trail.masked_headers(response.headers)
    if error is None:
        steps.append((trail.DATA, f"Method response body after transformations: {trail.body_text(response.body)}"))
        steps.append((trail.DATA, f"Method response headers: {headers}"))
        steps.append((trail.INFO, "Successfully completed execution"))
        steps.append((trail.INFO, f"Method completed with status: {response.status}"))
        return
    steps.append((trail.ERROR, f"Gateway response type: {error} with status code: {response.status}"))
    steps.append((trail.DATA, f"Gateway response body: {trail.body_text(response.body)}"))
    steps.append((trail.DATA, f"Gateway response headers: {headers}"))
    steps.append((trail.ERROR, f"Method completed with status: {response.status}"))

"""Running a WebSocket connection's events on its compiled stage (spec §11.2, §16.3): `$connect` before the
upgrade is accepted, each message on the route it selects, `$disconnect` after the connection ended.

Each event is a WsInvocation of its route's plan: the checks in order, then the integration. Failures never
escape as exceptions: on `$connect` they become the handshake's HTTP refusal (401/403 from the authorizer,
429 throttled, 500 for failures, or the integration's own non-2xx status), on a message an error frame
`{"message", "connectionId", "requestId"}`; only `WsClose` asks the caller to close the connection.
Each event is told to the stage's observers, if it has any (access logs, metrics) — one no route took too."""

from __future__ import annotations

import traceback

from apiway.core import request_ids
from apiway.core.errors import GatewayError
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Invocation, MethodPlan
from apiway.core.websocket import UNSUPPORTED_DATA
from apiway.core.ws_invocation import CONNECT, DISCONNECT, MESSAGE, Connection, WsInvocation, WsStageRuntime
from apiway.integrations.websocket import BinaryRefused
from apiway.observe.log import log
from apiway.runtime.observers import tell_observers
from apiway.runtime.ws_errors import error_frame, frame_message, status_of

CONNECT_ROUTE = "$connect"
DISCONNECT_ROUTE = "$disconnect"
_PASSED_ON = "sec-websocket-protocol"  # the only header of `$connect`'s answer the 101 carries


class WsClose(Exception):
    """The connection must close with `code` (a binary message no route can take: 1003)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


async def _run(inv: WsInvocation) -> HttpResponse:
    plan = inv.plan
    for guard in plan.guards:
        pending = guard(inv)
        if pending is not None:
            await pending
    stage = inv.stage
    if stage.observers:  # only an observed stage pays for timing its integration
        started = stage.wall_ms()
        response = await plan.integration(inv)
        inv.integration_latency_ms = stage.wall_ms() - started
        return response
    return await plan.integration(inv)


def _observe(inv: WsInvocation, response: HttpResponse, error: str | None) -> None:
    """An event's completion, told to its stage's observers (called only when it has some)."""
    stage = inv.stage
    inv.status = response.status
    inv.error_type = error
    tell_observers(stage, inv.request, response, inv, error, stage.wall_ms() - inv.epoch_ms)


def _message_request(conn: Connection, data: bytes) -> HttpRequest:
    """A message as a request: its body, no headers (AWS gives none), the upgrade's address and scheme."""
    upgrade = conn.request
    return HttpRequest("POST", upgrade.path, "", [], data, conn.source_ip, upgrade.scheme, upgrade.server_port,
                       upgrade.http_version)


async def _no_integration(inv: Invocation) -> HttpResponse:
    raise AssertionError("an event without a route runs nothing")


def _unrouted(request: HttpRequest, stage: WsStageRuntime, conn: Connection, event_type: str, route_key: str,
              request_id: str | None = None) -> WsInvocation:
    """The invocation of an event no route took (no $connect or $disconnect route, a message no route
    selects), made only for the stage's observers: the event still happened."""
    plan = MethodPlan("", route_key, route_key, False, "NONE", _no_integration)
    return WsInvocation(request, stage, plan, conn, event_type, route_key,
                        request_id or request_ids.extended_request_id())


def _failed(err: GatewayError, inv: WsInvocation) -> None:
    if status_of(err) >= 500 or err.response_type.endswith("ERROR"):
        log("ERROR", err.log or err.response_type, requestId=inv.request_id, api=inv.stage.api_id,
            route=inv.route_key, connectionId=inv.connection.connection_id)


def _crashed(exc: Exception, inv: WsInvocation) -> None:
    log("ERROR", "unexpected failure", requestId=inv.request_id, api=inv.stage.api_id, route=inv.route_key,
        connectionId=inv.connection.connection_id, error=f"{type(exc).__name__}: {exc}",
        traceback=traceback.format_exc())


async def run_connect(stage: WsStageRuntime, conn: Connection) -> HttpResponse:
    """The `$connect` route on the upgrade request: 2xx accepts (with the Sec-WebSocket-Protocol the
    integration chose), anything else is the handshake's refusal. No `$connect` route: accepted."""
    route = stage.routes.get(CONNECT_ROUTE)
    if route is None:
        accepted = HttpResponse(200, [], b"")
        if stage.observers:
            _observe(_unrouted(conn.request, stage, conn, CONNECT, CONNECT_ROUTE), accepted, None)
        return accepted
    request_id = request_ids.extended_request_id()
    inv = WsInvocation(conn.request, stage, route.plan, conn, CONNECT, CONNECT_ROUTE, request_id)
    try:
        response = await _run(inv)
    except GatewayError as err:
        _failed(err, inv)
        refused = stage.errors.render(err, conn.request, stage, request_id)
        if stage.observers:
            _observe(inv, refused, err.response_type)
        return refused
    except Exception as exc:
        _crashed(exc, inv)
        refused = stage.errors.render(GatewayError("API_CONFIGURATION_ERROR"), conn.request, stage, request_id)
        if stage.observers:
            _observe(inv, refused, "API_CONFIGURATION_ERROR")
        return refused
    if stage.observers:
        _observe(inv, response, None)
    if not 200 <= response.status < 300:
        log("INFO", "connection refused by the $connect integration", status=response.status,
            requestId=request_id, api=stage.api_id, connectionId=conn.connection_id)
        return HttpResponse(response.status, [("x-amzn-RequestId", request_id), *_content_type(response)],
                            response.body)
    conn.authorizer = inv.authorizer
    conn.identity = inv.identity
    conn.api_key = (inv.identity or {}).get("apiKey")
    return HttpResponse(response.status, [(k, v) for k, v in response.headers if k.lower() == _PASSED_ON], b"")


def _content_type(response: HttpResponse) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers if k.lower() == "content-type"]


async def run_message(stage: WsStageRuntime, conn: Connection, data: bytes, text: bool) -> bytes | None:
    """One message on the route it selects: the two-way answer, an error frame, or None."""
    request_id = request_ids.extended_request_id()
    route_key = stage.select(data, text)
    route = stage.routes.get(route_key)
    if route is None:
        if not text:
            raise WsClose(UNSUPPORTED_DATA, "binary messages are not supported")
        frame = error_frame("Forbidden", conn.connection_id, request_id)
        if stage.observers:
            _observe(_unrouted(_message_request(conn, data), stage, conn, MESSAGE, route_key, request_id),
                     HttpResponse(403, [], frame), "MISSING_AUTHENTICATION_TOKEN")
        return frame
    req = _message_request(conn, data)
    inv = WsInvocation(req, stage, route.plan, conn, MESSAGE, route_key, request_id,
                       request_ids.extended_request_id(), binary=not text)
    try:
        response = await _run(inv)
    except BinaryRefused:
        raise WsClose(UNSUPPORTED_DATA, "binary messages are not supported") from None
    except GatewayError as err:
        _failed(err, inv)
        frame = error_frame(frame_message(err), conn.connection_id, request_id)
        if stage.observers:
            _observe(inv, HttpResponse(status_of(err), [], frame), err.response_type)
        return frame
    except Exception as exc:
        _crashed(exc, inv)
        frame = error_frame("Internal server error", conn.connection_id, request_id)
        if stage.observers:
            _observe(inv, HttpResponse(500, [], frame), "API_CONFIGURATION_ERROR")
        return frame
    if stage.observers:
        _observe(inv, response, None)
    if not route.two_way:
        return None
    return response.body or None


async def run_disconnect(stage: WsStageRuntime, conn: Connection, code: int, reason: str) -> None:
    """`$disconnect`, best effort: its answer is ignored, its failures only logged."""
    route = stage.routes.get(DISCONNECT_ROUTE)
    if route is None:
        if stage.observers:
            inv = _unrouted(conn.request, stage, conn, DISCONNECT, DISCONNECT_ROUTE)
            inv.disconnect_code = code
            inv.disconnect_reason = reason
            _observe(inv, HttpResponse(200, [], b""), None)
        return
    inv = WsInvocation(conn.request, stage, route.plan, conn, DISCONNECT, DISCONNECT_ROUTE,
                       request_ids.extended_request_id())
    inv.disconnect_code = code
    inv.disconnect_reason = reason
    try:
        response = await _run(inv)
    except GatewayError as err:
        _failed(err, inv)
        if stage.observers:
            _observe(inv, HttpResponse(status_of(err), [], b""), err.response_type)
    except Exception as exc:
        _crashed(exc, inv)
        if stage.observers:
            _observe(inv, HttpResponse(500, [], b""), "API_CONFIGURATION_ERROR")
    else:
        if stage.observers:
            _observe(inv, response, None)

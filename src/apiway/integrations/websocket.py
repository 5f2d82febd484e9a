"""WebSocket APIs' integrations (spec §11.1): AWS (Lambda, non-proxy), MOCK, HTTP and HTTP_PROXY, each answering
an HttpResponse whose status decides a `$connect` and whose body is the frame a two-way route sends back;
AWS_PROXY is the Lambda proxy integration with the WebSocket event format (events/websocket.py).

Around each: the integration's `timeoutInMillis`, and `contentHandlingStrategy` for binary messages — a
binary message reaches an integration only converted (CONVERT_TO_TEXT); on a route that does not convert it
the connection closes with 1003 (`BinaryRefused`)."""

from __future__ import annotations

import asyncio
import base64

import orjson

from apiway.core.errors import FunctionUnavailable, GatewayError
from apiway.core.http import DROPPED_REQUEST_HEADERS, HttpRequest, HttpResponse
from apiway.core.invocation import Integration, Invocation
from apiway.core.ws_invocation import CONNECT, DISCONNECT, WsInvocation
from apiway.functions.base import FunctionInvoker, FunctionThrottled
from apiway.integrations.http import UpstreamTarget
from apiway.integrations.upstream import UpstreamConnectError, UpstreamPool, UpstreamTimeout
from apiway.mapping.variables import TemplateScope
from apiway.mapping.ws_templates import IntegrationResponses, RequestTemplates, convert

_SKIPPED = DROPPED_REQUEST_HEADERS | {"host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto",
                                      "x-amzn-trace-id"}


class BinaryRefused(GatewayError):
    """A binary message on a route whose integration does not convert binary payloads: close 1003."""

    def __init__(self) -> None:
        super().__init__("UNSUPPORTED_MEDIA_TYPE", log="binary message on a route that does not convert it")


class TimedOut(GatewayError):
    def __init__(self, timeout_ms: int) -> None:
        super().__init__("INTEGRATION_TIMEOUT", "Endpoint request timed out",
                         log=f"Integration timed out after {timeout_ms} ms")


def _message_body(inv: Invocation) -> bytes:
    """The message as the integration takes it: the event's request body (the upgrade's empty one on CONNECT
    and DISCONNECT)."""
    return inv.request.body


class WsLambda:
    """AWS: the request template's output is the function's event; its result (or its error, whose
    `errorMessage` selects the integration response) goes through the integration responses."""

    __slots__ = ("function", "invoker", "request", "responses")

    def __init__(self, function: str, invoker: FunctionInvoker, request: RequestTemplates,
                 responses: IntegrationResponses) -> None:
        self.function = function
        self.invoker = invoker
        self.request = request
        self.responses = responses

    async def __call__(self, inv: Invocation) -> HttpResponse:
        scope = TemplateScope(inv)
        message = _message_body(inv)
        body = self.request.body(scope, message)
        try:
            event = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            event = body.decode("utf-8", "replace")
        try:
            result = await self.invoker.invoke(self.function, event, inv.request_id)
        except FunctionThrottled as exc:
            raise FunctionUnavailable(exc.log) from None
        if not result.function_error:
            return self.responses.respond(scope, 200, result.payload, message)
        try:
            error = orjson.loads(result.payload)
        except orjson.JSONDecodeError:
            error = None
        text = error.get("errorMessage") if isinstance(error, dict) else None
        return self.responses.respond(scope, 500, result.payload, message, "" if text is None else str(text))


class WsMock:
    """MOCK: the request template's `statusCode` (200 without a template) selects the integration response."""

    __slots__ = ("request", "responses")

    def __init__(self, request: RequestTemplates, responses: IntegrationResponses) -> None:
        self.request = request
        self.responses = responses

    async def __call__(self, inv: Invocation) -> HttpResponse:
        scope = TemplateScope(inv)
        message = _message_body(inv)
        status = 200
        if self.request:
            status = _status_code(self.request.body(scope, message))
        return self.responses.respond(scope, status, b"", message)


def _status_code(output: bytes) -> int:
    try:
        doc = orjson.loads(output)
        return int(doc["statusCode"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise GatewayError("API_CONFIGURATION_ERROR",
                           log="MOCK request template must produce JSON with an integer statusCode") from None


class _Http:
    __slots__ = ("method", "pool", "target", "verify")

    def __init__(self, target: UpstreamTarget, method: str, pool: UpstreamPool, verify: bool) -> None:
        self.target = target
        self.method = (method or "POST").upper()
        self.pool = pool
        self.verify = verify

    async def _send(self, inv: Invocation, headers: list[tuple[str, str]], body: bytes, timeout: float) -> HttpResponse:
        t = self.target
        sent = [("Host", t.host_header), *headers, *inv.forwarding_headers()]
        method = inv.request.method if self.method == "ANY" else self.method
        encoded = [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in sent]
        try:
            resp = await self.pool.request(t.scheme, t.host, t.port, method, t.target({}, ""), encoded, body,
                                           timeout, self.verify)
        except UpstreamTimeout:
            raise GatewayError("INTEGRATION_TIMEOUT", "Endpoint request timed out",
                               log=f"Integration timed out after {timeout * 1000:.0f} ms") from None
        except UpstreamConnectError as exc:
            raise GatewayError("INTEGRATION_FAILURE", log=f"Integration could not connect: {exc}") from None
        except Exception as exc:  # protocol errors, resets mid-response
            raise GatewayError("INTEGRATION_FAILURE", log=f"Integration answered unreadably: {exc}") from None
        return HttpResponse(resp.status, [(k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.headers],
                            resp.body)


def _client_headers(inv: Invocation) -> list[tuple[str, str]]:
    """The upgrade request's headers on CONNECT and DISCONNECT; a message has none of its own."""
    if isinstance(inv, WsInvocation) and inv.event_type in (CONNECT, DISCONNECT):
        return [(k, v) for k, v in inv.request.headers if k.lower() not in _SKIPPED]
    return []


class WsHttpProxy(_Http):
    """HTTP_PROXY: the message (or the upgrade request) passes to the backend; its answer comes back."""

    __slots__ = ("timeout",)

    def __init__(self, target: UpstreamTarget, method: str, pool: UpstreamPool, verify: bool, timeout_ms: int) -> None:
        super().__init__(target, method, pool, verify)
        self.timeout = timeout_ms / 1000

    async def __call__(self, inv: Invocation) -> HttpResponse:
        return await self._send(inv, _client_headers(inv), _message_body(inv), self.timeout)


class WsHttp(_Http):
    """HTTP: the request template's output is POSTed (the integration's method) to the backend; its status
    selects the integration response, whose template renders the frame."""

    __slots__ = ("request", "responses", "timeout")

    def __init__(self, target: UpstreamTarget, method: str, pool: UpstreamPool, verify: bool, timeout_ms: int,
                 request: RequestTemplates, responses: IntegrationResponses) -> None:
        super().__init__(target, method, pool, verify)
        self.timeout = timeout_ms / 1000
        self.request = request
        self.responses = responses

    async def __call__(self, inv: Invocation) -> HttpResponse:
        scope = TemplateScope(inv)
        message = _message_body(inv)
        body = self.request.body(scope, message)
        headers = [*_client_headers(inv), ("Content-Type", "application/json")]
        resp = await self._send(inv, headers, body, self.timeout)
        return self.responses.respond(scope, resp.status, resp.body, message)


class Converting:
    """`contentHandlingStrategy` on the way in: a binary message reaches the integration as base64 text
    (CONVERT_TO_TEXT); a text message as the bytes its base64 names (CONVERT_TO_BINARY). Without a strategy a
    binary message is refused (1003)."""

    __slots__ = ("inner", "strategy")

    def __init__(self, inner: Integration, strategy: str | None) -> None:
        self.inner = inner
        self.strategy = strategy

    async def __call__(self, inv: Invocation) -> HttpResponse:
        assert isinstance(inv, WsInvocation)
        strategy = self.strategy
        binary = inv.binary
        if binary and strategy != "CONVERT_TO_TEXT" and strategy != "CONVERT_TO_BINARY":
            raise BinaryRefused()
        if (binary and strategy == "CONVERT_TO_TEXT") or (not binary and strategy == "CONVERT_TO_BINARY"):
            req = inv.request
            body = base64.b64encode(req.body) if binary else convert(req.body, strategy)
            inv.request = HttpRequest(req.method, req.path, req.query, req.headers, body, req.client_ip, req.scheme,
                                      req.server_port, req.http_version)
            inv.binary = not binary
        return await self.inner(inv)


class TimeLimited:
    """`timeoutInMillis` (50 ms to 29 s) around an integration that has no deadline of its own."""

    __slots__ = ("inner", "timeout_ms")

    def __init__(self, inner: Integration, timeout_ms: int) -> None:
        self.inner = inner
        self.timeout_ms = timeout_ms

    async def __call__(self, inv: Invocation) -> HttpResponse:
        try:
            return await asyncio.wait_for(self.inner(inv), self.timeout_ms / 1000)
        except TimeoutError:
            raise TimedOut(self.timeout_ms) from None

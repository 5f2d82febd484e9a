"""ASGI adapter: turns an ASGI HTTP scope into the core's HttpRequest and sends the core's
response back. Runs under uvicorn (uvloop + httptools); no framework on the request path."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from apiway.core.http import MAX_PAYLOAD, STREAM_MIN, BodyStream, HttpRequest, HttpResponse
from apiway.core.websocket import MAX_MESSAGE, Upgraded
from apiway.front.handler import Handler
from apiway.front.ws_asgi import AsgiWebSocket
from apiway.observe.log import log

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
RAW_HEADER_NAMES = "apiway.raw_header_names"
# uvicorn's WebSocket settings: the `websockets` implementation; messages beyond AWS's limit still reach the
# adapter, which closes with 1009 and tells the session so (past twice the limit `websockets` closes with 1009
# itself, and the session hears 1006); no pings of its own (AWS sends none; idle connections end by the idle
# timeout); no compression, as on the native server.
UVICORN_WEBSOCKETS: dict[str, Any] = {"ws": "websockets", "ws_max_size": 2 * MAX_MESSAGE, "ws_ping_interval": None,
                                      "ws_per_message_deflate": False}
GOING_AWAY_GRACE = 3.0  # seconds accepted WebSockets get to finish their closing handshake at shutdown


class AsgiApp:
    def __init__(self, gateway: Handler) -> None:
        self.gateway = gateway
        self.websockets: dict[AsgiWebSocket, asyncio.Task[Any] | None] = {}

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind == "websocket":
            await self._upgrade(scope, receive, send)
            return
        if kind != "http":
            return
        length = _content_length(scope)
        if length is not None and STREAM_MIN <= length <= MAX_PAYLOAD:
            await self._streamed(scope, receive, send, length)
            return
        body = b""
        too_large = False
        more = True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            if chunk:
                body = body + chunk if body else chunk
                if len(body) > MAX_PAYLOAD:
                    too_large, body = True, b""  # stop buffering; answer 413 below
                    break
            more = message.get("more_body", False)
        request = _request(scope, scope["method"], body)
        if too_large:
            response = self.gateway.reject(request, "REQUEST_TOO_LARGE")
        else:
            response = await self.gateway.handle(request)
        await _respond(send, request, response, too_large)

    async def _streamed(self, scope: dict[str, Any], receive: Receive, send: Send, length: int) -> None:
        """A long body (by its Content-Length) reaches the core at once and follows as uvicorn receives it, as on
        the native server: a method that only passes it on sends it upstream as it comes. uvicorn stops reading
        the socket while this side does not ask for more (`receive`), so a lagging reader holds it back."""
        request = _request(scope, scope["method"], b"")
        flowing = asyncio.Event()
        flowing.set()
        stream = request.stream = BodyStream(length, flowing.clear, flowing.set)
        feeder = asyncio.create_task(_feed(receive, stream, flowing))
        try:
            response = await self.gateway.handle(request)
            if not stream.complete:  # answered without all of it: uvicorn drops the rest once the answer is sent
                stream.discard()
            await _respond(send, request, response, False)
        finally:
            feeder.cancel()


    async def _upgrade(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """A WebSocket handshake (the server validated it) goes to the handler's upgrade hook. `Upgraded` accepts
        it; a refusal is sent as the HTTP response where the server supports that (ASGI's
        `websocket.http.response` extension), else as a close, which the server answers 403."""
        await receive()  # websocket.connect
        request = _request(scope, "GET", b"")
        response = await self.gateway.upgrade(request)
        if isinstance(response, Upgraded):
            socket = AsgiWebSocket(response, send, f"{request.client_ip} {request.path}")
            self.websockets[socket] = asyncio.current_task()
            try:
                await socket.run(receive)
            finally:
                del self.websockets[socket]
        elif "websocket.http.response" in (scope.get("extensions") or {}):
            headers = [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in response.headers]
            await send({"type": "websocket.http.response.start", "status": response.status, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": response.body})
        else:
            await send({"type": "websocket.close", "code": 1008})


    async def going_away(self) -> None:
        """Server shutdown: every accepted WebSocket is closed with 1001 (uvicorn's own would be 1012)."""
        for socket in list(self.websockets):
            socket.going_away()
        tasks = [t for t in self.websockets.values() if t is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=GOING_AWAY_GRACE)


def _request(scope: dict[str, Any], method: str, body: bytes) -> HttpRequest:
    raw = scope["headers"]
    names = scope.get(RAW_HEADER_NAMES)  # the client's header casing, when the server kept it
    if names is not None and len(names) == len(raw):
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, (_, v) in zip(names, raw, strict=True)]
    else:
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw]
    client = scope.get("client")
    server = scope.get("server")
    return HttpRequest(
        method=method,
        path=scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"],
        query=scope["query_string"].decode("latin-1"),
        headers=headers,
        body=body,
        client_ip=client[0] if client else "127.0.0.1",
        scheme={"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http")),
        server_port=server[1] if server and server[1] else 80,
        http_version=scope.get("http_version", "1.1"),
    )


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _feed(receive: Receive, stream: BodyStream, flowing: asyncio.Event) -> None:
    """What uvicorn receives of a streamed body, into its stream; waits while the stream's reader lags."""
    while True:
        await flowing.wait()
        message = await receive()
        if message["type"] == "http.disconnect":
            stream.fail(ConnectionResetError("the client closed the connection during the body"))
            return
        chunk = message.get("body", b"")
        if chunk:
            stream.feed(chunk)
        if not message.get("more_body", False):
            stream.end()
            return


async def _respond(send: Send, request: HttpRequest, response: HttpResponse, close: bool) -> None:
    out = [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in response.headers]
    out.append((b"content-length", str(response.length).encode()))
    if close:  # uvicorn would read and drop the rest of a refused body, however long: it closes instead
        out.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": response.status, "headers": out})
    stream = response.stream
    if stream is None:
        await send({"type": "http.response.body", "body": response.body if request.method != "HEAD" else b""})
        return
    try:  # a long upstream body, as it arrives
        async for chunk in stream.chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except Exception as exc:  # returning short: uvicorn closes the connection, the client sees a short body
        log("WARN", "the upstream's response ended early: connection closed", path=request.path,
            error=f"{type(exc).__name__}: {exc}")
        return
    finally:
        if not stream.complete:
            stream.discard()
    await send({"type": "http.response.body", "body": b""})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

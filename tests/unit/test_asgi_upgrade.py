"""The ASGI adapter's upgrade seam: a WebSocket scope reaches the handler's upgrade hook, and its refusal
goes back as the HTTP response (ASGI's `websocket.http.response` extension) or, where the server lacks
that, as a close."""

import asyncio
from typing import Any

from apiway.core.http import HttpRequest, HttpResponse
from apiway.front.asgi import AsgiApp


class Refusing:
    def __init__(self) -> None:
        self.seen: list[HttpRequest] = []

    async def handle(self, req: HttpRequest) -> HttpResponse:
        raise AssertionError("a WebSocket scope must not reach handle()")

    async def upgrade(self, req: HttpRequest) -> HttpResponse:
        self.seen.append(req)
        return HttpResponse(403, [("Content-Type", "application/json")], b'{"message":"Forbidden"}')

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        raise AssertionError("not expected")


def scope(extensions: dict[str, Any]) -> dict[str, Any]:
    return {"type": "websocket", "scheme": "ws", "path": "/dev", "raw_path": b"/dev", "query_string": b"a=1",
            "headers": [(b"host", b"abc123.execute-api.localhost"), (b"sec-websocket-version", b"13")],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8080), "extensions": extensions}


def run(extensions: dict[str, Any]) -> tuple[Refusing, list[dict[str, Any]]]:
    handler, sent = Refusing(), []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(AsgiApp(handler)(scope(extensions), receive, send))
    return handler, sent


def test_a_websocket_scope_reaches_the_upgrade_hook_and_gets_its_http_answer() -> None:
    handler, sent = run({"websocket.http.response": {}})
    [req] = handler.seen
    assert (req.method, req.path, req.query, req.scheme) == ("GET", "/dev", "a=1", "http")
    assert req.header("host") == "abc123.execute-api.localhost"
    assert sent == [
        {"type": "websocket.http.response.start", "status": 403, "headers": [(b"Content-Type", b"application/json")]},
        {"type": "websocket.http.response.body", "body": b'{"message":"Forbidden"}'},
    ]


def test_without_the_http_response_extension_the_refusal_is_a_close() -> None:
    handler, sent = run({})
    assert len(handler.seen) == 1
    assert sent == [{"type": "websocket.close", "code": 1008}]

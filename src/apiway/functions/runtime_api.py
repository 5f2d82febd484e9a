"""The Lambda Runtime API (version 2018-06-01) for one execution environment.

A runtime client takes `AWS_LAMBDA_RUNTIME_API=host:port` as its whole base address, so each environment gets
its own listening socket on 127.0.0.1: the port tells which environment is calling. The contract followed is
AWS's OpenAPI description of the API and the behaviour of its runtime interface emulator:

- `GET  /2018-06-01/runtime/invocation/next` blocks until an event is ready, then answers 200 with the event
  JSON and the `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms` (Unix epoch ms), `-Invoked-Function-Arn`,
  `-Trace-Id` headers, plus `-Client-Context` and `-Cognito-Identity` when the invocation carries them.
- `POST /2018-06-01/runtime/invocation/{id}/response` 202 `{"status":"OK"}`; a body over 6,291,556 bytes
  answers 413 `RequestEntityTooLarge` and the invocation fails with `Function.ResponseSizeTooLarge`.
- `POST /2018-06-01/runtime/invocation/{id}/error` 202; the body is the error document (`errorMessage`,
  `errorType`, `stackTrace`); when it is missing or unreadable, one is made from the
  `Lambda-Runtime-Function-Error-Type` header.
- `POST /2018-06-01/runtime/init/error` 202; the environment then fails the invocation waiting for it.
- An id that is not the invocation in progress: 400 `InvalidRequestID`; a call out of order (a second answer,
  `next` before answering, an init error after init): 403 `InvalidStateTransition`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from httptools import HttpParserError, HttpRequestParser

from apiway.functions.base import InvokeResult
from apiway.functions.frames import MAX_PAYLOAD

__all__ = ["PendingEvent", "RuntimeApi", "error_result", "response_result"]

_PREFIX = b"/2018-06-01/runtime/"
_STATUS = {200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 413: "Request Entity Too Large"}
_ACCEPTED = b'{"status":"OK"}'


def _error(error_type: str, message: str) -> bytes:
    return orjson.dumps({"errorMessage": message, "errorType": error_type})


_INVALID_ID = _error("InvalidRequestID", "Invalid request ID")
_TOO_LARGE = _error("RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({MAX_PAYLOAD} bytes).")


@dataclass(slots=True, eq=False)
class PendingEvent:
    """One event on its way through an environment; `result` is resolved exactly once."""

    request_id: str
    event: bytes
    timeout: float
    arn: str
    trace_id: str
    result: asyncio.Future[InvokeResult]
    client_context: str | None = None
    cognito_identity: str | None = None
    deadline_ms: int = 0  # set when the runtime receives it
    delivered: bool = field(default=False)

    def resolve(self, result: InvokeResult) -> bool:
        if self.result.done():
            return False
        self.result.set_result(result)
        return True


class RuntimeApi:
    """The API one environment's runtime talks to. `submit` hands it the next event; the callbacks tell the
    environment when the runtime took it (`on_delivered`) and when it answered (`on_result`) or failed to
    initialise (`on_init_error`)."""

    __slots__ = ("_done_ids", "_init_failed", "_pending", "_server", "_waiter", "current", "on_delivered",
                 "on_init_error", "on_result", "port")

    def __init__(self, on_delivered: Callable[[PendingEvent], None],
                 on_result: Callable[[PendingEvent, InvokeResult], None],
                 on_init_error: Callable[[InvokeResult], None]) -> None:
        self.on_delivered = on_delivered
        self.on_result = on_result
        self.on_init_error = on_init_error
        self.port = 0
        self.current: PendingEvent | None = None  # delivered to the runtime, not answered yet
        self._pending: PendingEvent | None = None  # submitted, the runtime has not asked for it yet
        self._waiter: _Connection | None = None  # a `next` long-poll waiting for an event
        self._done_ids: deque[str] = deque(maxlen=8)
        self._init_failed = False
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str = "127.0.0.1") -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._waiter is not None:
            self._waiter.close()
            self._waiter = None

    def submit(self, inv: PendingEvent) -> None:
        self._pending = inv
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            self._deliver(waiter)

    def _deliver(self, conn: _Connection) -> None:
        inv = self._pending
        assert inv is not None
        self._pending = None
        self.current = inv
        inv.delivered = True
        self.on_delivered(inv)  # sets the deadline
        headers = [("Content-Type", "application/json"),
                   ("Lambda-Runtime-Aws-Request-Id", inv.request_id),
                   ("Lambda-Runtime-Deadline-Ms", str(inv.deadline_ms)),
                   ("Lambda-Runtime-Invoked-Function-Arn", inv.arn),
                   ("Lambda-Runtime-Trace-Id", inv.trace_id)]
        if inv.client_context is not None:
            headers.append(("Lambda-Runtime-Client-Context", inv.client_context))
        if inv.cognito_identity is not None:
            headers.append(("Lambda-Runtime-Cognito-Identity", inv.cognito_identity))
        conn.respond(200, inv.event, headers)

    # --- requests from the runtime

    def handle(self, conn: _Connection, method: str, path: bytes, headers: dict[str, str], body: bytes,
               size: int) -> None:
        if not path.startswith(_PREFIX):
            conn.respond(404, _error("NotFound", "Not found"))
            return
        route = path[len(_PREFIX):].split(b"?", 1)[0]
        if route == b"invocation/next":
            if method != "GET":
                conn.respond(405, _error("MethodNotAllowed", "Method not allowed"))
            elif self.current is not None or self._init_failed or self._waiter is not None:
                conn.respond(403, _error("InvalidStateTransition", "State transition to Next failed: "
                                         + ("init failed" if self._init_failed else "an invocation is in progress")))
            elif self._pending is not None:
                self._deliver(conn)
            else:
                self._waiter = conn  # long-poll: answered by the next submit
            return
        if method != "POST":
            conn.respond(405, _error("MethodNotAllowed", "Method not allowed"))
            return
        if route == b"init/error":
            if self.current is not None or self._done_ids or self._init_failed:
                conn.respond(403, _error("InvalidStateTransition", "State transition to InitError failed: "
                                         "the runtime is already initialised"))
                return
            self._init_failed = True
            conn.respond(202, _ACCEPTED)
            self.on_init_error(error_result(body, headers.get("lambda-runtime-function-error-type")))
            return
        parts = route.split(b"/")
        if len(parts) != 3 or parts[0] != b"invocation" or parts[2] not in (b"response", b"error"):
            conn.respond(404, _error("NotFound", "Not found"))
            return
        request_id = parts[1].decode("latin-1")
        inv = self.current
        if inv is None or inv.request_id != request_id:
            if request_id in self._done_ids:
                conn.respond(403, _error("InvalidStateTransition", "State transition to Response failed: "
                                         "the invocation was already answered"))
            else:
                conn.respond(400, _INVALID_ID)
            return
        if parts[2] == b"response":
            conn.respond(*((413, _TOO_LARGE) if size > MAX_PAYLOAD else (202, _ACCEPTED)))
            result = response_result(body, size)
        else:
            conn.respond(202, _ACCEPTED)
            result = error_result(body if size <= MAX_PAYLOAD else b"",
                                  headers.get("lambda-runtime-function-error-type"))
        self.current = None
        self._done_ids.append(request_id)
        self.on_result(inv, result)

    def forget(self, conn: _Connection) -> None:
        if self._waiter is conn:
            self._waiter = None


def response_result(body: bytes, size: int) -> InvokeResult:
    """The invocation's outcome for a response of `size` bytes (`body`, unless over the limit)."""
    if size <= MAX_PAYLOAD:
        return InvokeResult(body)
    message = f"Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_PAYLOAD} bytes)."
    return InvokeResult(_error("Function.ResponseSizeTooLarge", message), "Unhandled")


def error_result(body: bytes, error_type: str | None) -> InvokeResult:
    """The runtime's error document, or one made from its error type when it sent none readable."""
    try:
        if isinstance(orjson.loads(body), dict):
            return InvokeResult(body, "Unhandled")
    except orjson.JSONDecodeError:
        pass
    return InvokeResult(_error(error_type or "Runtime.Unknown", "Unknown application error occurred"), "Unhandled")


class _Connection(asyncio.Protocol):
    """HTTP/1.1 from one runtime client: requests are answered in order, one at a time."""

    __slots__ = ("_api", "_body", "_busy", "_headers", "_keep_alive", "_parser", "_queue", "_size",
                 "_transport", "_url")

    def __init__(self, api: RuntimeApi) -> None:
        self._api = api
        self._parser = HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._busy = False  # a request is being answered (a `next` may wait a long time)
        self._keep_alive = True
        self._queue: deque[tuple[str, bytes, dict[str, str], bytes, int, bool]] = deque()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._api.forget(self)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except HttpParserError:
            self.respond(400, _error("BadRequest", "Malformed request"), keep_alive=False)

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._body = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size <= MAX_PAYLOAD:  # past the limit the rest is counted, not kept
            self._body.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self._body) if self._size <= MAX_PAYLOAD else b""
        request = (self._parser.get_method().decode("ascii"), self._url, self._headers, body, self._size,
                   self._parser.should_keep_alive())
        self._body = []
        if self._busy:
            self._queue.append(request)
        else:
            self._run(request)

    def _run(self, request: tuple[str, bytes, dict[str, str], bytes, int, bool]) -> None:
        method, url, headers, body, size, keep_alive = request
        self._busy = True
        self._keep_alive = keep_alive
        self._api.handle(self, method, url, headers, body, size)

    def respond(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None,
                keep_alive: bool | None = None) -> None:
        transport = self._transport
        self._busy = False
        if transport is None or transport.is_closing():
            return
        keep = self._keep_alive if keep_alive is None else keep_alive
        fields = "".join(f"{k}: {v}\r\n" for k, v in headers) if headers else "Content-Type: application/json\r\n"
        head = (f"HTTP/1.1 {status} {_STATUS.get(status, '')}\r\n{fields}Content-Length: {len(body)}\r\n"
                f"{'' if keep else 'Connection: close' + chr(13) + chr(10)}\r\n")
        transport.write(head.encode("latin-1") + body)
        if not keep:
            transport.close()
        elif self._queue:
            self._run(self._queue.popleft())

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

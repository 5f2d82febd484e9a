"""The native HTTP/1.1 front-end: `asyncio.Protocol` + `httptools` on uvloop, feeding the core directly.

Why it exists: the server's own cost is paid on every request. Measured on a 2-core machine, uvicorn plus a
bare ASGI app costs about 20 µs of CPU per request (scope dicts, receive/send coroutines, its cycle object);
a raw protocol + httptools server on uvloop about 7 µs. This module is that raw server, turning parser
callbacks straight into the core's `HttpRequest` and its `HttpResponse` into one `transport.write`. Serving
a MOCK method (wrk, 64 keep-alive connections, server alone on one core) it takes the whole process from
about 29 µs of CPU per request behind uvicorn to about 15 µs, of which the core itself is about 5 µs.

One connection = one `_Connection`. Complete requests go into a per-connection FIFO, so pipelined requests
are answered in order; only the request at the head of the FIFO runs. A request the core answers without waiting
(a MOCK method, an error) is written at once, from the parser's callback; one that waits runs as one task,
which writes its own response when the core returns. One timer per server, once a second, refreshes the cached
`Date` and closes connections past their deadline (idle keep-alive, slow request heads, stalled bodies or readers).
"""

from __future__ import annotations

import asyncio
import signal
import ssl
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from email.utils import formatdate
from http import HTTPStatus

import uvloop
from httptools import HttpParserCallbackError, HttpParserError, HttpParserUpgrade, HttpRequestParser, parse_url

from apiway.core.http import MAX_PAYLOAD, STREAM_MIN, BodyStream, HttpRequest, HttpResponse
from apiway.core.websocket import Upgraded
from apiway.front import ws_frames
from apiway.front.handler import Handler
from apiway.front.ws_native import WsConnection
from apiway.observe.log import log

__all__ = ["run_native", "serve_native"]

MAX_HEAD = 10_240  # request line + headers
IDLE_TIMEOUT = 60.0  # an idle keep-alive connection, or a reader that stopped reading our responses
HEAD_TIMEOUT = 30.0  # a request head must arrive within this; also the longest pause inside a body
SHUTDOWN_GRACE = 10.0  # in-flight requests get this long after SIGINT/SIGTERM
MAX_QUEUED = 32  # pipelined requests parsed ahead of the one being answered before reading pauses
# Answers held to go out together after a chunk: only small ones, at most MAX_QUEUED at a time (then written), so
# that the transport's flow control (pause_writing) still stops a client that pipelines without reading.
HOLD_BYTES = 16 * 1024
# After a 413 the rest of the refused body is read and dropped, so that closing does not reset the connection
# before the client has read its answer; but for so long only, and so much: then the connection closes.
LINGER_TIMEOUT = 5.0
LINGER_BYTES = 2 * MAX_PAYLOAD
BACKLOG = 2048
EARLY_LIMIT = 256 * 1024  # bytes read behind a WebSocket handshake before the 101 is written
_NEVER = float("inf")

_JSON = [("Content-Type", "application/json")]
_BAD_REQUEST = HttpResponse(400, _JSON, b'{"message":"Bad Request"}')
_HEAD_TOO_LARGE = HttpResponse(431, _JSON, b'{"message":"Request Header Fields Too Large"}')
_INTERNAL_ERROR = HttpResponse(500, _JSON, b'{"message": "Internal server error"}')
_WRITTEN = HttpResponse(200, [], b"")  # a streamed answer's stand-in once its bytes are out (`_stream_out`)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")}
_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n" for s in HTTPStatus}
_KEEP_ALIVE = "Connection: keep-alive\r\n\r\n"
_CLOSE = "Connection: close\r\n\r\n"



class _HeadTooLarge(Exception):
    pass


def _status_line(status: int) -> str:
    """The line of a status not in the table yet: made and kept (no standard reason: an empty one is valid)."""
    if type(status) is not int or not 100 <= status <= 999:
        raise ValueError(f"invalid status {status!r}")
    line = _STATUS_LINES[status] = f"HTTP/1.1 {status} \r\n"
    return line


def serialize(response: HttpResponse, head_only: bool, keep_alive: bool, date: str) -> bytes:
    """The whole response as one buffer. Raises ValueError when a header would break the framing."""
    status = response.status
    headers = response.headers
    body = response.body
    if status == 204:
        body = b""
    stream = response.stream  # a streamed body: the head announces it, `_stream_out` writes it
    length = len(body) if stream is None else stream.length
    if head_only or status == 304:  # their Content-Length describes the body they do not carry
        body = b""
    line = _STATUS_LINES.get(status) or _status_line(status)  # the lookup inline: no call for a known status
    if headers:
        fields = "\r\n".join(map(": ".join, headers))
        # A CR or LF inside a name or value would let it write headers of its own, or a second response.
        breaks = len(headers) - 1
        if fields.count("\n") != breaks or fields.count("\r") != breaks:
            raise ValueError("CR or LF inside a response header")
        head = f"{line}{fields}\r\n{date}Content-Length: {length}\r\n{_KEEP_ALIVE if keep_alive else _CLOSE}"
    else:
        head = f"{line}{date}Content-Length: {length}\r\n{_KEEP_ALIVE if keep_alive else _CLOSE}"
    data = head.encode("latin-1", "replace")
    return data + body if body else data


class _Server:
    """What the connections of one listening server share: the core, the clock, the Date header."""

    __slots__ = ("answer", "clock", "connections", "date", "drained", "gateway", "loop", "scheme", "shutting_down",
                 "ticker")

    def __init__(self, gateway: Handler, loop: asyncio.AbstractEventLoop, scheme: str = "http") -> None:
        self.gateway = gateway
        self.answer: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]] = getattr(
            gateway, "answer", gateway.handle)
        self.loop = loop
        self.scheme = scheme
        self.connections: set[_Connection | WsConnection] = set()
        self.shutting_down = False
        self.drained: asyncio.Future[None] | None = None
        self.ticker: asyncio.TimerHandle | None = None
        self.clock = loop.time()
        self.date = ""

    def tick(self) -> None:
        # One timer for every connection: deadlines are coarse (a second) but cost nothing per request.
        self.clock = now = self.loop.time()
        wall = time.time()
        self.date = f"Date: {formatdate(wall, usegmt=True)}\r\n"
        for conn in [c for c in self.connections if c.deadline < now]:
            conn.expire()
        self.ticker = self.loop.call_later(1.0 - wall % 1.0, self.tick)  # next wall-clock second

    def forget(self, conn: _Connection | WsConnection) -> None:
        self.connections.discard(conn)
        if self.drained is not None and not self.connections and not self.drained.done():
            self.drained.set_result(None)

    async def shutdown(self, grace: float) -> None:
        self.shutting_down = True
        for conn in list(self.connections):
            conn.shutdown()
        if self.connections:
            self.drained = self.loop.create_future()
            await asyncio.wait([self.drained], timeout=grace)
        for conn in list(self.connections):
            conn.abort()
        if self.ticker is not None:
            self.ticker.cancel()


class _Connection(asyncio.Protocol):
    __slots__ = (
        "_body", "_body_size", "_chunk_len", "_close_pending", "_closed", "_content_length", "_continue_pending",
        "_create_task", "_discard", "_early", "_eof", "_error", "_expects_continue", "_head_raw", "_head_slack",
        "_headers", "_held", "_holding", "_in_head", "_in_message", "_keep_alive", "_linger", "_no_more", "_parser",
        "_queue", "_reading",
        "_request", "_server", "_stream_full", "_streaming", "_task", "_transport", "_url", "_writable",
        "_write_paused", "client_ip", "deadline", "server_port",
    )

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._parser = HttpRequestParser(self)
        self._create_task = server.loop.create_task
        self._transport: asyncio.Transport = None  # type: ignore[assignment]  # set in connection_made
        self._queue: deque[tuple[HttpRequest | None, bool, HttpResponse | None]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._request: HttpRequest | None = None
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._content_length: int | None = None
        self._chunk_len = 0
        self._head_raw = 0
        self._head_slack = -1
        self._in_head = self._in_message = False
        self._keep_alive = True
        self._expects_continue = self._continue_pending = False
        self._no_more = False  # a response that closes the connection is queued: later requests are ignored
        self._discard = False  # reading (and dropping) the rest of a body refused with 413
        self._close_pending = False  # close once the refused body has been read
        self._linger = 0  # bytes of the refused body still read (and dropped) once its 413 is written
        self._early: bytearray | None = None  # bytes behind a WebSocket handshake, kept for the connection
        self._closed = self._eof = self._write_paused = False
        self._writable: asyncio.Future[None] | None = None  # a streamed answer waits on it while writing is paused
        self._reading = True
        self._streaming: BodyStream | None = None  # the body of a request already dispatched, still arriving
        self._stream_full = False  # its reader is behind: reading pauses
        self._error: int | None = None
        # Pipelined requests answered at once while one chunk is parsed: their answers go out in one write after
        # it (16 requests in a chunk cost the client and this server one write instead of 16).
        self._holding = False
        self._held: bytes | list[bytes] | None = None
        self.client_ip = "127.0.0.1"
        self.server_port = 80
        self.deadline = server.clock + IDLE_TIMEOUT

    # --- transport events

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a TCP transport
        peer = transport.get_extra_info("peername")
        if peer:
            self.client_ip = peer[0]
        local = transport.get_extra_info("sockname")
        if local:
            self.server_port = local[1]
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self._streaming is not None:
            self._streaming.fail(ConnectionResetError("the client closed the connection during the body"))
        self._queue.clear()
        self._wake_writer()
        self._server.forget(self)  # a running task finishes; its response is dropped

    def eof_received(self) -> bool:
        self._eof = True
        # Requests already received are still answered; the connection closes after the last one.
        return self._task is not None or bool(self._queue)

    def pause_writing(self) -> None:
        self._write_paused = True
        self._set_reading()
        self.deadline = self._server.clock + IDLE_TIMEOUT  # the client has this long to read on

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writer()
        self._set_reading()
        self._settle()
        self._dispatch()

    def data_received(self, data: bytes) -> None:
        if self._no_more:
            early = self._early
            if early is not None:  # a handshake being answered: frames may follow it before the 101
                early += data
                if len(early) > EARLY_LIMIT:
                    self._transport.pause_reading()  # resumed once the connection speaks WebSocket
                return
            if not self._discard:
                return
            if self._close_pending:
                self._linger -= len(data)
                if self._linger < 0:  # a client still sending a refused body (however long it said): stop reading
                    self._discard = False
                    self._transport.close()
                    return
        self._chunk_len = len(data)
        self._holding = True
        try:
            self._parser.feed_data(data)
        except HttpParserUpgrade as upgrade:
            # The request is answered (a WebSocket handshake may be accepted); what follows its head is kept.
            self._early = bytearray(data[upgrade.args[0]:])
        except HttpParserError as exc:
            status = self._error or 400
            # A callback that failed on purpose set _error (a 400 for a target parse_url refuses, a 431); any
            # other failure inside a callback is the server's.
            if self._error is None and isinstance(exc, HttpParserCallbackError):
                status = 500
                log("ERROR", "request parsing failed in the server", error=f"{type(exc.__context__).__name__}: "
                    f"{exc.__context__}", traceback="".join(traceback.format_exception(exc.__context__)))
            self._holding = False
            self._fail(status)
            return
        self._holding = False
        held = self._held
        if held is not None:  # nothing closes the connection while answers are held: _send writes them first
            self._held = None
            self._transport.write(held if type(held) is bytes else b"".join(held))  # type: ignore[arg-type]
        if self._in_head:
            # A head still incomplete: bound it by the bytes received. Every chunk after the one it began in is
            # all head; that first chunk may hold earlier requests too, so it only counts once outgrown.
            if self._head_slack < 0:
                self._head_slack = len(data)
            self._head_raw += len(data)
            if self._head_raw - self._head_slack > MAX_HEAD:
                self._fail(431)

    # --- parser callbacks (httptools calls them from feed_data)

    def on_message_begin(self) -> None:
        self._in_message = self._in_head = True
        self._head_raw = 0
        self._head_slack = -1
        self._url = b""
        self._headers = []
        self._body = []
        self._body_size = 0
        self._content_length = None
        self._expects_continue = False
        self.deadline = self._server.clock + HEAD_TIMEOUT

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:
            return  # a chunked body's trailer: not a request header
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))
        if len(name) == 14 or len(name) == 6:  # only then can it be Content-Length or Expect
            lower = name.lower()
            if lower == b"content-length":
                try:
                    self._content_length = int(value)
                except ValueError:
                    self._error = 400
                    raise
            elif lower == b"expect" and value.lower() == b"100-continue":
                self._expects_continue = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._no_more:
            return
        parser = self._parser
        raw_method = parser.get_method()
        method = _METHODS.get(raw_method) or raw_method.decode("ascii")
        # The head fits in the bytes received for it; only when those exceed the limit is it measured.
        if self._head_raw + self._chunk_len > MAX_HEAD and _head_size(method, self._url, self._headers) > MAX_HEAD:
            self._error = 431
            raise _HeadTooLarge
        url = self._url
        if url[0] != 47:  # not "/"
            try:  # absolute-form (`GET http://host/path`) or `*`
                parsed = parse_url(url)
            except HttpParserError:
                self._error = 400
                raise
            url = (parsed.path or b"/") + (b"?" + parsed.query if parsed.query else b"")
        elif 35 in url:  # "#"
            url = url.partition(b"#")[0]
        query = ""
        if 63 in url:  # "?"
            url, _, raw_query = url.partition(b"?")
            query = raw_query.decode("latin-1")
        version = parser.get_http_version()
        self._request = HttpRequest(method, url.decode("latin-1"), query, self._headers, b"", self.client_ip,
                                    self._server.scheme, self.server_port, version)
        self._keep_alive = parser.should_keep_alive() and not parser.should_upgrade()
        self.deadline = self._server.clock + HEAD_TIMEOUT
        if self._content_length is not None or self._expects_continue:
            self._body_announced(self._content_length, version)

    def _body_announced(self, length: int | None, version: str) -> None:
        """A head that announces a body (Content-Length, Expect: 100-continue): refused when too long, streamed
        when long, and the interim 100 when the client waits for it."""
        expects_continue = self._expects_continue and version == "1.1"  # never an interim response to 1.0
        if length is not None and length > MAX_PAYLOAD:
            # Refused before any of it arrives; a client waiting for 100 Continue will not send it at all.
            self._refuse(discard=not expects_continue)
        elif expects_continue:
            if self._task is None and not self._queue:
                self._send(_CONTINUE)
            else:
                self._continue_pending = True  # after the responses ahead of it
        if length is not None and length >= STREAM_MIN and not self._no_more:
            self._stream(self._request, length)  # type: ignore[arg-type]

    def _stream(self, request: HttpRequest, length: int) -> None:
        """A long body: the request goes to the core now, its body follows as it arrives (core/http.py)."""
        request.stream = self._streaming = BodyStream(length, self._body_full, self._body_taken)
        if self._task is None and not self._queue and not self._write_paused:
            self._start(request, self._keep_alive)
        else:
            self._queue.append((request, self._keep_alive, None))

    def _body_full(self) -> None:
        self._stream_full = True
        self._set_reading()

    def _body_taken(self) -> None:
        self._stream_full = False
        self._set_reading()

    def on_body(self, body: bytes) -> None:
        stream = self._streaming
        if stream is not None:
            stream.feed(body)
            self.deadline = self._server.clock + HEAD_TIMEOUT  # the longest pause inside a body
            return
        if self._no_more:
            return
        size = self._body_size + len(body)
        if size > MAX_PAYLOAD:
            self._body = []
            self._refuse(discard=True)
            return
        self._body_size = size
        self._body.append(body)
        self.deadline = self._server.clock + HEAD_TIMEOUT

    def on_message_complete(self) -> None:
        self._in_message = False
        self._continue_pending = False
        stream = self._streaming
        if stream is not None:  # its request is answered or queued already
            self._streaming = None
            stream.end()
            if not self._keep_alive:
                self._no_more = True
            self._settle()
            return
        if self._no_more:
            if self._discard:
                self._discard = False
                if self._close_pending:
                    self._transport.close()
            return
        request = self._request
        assert request is not None
        body = self._body
        if body:
            request.body = body[0] if len(body) == 1 else b"".join(body)
        keep_alive = self._keep_alive
        if self._task is None and not self._queue and not self._write_paused:  # the usual case: nothing ahead
            if not keep_alive:
                self._no_more = True
            self.deadline = _NEVER
            self._start(request, keep_alive)
        else:  # behind a running request (whose end sets the deadline again) or a client not reading
            self._enqueue(request, keep_alive, None)

    # --- answering

    def _enqueue(self, request: HttpRequest | None, keep_alive: bool, canned: HttpResponse | None) -> None:
        if self._no_more:
            return
        if not keep_alive:
            self._no_more = True
        queue = self._queue
        queue.append((request, keep_alive, canned))
        if self._task is None:
            self._dispatch()
        elif len(queue) >= MAX_QUEUED:
            self._set_reading()

    def _dispatch(self) -> None:
        """Start what is queued, in order: ready answers are written at once, a request gets a task."""
        queue = self._queue
        while queue and self._task is None and not self._write_paused and not self._closed:
            request, keep_alive, canned = queue.popleft()
            if canned is None:
                assert request is not None
                self._start(request, keep_alive)
            else:
                self._write(canned, request, keep_alive)
        if not self._reading:
            self._set_reading()

    def _start(self, request: HttpRequest, keep_alive: bool) -> None:
        """Answer a request: at once when the core's answer is ready (a MOCK, an error), else in a task — which
        integrations need anyway (asyncio.timeout() runs only inside one)."""
        answer: HttpResponse | Awaitable[HttpResponse | Upgraded]
        try:
            # An upgrade request never keeps the connection alive: only those pay the header lookup.
            if keep_alive or not ws_frames.wants_websocket(request):
                answer = self._server.answer(request)
            else:
                answer = self._upgrade(request)
        except Exception as exc:
            _failed_in_server(request, exc)
            answer = _INTERNAL_ERROR
        if type(answer) is HttpResponse and request.stream is None:  # the usual case: written at once
            self._write(answer, request, keep_alive)
        elif type(answer) is HttpResponse:
            self._answered(request, answer, keep_alive)
        else:
            self._task = self._create_task(self._respond(request, answer, keep_alive))  # type: ignore[arg-type]

    async def _upgrade(self, request: HttpRequest) -> HttpResponse | Upgraded:
        # An invalid WebSocket handshake is refused here, before the handler could accept it.
        return ws_frames.refusal(request) or await self._server.gateway.upgrade(request)

    async def _respond(self, request: HttpRequest, pending: Awaitable[HttpResponse | Upgraded],
                       keep_alive: bool) -> None:
        response: HttpResponse | Upgraded
        try:
            response = await pending
        except Exception as exc:
            _failed_in_server(request, exc)
            response = _INTERNAL_ERROR
        if type(response) is HttpResponse and response.stream is not None:
            response = await self._stream_out(request, response, keep_alive)  # the task holds the connection
        self._task = None
        self._answered(request, response, keep_alive)
        if self._queue:
            self._dispatch()

    async def _stream_out(self, request: HttpRequest, response: HttpResponse, keep_alive: bool) -> HttpResponse:
        """An answer whose body arrives from upstream as it is written: its head at once, its body chunk by chunk,
        paced by the client's reading (the upstream's reading pauses meanwhile). What is left for `_write`: the
        connection's end of the answer (`_WRITTEN`), or the error to answer instead when the head cannot be."""
        stream = response.stream
        assert stream is not None
        try:
            if self._closed or self._transport.is_closing():
                return _WRITTEN
            try:
                head = serialize(response, False, keep_alive, self._server.date)
            except Exception as exc:
                log("ERROR", "response could not be written", status=response.status,
                    error=f"{type(exc).__name__}: {exc}")
                return _INTERNAL_ERROR
            self._send(head)
            transport = self._transport
            try:
                async for chunk in stream.chunks():
                    if self._closed:  # the client went away
                        break
                    transport.write(chunk)
                    if self._write_paused:
                        self._writable = self._server.loop.create_future()
                        await self._writable
            except Exception as exc:  # the upstream failed mid-body: a short body must not pass for a whole one
                log("WARN", "the upstream's response ended early: connection closed", path=request.path,
                    error=f"{type(exc).__name__}: {exc}")
                transport.abort()
            return _WRITTEN
        finally:
            if not stream.complete:
                stream.discard()  # the rest is read and dropped: the upstream connection can be kept

    def _wake_writer(self) -> None:
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    def _answered(self, request: HttpRequest, response: HttpResponse | Upgraded, keep_alive: bool) -> None:
        stream = request.stream
        if stream is not None and not stream.complete:  # answered without all of its body: drop the rest
            stream.discard()
        if isinstance(response, Upgraded):
            self._switch(request, response)
            return
        self._write(response, request, keep_alive)

    def _write(self, response: HttpResponse, request: HttpRequest | None, keep_alive: bool) -> None:
        if self._closed or self._transport.is_closing():
            return
        server = self._server
        idle = self._task is None and not self._queue
        if keep_alive and idle and (self._eof or server.shutting_down):
            keep_alive = False
        head_only = request is not None and request.method == "HEAD"
        try:
            data = serialize(response, head_only, keep_alive, server.date) if response is not _WRITTEN else b""
        except Exception as exc:
            log("ERROR", "response could not be written", status=getattr(response, "status", None),
                error=f"{type(exc).__name__}: {exc}")
            data = serialize(_INTERNAL_ERROR, False, keep_alive, server.date)
        transport = self._transport
        held = self._held
        if not keep_alive or not self._holding or len(data) > HOLD_BYTES:
            self._send(data)
        elif held is None:  # the usual case: written once the chunk is parsed, unless another joins it
            self._held = data
        elif type(held) is bytes:
            self._held = [held, data]
        elif len(held) < MAX_QUEUED - 1:
            held.append(data)  # type: ignore[union-attr]
        else:
            held.append(data)  # type: ignore[union-attr]
            self._held = None
            transport.write(b"".join(held))  # type: ignore[arg-type]
        if not keep_alive:
            if self._discard:
                # Closing with unread bytes would reset the connection and could lose the answer: end our side
                # (the client sees the close after the 413) and drop what follows, within the linger bounds.
                self._close_pending = True
                self._linger = LINGER_BYTES
                self.deadline = server.clock + LINGER_TIMEOUT
                if transport.can_write_eof():
                    transport.write_eof()
            else:
                transport.close()
        elif idle:  # what _settle decides, known here
            self.deadline = server.clock + (HEAD_TIMEOUT if self._in_message else IDLE_TIMEOUT)
            if self._continue_pending:
                self._continue_pending = False
                self._send(_CONTINUE)

    def _send(self, data: bytes) -> None:
        """Write `data` after any answers held."""
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held if type(held) is bytes else b"".join(held))  # type: ignore[arg-type]
        self._transport.write(data)

    def _switch(self, request: HttpRequest, upgraded: Upgraded) -> None:
        """Complete an accepted handshake: write the 101, then the connection speaks WebSocket."""
        server = self._server
        transport = self._transport
        ws = WsConnection(server, transport, upgraded, f"{self.client_ip} {request.path}")
        if self._closed or transport.is_closing():
            ws.gone()
            return
        try:
            head = ws_frames.switching_protocols(request.header("sec-websocket-key") or "", upgraded.headers,
                                                 server.date)
        except ValueError as exc:
            log("ERROR", "response could not be written", status=101, error=str(exc))
            self._write(_INTERNAL_ERROR, request, False)
            return
        transport.write(head)
        early, self._early = bytes(self._early or b""), None
        self._closed = True  # this protocol's part is over
        server.connections.discard(self)
        server.connections.add(ws)
        ws.start(early)
        if self._eof:  # the client half-closed while its handshake was answered: it is gone (1006)
            transport.close()
        elif server.shutting_down:
            ws.shutdown()

    def _refuse(self, discard: bool) -> None:
        """413 for a body over MAX_PAYLOAD: the core's gateway response, then the connection closes."""
        request = self._request
        assert request is not None
        try:
            response = self._server.gateway.reject(request, "REQUEST_TOO_LARGE")
        except Exception as exc:
            log("ERROR", "request failed in the server", path=request.path, error=f"{type(exc).__name__}: {exc}",
                traceback=traceback.format_exc())
            response = _INTERNAL_ERROR
        self._discard = discard
        self._enqueue(request, False, response)

    def _fail(self, status: int) -> None:
        """An unreadable request: answer it (after the responses ahead of it), then close."""
        if self._no_more:  # already closing (a 413's body turned out malformed): stop reading it
            self._discard = False
            if self._close_pending:
                self._transport.close()
            return
        self._discard = False
        self._enqueue(None, False, {400: _BAD_REQUEST, 431: _HEAD_TOO_LARGE}.get(status, _INTERNAL_ERROR))

    # --- flow control and deadlines

    def _set_reading(self) -> None:
        want = not self._write_paused and len(self._queue) < MAX_QUEUED and not self._stream_full
        if want != self._reading and not self._transport.is_closing():
            self._reading = want
            if want:
                self._transport.resume_reading()
            else:
                self._transport.pause_reading()

    def _settle(self) -> None:
        """The deadline of a connection with nothing to answer: a head in progress, or idle."""
        if self._task is None and not self._queue:
            self.deadline = self._server.clock + (HEAD_TIMEOUT if self._in_message else IDLE_TIMEOUT)
        else:
            self.deadline = _NEVER

    def expire(self) -> None:
        if self._streaming is not None:  # a body that stopped arriving: its request cannot be answered
            self._streaming.fail(TimeoutError("the request body stopped arriving"))
            self.abort()
            return
        if self._task is not None and not self._write_paused:
            return  # a slow integration has its own timeout; a pipelined head behind it waits
        if self._write_paused:
            self.abort()
        else:
            self._transport.close()

    def shutdown(self) -> None:
        """Stop serving: close now when nothing is in flight, else after the last response."""
        if self._task is None and not self._queue and not (self._in_message and not self._in_head):
            self._transport.close()

    def abort(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._transport.abort()


def _failed_in_server(request: HttpRequest, exc: Exception) -> None:
    """The core answers its own failures; this is the last line of defence."""
    log("ERROR", "request failed in the server", path=request.path, error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(exc)))


def _head_size(method: str, url: bytes, headers: list[tuple[str, str]]) -> int:
    """Request line + header lines as sent (header strings are latin-1: one character per byte)."""
    return len(method) + len(url) + 12 + sum(len(n) + len(v) + 4 for n, v in headers)


async def serve_native(gateway: Handler, host: str, port: int, *, ready: Callable[[], None] | None = None,
                       also: Sequence[tuple[Handler, str, int]] = (), tls: ssl.SSLContext | None = None,
                       reuse_port: bool = False, draining: Callable[[], None] | None = None,
                       drain_delay: float = 0.0) -> None:
    """Serve until SIGINT/SIGTERM (or until cancelled), then drain: call `draining` (readiness turns 503), go
    on serving for `drain_delay` seconds (load balancers notice and send nothing new), stop accepting, give
    in-flight requests up to SHUTDOWN_GRACE seconds, close what is left (WebSockets with 1001) and return.
    `also` lists more (handler, host, port) listeners, e.g. the admin port. With `tls` the gateway's port
    speaks HTTPS only. `reuse_port`: other processes listen on the same ports (SO_REUSEPORT)."""
    loop = asyncio.get_running_loop()
    states: list[_Server] = []
    servers = []
    for handler, h, p, context in ((gateway, host, port, tls), *((*listener, None) for listener in also)):
        state = _Server(handler, loop, "https" if context else "http")
        servers.append(await loop.create_server(lambda state=state: _Connection(state), h, p, backlog=BACKLOG,
                                                reuse_address=True, reuse_port=reuse_port or None, ssl=context))
        state.tick()  # before any connection is served: it sets the Date and starts the once-a-second timer
        states.append(state)
    stop: asyncio.Future[None] = loop.create_future()
    installed = []

    def stopping() -> None:
        if not stop.done():
            stop.set_result(None)
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stopping)
            installed.append(sig)
        except (RuntimeError, ValueError):  # not the main thread: only cancelling the task stops the server
            pass
    if ready is not None:
        ready()
    try:
        await stop
        if draining is not None:
            draining()
        if drain_delay > 0:
            log("INFO", "draining: serving on before closing the listeners", seconds=drain_delay)
            await asyncio.sleep(drain_delay)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        for server in servers:
            server.close()
        await asyncio.gather(*(state.shutdown(SHUTDOWN_GRACE) for state in states))


def run_native(
    gateway: Handler, host: str, port: int, *, ready: Callable[[], None] | None = None,
    cleanup: Callable[[], Awaitable[None]] | None = None, also: Sequence[tuple[Handler, str, int]] = (),
    tls: ssl.SSLContext | None = None, reuse_port: bool = False, draining: Callable[[], None] | None = None,
    drain_delay: float = 0.0,
) -> None:
    """Serve on a new uvloop loop; `ready` runs once listening, `cleanup` after the server stopped; the rest
    as for serve_native."""

    async def main() -> None:
        try:
            await serve_native(gateway, host, port, ready=ready, also=also, tls=tls, reuse_port=reuse_port,
                               draining=draining, drain_delay=drain_delay)
        finally:
            if cleanup is not None:
                await cleanup()

    uvloop.run(main())

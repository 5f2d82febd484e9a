"""Pooled keep-alive HTTP/1.1 client used to proxy requests to upstream services.

Hand-written on `asyncio.Protocol` + `httptools.HttpResponseParser` because it sits on the hot path:
measured on the development machine, httpx costs more than 1 ms per request and aiohttp about 65 us, while a
raw protocol + httptools pool costs about 10 us.

One `_Conn` protocol per TCP connection, one exchange at a time (no pipelining). Idle connections are
kept per (scheme, host, port, verify_tls) in LIFO stacks. The whole exchange (connect included) is
bounded by one deadline; the exchange itself is guarded by a `loop.call_at` timer, not a task.

A body still arriving from the client (`BodyStream`) is sent as it comes, paced by the connection's write
buffer, on a new connection (a kept-alive one the peer closed meanwhile could not be retried: the body is gone).
A caller that can pass a response body on as it arrives (`stream_from`) gets a response whose Content-Length is at
least that many bytes at its head, with a `BodyStream` the connection feeds (reading paused while the reader lags);
the exchange's deadline still bounds the body, and the connection goes back to the pool once the body has ended.

A pool is bound to the event loop it is first used on.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from dataclasses import dataclass

from httptools import HttpResponseParser

from apiway.core.http import BodyStream

__all__ = [
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamPool",
    "UpstreamProtocolError",
    "UpstreamResponse",
    "UpstreamTimeout",
]


class UpstreamError(Exception):
    """Base class of every failure talking to an upstream."""


class UpstreamTimeout(UpstreamError):
    """The whole exchange (connect included) exceeded its timeout."""


class UpstreamConnectError(UpstreamError):
    """Could not connect: refused, DNS failure, TLS handshake failure."""


class UpstreamProtocolError(UpstreamError):
    """Malformed response, connection closed mid-response, or body over `max_body`."""


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: list[tuple[bytes, bytes]]  # as received: original casing, in order, repeats kept
    body: bytes  # de-chunked
    stream: BodyStream | None = None  # a long body still arriving (`stream_from`); `body` is then empty


_Key = tuple[str, str, int, bool]

# Caller headers the pool owns: framing and connection management.
_OWN_HEADERS = frozenset((b"connection", b"content-length", b"transfer-encoding"))
_OWN_HEADER_LENS = frozenset(len(name) for name in _OWN_HEADERS)
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))
_IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"))
_SP = b" "
_HTTP11_CRLF = b" HTTP/1.1\r\n"
_COLON_SP = b": "
_CRLF = b"\r\n"
_CONTENT_LENGTH_FMT = b"Content-Length: %d\r\n\r\n"
_MAX_HEAD = 256 * 1024  # bytes received before the final response head is complete


class _StaleConnection(Exception):
    """A connection closed before sending any response byte (internal: triggers the retry)."""


@functools.cache
def _ssl_context(verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _serialize(method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    target_b = target.encode("ascii")
    parts = [method.encode("ascii"), _SP, target_b, _HTTP11_CRLF]
    own_lens = _OWN_HEADER_LENS
    for name, value in headers:
        if len(name) in own_lens and name.lower() in _OWN_HEADERS:
            continue
        parts += (name, _COLON_SP, value, _CRLF)
    lines = 1 + (len(parts) - 4) // 4 + 1  # request line + header lines + blank line
    if body or method in _BODY_METHODS:
        parts.append(_CONTENT_LENGTH_FMT % len(body))
        lines += 1
    else:
        parts.append(_CRLF)
    parts.append(body)
    data = b"".join(parts)
    # Refuse CR/LF smuggled inside the target or a header: the head must hold exactly one CRLF per line.
    head_end = len(data) - len(body)
    if data.count(b"\n", 0, head_end) != lines or data.count(b"\r", 0, head_end) != lines or _SP in target_b:
        raise ValueError("invalid character (CR, LF or space) in request target or headers")
    return data


class _Conn(asyncio.Protocol):
    __slots__ = (
        "body",
        "body_size",
        "closed",
        "got_bytes",
        "head_only",
        "head_size",
        "headers",
        "headers_done",
        "idle",
        "idle_since",
        "keep_alive",
        "key",
        "max_body",
        "parser",
        "pool",
        "status",
        "stream",
        "stream_from",
        "timer",
        "transport",
        "waiter",
        "writable",
    )

    def __init__(self, pool: UpstreamPool, key: _Key, max_body: int) -> None:
        self.pool = pool
        self.key = key
        self.max_body = max_body
        self.parser = HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[UpstreamResponse] | None = None
        self.closed = False
        self.idle = False
        self.idle_since = 0.0
        self.keep_alive = False
        self.head_only = False
        self.got_bytes = False
        self.head_size = 0
        self.headers_done = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.body_size = 0
        self.writable: asyncio.Future[None] | None = None  # set while the write buffer is full
        self.stream_from: int | None = None  # a response body this long or longer is passed on as it arrives
        self.stream: BodyStream | None = None  # the body being passed on
        self.timer: asyncio.TimerHandle | None = None  # the exchange's deadline, while a streamed body arrives

    # -- driven by the pool --

    def begin(self, waiter: asyncio.Future[UpstreamResponse], head_only: bool, stream_from: int | None = None) -> None:
        self.waiter = waiter
        self.head_only = head_only
        self.stream_from = stream_from
        self.got_bytes = False
        self.head_size = 0
        self.headers_done = False
        self.keep_alive = False

    def close(self) -> None:
        self.closed = True
        self.keep_alive = False
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        self.keep_alive = False
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, exc: Exception) -> None:
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        stream = self.stream
        if stream is not None:  # its reader (the front-end) ends the client's response short
            self.stream = None
            stream.fail(exc)
            self._stop_timer()
        self.abort()

    def _stop_timer(self) -> None:
        timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()

    def _flow(self, stream: BodyStream, reading: bool) -> None:
        """Pause or resume reading for `stream`'s reader: only while that stream is still this connection's
        (its reader may catch up after the body ended and the connection serves another exchange)."""
        if stream is self.stream and not self.closed and self.transport is not None:
            if reading:
                self.transport.resume_reading()
            else:
                self.transport.pause_reading()

    def _stream_ended(self) -> None:
        """A streamed body arrived whole: the exchange is over."""
        stream, self.stream = self.stream, None
        assert stream is not None
        self.keep_alive = self.parser.should_keep_alive()
        self._stop_timer()
        stream.end()
        if self.keep_alive and not self.closed:
            assert self.transport is not None
            self.transport.resume_reading()  # paused if the reader lagged: the body's bytes are all here
            self.pool._release(self, asyncio.get_running_loop())
        else:
            self.close()

    def _start_stream(self) -> None:
        """At the head: a body of at least `stream_from` bytes (by Content-Length) is passed on as it arrives."""
        length = _content_length(self.headers)
        if length is None or length < self.stream_from or self.status in (204, 304):  # type: ignore[operator]
            return
        if length > self.max_body:
            self._fail(UpstreamProtocolError(f"response body exceeds {self.max_body} bytes"))
            raise UpstreamProtocolError("body too large")  # stop the parser
        stream = self.stream = BodyStream(length, lambda: self._flow(stream, False), lambda: self._flow(stream, True))
        waiter, self.waiter = self.waiter, None
        assert waiter is not None
        waiter.set_result(UpstreamResponse(self.status, self.headers, b"", stream))

    def _finish(self) -> None:
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(UpstreamResponse(self.status, self.headers, b"".join(self.body)))

    # -- asyncio.Protocol --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def pause_writing(self) -> None:
        self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        writable, self.writable = self.writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.waiter is None and self.stream is None:  # bytes nobody asked for: the connection can't be trusted
            self.abort()
            return
        self.got_bytes = True
        if not self.headers_done:
            self.head_size += len(data)
            if self.head_size > _MAX_HEAD:
                self._fail(UpstreamProtocolError("response head too large"))
                return
        try:
            self.parser.feed_data(data)
        except Exception as exc:
            if self.waiter is not None:
                self._fail(UpstreamProtocolError(f"malformed response: {exc}"))
            else:
                self.abort()

    def eof_received(self) -> bool | None:
        self.closed = True
        self._peer_closed()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.keep_alive = False
        self.resume_writing()  # a sender waiting on a full buffer finds the connection gone
        self._peer_closed()
        if self.idle:
            self.pool._discard(self)

    def _peer_closed(self) -> None:
        self.keep_alive = False
        if self.stream is not None:
            self._fail(UpstreamProtocolError("upstream closed the connection mid-response"))
            return
        if self.waiter is None:
            return
        if self.headers_done and self._close_delimited():
            self._finish()
        elif not self.got_bytes:
            self._fail(_StaleConnection())
        else:
            self._fail(UpstreamProtocolError("upstream closed the connection mid-response"))

    def _close_delimited(self) -> bool:
        # Only reached on EOF before the message completed, so scanning the headers here is cheap.
        for name, value in self.headers:
            lname = name.lower()
            if lname == b"content-length":
                return False
            if lname == b"transfer-encoding" and value.rstrip().lower().endswith(b"chunked"):
                return False
        return True

    # -- httptools callbacks --

    def on_message_begin(self) -> None:
        if self.waiter is None:  # a second response to one request
            self.abort()
        self.headers = []
        self.body = []
        self.body_size = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # interim response (100 Continue, 103 Early Hints): llhttp ends it, body-less
            return
        self.status = status
        self.headers_done = True
        if self.head_only and self.waiter is not None:
            # llhttp doesn't know the request was HEAD and would wait for the announced body:
            # the response ends here, and the next one needs a fresh parser.
            self.keep_alive = self.parser.should_keep_alive()
            self.parser = HttpResponseParser(self)
            self._finish()
        elif self.stream_from is not None and self.waiter is not None:
            self._start_stream()

    def on_body(self, data: bytes) -> None:
        stream = self.stream
        if stream is not None:
            stream.feed(data)
            return
        if self.waiter is None:  # body bytes after a HEAD response
            self.abort()
            return
        self.body_size += len(data)
        if self.body_size > self.max_body:
            self._fail(UpstreamProtocolError(f"response body exceeds {self.max_body} bytes"))
            raise UpstreamProtocolError("body too large")  # stop the parser
        self.body.append(data)

    def on_message_complete(self) -> None:
        if self.stream is not None:
            self._stream_ended()
            return
        if not self.headers_done or self.waiter is None:
            return
        self.keep_alive = self.parser.should_keep_alive()
        self._finish()


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The Content-Length of a response not sent chunked, if valid."""
    length = None
    for name, value in headers:
        if len(name) == 17 and name.lower() == b"transfer-encoding":
            return None
        if len(name) == 14 and name.lower() == b"content-length":
            if not value.strip().isdigit():
                return None
            length = int(value)
    return length


def _expire(conn: _Conn, waiter: asyncio.Future[UpstreamResponse]) -> None:
    if not waiter.done() or conn.stream is not None:
        scheme, host, port, _ = conn.key
        conn._fail(UpstreamTimeout(f"{scheme}://{host}:{port} timed out"))


class UpstreamPool:
    """Keep-alive connection pool. `request` performs one HTTP/1.1 exchange; see the module docstring."""

    def __init__(
        self, *, max_idle_per_host: int = 64, idle_timeout: float = 30.0, max_body: int = 10 * 1024 * 1024
    ) -> None:
        self._max_idle = max_idle_per_host
        self._idle_timeout = idle_timeout
        self._max_body = max_body
        self._idle: dict[_Key, list[_Conn]] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False

    async def request(
        self,
        scheme: str,
        host: str,
        port: int,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes | BodyStream,
        timeout: float,
        verify_tls: bool = True,
        stream_from: int | None = None,
    ) -> UpstreamResponse:
        """Send one request and return the complete response (or, with `stream_from`, its head and a stream of
        a body at least that long).

        `target` is the encoded path + optional query; `headers` must include Host. Caller
        Content-Length / Transfer-Encoding / Connection headers are replaced by the pool's own.
        Raises ValueError for CR/LF in the target or headers, UpstreamError subclasses otherwise.
        """
        if self._closed:
            raise UpstreamError("upstream pool is closed")
        loop = asyncio.get_running_loop()
        if isinstance(body, BodyStream):
            return await self._stream(scheme, host, port, method, target, headers, body, timeout, verify_tls, loop)
        payload = _serialize(method, target, headers, body)
        head_only = method == "HEAD"
        key = (scheme, host, port, verify_tls)
        now = loop.time()
        deadline = now + timeout
        conn = self._checkout(key, now)
        if conn is not None:
            try:
                return await self._exchange(conn, payload, head_only, deadline, loop, stream_from)
            except _StaleConnection:
                # The peer closed this idle connection. Replaying is safe only for idempotent methods:
                # the server may have processed a POST before closing.
                if method not in _IDEMPOTENT:
                    raise UpstreamProtocolError(
                        f"{scheme}://{host}:{port} closed a kept-alive connection without a response"
                    ) from None
        conn = await self._connect(key, deadline, loop)
        try:
            return await self._exchange(conn, payload, head_only, deadline, loop, stream_from)
        except _StaleConnection:
            raise UpstreamProtocolError(
                f"{scheme}://{host}:{port} closed the connection without a response"
            ) from None

    async def _stream(self, scheme: str, host: str, port: int, method: str, target: str,
                      headers: list[tuple[bytes, bytes]], body: BodyStream, timeout: float, verify_tls: bool,
                      loop: asyncio.AbstractEventLoop) -> UpstreamResponse:
        """One exchange whose body is sent as it arrives; the upstream may answer before it has all of it."""
        head = _serialize(method, target, headers, b"")
        # The head as for an empty body, its end made to announce the stream's length.
        head = head[:-len(_CONTENT_LENGTH_FMT % 0)] if method in _BODY_METHODS else head[:-len(_CRLF)]
        head += _CONTENT_LENGTH_FMT % body.length
        key = (scheme, host, port, verify_tls)
        deadline = loop.time() + timeout
        conn = await self._connect(key, deadline, loop)
        waiter: asyncio.Future[UpstreamResponse] = loop.create_future()
        conn.begin(waiter, method == "HEAD")
        timer = loop.call_at(deadline, _expire, conn, waiter)
        sent = 0
        try:
            transport = conn.transport
            assert transport is not None
            transport.write(head)
            async for chunk in body.chunks():
                if waiter.done() or conn.closed:  # answered (or failed) early: the rest is not sent
                    break
                transport.write(chunk)
                sent += len(chunk)
                if conn.writable is not None:
                    await conn.writable
            response = await waiter
        except _StaleConnection:
            conn.abort()
            raise UpstreamProtocolError(f"{scheme}://{host}:{port} closed the connection without a response") from None
        except BaseException:
            conn.abort()
            raise
        finally:
            timer.cancel()
        if conn.keep_alive and not conn.closed and sent == body.length:
            self._release(conn, loop)
        else:
            conn.close()
        return response

    async def close(self) -> None:
        """Close idle connections; connections in use are closed when their exchange ends."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for stack in self._idle.values():
            for conn in stack:
                conn.idle = False
                conn.close()
        self._idle.clear()

    async def _exchange(
        self,
        conn: _Conn,
        payload: bytes,
        head_only: bool,
        deadline: float,
        loop: asyncio.AbstractEventLoop,
        stream_from: int | None = None,
    ) -> UpstreamResponse:
        if conn.closed:  # the peer closed it between connect and now
            raise _StaleConnection
        waiter: asyncio.Future[UpstreamResponse] = loop.create_future()
        conn.begin(waiter, head_only, stream_from)
        # Set before any byte can arrive: a streamed body that ends at once still finds its timer to stop.
        conn.timer = loop.call_at(deadline, _expire, conn, waiter)
        try:
            conn.transport.write(payload)  # type: ignore[union-attr]
            response = await waiter
        except BaseException:
            conn._stop_timer()
            conn.abort()
            raise
        if response.stream is not None:  # the body follows: the connection ends the exchange and its timer
            return response
        conn._stop_timer()
        if conn.keep_alive and not conn.closed:
            self._release(conn, loop)
        else:
            conn.close()
        return response

    async def _connect(self, key: _Key, deadline: float, loop: asyncio.AbstractEventLoop) -> _Conn:
        scheme, host, port, verify_tls = key
        if scheme == "https":
            ctx: ssl.SSLContext | None = _ssl_context(verify_tls)
            server_hostname: str | None = host
        elif scheme == "http":
            ctx = server_hostname = None
        else:
            raise ValueError(f"unsupported upstream scheme {scheme!r}")
        max_body = self._max_body
        timeout = asyncio.timeout_at(deadline)
        try:
            async with timeout:
                _, conn = await loop.create_connection(
                    lambda: _Conn(self, key, max_body), host, port, ssl=ctx, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            if timeout.expired():
                raise UpstreamTimeout(f"{scheme}://{host}:{port} timed out connecting") from None
            raise UpstreamConnectError(f"cannot connect to {scheme}://{host}:{port}: {exc}") from exc
        except OSError as exc:  # refused, DNS (gaierror), TLS (SSLError)
            raise UpstreamConnectError(f"cannot connect to {scheme}://{host}:{port}: {exc}") from exc
        return conn

    def _checkout(self, key: _Key, now: float) -> _Conn | None:
        stack = self._idle.get(key)
        while stack:
            conn = stack.pop()
            conn.idle = False
            if conn.closed or now - conn.idle_since > self._idle_timeout:
                conn.close()  # closed by the peer, or idle too long
                continue
            return conn
        return None

    def _release(self, conn: _Conn, loop: asyncio.AbstractEventLoop) -> None:
        stack = self._idle.get(conn.key)
        if stack is None:
            stack = self._idle[conn.key] = []
        if self._closed or len(stack) >= self._max_idle:
            conn.close()
            return
        conn.idle = True
        conn.idle_since = loop.time()
        stack.append(conn)
        if self._sweeper is None:
            self._sweeper = loop.call_at(conn.idle_since + self._idle_timeout, self._sweep, loop)

    def _discard(self, conn: _Conn) -> None:
        """An idle connection was closed (by the server, usually): forget it."""
        conn.idle = False
        stack = self._idle.get(conn.key)
        if stack is not None and conn in stack:
            stack.remove(conn)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close connections idle for longer than idle_timeout; re-arm for the next one to expire."""
        self._sweeper = None
        cutoff = loop.time() - self._idle_timeout
        oldest: float | None = None
        for key, stack in list(self._idle.items()):
            expired = 0
            while expired < len(stack) and stack[expired].idle_since <= cutoff:
                expired += 1
            for conn in stack[:expired]:
                conn.idle = False
                conn.close()
            del stack[:expired]
            if not stack:
                del self._idle[key]
            elif oldest is None or stack[0].idle_since < oldest:
                oldest = stack[0].idle_since
        if oldest is not None and not self._closed:
            self._sweeper = loop.call_at(oldest + self._idle_timeout, self._sweep, loop)

"""The per-request connection to Redis: one socket per process, every command of the loop's current turn
written at once (pipelined) and the replies matched to their futures in order.

Hand-written on purpose (the rest of the backend uses redis-py): a request's script call through redis-py's
asyncio client costs 48 µs of CPU (command packing, connection pool, a lock per call), more than the whole
in-memory request; here it is a prebuilt command appended to a buffer and a future, 1-3 µs, and the replies
of many requests arrive in one read, parsed by hiredis (benchmarks/redis_pipe.py, 64 concurrent callers).

When Redis cannot be reached, a call answers at once with its `fallback` (or raises it, when it is an
exception): nothing waits for a dead server. A connection is tried again at most every RETRY seconds,
and one that stops answering for TIMEOUT seconds is dropped."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import hiredis

RETRY = 0.5  # seconds between connection attempts while Redis is unreachable
TIMEOUT = 2.0  # seconds a reply may take before the connection is given up


def command(*parts: str | bytes) -> bytes:
    """A command in RESP, the form Redis reads."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class Unreachable(Exception):
    """Redis did not answer: refused, reset, timed out, or an error reply."""


class Pipe(asyncio.Protocol):
    def __init__(self, connect: Callable[[], Any], hello: list[bytes],
                 on_state: Callable[[bool, str], None]) -> None:
        self._connect = connect  # () -> coroutine opening the connection with this protocol
        self._hello = hello  # commands every new connection sends first (AUTH, SELECT, SCRIPT LOAD)
        self._on_state = on_state  # (up, why): told when the connection comes up or goes down
        self._transport: asyncio.Transport | None = None
        self._reader = hiredis.Reader()
        self._waiting: deque[tuple[asyncio.Future[Any], Any, float]] = deque()
        self._out: list[bytes] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting = False
        self._next_try = 0.0
        self._watchdog: asyncio.TimerHandle | None = None
        self.up = False

    # -- calls ---------------------------------------------------------------------------------------------

    def call(self, payload: bytes, fallback: Any) -> asyncio.Future[Any]:
        """The reply to `payload` (one command), or `fallback` when Redis cannot be reached (raised when it is
        an exception, or made and raised when it is callable)."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self.up:
            self._reconnect()
            if not self._connecting:  # known to be down, and not tried again yet
                self._answer(future, Unreachable("not connected"), fallback)
                return future
            self._out.append(payload)  # written once connected
            self._waiting.append((future, fallback, 0.0))
            return future
        if not self._out:
            loop.call_soon(self._flush)
        self._out.append(payload)
        self._waiting.append((future, fallback, 0.0))
        return future

    def send(self, payload: bytes) -> None:
        """`payload` without waiting for its reply (which is read and dropped): written once connected when a
        connection is being made, dropped when Redis is known to be down."""
        self.call(payload, None)

    def _flush(self) -> None:
        out, self._out = self._out, []
        if self._transport is not None and out:
            self._transport.write(b"".join(out))

    @staticmethod
    def _answer(future: asyncio.Future[Any], error: Exception, fallback: Any) -> None:
        if future.done():
            return
        if callable(fallback):  # an exception's maker: each failed call raises a fresh one
            future.set_exception(fallback())
        elif isinstance(fallback, BaseException):
            future.set_exception(fallback)
        else:
            future.set_result(fallback)

    # -- the connection ------------------------------------------------------------------------------------

    def _reconnect(self) -> None:
        now = time.monotonic()
        if self._connecting or now < self._next_try:
            return
        self._connecting, self._next_try = True, now + RETRY
        assert self._loop is not None
        self._loop.create_task(self._open())

    async def _open(self) -> None:
        try:
            await asyncio.wait_for(self._connect(), TIMEOUT)
            # Hello commands go first, on their own: an error reply there (a wrong password) fails the connection.
            assert self._transport is not None
            replies = [self._loop.create_future() for _ in self._hello]  # type: ignore[union-attr]
            # before the calls queued while connecting, which are written once these are answered
            self._waiting.extendleft((reply, Unreachable("no reply"), 0.0) for reply in reversed(replies))
            self._transport.write(b"".join(self._hello))
            for reply in replies:
                result = await asyncio.wait_for(reply, TIMEOUT)
                if isinstance(result, hiredis.ReplyError | Unreachable):
                    raise Unreachable(str(result))
        except (TimeoutError, OSError, Unreachable) as exc:
            self._drop(f"{type(exc).__name__}: {exc}")
        else:
            self.up = True
            self._flush()
            self._on_state(True, "connected")
            self._watchdog = self._loop.call_later(TIMEOUT / 2, self._watch)  # type: ignore[union-attr]
        finally:
            self._connecting = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._reader = hiredis.Reader()

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        waiting = self._waiting
        while (reply := self._reader.gets()) is not False:
            future, fallback, _ = waiting.popleft()
            if future.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                if fallback is None or isinstance(fallback, Unreachable):  # a hello command, or sent and forgotten
                    future.set_result(reply)
                    continue
                self._on_state(True, f"error reply: {reply}")
                self._answer(future, reply, fallback)
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._drop(f"connection lost: {exc or 'closed by the server'}")

    def _watch(self) -> None:
        """Drop a connection whose oldest call has waited longer than TIMEOUT (a server that stopped answering)."""
        if not self.up:
            return
        now = time.monotonic()
        if self._waiting:
            future, fallback, since = self._waiting[0]
            if since == 0.0:  # first seen now: stamped here rather than on every call
                self._waiting[0] = (future, fallback, now)
            elif now - since > TIMEOUT:
                self._drop("no reply in time")
                return
        self._watchdog = self._loop.call_later(TIMEOUT / 2, self._watch)  # type: ignore[union-attr]

    def _drop(self, why: str) -> None:
        was_up, self.up = self.up, False
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.abort()
        waiting, self._waiting = self._waiting, deque()
        self._out = []
        for future, fallback, _ in waiting:
            self._answer(future, Unreachable(why), fallback)
        if was_up:
            self._on_state(False, why)

    def close(self) -> None:
        self._on_state = lambda up, why: None  # closing is no outage
        with contextlib.suppress(Exception):
            self._drop("closed")

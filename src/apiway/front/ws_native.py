"""A native connection after its WebSocket handshake was accepted: the transport's protocol from the 101 on.

It parses the client's frames (front/ws_frames.py), hands whole messages to the session, answers pings, and
implements `WsSocket` for the session's sends. Deadlines ride on the native server's once-a-second timer: the
server calls `expire` once `deadline` passes (idle timeout or maximum duration: close 1001; a closing
handshake the client never finished: drop the TCP connection), and `shutdown` on SIGTERM/SIGINT (1001).
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from apiway.core.websocket import ABNORMAL, GOING_AWAY, POLICY_VIOLATION, Upgraded
from apiway.front.ws_frames import BINARY, PONG, TEXT, Close, Failure, FrameParser, Message, Ping, close_frame, frame
from apiway.observe.log import log

CLOSE_WAIT = 3.0  # seconds the client has to answer our close frame before the TCP connection is dropped

_OPEN, _CLOSING, _CLOSED = 0, 1, 2


class Host(Protocol):
    """What the native server shares with its connections."""

    clock: float  # the loop's time, refreshed once a second
    loop: asyncio.AbstractEventLoop

    def forget(self, conn: WsConnection) -> None: ...


class WsConnection(asyncio.Protocol):
    __slots__ = ("_end", "_host", "_idle", "_last", "_limit", "_name", "_parser", "_reported", "_session", "_state",
                 "_transport", "deadline")

    def __init__(self, host: Host, transport: asyncio.Transport, upgraded: Upgraded, name: str) -> None:
        self._host = host
        self._transport = transport
        self._session = upgraded.session
        self._parser = FrameParser(upgraded.max_frame, upgraded.max_message)
        self._idle = upgraded.idle_timeout
        self._limit = upgraded.outbox_limit
        self._name = name
        self._state = _OPEN
        self._reported = False
        # The loop's own time, not the server's once-a-second clock, which may lag by up to a second: the maximum
        # duration is counted from here and must never end a connection early.
        now = host.loop.time()
        self._last = now
        self._end = now + upgraded.max_duration
        self.deadline = min(now + self._idle, self._end)

    def start(self, early: bytes) -> None:
        """The 101 is written: take the transport over, tell the session, then read (`early`: frames that
        arrived with or behind the handshake)."""
        self._transport.set_protocol(self)
        safely(self._session.opened, self)
        self._transport.resume_reading()
        if early:
            self.data_received(early)

    def gone(self) -> None:
        """The client left before the 101 could be written: the session is opened and closed (1006) at once,
        so that whatever its acceptance started is ended the usual way."""
        self._state = _CLOSED
        safely(self._session.opened, self)
        self._report(ABNORMAL, "")

    # --- WsSocket

    def send(self, data: bytes, text: bool = True) -> bool:
        if self._state != _OPEN:
            return False
        transport = self._transport
        if transport.get_write_buffer_size() + len(data) > self._limit:
            log("WARN", "WebSocket client not reading: outbox bound reached, connection closed with 1008",
                connection=self._name, limit=self._limit)
            self.close(POLICY_VIOLATION, "Outbox full")
            return False
        transport.write(frame(TEXT if text else BINARY, data))
        self._touch()
        return True

    def close(self, code: int = 1000, reason: str = "") -> None:
        if self._state != _OPEN:
            return
        self._state = _CLOSING
        self._transport.write(close_frame(code, reason))
        self.deadline = self._host.clock + CLOSE_WAIT
        self._report(code, reason)

    @property
    def last_active(self) -> float:
        return time.time() - (self._host.loop.time() - self._last)

    # --- transport events

    def data_received(self, data: bytes) -> None:
        if self._state == _CLOSED:
            return
        self._touch()
        for event in self._parser.feed(data):
            if isinstance(event, Message):
                if self._state == _OPEN:
                    safely(self._session.received, event.data, event.text)
            elif isinstance(event, Ping):
                if self._state == _OPEN:
                    self._transport.write(frame(PONG, event.payload))
            elif isinstance(event, Close):
                self._closed_by_client(event)
            elif isinstance(event, Failure):
                self._fail(event.code, event.reason)

    def eof_received(self) -> bool:
        return False  # a TCP half-close ends the connection: 1006 unless a close frame came first

    def connection_lost(self, exc: Exception | None) -> None:
        self._state = _CLOSED
        self._report(ABNORMAL, "")
        self._host.forget(self)

    # --- closing

    def _closed_by_client(self, event: Close) -> None:
        if self._state == _OPEN:  # echo the code, then end: the server closes the TCP connection first
            self._state = _CLOSED
            self._transport.write(close_frame(event.code))
            self._report(event.code, event.reason)
        self._state = _CLOSED
        self._transport.close()

    def _fail(self, code: int, reason: str) -> None:
        """A protocol error or a limit: close with `code`. The stream cannot be parsed any further, so the rest
        of what the client sends is dropped; our side ends after the close frame, and the client's end (or
        CLOSE_WAIT) closes the connection."""
        if self._state == _OPEN:
            self.close(code, reason)
        self._state = _CLOSED  # read no more
        transport = self._transport
        if transport.can_write_eof():
            transport.write_eof()
        self.deadline = self._host.clock + CLOSE_WAIT

    def _report(self, code: int, reason: str) -> None:
        if not self._reported:
            self._reported = True
            safely(self._session.closed, code, reason)

    # --- deadlines (the native server's timer)

    def _touch(self) -> None:
        now = self._last = self._host.clock
        if self._state == _OPEN:
            self.deadline = min(now + self._idle, self._end)

    def expire(self) -> None:
        if self._state == _OPEN:
            self.close(GOING_AWAY, "Going away")
        else:
            self._transport.abort()

    def shutdown(self) -> None:
        self.close(GOING_AWAY, "Going away")

    def abort(self) -> None:
        self._transport.abort()


def safely(call: Callable[..., Any], *args: Any) -> None:
    """A session's failure is logged; it never breaks the connection's reading or closing."""
    try:
        call(*args)
    except Exception as exc:
        log("ERROR", "WebSocket session failed", error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc())

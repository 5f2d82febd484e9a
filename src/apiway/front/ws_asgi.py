"""An accepted WebSocket under ASGI (uvicorn with `websockets`): the server speaks RFC 6455 and answers pings;
this pumps its messages to the session and the session's sends to it.

The session's sends go into an outbox (a queue and one writer task), bounded by bytes: a client that does not
read stalls only its writer, and once the outbox is full the connection closes with 1008. Frames are not
visible under ASGI, so only the message limit is checked here (AWS's frame limit holds on the native server).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from apiway.core.websocket import ABNORMAL, GOING_AWAY, NO_STATUS, POLICY_VIOLATION, TOO_BIG, Upgraded
from apiway.front.ws_native import safely
from apiway.observe.log import log

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class AsgiWebSocket:
    """One accepted connection; implements `WsSocket`."""

    def __init__(self, upgraded: Upgraded, send: Send, name: str) -> None:
        self._upgraded = upgraded
        self._session = upgraded.session
        self._send = send
        self._name = name
        self._loop = asyncio.get_running_loop()
        self._outbox: asyncio.Queue[tuple[bytes, bool] | None] = asyncio.Queue()  # None: the close
        self._closing = (NO_STATUS, "")
        self._queued = 0
        self._open = True
        self._reported = False
        self._last = self._end = self._loop.time()
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    async def run(self, receive: Receive) -> None:
        """Accept, then pump messages until the client or the server ends the connection."""
        upgraded = self._upgraded
        protocol = [v for k, v in upgraded.headers if k.lower() == "sec-websocket-protocol"]
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1", "replace")) for k, v in upgraded.headers
                   if k.lower() != "sec-websocket-protocol"]  # uvicorn writes the subprotocol itself
        await self._send({"type": "websocket.accept", "subprotocol": protocol[0] if protocol else None,
                          "headers": headers})
        self._last = self._loop.time()
        self._end = self._last + upgraded.max_duration
        self._writer = self._loop.create_task(self._write())
        watchdog = self._loop.create_task(self._watch())
        safely(self._session.opened, self)
        max_message = upgraded.max_message
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    self._last = self._loop.time()
                    text = message.get("text")
                    data = text.encode() if text is not None else message.get("bytes") or b""
                    if len(data) > max_message:
                        self.close(TOO_BIG, "Message too big")
                    elif self._open:
                        safely(self._session.received, data, text is not None)
                elif kind == "websocket.disconnect":
                    self._open = False
                    self._report(message.get("code") or NO_STATUS, message.get("reason") or "")
                    break
        finally:
            self._open = False
            watchdog.cancel()
            if self._closer is None:
                self._writer.cancel()
            self._report(ABNORMAL, "")

    # --- WsSocket

    def send(self, data: bytes, text: bool = True) -> bool:
        if not self._open:
            return False
        if self._queued + len(data) > self._upgraded.outbox_limit:
            log("WARN", "WebSocket client not reading: outbox bound reached, connection closed with 1008",
                connection=self._name, limit=self._upgraded.outbox_limit)
            # The writer may be stuck on this client: what waits is dropped and the close goes out beside it.
            if self._writer is not None:
                self._writer.cancel()
            self._open = False
            self._closer = self._loop.create_task(self._close_now(POLICY_VIOLATION, "Outbox full"))
            self._report(POLICY_VIOLATION, "Outbox full")
            return False
        self._queued += len(data)
        self._outbox.put_nowait((data, text))
        self._last = self._loop.time()
        return True

    def close(self, code: int = 1000, reason: str = "") -> None:
        if not self._open:
            return
        self._open = False
        self._closing = (code, reason)
        self._outbox.put_nowait(None)  # after what is already queued
        self._report(code, reason)

    @property
    def last_active(self) -> float:
        return time.time() - (self._loop.time() - self._last)

    # --- tasks

    async def _write(self) -> None:
        send = self._send
        with contextlib.suppress(Exception):  # the client is gone: the receive loop learns it too
            while True:
                item = await self._outbox.get()
                if item is None:
                    code, reason = self._closing
                    await send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                data, text = item
                self._queued -= len(data)
                if text:
                    await send({"type": "websocket.send", "text": data.decode()})
                else:
                    await send({"type": "websocket.send", "bytes": data})
                self._last = self._loop.time()

    async def _close_now(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def _watch(self) -> None:
        """The idle timeout and the maximum duration: close 1001."""
        idle = self._upgraded.idle_timeout
        while self._open:
            now = self._loop.time()
            due = min(self._last + idle, self._end)
            if now >= due:
                self.close(GOING_AWAY, "Going away")
                return
            await asyncio.sleep(due - now)

    def _report(self, code: int, reason: str) -> None:
        if not self._reported:
            self._reported = True
            safely(self._session.closed, code, reason)

    def going_away(self) -> None:
        """Server shutdown."""
        self.close(GOING_AWAY, "Going away")

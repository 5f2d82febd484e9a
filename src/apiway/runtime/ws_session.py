"""One accepted WebSocket connection on the gateway's side: the `WsSession` the front-end tells what happens.

Opened, it joins the node's connections (and the shared registry). Each message runs as a task on the stage
its API serves *now* — looked up per message, so a redeploy applies to live connections; a stage that is
gone closes the connection with 1001. Up to `MAX_IN_FLIGHT` messages of a connection run at once; later
ones wait in arrival order, at most `MAX_WAITING` of them, beyond which a message is refused with AWS's
throttling error frame: a client that floods never grows the gateway's memory. Closed, exactly once, it
leaves the registry and runs $disconnect as a task the app's close waits for."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import orjson

from apiway.core import request_ids
from apiway.core.invocation import StageRuntime
from apiway.core.websocket import GOING_AWAY, WsSocket
from apiway.core.ws_invocation import Connection, WsStageRuntime
from apiway.runtime.connections import Connections, is_text
from apiway.runtime.ws_run import WsClose, run_disconnect, run_message

MAX_IN_FLIGHT = 8  # messages of one connection running at once
MAX_WAITING = 1000  # messages of one connection waiting for one of those to finish


class GatewaySession:
    __slots__ = ("_closed", "_in_flight", "_stage", "_stage_of", "_tasks", "_waiting", "api_id", "connection",
                 "connections", "socket", "stage_name")

    def __init__(self, connections: Connections, stage: WsStageRuntime, connection: Connection,
                 stage_of: Callable[[str, str], StageRuntime | None]) -> None:
        self.connections = connections
        self.api_id = stage.api_id
        self.stage_name = stage.stage_name
        self.connection = connection
        self.socket: WsSocket | None = None
        self._stage = stage  # the last stage it ran on: $disconnect's when the stage is gone by then
        self._stage_of = stage_of  # the gateway's lookup of the stage it serves now
        self._in_flight = 0
        self._waiting: deque[tuple[bytes, bool]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def opened(self, socket: WsSocket) -> None:
        self.socket = socket
        self.connections.register(self)

    def received(self, data: bytes, text: bool) -> None:
        if self._closed:
            return
        self.connection.last_active_ms = self._stage.wall_ms()
        if self._in_flight < MAX_IN_FLIGHT:
            self._start(data, text)
        elif len(self._waiting) < MAX_WAITING:
            self._waiting.append((data, text))
        else:
            self._send(orjson.dumps({"message": "Too Many Requests", "connectionId": self.connection.connection_id,
                                     "requestId": request_ids.extended_request_id()}))

    def closed(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._waiting.clear()
        self.connections.unregister(self.connection.connection_id)
        stage = self._current() or self._stage
        self.connections.track(run_disconnect(stage, self.connection, code, reason))

    def _start(self, data: bytes, text: bool) -> None:
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._run(data, text))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight -= 1
        if self._waiting and not self._closed:
            self._start(*self._waiting.popleft())

    async def _run(self, data: bytes, text: bool) -> None:
        stage = self._current()
        socket = self.socket
        assert socket is not None, "messages arrive once the connection is open"
        if stage is None:
            socket.close(GOING_AWAY, "Going away")
            return
        self._stage = stage
        try:
            reply = await run_message(stage, self.connection, data, text)
        except WsClose as close:
            socket.close(close.code, close.reason)
            return
        if reply is not None:
            self._send(reply)

    def _send(self, data: bytes) -> None:
        if self.socket is not None and not self._closed:
            self.socket.send(data, is_text(data))

    def _current(self) -> WsStageRuntime | None:
        stage = self._stage_of(self.api_id, self.stage_name)
        return stage if isinstance(stage, WsStageRuntime) else None

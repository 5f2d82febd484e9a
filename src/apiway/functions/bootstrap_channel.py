"""The gateway's end of one environment's frame channel to apiway's Python bootstrap (frames.py).

It stands in for the environment's `RuntimeApi` with the same callbacks and the same outcomes: an invocation is
pushed to the runtime as soon as it is ready for one (after init, then after each answer), and its answer or
init error becomes the `InvokeResult` the Runtime API would have made of it. A frame that breaks the protocol
(an unknown kind, an answer with no invocation, a frame over the size limit) calls `on_broken`, which stops the
environment: the invocation then fails as a runtime that exited.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from apiway.functions.base import InvokeResult
from apiway.functions.frames import ERROR, HEAD, INIT_ERROR, INVOKE, MAX_PAYLOAD, READY, RESPONSE, TOO_LARGE, frame
from apiway.functions.runtime_api import PendingEvent, error_result, response_result

__all__ = ["BootstrapChannel"]

_MAX_FRAME = MAX_PAYLOAD + 1024  # the bootstrap never sends a payload over the limit, and headers are short


class BootstrapChannel(asyncio.Protocol):
    __slots__ = ("_buffer", "_child", "_initialised", "_need", "_pending", "_ready", "_transport", "current",
                 "faults", "on_broken", "on_delivered", "on_init_error", "on_result")

    def __init__(self, on_delivered: Callable[[PendingEvent], None],
                 on_result: Callable[[PendingEvent, InvokeResult], None],
                 on_init_error: Callable[[InvokeResult], None], on_broken: Callable[[], None]) -> None:
        self.on_delivered = on_delivered
        self.on_result = on_result
        self.on_init_error = on_init_error
        self.on_broken = on_broken
        self.current: PendingEvent | None = None  # delivered to the runtime, not answered yet
        self._pending: PendingEvent | None = None  # submitted, the runtime is not ready for it yet
        self._ready = False  # the runtime waits for an event
        self._initialised = False
        self._transport: asyncio.Transport | None = None
        self._child: socket.socket | None = None
        self._buffer = bytearray()  # the start of a frame not fully received
        self._need = 0  # the buffer's size once that frame (or its head) is complete
        self.faults = -1  # the runtime's page faults, as of its last answer (frames.py)

    async def start(self) -> int:
        """Open the socket pair: the descriptor returned is the runtime's end, for its process to inherit;
        `started` closes it here once the process has it."""
        ours, self._child = socket.socketpair()
        await asyncio.get_running_loop().create_unix_connection(lambda: self, sock=ours)
        return self._child.fileno()

    def started(self) -> None:
        if self._child is not None:
            self._child.close()
            self._child = None

    def close(self) -> None:
        self.started()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def submit(self, inv: PendingEvent) -> None:
        self._pending = inv
        if self._ready:
            self._deliver()

    def _deliver(self) -> None:
        inv = self._pending
        assert inv is not None
        self._pending = None
        self._ready = False
        self.current = inv
        inv.delivered = True
        self.on_delivered(inv)  # sets the deadline
        header = "\0".join((inv.request_id, str(inv.deadline_ms), inv.arn, inv.trace_id, inv.client_context or "",
                            inv.cognito_identity or ""))
        if self._transport is not None:
            self._transport.write(frame(INVOKE, header.encode(), inv.event))

    # --- frames from the runtime

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None  # the process's exit is what fails an invocation (workers._Environment._watch)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        if buffer:
            buffer += data
            if len(buffer) < self._need:
                return
            data = bytes(buffer)
            buffer.clear()
        at = 0
        end = len(data)
        while end - at >= HEAD.size:
            kind, header_size, size, faults = HEAD.unpack_from(data, at)
            if header_size + size > _MAX_FRAME:
                self.on_broken()
                return
            start = at + HEAD.size + header_size
            if start + size > end:
                self._need = start + size - at
                break
            self._received(kind, data[at + HEAD.size:start], data[start:start + size], faults)
            at = start + size
        else:
            self._need = HEAD.size
        if at < end:
            buffer += memoryview(data)[at:]

    def _received(self, kind: int, header: bytes, payload: bytes, faults: int) -> None:
        if kind == READY and not self._initialised:
            self._initialised = True
            self._ready = True
            if self._pending is not None:
                self._deliver()
            return
        if kind == INIT_ERROR and not self._initialised:
            self._initialised = True
            self.on_init_error(error_result(payload, header.decode()))
            return
        inv = self.current
        if inv is not None and kind == RESPONSE:
            result = response_result(payload, len(payload))
        elif inv is not None and kind == TOO_LARGE and header.isdigit():
            result = response_result(b"", int(header))
        elif inv is not None and kind == ERROR:
            result = error_result(payload, header.decode())
        else:
            self.on_broken()
            return
        self.current = None
        self.faults = faults
        self._ready = True  # the runtime goes straight back to waiting for the next event
        self.on_result(inv, result)

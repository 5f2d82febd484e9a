"""The WebSocket seam between the front-ends and the gateway (spec §11.2).

A front-end hands an `Upgrade: websocket` request to its handler's `upgrade`. The answer is either an
HttpResponse, which refuses the handshake (sent as is, then the connection ends), or `Upgraded`: the
front-end completes the handshake (101 with `Sec-WebSocket-Accept` and the extra headers), then speaks
RFC 6455 and tells the session what happens. The session never sees frames, masks or fragments: the
front-end reassembles messages, answers pings, enforces AWS's frame and message limits, the idle timeout
and the maximum duration, and bounds what waits to be written to a slow client.

Every session call is a plain call on the event loop's thread: a session schedules what it must await.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

MAX_FRAME = 32 * 1024  # AWS's frame limit: a larger frame closes the connection with 1009
MAX_MESSAGE = 128 * 1024  # AWS's message limit (after reassembly): 1009 likewise
IDLE_TIMEOUT = 600.0  # seconds without a frame either way: closed with 1001 (AWS: 10 minutes)
MAX_DURATION = 7200.0  # seconds a connection may live: closed with 1001 (AWS: 2 hours)
OUTBOX_LIMIT = 1024 * 1024  # bytes waiting to be written to one client; beyond it the connection closes (1008)

# Close codes (RFC 6455 §7.4.1) the gateway sends or reports.
NORMAL = 1000
GOING_AWAY = 1001  # idle timeout, maximum duration, server shutdown
PROTOCOL_ERROR = 1002  # unmasked client frame, reserved bits or opcodes, a bad fragment sequence
UNSUPPORTED_DATA = 1003  # a binary message a route cannot take
NO_STATUS = 1005  # a close frame without a code (reported, never sent)
ABNORMAL = 1006  # the TCP connection ended without a close frame (reported, never sent)
INVALID_PAYLOAD = 1007  # a text message that is not UTF-8
POLICY_VIOLATION = 1008  # the outbox bound overflowed
TOO_BIG = 1009  # a frame or a message over AWS's limits


class WsSocket(Protocol):
    """One accepted connection as the front-end keeps it."""

    def send(self, data: bytes, text: bool = True) -> bool:
        """Queue one message (a text frame when `text`: `data` is UTF-8). Never blocks: False when the
        connection is closing or closed, or when the outbox bound overflowed (the connection is then closed
        with 1008 and the session told so)."""
        ...

    def close(self, code: int = NORMAL, reason: str = "") -> None:
        """Start the closing handshake (idempotent). The session's `closed` follows once, with this code."""
        ...

    @property
    def last_active(self) -> float:
        """The wall-clock time (epoch seconds) of the last frame received or sent."""
        ...


class WsSession(Protocol):
    """What the gateway attaches to an accepted connection."""

    def opened(self, socket: WsSocket) -> None:
        """The 101 was written: the connection is live and `socket` sends to it."""
        ...

    def received(self, data: bytes, text: bool) -> None:
        """One whole message from the client (a text message's bytes are valid UTF-8)."""
        ...

    def closed(self, code: int, reason: str) -> None:
        """The connection ended, exactly once per opened connection: the client's close code (1005 when its
        close frame had none), 1006 when the TCP connection dropped without one, or the code the gateway
        closed with (a limit, the idle timeout, shutdown, `close`)."""
        ...


@dataclass(slots=True)
class Upgraded:
    """An accepted handshake: what the front-end needs to complete it and keep the connection."""

    session: WsSession
    headers: list[tuple[str, str]] = field(default_factory=list)  # added to the 101 (Sec-WebSocket-Protocol)
    idle_timeout: float = IDLE_TIMEOUT
    max_duration: float = MAX_DURATION
    max_frame: int = MAX_FRAME
    max_message: int = MAX_MESSAGE
    outbox_limit: int = OUTBOX_LIMIT

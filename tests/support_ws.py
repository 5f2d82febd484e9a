"""WebSocket test support shared by the front-end tests: a Handler whose `upgrade` accepts with an echo session
that records what it is told (a test double of the handler: the servers under test are real), and a raw
client for the frames a well-behaved client library never sends."""

from __future__ import annotations

import base64
import os
import socket
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.websocket import Upgraded, WsSocket


class EchoSession:
    """Echoes every message. `flood` sends 64 KB messages until the socket refuses one; `close:CODE` closes."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.socket: WsSocket | None = None
        self.sent_before_refusal = 0

    def opened(self, socket: WsSocket) -> None:
        self.socket = socket
        self.calls.append(("opened",))

    def received(self, data: bytes, text: bool) -> None:
        self.calls.append(("received", len(data), text))
        assert self.socket is not None
        if data == b"flood":
            chunk = b"x" * 65536
            while self.sent_before_refusal < 2000 and self.socket.send(chunk, False):
                self.sent_before_refusal += 1
        elif data.startswith(b"close:"):
            self.socket.close(int(data[6:]), "bye")
        else:
            self.socket.send(data, text)

    def closed(self, code: int, reason: str) -> None:
        self.calls.append(("closed", code, reason))

    def closes(self) -> list[tuple]:
        return [c for c in self.calls if c[0] == "closed"]


class EchoHandler:
    """Accepts every handshake but `/refuse` (403); limits come from the query string (`idle`, `max`,
    `outbox`, `frame`, `message`); a requested subprotocol is passed on."""

    def __init__(self) -> None:
        self.sessions: list[EchoSession] = []

    async def handle(self, req: HttpRequest) -> HttpResponse:
        return HttpResponse(200, [("Content-Type", "text/plain")], b"plain")

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        return HttpResponse(413, [], b"")

    async def upgrade(self, req: HttpRequest) -> HttpResponse | Upgraded:
        if req.path.endswith("/refuse"):
            return HttpResponse(403, [("Content-Type", "application/json")], b'{"message":"Forbidden"}')
        query = {k: float(v[0]) for k, v in parse_qs(req.query).items()}
        session = EchoSession()
        self.sessions.append(session)
        upgraded = Upgraded(session)
        if "idle" in query:
            upgraded.idle_timeout = query["idle"]
        if "max" in query:
            upgraded.max_duration = query["max"]
        if "outbox" in query:
            upgraded.outbox_limit = int(query["outbox"])
        if "message" in query:
            upgraded.max_message = int(query["message"])
        protocol = req.header("sec-websocket-protocol")
        if protocol:
            upgraded.headers.append(("Sec-WebSocket-Protocol", protocol.split(",")[0].strip()))
        return upgraded

    def last(self) -> EchoSession:
        wait_for(lambda: bool(self.sessions))
        return self.sessions[-1]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# --- a raw client


def handshake(port: int, path: str = "/ws", extra: str = "", key: str | None = None) -> tuple[socket.socket, bytes]:
    """Send an opening handshake; return the socket and the response head (whatever its status)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return sock, head


def client_frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0, masked: bool = True) -> bytes:
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    if n < 126:
        head = bytes((b0, (0x80 if masked else 0) | n))
    elif n < 65536:
        head = bytes((b0, (0x80 if masked else 0) | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((b0, (0x80 if masked else 0) | 127)) + n.to_bytes(8, "big")
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """One server frame (unmasked): (opcode, payload); (-1, b"") at EOF."""
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    try:
        b0, b1 = exactly(2)
        assert not b1 & 0x80, "a server frame must not be masked"
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(exactly(2), "big")
        elif n == 127:
            n = int.from_bytes(exactly(8), "big")
        return b0 & 0x0F, exactly(n)
    except (EOFError, ConnectionResetError):
        return -1, b""


def close_code(sock: socket.socket) -> int | None:
    """Read frames until the server's close frame: its code (None when the connection ended without one)."""
    while True:
        opcode, payload = read_frame(sock)
        if opcode == -1:
            return None
        if opcode == 0x8:
            return int.from_bytes(payload[:2], "big") if payload else 1005

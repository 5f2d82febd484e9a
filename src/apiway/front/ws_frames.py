"""RFC 6455 on the server's side, without I/O: the opening handshake, a frame parser fed bytes that yields
whole messages and control frames, and the frames a server writes (never masked).

No extension is negotiated (AWS offers no permessage-deflate), so any RSV bit is a protocol error. Limits are
decided from a frame's header, before its payload is buffered: a frame over `max_frame` or a message that
would outgrow `max_message` closes the connection with 1009 (AWS: 32 KB frames, 128 KB messages).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.websocket import INVALID_PAYLOAD, NO_STATUS, PROTOCOL_ERROR, TOO_BIG

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_DATA = (TEXT, BINARY)
_CONTROL = (CLOSE, PING, PONG)
MAX_CONTROL = 125

_VERSION = [("Sec-WebSocket-Version", "13")]


# --- the opening handshake


def accept_key(key: str) -> str:
    """`Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`."""
    return base64.b64encode(hashlib.sha1(key.encode("latin-1") + GUID).digest()).decode("ascii")


def _tokens(value: str | None) -> set[str]:
    return {t.strip().lower() for t in value.split(",")} if value else set()


def wants_websocket(req: HttpRequest) -> bool:
    """The request asks to switch to WebSocket (its `Upgrade` names it); whether it does so validly is
    `refusal`'s question."""
    return "websocket" in _tokens(req.header("upgrade"))


def refusal(req: HttpRequest) -> HttpResponse | None:
    """None for a valid opening handshake (RFC 6455 §4.2.1), else the answer refusing it: 426 naming the
    version this server speaks when only the version is wrong, 400 otherwise."""
    key = req.header("sec-websocket-key")
    valid = (req.method == "GET" and req.http_version == "1.1" and "websocket" in _tokens(req.header("upgrade"))
             and "upgrade" in _tokens(req.header("connection")) and key is not None and _key_ok(key))
    if not valid:
        return _refuse(400, "Bad Request", [])
    if req.header("sec-websocket-version") != "13":
        return _refuse(426, "Upgrade Required", _VERSION)
    return None


def _key_ok(key: str) -> bool:
    try:
        return len(base64.b64decode(key.strip(), validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def _refuse(status: int, message: str, headers: list[tuple[str, str]]) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json"), *headers],
                        b'{"message":"' + message.encode() + b'"}')


def switching_protocols(key: str, headers: list[tuple[str, str]], date: str = "") -> bytes:
    """The 101 accepting a handshake, with `headers` added (Sec-WebSocket-Protocol). `date` is a whole header
    line or empty. Raises ValueError when a header would break the framing."""
    lines = [f"{name}: {value}\r\n" for name, value in headers]
    for line in lines:
        if line.count("\n") != 1 or line.count("\r") != 1:
            raise ValueError("CR or LF inside a response header")
    head = (f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key.strip())}\r\n{''.join(lines)}{date}\r\n")
    return head.encode("latin-1", "replace")


# --- what the parser yields


@dataclass(slots=True, frozen=True)
class Message:
    data: bytes  # a text message's bytes are valid UTF-8
    text: bool


@dataclass(slots=True, frozen=True)
class Ping:
    payload: bytes


@dataclass(slots=True, frozen=True)
class Pong:
    payload: bytes


@dataclass(slots=True, frozen=True)
class Close:
    code: int  # NO_STATUS when the frame carried none
    reason: str


@dataclass(slots=True, frozen=True)
class Failure:
    """The client broke the protocol or a limit: the connection fails with `code`. Always the last event."""

    code: int
    reason: str


Event = Message | Ping | Pong | Close | Failure


class WsError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


def valid_close_code(code: int) -> bool:
    """A code a close frame may carry (RFC 6455 §7.4; 1012 to 1014 registered since)."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def unmask(payload: bytes | bytearray, mask: bytes | bytearray) -> bytes:
    """XOR with the 4-byte mask, over the whole payload at once as one big integer."""
    n = len(payload)
    if n == 0:
        return b""
    key = (mask * ((n + 3) >> 2))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class FrameParser:
    """Fed the bytes a client sends; `feed` returns the events they complete. After a Close or a Failure it
    reads nothing more."""

    __slots__ = ("_buffer", "_closed", "_fragments", "_max_frame", "_max_message", "_opcode", "_size")

    def __init__(self, max_frame: int, max_message: int) -> None:
        self._max_frame = max_frame
        self._max_message = max_message
        self._buffer = bytearray()
        self._opcode = 0  # the data frame a fragmented message started with; 0: none in progress
        self._fragments: list[bytes] = []
        self._size = 0
        self._closed = False  # a close frame was parsed: nothing after it is read

    def feed(self, data: bytes) -> list[Event]:
        if self._closed:
            return []
        buffer = self._buffer
        buffer += data
        events: list[Event] = []
        pos = 0
        end = len(buffer)
        try:
            while end - pos >= 2:
                b0 = buffer[pos]
                b1 = buffer[pos + 1]
                length = b1 & 0x7F
                head = 2
                if length == 126:
                    if end - pos < 4:
                        break
                    length = int.from_bytes(buffer[pos + 2:pos + 4], "big")
                    head = 4
                elif length == 127:
                    if end - pos < 10:
                        break
                    length = int.from_bytes(buffer[pos + 2:pos + 10], "big")
                    head = 10
                    if length >> 63:
                        raise WsError(PROTOCOL_ERROR, "Invalid frame length")
                opcode = b0 & 0x0F
                self._check(b0, b1, opcode, length)
                start = pos + head + 4
                if end < start + length:
                    break
                payload = unmask(buffer[start:start + length], buffer[start - 4:start])
                pos = start + length
                event = self._frame(b0 & 0x80 != 0, opcode, payload)
                if event is not None:
                    events.append(event)
                    if type(event) is Close:
                        self._closed = True
                        break
        except WsError as error:
            events.append(Failure(error.code, error.reason))
            self._closed = True
            buffer.clear()
            return events
        del buffer[:pos]
        return events

    def _check(self, b0: int, b1: int, opcode: int, length: int) -> None:
        """Everything the header alone decides, before the payload is waited for."""
        if b0 & 0x70:
            raise WsError(PROTOCOL_ERROR, "Reserved bits set")
        if not b1 & 0x80:
            raise WsError(PROTOCOL_ERROR, "Client frame not masked")
        if opcode in _CONTROL:
            if not b0 & 0x80:
                raise WsError(PROTOCOL_ERROR, "Fragmented control frame")
            if length > MAX_CONTROL:
                raise WsError(PROTOCOL_ERROR, "Control frame too long")
            return
        if opcode == CONTINUATION:
            if not self._opcode:
                raise WsError(PROTOCOL_ERROR, "Continuation without a message")
        elif opcode in _DATA:
            if self._opcode:
                raise WsError(PROTOCOL_ERROR, "New message inside a fragmented one")
        else:
            raise WsError(PROTOCOL_ERROR, "Reserved opcode")
        if length > self._max_frame:
            raise WsError(TOO_BIG, "Frame too big")
        if self._size + length > self._max_message:
            raise WsError(TOO_BIG, "Message too big")

    def _frame(self, fin: bool, opcode: int, payload: bytes) -> Event | None:
        if opcode == PING:
            return Ping(payload)
        if opcode == PONG:
            return Pong(payload)
        if opcode == CLOSE:
            return _close(payload)
        if opcode != CONTINUATION:
            if fin:  # the usual case: a whole message in one frame
                return _message(payload, opcode == TEXT)
            self._opcode = opcode
        self._fragments.append(payload)
        self._size += len(payload)
        if not fin:
            return None
        data = b"".join(self._fragments)
        text = self._opcode == TEXT
        self._opcode = self._size = 0
        self._fragments = []
        return _message(data, text)


def _message(data: bytes, text: bool) -> Message:
    if text:
        try:
            data.decode("utf-8")  # the whole message: a character may span fragments
        except UnicodeDecodeError:
            raise WsError(INVALID_PAYLOAD, "Invalid UTF-8") from None
    return Message(data, text)


def _close(payload: bytes) -> Close:
    if not payload:
        return Close(NO_STATUS, "")
    if len(payload) == 1:
        raise WsError(PROTOCOL_ERROR, "Invalid close frame")
    code = int.from_bytes(payload[:2], "big")
    if not valid_close_code(code):
        raise WsError(PROTOCOL_ERROR, "Invalid close code")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise WsError(INVALID_PAYLOAD, "Invalid UTF-8 in the close reason") from None
    return Close(code, reason)


# --- frames the server writes


def frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return head + payload


def close_frame(code: int, reason: str = "") -> bytes:
    """A close frame with `code` (none for NO_STATUS) and `reason`, cut to fit 125 bytes on a character
    boundary."""
    if code == NO_STATUS:
        return frame(CLOSE, b"")
    encoded = reason.encode("utf-8")[:MAX_CONTROL - 2].decode("utf-8", "ignore").encode("utf-8")
    return frame(CLOSE, code.to_bytes(2, "big") + encoded)

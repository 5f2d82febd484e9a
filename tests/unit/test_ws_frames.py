"""The RFC 6455 codec (front/ws_frames.py), without sockets."""

from __future__ import annotations

import os
import struct

import pytest

from apiway.core.http import HttpRequest
from apiway.front.ws_frames import (
    Close,
    Failure,
    FrameParser,
    Message,
    Ping,
    Pong,
    accept_key,
    close_frame,
    frame,
    refusal,
    switching_protocols,
    unmask,
)
from tests.support_ws import client_frame

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def parser(max_frame: int = 32768, max_message: int = 131072) -> FrameParser:
    return FrameParser(max_frame, max_message)


def test_the_accept_key_of_rfc_6455s_example() -> None:
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def request(method: str = "GET", version: str = "1.1", **headers: str) -> HttpRequest:
    base = {"upgrade": "websocket", "connection": "keep-alive, Upgrade", "sec-websocket-key": KEY,
            "sec-websocket-version": "13"}
    base.update(headers)
    return HttpRequest(method, "/", "", [(k, v) for k, v in base.items() if v], b"", "127.0.0.1", "http", 80,
                       version)


def test_a_valid_handshake_is_accepted() -> None:
    assert refusal(request()) is None
    assert refusal(request(upgrade="WebSocket", connection="upgrade")) is None


@pytest.mark.parametrize("req", [
    request(method="POST"), request(version="1.0"), request(upgrade="h2c"), request(connection="keep-alive"),
    request(**{"sec-websocket-key": ""}), request(**{"sec-websocket-key": "c2hvcnQ="}),
    request(**{"sec-websocket-key": "not base64!!"}),
])
def test_invalid_handshakes_are_400(req: HttpRequest) -> None:
    answer = refusal(req)
    assert answer is not None and answer.status == 400


def test_a_wrong_version_is_426_naming_13() -> None:
    answer = refusal(request(**{"sec-websocket-version": "8"}))
    assert answer is not None and answer.status == 426
    assert ("Sec-WebSocket-Version", "13") in answer.headers


def test_the_101() -> None:
    head = switching_protocols(KEY, [("Sec-WebSocket-Protocol", "chat")])
    assert head == (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
    with pytest.raises(ValueError):
        switching_protocols(KEY, [("X", "a\r\nSet-Cookie: b")])


def test_unmask_is_its_own_inverse_at_every_length() -> None:
    mask = b"\x01\x02\x03\x04"
    for n in (0, 1, 3, 4, 5, 125, 1000):
        data = os.urandom(n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        assert unmask(masked, mask) == data


@pytest.mark.parametrize("n", [0, 125, 126, 65535, 65536])
def test_lengths_at_the_encoding_boundaries(n: int) -> None:
    data = os.urandom(n)
    assert parser(max_frame=1 << 20, max_message=1 << 20).feed(client_frame(0x2, data)) == [Message(data, False)]
    written = frame(0x2, data)
    head = {0: 2, 125: 2, 126: 4, 65535: 4, 65536: 10}[n]
    assert len(written) == head + n and written[head:] == data and not written[1] & 0x80


def test_bytes_may_arrive_one_at_a_time() -> None:
    p = parser()
    data = client_frame(0x1, "héllo".encode()) + client_frame(0x9, b"p") + client_frame(0xA, b"q")
    events = []
    for i in range(len(data)):
        events += p.feed(data[i:i + 1])
    assert events == [Message("héllo".encode(), True), Ping(b"p"), Pong(b"q")]


def test_fragments_are_reassembled_with_control_frames_between() -> None:
    p = parser()
    text = "é".encode()
    events = p.feed(client_frame(0x1, text[:1], fin=False) + client_frame(0x9, b"mid")
                    + client_frame(0x0, text[1:], fin=False) + client_frame(0x0, b"!"))
    assert events == [Ping(b"mid"), Message("é!".encode(), True)]
    assert p.feed(client_frame(0x2, b"a", fin=False) + client_frame(0x0, b"b")) == [Message(b"ab", False)]


def test_close_frames() -> None:
    assert parser().feed(client_frame(0x8, b"")) == [Close(1005, "")]
    assert parser().feed(client_frame(0x8, struct.pack("!H", 4000) + b"fin")) == [Close(4000, "fin")]
    p = parser()
    assert p.feed(client_frame(0x8, struct.pack("!H", 1000)) + client_frame(0x1, b"after")) == [Close(1000, "")]
    assert p.feed(client_frame(0x1, b"later")) == []  # nothing is read after a close


def code(data: bytes, **limits: int) -> int:
    events = parser(**limits).feed(data)
    assert isinstance(events[-1], Failure), events
    return events[-1].code


@pytest.mark.parametrize(("data", "expected"), [
    (client_frame(0x1, b"hi", masked=False), 1002),
    (client_frame(0x1, b"hi", rsv=0x40), 1002),
    (client_frame(0x1, b"hi", rsv=0x20), 1002),
    (client_frame(0x1, b"hi", rsv=0x10), 1002),
    (client_frame(0x3, b""), 1002),
    (client_frame(0x7, b""), 1002),
    (client_frame(0xB, b""), 1002),
    (client_frame(0xF, b""), 1002),
    (client_frame(0x9, b"x" * 126), 1002),
    (client_frame(0x8, struct.pack("!H", 1000) + b"x" * 124), 1002),
    (client_frame(0xA, b"", fin=False), 1002),
    (client_frame(0x0, b"x"), 1002),
    (client_frame(0x1, b"x", fin=False) + client_frame(0x2, b"y"), 1002),
    (client_frame(0x1, b"\xc3"), 1007),
    (client_frame(0x1, b"\xc3", fin=False) + client_frame(0x0, b"x"), 1007),
    (client_frame(0x8, b"\x03"), 1002),
    (client_frame(0x8, struct.pack("!H", 1005)), 1002),
    (client_frame(0x8, struct.pack("!H", 1006)), 1002),
    (client_frame(0x8, struct.pack("!H", 1015)), 1002),
    (client_frame(0x8, struct.pack("!H", 2000)), 1002),
    (client_frame(0x8, struct.pack("!H", 5000)), 1002),
    (client_frame(0x8, struct.pack("!H", 1000) + b"\xff"), 1007),
])
def test_protocol_errors_and_their_close_codes(data: bytes, expected: int) -> None:
    assert code(data) == expected


def test_the_events_before_a_failure_are_kept() -> None:
    events = parser().feed(client_frame(0x1, b"ok") + client_frame(0x1, b"no", masked=False))
    assert events == [Message(b"ok", True), Failure(1002, "Client frame not masked")]


def test_the_frame_limit_is_decided_from_the_header() -> None:
    head = client_frame(0x2, b"x" * 32769)[:8]  # 2 + 2 (length) + 4 (mask): no payload yet
    assert parser().feed(head) == [Failure(1009, "Frame too big")]
    assert parser().feed(client_frame(0x2, b"x" * 32768)) == [Message(b"x" * 32768, False)]


def test_the_message_limit_counts_every_fragment() -> None:
    at_limit = b"".join(client_frame(0x2 if i == 0 else 0x0, b"x" * 32768, fin=i == 3) for i in range(4))
    assert parser().feed(at_limit) == [Message(b"x" * 131072, False)]
    over = b"".join(client_frame(0x2 if i == 0 else 0x0, b"x" * 32768, fin=False) for i in range(4))
    assert code(over + client_frame(0x0, b"x")) == 1009
    assert code(client_frame(0x2, b"x" * 11), max_frame=100, max_message=10) == 1009


def test_a_64_bit_length_with_its_top_bit_set_is_1002() -> None:
    assert code(bytes((0x82, 0xFF)) + (1 << 63).to_bytes(8, "big") + b"mask") == 1002


def test_close_frames_written() -> None:
    assert close_frame(1000, "bye") == b"\x88\x05\x03\xe8bye"
    assert close_frame(1005) == b"\x88\x00"
    long = close_frame(1001, "é" * 100)  # cut to 125 bytes on a character boundary
    assert len(long) - 2 <= 125 and long[4:].decode("utf-8") == "é" * 61

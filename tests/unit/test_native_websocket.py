"""WebSockets on the native front-end over real sockets: the server (serve_native on its own uvloop thread)
is real; its handler is a test double accepting with an echo session (tests/support_ws.py). Clients are the
`websockets` library and, for what it never sends, a raw socket."""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from apiway.front.tls import load_files
from tests.support_ws import EchoHandler, client_frame, close_code, handshake, read_frame, wait_for
from tests.unit.test_native_server import ThreadServer


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[EchoHandler, int]]:
    handler = EchoHandler()
    server = ThreadServer(handler)
    yield handler, server.port
    server.stop()


def url(port: int, path: str = "/ws") -> str:
    return f"ws://127.0.0.1:{port}{path}"


def test_text_and_binary_messages_are_echoed(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    with connect(url(port)) as ws:
        ws.send("héllo")
        assert ws.recv() == "héllo"
        ws.send(b"\x00\x01\xff")
        assert ws.recv() == b"\x00\x01\xff"
        ws.send(["x" * 30000] * 3)  # under the frame limit each; echoed as one frame with a 64-bit length
        assert ws.recv() == "x" * 90000
    session = handler.last()
    wait_for(lambda: bool(session.closes()))
    assert session.calls[0] == ("opened",)
    assert ("received", 5 + 1, True) in session.calls and ("received", 3, False) in session.calls
    assert session.closes() == [("closed", 1000, "")]


def test_fragmented_messages_are_reassembled(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    with connect(url(port)) as ws:
        ws.send(["é", "tat ", "ok"])  # fragments split nowhere near a character; see the raw test for that
        assert ws.recv() == "état ok"
        ws.send([b"ab", b"cd", b"ef"])
        assert ws.recv() == b"abcdef"


def test_a_character_split_across_fragments_is_valid(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    sock, head = handshake(port)
    assert head.startswith(b"HTTP/1.1 101 ")
    data = "é".encode()
    sock.sendall(client_frame(0x1, data[:1], fin=False) + client_frame(0x0, data[1:]))
    assert read_frame(sock) == (0x1, data)
    sock.close()


def test_ping_gets_a_pong_and_the_subprotocol_is_passed_on(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    with connect(url(port), subprotocols=["chat"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "chat"
        assert ws.ping(b"hi").wait(5)


def test_the_handshake_answer(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    sock, head = handshake(port, key="dGhlIHNhbXBsZSBub25jZQ==")
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head  # RFC 6455's example
    assert b"Upgrade: websocket\r\n" in head and b"Connection: Upgrade\r\n" in head
    sock.close()


def test_the_client_close_code_reaches_the_session_once(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    with connect(url(port)) as ws:
        session = handler.last()
        ws.close(4001, "done")
    wait_for(lambda: bool(session.closes()))
    time.sleep(0.2)
    assert session.closes() == [("closed", 4001, "done")]


def test_a_close_without_code_is_1005_and_is_echoed(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    sock, _ = handshake(port)
    session = handler.last()
    sock.sendall(client_frame(0x8, b""))
    assert close_code(sock) == 1005  # an empty close frame back
    assert sock.recv(1) == b""  # then the server ends the TCP connection
    wait_for(lambda: bool(session.closes()))
    assert session.closes() == [("closed", 1005, "")]


def test_a_tcp_drop_is_1006_once(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    sock, _ = handshake(port)
    session = handler.last()
    sock.close()
    wait_for(lambda: bool(session.closes()))
    time.sleep(0.2)
    assert session.closes() == [("closed", 1006, "")]


def test_the_session_closes_with_its_code(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    with connect(url(port)) as ws:
        ws.send("close:4002")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002
    session = handler.last()
    assert session.closes() == [("closed", 4002, "bye")]


def test_a_frame_over_32_kb_is_1009(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    with connect(url(port), max_size=None) as ws:
        ws.send(b"x" * 32768)  # the limit itself is fine
        assert len(ws.recv()) == 32768
        ws.send(b"x" * 32769)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    wait_for(lambda: bool(handler.last().closes()))
    assert handler.last().closes()[0][1] == 1009


def test_a_message_over_128_kb_is_1009(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    with connect(url(port), max_size=None) as ws:
        ws.send([b"x" * 32768] * 4)  # 128 KB in four frames: fine
        assert len(ws.recv()) == 131072
        ws.send([b"x" * 32768] * 4 + [b"x"])
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


@pytest.mark.parametrize(("frames", "code"), [
    (client_frame(0x1, b"hi", masked=False), 1002),  # unmasked
    (client_frame(0x1, b"hi", rsv=0x40), 1002),  # RSV1 without an extension
    (client_frame(0x3, b"hi"), 1002),  # a reserved data opcode
    (client_frame(0xB, b""), 1002),  # a reserved control opcode
    (client_frame(0x9, b"x" * 126), 1002),  # a control frame over 125 bytes
    (client_frame(0x9, b"x", fin=False), 1002),  # a fragmented control frame
    (client_frame(0x0, b"hi"), 1002),  # a continuation without a message
    (client_frame(0x1, b"a", fin=False) + client_frame(0x1, b"b"), 1002),  # a new message mid-fragments
    (client_frame(0x1, b"\xff\xfe"), 1007),  # text that is not UTF-8
    (client_frame(0x8, b"\x03"), 1002),  # a one-byte close payload
    (client_frame(0x8, struct.pack("!H", 1005)), 1002),  # a close code never sent
    (client_frame(0x8, struct.pack("!H", 999)), 1002),
])
def test_protocol_errors_close_with_their_code(served: tuple[EchoHandler, int], frames: bytes, code: int) -> None:
    handler, port = served
    sock, _ = handshake(port)
    session = handler.last()
    sock.sendall(frames)
    assert close_code(sock) == code
    wait_for(lambda: bool(session.closes()))
    assert session.closes()[0][1] == code
    sock.close()


def test_frames_sent_with_the_handshake_are_read(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                 + client_frame(0x1, b"early"))
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    assert read_frame(sock) == (0x1, b"early")
    sock.close()


def test_idle_timeout_closes_with_1001(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    with connect(url(port, "/ws?idle=2")) as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=6)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert 0.9 < time.monotonic() - started < 4.5  # deadlines are checked once a second
    assert handler.last().closes() == [("closed", 1001, "Going away")]


def test_max_duration_closes_with_1001_however_busy(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    with connect(url(port, "/ws?idle=5&max=2")) as ws:  # idle longer than max: only max can close it
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(100):  # never idle
                ws.send("tick")
                ws.recv(timeout=5)
                time.sleep(0.2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert 1.9 < time.monotonic() - started < 4.5


def test_a_client_that_never_reads_is_closed_with_1008_while_others_go_on(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    count = len(handler.sessions)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the kernel holds little for it
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /ws?outbox=262144 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    wait_for(lambda: len(handler.sessions) > count and handler.sessions[count].socket is not None)
    session = handler.sessions[count]
    with connect(url(port)) as other:
        sock.sendall(client_frame(0x1, b"flood"))  # the session sends until the socket refuses
        wait_for(lambda: bool(session.closes()))
        assert session.closes() == [("closed", 1008, "Outbox full")]
        assert session.sent_before_refusal < 2000
        for i in range(20):
            other.send(f"still here {i}")
            assert other.recv(timeout=5) == f"still here {i}"
    assert session.socket is not None and not session.socket.send(b"more")
    sock.settimeout(10)
    try:  # never read: the server drops the connection after its close wait
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        pass
    sock.close()


def test_the_handlers_refusal_is_sent_as_http_and_the_connection_ends(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    with pytest.raises(InvalidStatus) as refused:
        connect(url(port, "/refuse"))
    assert refused.value.response.status_code == 403
    sock, head = handshake(port, "/refuse")
    assert head.startswith(b"HTTP/1.1 403 ")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    body = b""
    while len(body) < length:
        body += sock.recv(length)
    assert body == b'{"message":"Forbidden"}'
    assert sock.recv(1) == b""
    sock.close()


@pytest.mark.parametrize(("extra", "key", "status"), [
    ("", "", 400),  # no key
    ("", "c2hvcnQ=", 400),  # a key of 5 bytes
])
def test_an_invalid_handshake_is_400(served: tuple[EchoHandler, int], extra: str, key: str, status: int) -> None:
    handler, port = served
    count = len(handler.sessions)
    sock, head = handshake(port, extra=extra, key=key)
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    sock.close()
    assert len(handler.sessions) == count  # refused before the handler was asked


def test_a_wrong_version_is_426_naming_13(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
    head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 426 ") and b"Sec-WebSocket-Version: 13\r\n" in head
    sock.close()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_thousand_connections_leave_no_fds_and_bounded_memory(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    for _ in range(50):  # warm up
        with connect(url(port)) as ws:
            ws.send("x")
            ws.recv()
    fds, rss = _fds(), _rss()
    for _ in range(1000):
        with connect(url(port)) as ws:
            ws.send("x")
            ws.recv()
    wait_for(lambda: all(s.closes() for s in handler.sessions))
    handler.sessions.clear()
    wait_for(lambda: _fds() <= fds + 2)
    assert _rss() - rss < 32 * 1024 * 1024


def test_shutdown_closes_every_connection_with_1001() -> None:
    handler = EchoHandler()
    server = ThreadServer(handler)
    stack = contextlib.ExitStack()
    clients = [stack.enter_context(connect(url(server.port))) for _ in range(3)]
    for ws in clients:
        ws.send("hi")
        assert ws.recv() == "hi"
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    for ws in clients:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    stopper.join(15)
    stack.close()
    assert [s.closes() for s in handler.sessions] == [[("closed", 1001, "Going away")]] * 3


def test_wss_takes_the_same_path(tmp_path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    handler = EchoHandler()
    server = ThreadServer(handler, tls=load_files(tmp_path / "c.pem", tmp_path / "k.pem"))
    try:
        client = ssl.create_default_context(cafile=str(tmp_path / "c.pem"))
        with connect(f"wss://localhost:{server.port}/ws", ssl=client, max_size=None) as ws:
            ws.send("secure")
            assert ws.recv() == "secure"
            ws.send([b"x" * 30000] * 3)
            assert len(ws.recv()) == 90000
            ws.close(4003)
        wait_for(lambda: bool(handler.last().closes()))
        assert handler.last().closes() == [("closed", 4003, "")]
    finally:
        server.stop()

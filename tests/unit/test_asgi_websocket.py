"""WebSockets through the ASGI adapter under a real uvicorn (its `websockets` implementation, with the
settings `apiway serve --server uvicorn` uses) on a free port; the handler is a test double accepting with an
echo session (tests/support_ws.py)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from apiway.front.asgi import UVICORN_WEBSOCKETS, AsgiApp
from tests.support import free_port
from tests.support_ws import EchoHandler, client_frame, handshake, wait_for


class UvicornThread:
    """uvicorn in a daemon thread; at shutdown the app closes its WebSockets first, as `apiway serve` does."""

    def __init__(self, handler: EchoHandler) -> None:
        self.port = free_port()
        asgi = AsgiApp(handler)
        config = uvicorn.Config(asgi, host="127.0.0.1", port=self.port, loop="uvloop", lifespan="off",
                                log_level="warning", **UVICORN_WEBSOCKETS)

        class Server(uvicorn.Server):
            async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
                await asgi.going_away()
                await super().shutdown(sockets)

        self.server = Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[EchoHandler, int]]:
    handler = EchoHandler()
    server = UvicornThread(handler)
    yield handler, server.port
    server.stop()


def url(port: int, path: str = "/ws") -> str:
    return f"ws://127.0.0.1:{port}{path}"


def test_messages_are_echoed_and_the_close_code_reaches_the_session_once(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    with connect(url(port), subprotocols=["chat"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "chat"
        session = handler.last()
        ws.send("héllo")
        assert ws.recv() == "héllo"
        ws.send(b"\x00\xff")
        assert ws.recv() == b"\x00\xff"
        ws.send(["ab", "cd"])  # fragments, reassembled by the server
        assert ws.recv() == "abcd"
        assert ws.ping(b"x").wait(5)
        ws.close(4001, "done")
    wait_for(lambda: bool(session.closes()))
    time.sleep(0.2)
    assert session.calls[0] == ("opened",)
    assert session.closes() == [("closed", 4001, "done")]


def test_a_tcp_drop_is_1006_once(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    sock, head = handshake(port)
    assert head.startswith(b"HTTP/1.1 101")
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
    assert handler.last().closes() == [("closed", 4002, "bye")]


def test_a_message_over_128_kb_is_1009(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    with connect(url(port), max_size=None) as ws:
        ws.send(b"x" * 131072)
        assert len(ws.recv()) == 131072
        ws.send([b"x" * 32768] * 4 + [b"x"])
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    wait_for(lambda: bool(handler.last().closes()))
    assert handler.last().closes()[0][1] == 1009


def test_the_message_limit_of_the_upgrade_is_checked(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    with connect(url(port, "/ws?message=100")) as ws:
        ws.send(b"x" * 100)
        assert len(ws.recv()) == 100
        ws.send(b"x" * 101)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_idle_timeout_and_max_duration_close_with_1001(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    with connect(url(port, "/ws?idle=1")) as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert 0.9 < time.monotonic() - started < 3
    with connect(url(port, "/ws?idle=1&max=1.5")) as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(100):
                ws.send("tick")
                ws.recv(timeout=5)
                time.sleep(0.2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert 1.4 < time.monotonic() - started < 3.5


def test_a_client_that_never_reads_is_closed_with_1008_while_others_go_on(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    count = len(handler.sessions)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /ws?outbox=262144 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    wait_for(lambda: len(handler.sessions) > count and handler.sessions[count].socket is not None)
    session = handler.sessions[count]
    with connect(url(port)) as other:
        sock.sendall(client_frame(0x1, b"flood"))
        wait_for(lambda: bool(session.closes()))
        assert session.closes() == [("closed", 1008, "Outbox full")]
        for i in range(20):
            other.send(f"still here {i}")
            assert other.recv(timeout=5) == f"still here {i}"
    sock.close()


def test_the_handlers_refusal_is_sent_as_http(served: tuple[EchoHandler, int]) -> None:
    _, port = served
    with pytest.raises(InvalidStatus) as refused:
        connect(url(port, "/refuse"))
    assert refused.value.response.status_code == 403
    assert refused.value.response.body == b'{"message":"Forbidden"}'


def test_an_invalid_handshake_is_refused_by_the_server(served: tuple[EchoHandler, int]) -> None:
    handler, port = served
    count = len(handler.sessions)
    sock, head = handshake(port, key="c2hvcnQ=")
    assert head.startswith(b"HTTP/1.1 400 ")
    sock.close()
    assert len(handler.sessions) == count


def test_shutdown_closes_every_connection_with_1001() -> None:
    handler = EchoHandler()
    server = UvicornThread(handler)
    with contextlib.ExitStack() as stack:
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
    assert [s.closes() for s in handler.sessions] == [[("closed", 1001, "Going away")]] * 3


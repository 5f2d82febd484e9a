"""Long bodies (≥ 256 KiB) pass through while they still arrive. A request body reaches the core at its head: an
HTTP_PROXY method sends it upstream as it comes; every other method, and every service, reads it whole first. An
HTTP_PROXY's long upstream response goes to the client as it comes; an upstream that stops mid-body ends the
client's connection short. Over raw sockets, so that a body can be sent slowly, cut off, or followed by a
pipelined request on the same connection; on both front-ends."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from apiway.observe.log_groups import LogGroups
from tests.e2e.echo_backend import EchoServer, start_gateway
from tests.support import Server, request_log_lines

PROXY, PLAIN, STAGE = "streamprox", "streamhttp", "s"
LONG = 3 * 1024 * 1024  # well over the 256 KiB from which a body is streamed


class RawBackend:
    """A backend on a raw socket: each connection is handed to `_answer` in a thread of its own."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        raise NotImplementedError

    @staticmethod
    def read_head(conn: socket.socket, data: bytes) -> tuple[bytes, bytes] | None:
        """A request's head and what follows it, read on from `data`; None when the connection ends first."""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        return head, rest


class RawUpstream(RawBackend):
    """A backend that reads its request by hand, so a test can see how much of a body has reached it, and when."""

    def __init__(self) -> None:
        self.received = 0  # body bytes of the current request so far
        self.halfway = threading.Event()  # set once half of a LONG body has arrived
        super().__init__()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            found = self.read_head(conn, b"")
            if found is None:
                return
            head, body = found
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            self.received = len(body)
            while self.received < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                self.received += len(chunk)
                if self.received >= LONG // 2:
                    self.halfway.set()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


class RawResponder(RawBackend):
    """A backend that answers GET /held with a LONG body in two halves, the second only once `release` is set, and
    GET /cut with a head announcing LONG bytes, a third of them, and a close."""

    def __init__(self) -> None:
        self.body = os.urandom(LONG)
        self.release = threading.Event()
        super().__init__()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while (found := self.read_head(conn, data)) is not None:
                head, data = found
                path = head.split(b" ")[1]
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             f"Content-Length: {LONG}\r\n\r\n".encode())
                if path == b"/cut":
                    conn.sendall(self.body[:LONG // 3])
                    time.sleep(0.2)
                    return
                conn.sendall(self.body[:LONG // 2])
                if path == b"/held":
                    self.release.wait(30)
                conn.sendall(self.body[LONG // 2:])


@pytest.fixture(scope="module")
def upstream() -> RawUpstream:
    return RawUpstream()


@pytest.fixture(scope="module")
def responder() -> RawResponder:
    return RawResponder()


@pytest.fixture(scope="module")
def gateway(backend: EchoServer, upstream: RawUpstream, responder: RawResponder,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    variables = {"backend": backend.address, "flavor": "vanilla"}
    server = start_gateway(tmp_path_factory.mktemp("streamed"), [
        {"openapi": "http_proxy.yaml", "id": PROXY, "stages": {STAGE: {"variables": variables},
                                                                "raw": {"variables": {"backend": upstream.address}},
                                                                "out": {"variables": {"backend": responder.address}},
                                                                "logged": {"variables": variables, "method_settings": {
                                                                    "*/*": {"loggingLevel": "INFO",
                                                                            "dataTraceEnabled": True}}}}},
        {"openapi": "http_integration.yaml", "id": PLAIN, "stages": {STAGE: {"variables": variables}}}])
    yield server
    server.stop()


def head(api: str, port: int, path: str, length: int, method: str = "PUT", close: bool = False,
         stage: str = STAGE) -> bytes:
    return (f"{method} /{stage}{path} HTTP/1.1\r\nHost: {api}.execute-api.localhost:{port}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n"
            + ("Connection: close\r\n" if close else "") + "\r\n").encode()


def read_response(sock: socket.socket, buffered: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One response from the socket (Content-Length framed), leaving what follows it in `buffered`."""
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a response head"
        buffered += chunk
    raw_head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside a response body"
        body += chunk
    buffered[:] = body[length:]
    return int(lines[0].split()[1]), headers, bytes(body[:length])


def connect(gateway: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", gateway.port), timeout=20)


def test_a_slowly_sent_body_reaches_the_backend_whole(gateway: Server) -> None:
    body = os.urandom(LONG)
    with connect(gateway) as sock:
        sock.sendall(head(PROXY, gateway.port, "/proxy/upload", len(body)))
        for start in range(0, len(body), 256 * 1024):  # in pieces, with pauses the gateway must wait through
            sock.sendall(body[start:start + 256 * 1024])
            time.sleep(0.02)
        status, _, answer = read_response(sock, bytearray())
    assert status == 200, answer
    record = json.loads(answer)
    assert record["body_length"] == len(body)
    assert record["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_a_streamed_body_on_a_logged_stage_is_passed_on_and_its_log_line_names_its_length(gateway: Server) -> None:
    body = os.urandom(LONG)
    with connect(gateway) as sock:
        sock.sendall(head(PROXY, gateway.port, "/proxy/upload", len(body), stage="logged") + body)
        status, headers, answer = read_response(sock, bytearray())
    assert status == 200, answer
    assert json.loads(answer)["body_length"] == len(body)
    lines = request_log_lines(LogGroups(gateway.state.parent / "logs" / "groups"),
                              f"API-Gateway-Execution-Logs_{PROXY}/logged", headers["x-amzn-requestid"])
    assert f"Endpoint request body after transformations: [{LONG} bytes streamed, not shown]" in lines, lines
    assert "Method completed with status: 200" in lines


def test_the_backend_gets_the_body_while_the_client_still_sends_it(gateway: Server, upstream: RawUpstream) -> None:
    """The first half reaches the backend before the client sends the second: the gateway holds no whole body."""
    body = os.urandom(LONG)
    with connect(gateway) as sock:
        sock.sendall(head(PROXY, gateway.port, "/proxy/live", len(body)).replace(f"/{STAGE}/".encode(), b"/raw/", 1)
                     + body[:LONG // 2 + 1024])
        assert upstream.halfway.wait(15), f"the backend had {upstream.received} bytes while the client waited"
        sock.sendall(body[LONG // 2 + 1024:])
        status, _, answer = read_response(sock, bytearray())
    assert (status, answer) == (200, b"ok")
    assert upstream.received == LONG


def test_a_request_pipelined_behind_a_streamed_one_is_answered_after_it(gateway: Server) -> None:
    body = os.urandom(LONG)
    small = b'{"n": 1}'
    with connect(gateway) as sock:
        sock.sendall(head(PROXY, gateway.port, "/proxy/first", len(body)) + body
                     + head(PROXY, gateway.port, "/proxy/second", len(small), "POST") + small)
        buffered = bytearray()
        first = read_response(sock, buffered)
        second = read_response(sock, buffered)
    assert first[0] == 200 and json.loads(first[2])["path"] == "/first"
    assert json.loads(first[2])["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert second[0] == 200 and json.loads(second[2])["path"] == "/second"
    assert json.loads(second[2])["body"] == small.decode()


def test_a_method_that_needs_the_body_gets_it_whole(gateway: Server) -> None:
    """HTTP (not proxy): the gateway reads the body whole, then sends it on as the integration says."""
    body = os.urandom(LONG)
    with connect(gateway) as sock:
        sock.sendall(head(PLAIN, gateway.port, "/plain", len(body), "POST") + body)
        status, _, answer = read_response(sock, bytearray())
    assert status == 200, answer
    assert json.loads(answer)["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_a_refused_request_drops_its_body_and_the_connection_goes_on(gateway: Server) -> None:
    """No method at the path: 403 before the body has been read; the rest of it is dropped as it arrives and the
    next request on the connection is answered."""
    body = os.urandom(LONG)
    small = b"{}"
    with connect(gateway) as sock:
        sock.sendall(head(PROXY, gateway.port, "/nowhere", len(body), "POST"))
        buffered = bytearray()
        status, headers, answer = read_response(sock, buffered)
        assert status == 403 and headers["x-amzn-errortype"] == "MissingAuthenticationTokenException", answer
        sock.sendall(body + head(PROXY, gateway.port, "/proxy/after", len(small), "POST") + small)
        status, _, answer = read_response(sock, buffered)
    assert status == 200 and json.loads(answer)["path"] == "/after"


def test_a_client_that_goes_away_mid_body_costs_nothing(gateway: Server, backend: EchoServer) -> None:
    seen = len(backend.requests)
    with connect(gateway) as sock:
        sock.sendall(head(PROXY, gateway.port, "/proxy/cut", LONG) + os.urandom(LONG // 3))
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    with connect(gateway) as sock:  # the gateway is still there, and the cut request never completed upstream
        sock.sendall(head(PROXY, gateway.port, "/proxy/next", 2, "POST") + b"{}")
        status, _, answer = read_response(sock, bytearray())
    assert status == 200 and json.loads(answer)["path"] == "/next"
    while time.monotonic() < deadline and not any(r.get("path") == "/next" for r in backend.requests[seen:]):
        time.sleep(0.05)
    # The upstream connection ends inside the body: the backend never has the whole of it (this backend still
    # records what it read of a body cut short, so a record of it may be there, short).
    assert not any(r.get("path") == "/cut" and r["body_length"] == LONG for r in backend.requests[seen:])


def test_services_read_a_long_body_whole(gateway: Server) -> None:
    """The control plane is not an API: a long ImportRestApi document reaches it whole."""
    document = {"openapi": "3.0.1", "info": {"title": "long", "version": "1", "description": "x" * (400 * 1024)},
                "paths": {"/m": {"get": {"x-amazon-apigateway-integration": {"type": "mock"}}}}}
    data = json.dumps(document).encode()
    with connect(gateway) as sock:
        sock.sendall(f"POST /restapis?mode=import HTTP/1.1\r\nHost: 127.0.0.1:{gateway.port}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
        status, _, answer = read_response(sock, bytearray())
    assert status == 201, answer
    assert json.loads(answer)["name"] == "long"


def get(api: str, port: int, stage: str, path: str) -> bytes:
    return f"GET /{stage}{path} HTTP/1.1\r\nHost: {api}.execute-api.localhost:{port}\r\n\r\n".encode()


def test_a_long_response_reaches_the_client_while_the_backend_still_sends_it(gateway: Server,
                                                                              responder: RawResponder) -> None:
    """The client holds half of the body while the backend holds back the other half: the gateway passes the body
    on as it comes, its Content-Length at the head."""
    responder.release.clear()
    with connect(gateway) as sock:
        sock.sendall(get(PROXY, gateway.port, "out", "/proxy/held") + get(PROXY, gateway.port, "out", "/proxy/after"))
        buffered = bytearray()
        while b"\r\n\r\n" not in buffered:
            buffered += sock.recv(65536)
        head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and f"content-length: {LONG}".encode() in head.lower(), head
        got = bytearray(rest)
        while len(got) < LONG // 2:
            chunk = sock.recv(65536)
            assert chunk, "closed early"
            got += chunk
        assert not responder.release.is_set()  # all of this arrived before the backend sent the rest
        responder.release.set()
        while len(got) < LONG:
            chunk = sock.recv(65536)
            assert chunk, "closed early"
            got += chunk
        assert hashlib.sha256(bytes(got[:LONG])).digest() == hashlib.sha256(responder.body).digest()
        buffered = bytearray(got[LONG:])  # the pipelined request's answer, after the whole of the first
        status, _, answer = read_response(sock, buffered)
    assert status == 200 and answer == responder.body


def test_a_backend_that_stops_mid_body_ends_the_client_connection_short(gateway: Server) -> None:
    """Its head said LONG bytes and a third came: the client's connection closes before LONG bytes, so no client
    takes the short body for a whole one; the gateway serves on."""
    with connect(gateway) as sock:
        sock.sendall(get(PROXY, gateway.port, "out", "/proxy/cut"))
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    answer_head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert answer_head.startswith(b"HTTP/1.1 200") and f"content-length: {LONG}".encode() in answer_head.lower()
    assert LONG // 4 < len(body) < LONG
    with connect(gateway) as sock:
        sock.sendall(head(PROXY, gateway.port, "/proxy/next", 2, "POST") + b"{}")
        status, _, answer = read_response(sock, bytearray())
    assert status == 200 and json.loads(answer)["path"] == "/next"

"""The native HTTP/1.1 front-end (apiway.front.native) over real sockets, serving a real Gateway.

One server (a MOCK route and an AWS_PROXY function that echoes its event) runs for the module in a
background thread on its own uvloop loop; graceful shutdown is checked on a subprocess with a real SIGTERM.
The conversion of parsed requests into the core's HttpRequest, and the 500 for a crashing core, are unit
tests on the protocol with an in-memory transport.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import uvloop

import apiway.observe.log
from apiway.app import App
from apiway.config import load_project
from apiway.core.http import MAX_PAYLOAD, HttpRequest, HttpResponse
from apiway.front import native
from apiway.front.admin import AdminPolicy
from apiway.front.dispatch import Dispatcher
from apiway.front.handler import Handler
from apiway.front.native import serialize, serve_native
from apiway.project import deployer
from apiway.project.deployer import StartReport
from apiway.store.sqlite import SqliteStore
from tests.support import REPO, free_port

API_ID = "nativetest1"
ECHO = f"/restapis/{API_ID}/dev/_user_request_/echo"
MOCK = f"/restapis/{API_ID}/dev/_user_request_/mock"
HOST = "Host: 127.0.0.1\r\n"

OPENAPI = """openapi: 3.0.1
info: {title: NativeServer, version: "1"}
paths:
  /mock:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"hello": "world"}'}}}
  /echo:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:EchoFn/invocations
"""

PROJECT = f"""apis:
  - openapi: api.yaml
    id: {API_ID}
    stages: {{dev: {{}}}}
functions:
  EchoFn: {{handler: echo.py:handler, timeout: 10, mode: inline}}
"""

ECHO_FN = """import asyncio
import json


async def handler(event, context):
    query = event["queryStringParameters"] or {}
    if "sleep" in query:
        await asyncio.sleep(float(query["sleep"]))
    echoed = {key: event[key] for key in ("httpMethod", "path", "headers", "multiValueHeaders", "body",
                                          "multiValueQueryStringParameters")}
    echoed["protocol"] = event["requestContext"]["protocol"]
    echoed["sourceIp"] = event["requestContext"]["identity"]["sourceIp"]
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(echoed)}
"""


def write_project(root: Path) -> Path:
    (root / "api.yaml").write_text(OPENAPI)
    (root / "echo.py").write_text(ECHO_FN)
    (root / "apiway.yaml").write_text(PROJECT)
    return root / "apiway.yaml"


def build_app(project_file: Path, state: Path) -> App:
    project = load_project(project_file)
    app = App(project)
    prepared = deployer.prepare(project, app.deps)
    store = SqliteStore(state)
    deployer.apply(store, prepared.apis, StartReport())
    app.start(store, prepared.domains, prepared.api_refs)
    return app


def dispatcher(app: App) -> Dispatcher:
    """What `apiway serve` puts on a loopback port: the gateway, with Lambda's Invoke API beside it."""
    return Dispatcher(app.gateway, [app.invoke_api], AdminPolicy.for_listener("127.0.0.1"))


class ThreadServer:
    """serve_native on its own uvloop loop in a daemon thread; stopped by cancelling its task."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.port = free_port()
        self.loop = uvloop.new_event_loop()
        ready = threading.Event()
        self.task = self.loop.create_task(serve_native(handler, "127.0.0.1", self.port, ready=ready.set, tls=tls))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert ready.wait(10), "server did not start"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.task)
        except asyncio.CancelledError:
            pass
        finally:
            self.loop.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(15)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    root = tmp_path_factory.mktemp("native")
    environ = dict(os.environ)  # loading a function sets Lambda's variables in this process
    try:
        running = ThreadServer(dispatcher(build_app(write_project(root), root / "state.db")))
        yield running
        running.stop()
    finally:
        os.environ.clear()
        os.environ.update(environ)


# --- a raw HTTP/1.1 client: exact bytes out, responses read one by one off one buffered stream


class Response:
    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None

    def json(self):
        return orjson.loads(self.body)


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.reader = self.sock.makefile("rb")

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode("latin-1") if isinstance(data, str) else data)

    def read(self, head_only: bool = False) -> Response:
        status_line = self.reader.readline().decode("latin-1")
        assert status_line, "connection closed before a response"
        _, status, reason = status_line.rstrip("\r\n").split(" ", 2)
        headers = []
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").rstrip("\r\n").partition(": ")
            headers.append((name, value))
        response = Response(int(status), reason, headers, b"")
        length = int(response.header("Content-Length") or 0)
        if not head_only and int(status) not in (100, 204, 304):
            response.body = self.reader.read(length)
        return response

    def closed(self, timeout: float = 5) -> bool:
        """True when the server closes the connection (EOF or reset) within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            return self.reader.read(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def client(server: ThreadServer) -> Iterator[Client]:
    c = Client(server.port)
    yield c
    c.close()


def get(path: str, extra: str = "", version: str = "1.1") -> str:
    return f"GET {path} HTTP/{version}\r\n{HOST}{extra}\r\n"


# --- behaviour


def test_keep_alive_serves_several_requests_on_one_connection(client: Client) -> None:
    for _ in range(5):
        client.send(get(MOCK))
        response = client.read()
        assert (response.status, response.reason, response.json()) == (200, "OK", {"hello": "world"})
        assert response.header("Connection") == "keep-alive"
        assert response.header("Content-Length") == str(len(response.body))
        assert response.header("Date").endswith(" GMT")
        assert response.header("x-amzn-RequestId")
    client.send(get(ECHO))
    assert client.read().status == 200


def test_pipelined_requests_are_answered_in_order(client: Client) -> None:
    # The first is slow (its function sleeps), the second fast: the answers still come back in request order.
    client.send(get(ECHO + "?n=1&sleep=0.3") + get(ECHO + "?n=2") + get(MOCK))
    first, second, third = client.read(), client.read(), client.read()
    assert first.json()["multiValueQueryStringParameters"]["n"] == ["1"]
    assert second.json()["multiValueQueryStringParameters"]["n"] == ["2"]
    assert third.json() == {"hello": "world"}


def test_answers_held_while_a_chunk_is_parsed_keep_their_order_with_what_is_written_at_once(client: Client) -> None:
    # Ready answers of one chunk go out together after it: before the interim 100 a later request waits for, and
    # before the answer that closes the connection.
    client.send(get(MOCK) + get(MOCK) + f"POST {ECHO}?n=3 HTTP/1.1\r\n{HOST}Content-Type: text/plain\r\n"
                "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n")
    assert [client.read().json() for _ in range(2)] == [{"hello": "world"}] * 2
    assert client.read().status == 100
    client.send("ok" + get(MOCK) + get(MOCK, "Connection: close\r\n") + get(MOCK))
    assert client.read().json()["body"] == "ok"
    last = [client.read() for _ in range(2)]
    assert [r.json() for r in last] == [{"hello": "world"}] * 2 and last[1].header("Connection") == "close"
    assert client.closed()  # the request after the closing one is not answered


def test_many_ready_answers_of_one_chunk_are_written_in_parts_and_in_order(client: Client) -> None:
    # Three times MAX_QUEUED answers made at once (MOCK 200s between 403s for a path with no method): held at most
    # MAX_QUEUED at a time, all in order.
    count = 3 * native.MAX_QUEUED
    client.send("".join(get(MOCK if i % 3 else MOCK + "/nowhere") for i in range(count)))
    assert [client.read().status for _ in range(count)] == [200 if i % 3 else 403 for i in range(count)]


def test_many_pipelined_requests_pause_and_resume_reading(client: Client) -> None:
    count = 3 * native.MAX_QUEUED
    client.send("".join(get(ECHO + f"?n={i}") for i in range(count)))
    for i in range(count):
        assert client.read().json()["multiValueQueryStringParameters"]["n"] == [str(i)]


def test_chunked_request_body(client: Client) -> None:
    client.send(f"POST {ECHO} HTTP/1.1\r\n{HOST}Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n")
    time.sleep(0.05)  # the rest in another packet
    client.send("1\r\n \r\n5\r\nworld\r\n0\r\n\r\n")
    response = client.read()
    assert response.status == 200 and response.json()["body"] == "hello world"
    client.send(get(MOCK))  # still in step for the next request
    assert client.read().json() == {"hello": "world"}


def test_head_has_the_length_of_the_body_but_no_body(client: Client) -> None:
    client.send(f"HEAD {MOCK} HTTP/1.1\r\n{HOST}\r\n" + get(ECHO))
    head = client.read(head_only=True)
    assert head.status == 200 and head.header("Content-Length") == str(len(b'{"hello": "world"}'))
    assert client.read().json()["httpMethod"] == "GET"  # nothing but the head came before it


def test_connection_close_is_honoured(client: Client) -> None:
    client.send(get(MOCK, "Connection: close\r\n") + get(MOCK))
    response = client.read()
    assert response.status == 200 and response.header("Connection") == "close"
    assert client.closed()  # the request after it is not answered


def test_http_1_0_closes_unless_asked_to_keep_alive(server: ThreadServer) -> None:
    plain = Client(server.port)
    plain.send(get(ECHO, version="1.0"))
    response = plain.read()
    assert response.status == 200 and response.header("Connection") == "close"
    assert response.json()["protocol"] == "HTTP/1.0"
    assert plain.closed()
    plain.close()
    kept = Client(server.port)
    for _ in range(2):
        kept.send(get(MOCK, "Connection: keep-alive\r\n", version="1.0"))
        response = kept.read()
        assert response.status == 200 and response.header("Connection") == "keep-alive"
    kept.close()


def test_expect_100_continue(client: Client) -> None:
    client.send(f"POST {ECHO} HTTP/1.1\r\n{HOST}Content-Type: text/plain\r\nContent-Length: 5\r\n"
                "Expect: 100-continue\r\n\r\n")
    interim = client.read()
    assert (interim.status, interim.headers) == (100, [])
    client.send("hello")
    response = client.read()
    assert response.status == 200 and response.json()["body"] == "hello"


def test_expect_100_continue_with_a_body_too_large_is_refused_at_once(client: Client) -> None:
    client.send(f"POST {ECHO} HTTP/1.1\r\n{HOST}Content-Length: {MAX_PAYLOAD + 1}\r\nExpect: 100-continue\r\n\r\n")
    response = client.read()
    assert response.status == 413 and response.json() == {"message": "Request Too Long"}
    assert response.header("Connection") == "close"
    assert client.closed()


def test_declared_content_length_too_large(client: Client) -> None:
    client.send(f"POST {ECHO} HTTP/1.1\r\n{HOST}Content-Length: {MAX_PAYLOAD + 1}\r\n\r\n")
    response = client.read()  # answered before the body is sent
    assert response.status == 413 and response.json() == {"message": "Request Too Long"}
    assert response.header("x-amzn-RequestId") and response.header("Connection") == "close"
    client.send(b"x" * (MAX_PAYLOAD + 1))  # read and dropped, then the connection closes
    assert client.closed()


def test_chunked_body_too_large(client: Client) -> None:
    client.send(f"POST {ECHO} HTTP/1.1\r\n{HOST}Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * (1024 * 1024)
    for _ in range(MAX_PAYLOAD // len(chunk) + 1):
        client.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    response = client.read()
    assert response.status == 413 and response.json() == {"message": "Request Too Long"}
    client.send(b"0\r\n\r\n")
    assert client.closed()


def test_body_of_exactly_the_limit_is_accepted(client: Client) -> None:
    client.send(f"POST {ECHO} HTTP/1.1\r\n{HOST}Content-Type: text/plain\r\nContent-Length: {MAX_PAYLOAD}\r\n\r\n")
    client.send(b"y" * MAX_PAYLOAD)
    response = client.read()
    assert response.status == 200 and len(response.json()["body"]) == MAX_PAYLOAD


def test_request_head_too_large(client: Client) -> None:
    client.send(get(MOCK, f"X-Big: {'a' * native.MAX_HEAD}\r\n"))
    response = client.read()
    assert response.status == 431 and response.json() == {"message": "Request Header Fields Too Large"}
    assert client.closed()


def test_request_head_that_never_ends(client: Client) -> None:
    client.send(f"GET {MOCK} HTTP/1.1\r\n{HOST}X-Big: {'a' * 100}")
    time.sleep(0.05)
    client.send("a" * (2 * native.MAX_HEAD))  # no end of line: refused without waiting for one
    response = client.read()
    assert response.status == 431
    assert client.closed()


def test_head_just_under_the_limit_is_accepted(client: Client) -> None:
    client.send(get(MOCK, f"X-Big: {'a' * (native.MAX_HEAD - 200)}\r\n"))
    assert client.read().status == 200


def test_malformed_request(client: Client) -> None:
    client.send(get(MOCK) + "THIS IS NOT HTTP\r\n\r\n")
    assert client.read().status == 200  # the valid request ahead of it is answered first
    response = client.read()
    assert response.status == 400 and response.json() == {"message": "Bad Request"}
    assert response.header("Connection") == "close"
    assert client.closed()


def test_header_casing_repeats_path_and_query_reach_the_core(client: Client, server: ThreadServer) -> None:
    client.send(f"GET {ECHO}?a=1&a=2&b=%20x HTTP/1.1\r\n{HOST}tEsT-HEADeR: Some Value\r\nX-Multi: one\r\n"
                "X-Multi: two\r\nX-Latin: caf\xe9\r\n\r\n")
    event = client.read().json()
    assert event["headers"]["tEsT-HEADeR"] == "Some Value"
    assert "test-header" not in event["headers"]
    assert event["multiValueHeaders"]["X-Multi"] == ["one", "two"]
    assert event["headers"]["X-Latin"] == "caf\xe9"
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [" x"]}
    assert event["path"] == "/echo" and event["protocol"] == "HTTP/1.1"
    assert event["sourceIp"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-Port"] == str(server.port)


def test_works_with_a_standard_client(server: ThreadServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for body in (b"first", b"second"):
        conn.request("POST", ECHO, body=body, headers={"Content-Type": "text/plain"})
        response = conn.getresponse()
        assert response.status == 200 and orjson.loads(response.read())["body"] == body.decode()
    conn.close()


def test_idle_and_slow_head_deadlines(server: ThreadServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "IDLE_TIMEOUT", 1.5)
    monkeypatch.setattr(native, "HEAD_TIMEOUT", 1.5)
    idle = Client(server.port)
    idle.send(get(MOCK))
    assert idle.read().status == 200
    slow = Client(server.port)
    slow.send(f"GET {MOCK} HTTP/1.1\r\nHo")
    started = time.monotonic()
    assert idle.closed(timeout=5) and slow.closed(timeout=5)
    assert 0.4 < time.monotonic() - started < 4  # deadlines are checked once a second
    idle.close()
    slow.close()


# --- graceful shutdown, on a real process and a real SIGTERM

SERVE = """import sys
from pathlib import Path
from apiway.front.native import run_native
from tests.unit.test_native_server import build_app, dispatcher
run_native(dispatcher(build_app(Path(sys.argv[1]), Path(sys.argv[2]))), "127.0.0.1", int(sys.argv[3]))
print("stopped", flush=True)
"""


def test_graceful_shutdown_finishes_in_flight_requests(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(write_project(tmp_path)), str(tmp_path / "state.db"),
                             str(port)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                idle = Client(port)
                break
            except ConnectionRefusedError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr and proc.stderr.read()
                time.sleep(0.05)
        idle.send(get(MOCK))
        assert idle.read().status == 200
        busy = Client(port)
        busy.send(get(ECHO + "?sleep=1"))
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert idle.closed(timeout=2)  # idle connections close at once
        time.sleep(0.2)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
        response = busy.read()  # the request in flight still gets its answer
        assert response.status == 200 and response.header("Connection") == "close"
        assert busy.closed()
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out.strip() == b"stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- the protocol on an in-memory transport


class MemoryTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self.closing = False

    def get_extra_info(self, name: str, default=None):
        return {"peername": ("10.1.2.3", 50000), "sockname": ("10.0.0.1", 8443)}.get(name, default)

    def write(self, data) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.requests: list[HttpRequest] = []
        self.fail = fail

    async def handle(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        if self.fail:
            raise RuntimeError("boom")
        return HttpResponse(200, [("X-Out", "1")], b"ok")

    def reject(self, request: HttpRequest, response_type: str) -> HttpResponse:
        return HttpResponse(413, [], b"")


def feed(gateway: Recorder, *chunks: bytes) -> bytes:
    async def run() -> bytes:
        state = native._Server(gateway, asyncio.get_running_loop())  # type: ignore[arg-type]
        state.tick()
        conn = native._Connection(state)
        transport = MemoryTransport()
        conn.connection_made(transport)
        for chunk in chunks:
            conn.data_received(chunk)
        for _ in range(5):
            await asyncio.sleep(0)
        assert state.ticker is not None
        state.ticker.cancel()
        return bytes(transport.data)

    return uvloop.run(run())


def test_parsed_request_becomes_the_cores_request() -> None:
    gateway = Recorder()
    out = feed(gateway, b"PUT /a%2Fb/c%20d?x=1&y=%2F HTTP/1.1\r\nHost: h\r\nX-Amz-Thing: A\r\n",
               b"x-amz-thing: B\r\nContent-Length: 3\r\n\r\nabc")
    (request,) = gateway.requests
    assert (request.method, request.path, request.query) == ("PUT", "/a%2Fb/c%20d", "x=1&y=%2F")
    assert request.headers == [("Host", "h"), ("X-Amz-Thing", "A"), ("x-amz-thing", "B"), ("Content-Length", "3")]
    assert request.body == b"abc"
    assert (request.client_ip, request.server_port, request.scheme, request.http_version) == (
        "10.1.2.3", 8443, "http", "1.1")
    assert out.startswith(b"HTTP/1.1 200 OK\r\nX-Out: 1\r\nDate: ")
    assert out.endswith(b"\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")


def test_absolute_form_target() -> None:
    gateway = Recorder()
    feed(gateway, b"GET http://example.com/p/q?z=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert (gateway.requests[0].path, gateway.requests[0].query) == ("/p/q", "z=1")


def test_a_crash_in_the_core_is_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    logged = io.BytesIO()
    monkeypatch.setattr(apiway.observe.log, "_out", logged)
    out = feed(Recorder(fail=True), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    response = b'HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n'
    assert out.count(response) == 2  # and the connection still serves
    assert out.endswith(b'\r\n\r\n{"message": "Internal server error"}')
    record = orjson.loads(logged.getvalue().splitlines()[0])
    assert record["level"] == "ERROR" and "RuntimeError: boom" in record["error"]


def test_header_with_line_break_is_never_written() -> None:
    with pytest.raises(ValueError):
        serialize(HttpResponse(200, [("X-A", "1\r\nSet-Cookie: x")], b""), False, True, "")
    with pytest.raises(ValueError):
        serialize(HttpResponse(200, [("X-A", "1\rx")], b""), False, True, "")
    response = HttpResponse(200, [("X-A", "1")], b"body")
    assert serialize(response, True, False, "") == b"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 4\r\nConnection: close\r\n\r\n"
    assert serialize(HttpResponse(204, [], b"x"), False, True, "").endswith(b"Content-Length: 0\r\nConnection: keep-alive\r\n\r\n")


class _RecordingHandler:
    """A handler that notes which hook each request reached (the front-end's seam, not the gateway)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def handle(self, req: HttpRequest) -> HttpResponse:
        self.calls.append(("handle", req.path))
        return HttpResponse(200, [("Content-Type", "text/plain")], b"plain")

    async def upgrade(self, req: HttpRequest) -> HttpResponse:
        self.calls.append(("upgrade", req.header("upgrade") or ""))
        return HttpResponse(426, [("Content-Type", "text/plain")], b"no protocol switch here")

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        return HttpResponse(413, [], b"")


def test_an_upgrade_request_reaches_the_upgrade_hook_and_the_connection_ends() -> None:
    handler = _RecordingHandler()
    running = ThreadServer(handler)
    try:
        c = Client(running.port)
        c.send(get("/plain"))
        assert c.read().body == b"plain"
        c.send(get("/chat", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"))
        answer = c.read()
        assert (answer.status, answer.body) == (426, b"no protocol switch here")
        assert c.closed()
        c.close()
        assert handler.calls == [("handle", "/plain"), ("upgrade", "websocket")]
    finally:
        running.stop()


def test_an_upgrade_request_to_a_rest_api_is_answered_as_plain_http(client: Client) -> None:
    """A REST API accepts no protocol switch: the dispatcher answers a valid handshake like any request."""
    client.send(get(ECHO, "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"))
    answer = client.read()
    assert answer.status == 200 and answer.json()["httpMethod"] == "GET"
    assert client.closed()


def test_an_invalid_websocket_handshake_is_refused_before_the_handler(client: Client) -> None:
    client.send(get(ECHO, "Connection: Upgrade\r\nUpgrade: websocket\r\n"))  # no key, no version
    assert client.read().status == 400
    assert client.closed()

"""A real HTTP/1.1 echo backend for integration tests, run in a thread on 127.0.0.1.

Every request is answered with JSON describing what arrived: method, path, raw query, the headers
exactly as received (names in their casing, in order, repeats kept) and the body. The backend
counts the TCP connections it accepted, so tests can check connection reuse.

The request can steer the answer through its query string (the parameters stay in the echoed
query):

* `echo_status=404` — answer with that status;
* `echo_header=Name:Value` (repeatable) — add a response header; naming `Server` or `Date`
  replaces the backend's own;
* `echo_sleep=1.5` — wait that many seconds before answering;
* `echo_drop=1` — close the connection without answering;
* `echo_body=text` — answer with exactly that body (as text/plain) instead of the JSON record.

A path `/status/NNN` also answers status NNN (the "status echo" backend the recorded AWS tests use).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import orjson

from tests.support import Reply, Server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is observable
    server: EchoServer

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1
            self.connection_number = self.server.connections

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        path, _, query = self.path.partition("?")
        controls = parse_qsl(query, keep_blank_values=True)
        status = 200
        extra: list[tuple[str, str]] = []
        fixed_body: bytes | None = None
        for name, value in controls:
            if name == "echo_status":
                status = int(value)
            elif name == "echo_header":
                header, _, header_value = value.partition(":")
                extra.append((header, header_value))
            elif name == "echo_sleep":
                time.sleep(float(value))
            elif name == "echo_body":
                fixed_body = value.encode()
            elif name == "echo_drop":
                self.close_connection = True
                self.server.dropped += 1
                return
        parts = path.split("/")
        if len(parts) >= 3 and parts[1] == "status" and parts[2].isdigit():
            status = int(parts[2])
        try:
            text: str | None = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        record = {
            "method": self.command,
            "path": path,
            "query": query,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": text if text is not None and len(body) <= 65536 else None,
            "body_b64": base64.b64encode(body).decode() if len(body) <= 65536 else None,
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "connection": self.connection_number,
        }
        with self.server.lock:
            self.server.requests.append(record)
        payload = b"" if status in (204, 304) else orjson.dumps(record) if fixed_body is None else fixed_body
        headers = [("Server", "echo-backend/1.0"), ("Date", formatdate(usegmt=True))]
        overridden = {k.lower() for k, _ in extra}
        headers = [(k, v) for k, v in headers if k.lower() not in overridden]
        if payload:
            headers += [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        headers.append(("X-Echo-Method", self.command))
        headers += extra
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"]
        head += [f"{name}: {value}\r\n" for name, value in headers]
        head.append("\r\n")
        if any(k.lower() == "connection" and v.lower() == "close" for k, v in headers):
            self.close_connection = True
        try:  # one write: the whole response leaves at once
            self.wfile.write("".join(head).encode("latin-1") + (payload if self.command != "HEAD" else b""))
        except OSError:  # the gateway gave up (timeout) and closed the connection
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle


class EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.connections = 0
        self.dropped = 0
        self.requests: list[dict] = []
        self.thread = threading.Thread(target=self.serve_forever, name="echo-backend", daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def address(self) -> str:
        """`127.0.0.1:PORT`, the value for a `backend` stage variable."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> EchoServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def header_values(record: dict, name: str) -> list[str]:
    """All values of a header in an echo record, matched case-insensitively."""
    return [v for k, v in record["headers"] if k.lower() == name.lower()]


def header_names(record: dict) -> set[str]:
    return {k.lower() for k, _ in record["headers"]}


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def start_gateway(workdir: Path, apis: list[dict]) -> Server:
    """Write a project file serving `apis` (entries of the project file's `apis:` list, with
    `openapi` naming a file in tests/e2e/fixtures) into `workdir` and start `apiway serve` on it."""
    entries = [dict(api, openapi=str(FIXTURES / api["openapi"])) for api in apis]
    project = workdir / "apiway.yaml"
    project.write_bytes(orjson.dumps({"apis": entries}))  # JSON is YAML
    state = workdir / "state" / "state.db"
    state.parent.mkdir(parents=True, exist_ok=True)
    return Server(project, state)


def echoed(reply: Reply) -> dict:
    """What the echo backend saw, from a successful reply through the gateway."""
    assert reply.status == 200, (reply.status, reply.body)
    return reply.json()

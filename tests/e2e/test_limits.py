"""Limits: a body over 10 MB is refused with AWS's 413 gateway response; just under it passes. After the 413
the server stops reading the refused body, however long the client said it would be."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

API = """openapi: 3.0.1
info: {title: Limits}
paths:
  /upload:
    post:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"ok": true}'}}}
"""


def test_request_too_large(serve, tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(API)
    server = serve(tmp_path / "api.yaml")
    api = server.api_ids["Limits"]
    too_big = server.call("POST", api, "dev", "/upload", body=b"x" * (10 * 1024 * 1024 + 1), timeout=30)
    assert too_big.status == 413
    assert too_big.json() == {"message": "Request Too Long"}
    assert too_big.header("x-amzn-RequestId")
    fits = server.call("POST", api, "dev", "/upload", body=b"x" * (10 * 1024 * 1024), timeout=30)
    assert fits.status == 200 and fits.json() == {"ok": True}


def test_413_closes_the_connection_and_stops_reading(serve, tmp_path: Path) -> None:
    """A client declaring a 100 GB body gets its 413, then sees the connection end: it cannot make the server
    read on (at most a few tens of MB are taken in, the socket buffers included), within a 20 s deadline."""
    (tmp_path / "api.yaml").write_text(API)
    server = serve(tmp_path / "api.yaml")
    api = server.api_ids["Limits"]
    head = (f"POST /dev/upload HTTP/1.1\r\nHost: {api}.execute-api.localhost:{server.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {100 * 1024 ** 3}\r\n\r\n").encode()
    chunk = b"x" * 65536
    sent, answer, closed, refused = 0, b"", False, False
    deadline = time.monotonic() + 20
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        while time.monotonic() < deadline:  # send the body on; read whatever comes meanwhile
            readable, writable, _ = select.select([] if closed else [sock], [sock], [], 0.5)
            try:
                if readable:
                    data = sock.recv(65536)
                    closed = not data  # the server ended its side after the 413
                    answer += data
                elif writable:
                    sent += sock.send(chunk)
            except (BrokenPipeError, ConnectionResetError):
                refused = True  # the server no longer takes the body
                break
            except BlockingIOError:
                continue
    assert refused, f"the server still reads after {sent} bytes"
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'{"message":"Request Too Long"}' in answer
    assert sent < 64 * 1024 * 1024, sent

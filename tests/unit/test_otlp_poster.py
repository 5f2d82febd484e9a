"""The OTLP exporter's connection to its collector: kept open between batches, opened again when the collector
closed it, a refused batch told as an error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apiway.telemetry.otlp import CollectorRefused, _Poster


class _Collector(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.bodies: list[bytes] = []
        self.answers: list[tuple[int, bool]] = []  # (status, close) for the next requests; default (200, False)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Collector

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.server.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        status, close = self.server.answers.pop(0) if self.server.answers else (200, False)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()


@pytest.fixture
def collector() -> Iterator[_Collector]:
    server = _Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_batches_share_one_connection_until_the_collector_closes_it(collector: _Collector) -> None:
    poster = _Poster(f"http://127.0.0.1:{collector.server_address[1]}/v1/traces", 5.0)
    for n in range(3):
        poster.post(b"batch %d" % n, {"Content-Type": "application/x-protobuf"})
    assert collector.connections == 1 and collector.bodies == [b"batch 0", b"batch 1", b"batch 2"]
    collector.answers.append((200, True))  # the collector ends the connection with its answer
    poster.post(b"batch 3", {})
    poster.post(b"batch 4", {})
    assert collector.connections == 2 and collector.bodies[-2:] == [b"batch 3", b"batch 4"]
    poster.close()


def test_a_connection_closed_while_idle_is_opened_again(collector: _Collector) -> None:
    poster = _Poster(f"http://127.0.0.1:{collector.server_address[1]}/v1/traces", 5.0)
    poster.post(b"first", {})
    kept = poster._connection
    assert kept is not None and kept.sock is not None
    kept.sock.close()  # as if the collector had dropped the idle connection
    poster.post(b"second", {})
    assert collector.bodies == [b"first", b"second"] and collector.connections == 2


def test_a_refused_batch_is_an_error_and_not_sent_again(collector: _Collector) -> None:
    poster = _Poster(f"http://127.0.0.1:{collector.server_address[1]}/v1/traces", 5.0)
    collector.answers.append((503, False))
    with pytest.raises(CollectorRefused, match="503"):
        poster.post(b"refused", {})  # on a new connection
    collector.answers.append((400, False))
    with pytest.raises(CollectorRefused, match="400"):
        poster.post(b"bad", {})  # on the kept one
    poster.post(b"taken", {})
    assert collector.bodies == [b"refused", b"bad", b"taken"] and collector.connections == 1

"""`apiway serve --workers 2`: a supervisor and two serving processes on one port. Both serve; a change made
through the control plane on a connection one worker answers is served by the other within a second; a worker
killed with SIGKILL is restarted while the other serves on; SIGTERM drains: readiness answers 503 while
in-flight requests finish, then everything exits. A taken port is refused at once; workers do not outlive a
killed supervisor.

A TCP connection stays with the worker that accepted it, and `/_apiway/health` says which worker that is, so
the tests pin requests to a worker by keeping a connection open."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.echo_backend import EchoServer
from tests.support import Server, until


def api_document(backend_port: int) -> bytes:
    mock = {"type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200",
                                      "responseTemplates": {"application/json": '{"v": "$stageVariables.v"}'}}}}
    slow = {"type": "http_proxy", "httpMethod": "GET", "uri": f"http://127.0.0.1:{backend_port}/slow"}
    return json.dumps({"openapi": "3.0.1", "info": {"title": "workers"}, "paths": {
        "/who": {"get": {"x-amazon-apigateway-integration": mock}},
        "/slow": {"get": {"x-amazon-apigateway-integration": slow}}}}).encode()


class Pinned:
    """One keep-alive connection to the port, so one worker answers everything sent on it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.pid = self.send("GET", "/_apiway/health")[1]["pid"]

    def send(self, method: str, path: str, body: object = None, host: str | None = None) -> tuple[int, dict]:
        headers = {"Host": host or f"127.0.0.1:{self.port}"}
        self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        reply = self.conn.getresponse()
        data = reply.read()
        return reply.status, json.loads(data) if data else {}

    def call(self, api_id: str, path: str) -> tuple[int, dict]:
        return self.send("GET", path, host=f"{api_id}.execute-api.localhost:{self.port}")

    def close(self) -> None:
        self.conn.close()


def pinned_to(port: int, pid: int, tries: int = 200) -> Pinned:
    """A connection worker `pid` answers."""
    for _ in range(tries):
        conn = Pinned(port)
        if conn.pid == pid:
            return conn
        conn.close()
    raise AssertionError(f"no connection went to {pid}")


def pinned_elsewhere(port: int, pid: int, tries: int = 200) -> Pinned:
    """A connection a worker other than `pid` answers."""
    for _ in range(tries):
        conn = Pinned(port)
        if conn.pid != pid:
            return conn
        conn.close()
    raise AssertionError(f"every connection went to {pid}")


def worker_pids(server: Server) -> list[int]:
    found = re.search(r"worker processes \(pids ([\d, ]+)\)", server.output)
    assert found, server.output
    return [int(p) for p in found.group(1).split(", ")]


def pids_answering(port: int, connections: int = 40) -> set[int]:
    pids = set()
    for _ in range(connections):
        conn = Pinned(port)
        pids.add(conn.pid)
        conn.close()
    return pids


@pytest.fixture
def backend() -> Iterator[EchoServer]:
    server = EchoServer().start()
    yield server
    server.stop()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Server]:
    # The native server whichever front-end the suite runs on: --workers needs it.
    server = Server(None, tmp_path / "state.db", ["--workers", "2", "--drain-delay", "1.5", "--server", "native"])
    yield server
    server.stop()


def deploy(conn: Pinned, backend: EchoServer) -> str:
    status, api = conn.send("POST", "/restapis?mode=import", json.loads(api_document(backend.port)))
    assert status == 201, api
    status, answer = conn.send("POST", f"/restapis/{api['id']}/deployments",
                               {"stageName": "prod", "variables": {"v": "one"}})
    assert status == 201, answer
    return api["id"]


def call_fresh(port: int, api_id: str) -> tuple[int, dict]:
    """The API's answer on a new connection (which lands on either worker)."""
    conn = Pinned(port)
    try:
        return conn.call(api_id, "/prod/who")
    finally:
        conn.close()


def served_by_both(port: int, api_id: str) -> bool:
    return until(lambda: all(call_fresh(port, api_id)[0] == 200 for _ in range(10)), 2.0)


def test_both_workers_serve_and_the_start_says_how(workers: Server) -> None:
    pids = worker_pids(workers)
    assert len(pids) == 2 and "SO_REUSEPORT" in workers.output and "a worker that exits is restarted" in workers.output
    assert pids_answering(workers.port) == set(pids)
    # Without shared state the limits are per worker, and the start says so loudly.
    assert "WARNING: with --workers 2 and no shared state" in workers.stderr()
    for pid in pids:
        conn = pinned_to(workers.port, pid)
        status, ready = conn.send("GET", "/_apiway/ready")
        assert (status, ready["status"], ready["pid"]) == (200, "ready", pid)
        assert ready["worker"] in (0, 1)
        conn.close()


def test_a_change_one_worker_answers_is_served_by_the_other_within_a_second(workers: Server,
                                                                            backend: EchoServer) -> None:
    a = Pinned(workers.port)
    b = pinned_elsewhere(workers.port, a.pid)
    api_id = deploy(a, backend)
    answered = time.monotonic()
    assert until(lambda: b.call(api_id, "/prod/who") == (200, {"v": "one"}), 1.0), b.call(api_id, "/prod/who")
    assert time.monotonic() - answered < 1.0

    status, _ = b.send("PATCH", f"/restapis/{api_id}/stages/prod",
                       {"patchOperations": [{"op": "replace", "path": "/variables/v", "value": "two"}]})
    assert status == 200
    answered = time.monotonic()
    assert until(lambda: a.call(api_id, "/prod/who") == (200, {"v": "two"}), 1.0), a.call(api_id, "/prod/who")
    assert time.monotonic() - answered < 1.0

    assert b.send("DELETE", f"/restapis/{api_id}/stages/prod")[0] == 202
    assert until(lambda: a.call(api_id, "/prod/who")[0] == 403, 1.0)
    a.close()
    b.close()


def test_a_killed_worker_is_restarted_and_serving_goes_on(workers: Server, backend: EchoServer) -> None:
    setup = Pinned(workers.port)
    api_id = deploy(setup, backend)
    setup.close()
    assert served_by_both(workers.port, api_id)
    first, second = worker_pids(workers)
    os.kill(second, signal.SIGKILL)
    time.sleep(0.2)
    # The other worker takes every new connection meanwhile; then a new worker joins it.
    for _ in range(20):
        assert call_fresh(workers.port, api_id) == (200, {"v": "one"})
    log: list[str] = []
    assert until(lambda: "worker exited; starting another" in "".join(log.append(workers.stderr()) or log), 5.0)
    assert f'"pid":{second},"exit":"killed by SIGKILL"' in "".join(log)
    pids = until(lambda: len(found := pids_answering(workers.port)) == 2 and found, 10.0)
    assert pids and first in pids and second not in pids
    replacement = (pids - {first}).pop()
    conn = pinned_elsewhere(workers.port, first)
    assert conn.pid == replacement
    assert conn.call(api_id, "/prod/who") == (200, {"v": "one"})  # it installed the stored stages
    conn.close()


def test_sigterm_drains_in_flight_requests_with_readiness_503_meanwhile(workers: Server, backend: EchoServer) -> None:
    setup = Pinned(workers.port)
    api_id = deploy(setup, backend)
    setup.close()
    assert served_by_both(workers.port, api_id)
    slow: list[tuple[int, dict]] = []

    def in_flight(conn: Pinned) -> None:
        slow.append(conn.call(api_id, "/prod/slow?echo_sleep=2"))

    first = Pinned(workers.port)
    other = pinned_elsewhere(workers.port, first.pid)
    threads = [threading.Thread(target=in_flight, args=(conn,)) for conn in (first, other)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # both workers have a request in flight
    workers.proc.send_signal(signal.SIGTERM)  # to the supervisor only: it tells the workers
    time.sleep(0.3)
    probes = [Pinned(workers.port) for _ in range(6)]  # new connections still accepted: the drain delay
    answers = [probe.send("GET", "/_apiway/ready") for probe in probes]
    for probe in probes[1:]:
        probe.close()
    assert {status for status, _ in answers} == {503} and {a["status"] for _, a in answers} == {"draining"}
    assert {a["pid"] for _, a in answers} <= {first.pid, other.pid}
    assert probes[0].send("GET", "/_apiway/health")[0] == 200  # alive, just not taking new work
    for thread in threads:
        thread.join(10)
    assert [status for status, _ in slow] == [200, 200]  # the in-flight requests finished
    assert workers.proc.wait(15) == 0
    with pytest.raises(OSError):
        Pinned(workers.port)
    assert "Traceback" not in workers.stderr()


def test_a_taken_port_is_refused_before_any_worker_starts(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "apiway", "serve", "--port", str(port), "--workers", "2",
                               "--state", str(tmp_path / "state.db")], capture_output=True, timeout=60)
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in done.stderr.decode()


def test_the_workers_stop_when_the_supervisor_is_killed(workers: Server) -> None:
    pids = worker_pids(workers)
    workers.proc.send_signal(signal.SIGKILL)
    workers.proc.wait(5)

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"  # exited, not yet reaped by init

    assert until(lambda: all(gone(pid) for pid in pids), 5.0)

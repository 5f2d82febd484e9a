"""`/_apiway/health` and `/_apiway/ready` on a real server: on the gateway's port and the admin port, for any
caller (probes sign nothing, even where the control plane wants signed calls), never in place of an API that
claims the path; readiness turns 503 on SIGTERM while the server drains."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.support import Server, apigateway_client, free_port, request


def test_both_answer_on_the_gateway_port(tmp_path: Path) -> None:
    server = Server(None, tmp_path / "state.db")
    try:
        health = request(server.port, "GET", "/_apiway/health")
        assert (health.status, health.json()) == (200, {"status": "ok", "pid": server.proc.pid})
        ready = request(server.port, "GET", "/_apiway/ready")
        assert (ready.status, ready.json()["status"]) == (200, "ready")
        assert ready.header("Cache-Control") == "no-store"
        assert request(server.port, "HEAD", "/_apiway/ready").status == 200
        assert "/_apiway/health" in server.output
    finally:
        server.stop()


def test_probes_need_no_credentials_where_the_control_plane_does(tmp_path: Path) -> None:
    env = {"APIWAY_ADMIN_ACCESS_KEY_ID": "AKIDADMIN", "APIWAY_ADMIN_SECRET_ACCESS_KEY": "admin-secret"}
    server = Server(None, tmp_path / "state.db", env=env)
    try:
        assert request(server.port, "GET", "/restapis").status == 403  # the control plane wants signed calls
        assert request(server.port, "GET", "/_apiway/health").status == 200
        assert request(server.port, "GET", "/_apiway/ready").status == 200
    finally:
        server.stop()


def test_both_answer_on_the_admin_port_too(tmp_path: Path) -> None:
    admin = free_port()
    server = Server(None, tmp_path / "state.db", ["--admin-port", str(admin), "--server", "native"])
    try:
        for port in (server.port, admin):
            assert request(port, "GET", "/_apiway/ready").json()["status"] == "ready"
        assert request(server.port, "GET", "/restapis").status == 404  # the control plane moved
    finally:
        server.stop()


def test_an_api_keeps_its_own_paths(tmp_path: Path) -> None:
    server = Server(None, tmp_path / "state.db")
    try:
        client = apigateway_client(server.port)
        api_id = client.create_rest_api(name="paths")["id"]
        reply = request(server.port, "GET", "/_apiway/health",
                        headers={"Host": f"{api_id}.execute-api.localhost:{server.port}"})
        assert reply.status == 403 and "pid" not in reply.body.decode()  # the API's answer (no stage of that name)
    finally:
        server.stop()


def test_sigterm_turns_readiness_503_while_the_server_drains(tmp_path: Path) -> None:
    server = Server(None, tmp_path / "state.db", ["--drain-delay", "1", "--server", "native"])
    try:
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        ready = request(server.port, "GET", "/_apiway/ready")
        assert (ready.status, ready.json()["status"]) == (503, "draining")
        assert request(server.port, "GET", "/_apiway/health").status == 200
        started = time.monotonic()
        assert server.proc.wait(10) == 0
        assert 0.5 < time.monotonic() - started + 0.2 < 5
    finally:
        server.stop()

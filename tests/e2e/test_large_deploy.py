"""A 20,000-path API imported, deployed and redeployed through the control plane while other clients
keep calling: the work runs off the event loop, so their requests are answered meanwhile (before, the
gateway answered nothing until the operation ended), and the stage swaps whole — every request during
the redeploy gets the old version or the new one, never an error.

Nothing here is timed: the assertions are about what was answered while an operation was in flight."""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter

from tests.support import Server, request

PATHS = 20_000
MIN_ANSWERED = 20  # during a multi-second operation; a blocked loop answers at most the one in flight


def big_api(version: str) -> bytes:
    def method(i: int) -> dict:
        template = json.dumps({"version": version, "item": i})
        return {"get": {"x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": template}}}}}}

    paths = {f"/items{i}": method(i) for i in range(PATHS)}
    return json.dumps({"openapi": "3.0.1", "info": {"title": "big", "version": version}, "paths": paths}).encode()


class Caller(threading.Thread):
    """Calls one path back to back over a keep-alive connection until stopped; keeps every answer."""

    def __init__(self, server: Server, host: str, path: str) -> None:
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        self.host, self.path = host, path
        self.answers: list[tuple[int, bytes]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.conn.request("GET", self.path, headers={"Host": self.host})
            response = self.conn.getresponse()
            self.answers.append((response.status, response.read()))

    def during(self, operation) -> tuple[object, list[tuple[int, bytes]]]:
        """Run `operation` while calling; (its result, the answers that arrived while it ran)."""
        start = len(self.answers)
        result = operation()
        return result, self.answers[start:]


def control(server: Server, method: str, path: str, body: bytes | dict) -> dict:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = request(server.port, method, path, {"Content-Type": "application/json"}, data, timeout=300)
    assert reply.status in (200, 201), reply.body[:500]
    return reply.json()


def test_a_20000_path_import_and_deploy_leave_other_clients_served(tmp_path):
    server = Server(None, tmp_path / "state.db")
    try:
        probe_api = control(server, "POST", "/restapis?mode=import", json.dumps({
            "openapi": "3.0.1", "info": {"title": "probe"}, "paths": {"/ping": {"get": {
                "x-amazon-apigateway-integration": {"type": "mock",
                                                    "requestTemplates": {"application/json": '{"statusCode": 200}'},
                                                    "responses": {"default": {"statusCode": "200"}}}}}}}).encode())
        control(server, "POST", f"/restapis/{probe_api['id']}/deployments", {"stageName": "p"})
        probe = Caller(server, f"{probe_api['id']}.execute-api.localhost", "/p/ping")
        probe.start()

        big, answered = probe.during(lambda: control(server, "POST", "/restapis?mode=import", big_api("v1")))
        assert len(answered) >= MIN_ANSWERED and {status for status, _ in answered} == {200}, len(answered)

        _, answered = probe.during(lambda: control(server, "POST", f"/restapis/{big['id']}/deployments",
                                                   {"stageName": "big"}))
        assert len(answered) >= MIN_ANSWERED and {status for status, _ in answered} == {200}, len(answered)
        host = f"{big['id']}.execute-api.localhost:{server.port}"
        last = server.call("GET", big["id"], "big", f"/items{PATHS - 1}")
        assert last.status == 200 and last.json() == {"version": "v1", "item": PATHS - 1}

        # Redeploy a changed API while a second client calls the big API itself.
        control(server, "PUT", f"/restapis/{big['id']}?mode=overwrite", big_api("v2"))
        caller = Caller(server, host, "/big/items7")
        caller.start()
        _, during = caller.during(lambda: control(server, "POST", f"/restapis/{big['id']}/deployments",
                                                  {"stageName": "big"}))
        # The operation has answered: the new version is served from the very next request.
        assert server.call("GET", big["id"], "big", "/items7").json() == {"version": "v2", "item": 7}
        caller.stop.set()
        probe.stop.set()
        caller.join(120)
        probe.join(120)
        versions = Counter(json.loads(body)["version"] if status == 200 else status for status, body in during)
        assert set(versions) <= {"v1", "v2"} and versions["v1"] > 0, versions
        assert {status for status, _ in probe.answers} == {200}
    finally:
        server.stop()
    assert "Traceback" not in server.stderr()

"""Stage, method and account throttling against a real `apiway serve` (spec §7.1-7.2): limits declared
in the project file's stages, AWS's 429, token-bucket admission measured over a real 10-second run."""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.support import Reply, Server, apigateway_client

API_ID = "throttle01"
PATHS = ("steady", "limited", "burst", "one", "two", "redeploy")
API = "openapi: 3.0.1\ninfo: {title: Throttled, version: '1'}\npaths:\n" + "".join(
    f"  /{p}:\n    get:\n      x-amazon-apigateway-integration:\n        type: mock\n"
    "        requestTemplates: {application/json: '{\"statusCode\": 200}'}\n"
    "        responses: {default: {statusCode: '200', responseTemplates: {application/json: '{\"ok\": true}'}}}\n"
    for p in PATHS
)
STAGES = {
    "prod": {  # stage-wide defaults (each method its own bucket), two methods with their own limits
        "throttling": {"rateLimit": 40, "burstLimit": 100},
        "method_settings": {"limited/GET": {"throttlingRateLimit": 20, "throttlingBurstLimit": 50},
                            "burst/GET": {"throttlingRateLimit": 0, "throttlingBurstLimit": 3},
                            "redeploy/GET": {"throttlingRateLimit": 0, "throttlingBurstLimit": 2}},
    },
    "small": {"throttling": {"rateLimit": 0, "burstLimit": 2}},
    "shut": {"throttling": {"rateLimit": 0, "burstLimit": 0}},
}


def write_project(tmp: Path, stages: dict) -> Path:
    (tmp / "api.yaml").write_text(API)
    project = tmp / "apiway.yaml"
    project.write_bytes(orjson.dumps({"apis": [{"openapi": "api.yaml", "id": API_ID, "stages": stages}]}))
    return project


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("throttling")
    (tmp / "state").mkdir()
    server = Server(write_project(tmp, STAGES), tmp / "state" / "state.db")
    yield server
    server.stop()


def statuses(server: Server, stage: str, path: str, n: int) -> list[int]:
    return [server.call("GET", API_ID, stage, path).status for _ in range(n)]


def assert_throttled(reply: Reply) -> None:
    """§7.2 / gateway response THROTTLED: 429 `{"message":"Too Many Requests"}`, TooManyRequestsException."""
    assert reply.status == 429, (reply.status, reply.body)
    assert reply.json() == {"message": "Too Many Requests"}
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("x-amzn-ErrorType") == "TooManyRequestsException"
    assert uuid.UUID(reply.header("x-amzn-RequestId"))
    assert len(reply.header("x-amz-apigw-id")) == 16


def test_an_empty_bucket_answers_aws_429(gateway):
    assert statuses(gateway, "prod", "/burst", 3) == [200, 200, 200]
    assert_throttled(gateway.call("GET", API_ID, "prod", "/burst"))


def test_stage_defaults_give_each_method_its_own_bucket(gateway):
    """`*/*` limits are the default per-method limits: two methods of the stage do not share a bucket."""
    assert statuses(gateway, "small", "/one", 4) == [200, 200, 429, 429]
    assert statuses(gateway, "small", "/two", 4) == [200, 200, 429, 429]


def test_zero_limits_shut_the_stage(gateway):
    assert_throttled(gateway.call("GET", API_ID, "shut", "/one"))
    assert_throttled(gateway.call("GET", API_ID, "shut", "/two"))


def test_redeploying_does_not_refill_the_buckets(gateway):
    assert statuses(gateway, "prod", "/redeploy", 3) == [200, 200, 429]
    apigateway_client(gateway.port).create_deployment(restApiId=API_ID, stageName="prod")
    assert statuses(gateway, "prod", "/redeploy", 2) == [429, 429]


class PacedClient(threading.Thread):
    """Sends GETs at a fixed rate on one keep-alive connection and records (send time, status)."""

    def __init__(self, server: Server, path: str, rate: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self.server, self.path, self.rate, self.seconds = server, path, rate, seconds
        self.results: list[tuple[float, int]] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        host = f"{API_ID}.execute-api.localhost:{self.server.port}"
        start = time.monotonic()
        for i in range(int(self.rate * self.seconds) + 1):
            delay = start + i / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic()
            conn.request("GET", f"/prod{self.path}", headers={"Host": host})
            resp = conn.getresponse()
            resp.read()
            self.results.append((sent, resp.status))
        conn.close()


def test_admission_over_ten_seconds_is_rate_times_t_plus_burst(gateway):
    """Sent at 100 requests/s for 10 s, a method admits rate * t + burst (within 2%): the stage-wide
    limits (40/s, burst 100) for one method, its own (20/s, burst 50) for another, at the same time."""
    clients = {"/steady": (40, 100), "/limited": (20, 50)}
    threads = {path: PacedClient(gateway, path, 100, 10) for path in clients}
    for thread in threads.values():
        thread.start()
    for thread in threads.values():
        thread.join(60)
    for path, (rate, burst) in clients.items():
        results = threads[path].results
        assert {status for _, status in results} <= {200, 429}
        elapsed = results[-1][0] - results[0][0]
        expected = rate * elapsed + burst
        admitted = sum(status == 200 for _, status in results)
        assert abs(admitted - expected) <= 0.02 * expected, (path, admitted, expected, elapsed)


def test_account_limits_come_from_the_command_line(tmp_path: Path):
    """`--throttle-rate/--throttle-burst` set the account-level bucket every API and stage share."""
    (tmp_path / "state").mkdir()
    server = Server(write_project(tmp_path, {"a": {}, "b": {}}), tmp_path / "state" / "state.db",
                    ["--throttle-rate", "0", "--throttle-burst", "5"])
    try:
        assert statuses(server, "a", "/one", 3) + statuses(server, "b", "/two", 3) == [200] * 5 + [429]
        assert_throttled(server.call("GET", API_ID, "b", "/steady"))
    finally:
        server.stop()

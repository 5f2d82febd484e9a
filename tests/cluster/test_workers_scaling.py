"""`serve --workers 2` on this 2-core machine against one worker, in the same run: MOCK requests per second
with wrk (bounded runs of a few seconds each, alternated so that other load on the machine hits both)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.cluster.harness import WHO_API
from tests.cluster.nginx import installed
from tests.support import Server, apigateway_client

SECONDS = 3
ROUNDS = 3
SCALING = 1.7


def _served(directory: Path, *args: str) -> tuple[Server, str]:
    directory.mkdir()
    # The account throttle (10,000 a second) would cap both: lifted, the servers' own speed shows.
    server = Server(None, directory / "state.db", ["--throttle-rate", "1000000", "--throttle-burst", "1000000", *args])
    client = apigateway_client(server.port)
    api_id = client.import_rest_api(body=json.dumps(WHO_API).encode())["id"]
    client.create_deployment(restApiId=api_id, stageName="prod", variables={"v": "x"})
    return server, api_id


def _rate(wrk: str, server: Server, api_id: str) -> float:
    done = subprocess.run([wrk, "-t1", "-c32", f"-d{SECONDS}s", "-H", f"Host: {api_id}.execute-api.localhost",
                           f"http://127.0.0.1:{server.port}/prod/who"], capture_output=True, text=True,
                          timeout=SECONDS + 30, check=True)
    assert "Non-2xx" not in done.stdout and "Socket errors" not in done.stdout, done.stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))


def test_two_workers_serve_mock_at_1_7_times_one(tmp_path: Path) -> None:
    wrk = installed("wrk", ("wrk",))
    one, one_api = _served(tmp_path / "one")
    two, two_api = _served(tmp_path / "two", "--workers", "2")
    try:
        rates: dict[str, list[float]] = {"one": [], "two": []}
        for _ in range(ROUNDS):
            rates["one"].append(_rate(wrk, one, one_api))
            rates["two"].append(_rate(wrk, two, two_api))
    finally:
        one.stop()
        two.stop()
    ratio = sum(rates["two"]) / sum(rates["one"])  # alternated rounds: a busy moment weighs on both alike
    print(f"requests/s, one worker {rates['one']}, two workers {rates['two']}: {ratio:.2f}x")
    assert ratio >= SCALING

"""Functions in worker mode through the gateway: Lambda-like worker processes behind AWS_PROXY keep
module state while warm, turn a raising or crashing handler into a 502, and survive a crash."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.support import Server, function_proxy_api

API = function_proxy_api("Workers", "Worker")

HANDLER = """import json, os
CALLS = 0

def handler(event, context):
    global CALLS
    CALLS += 1
    action = event["pathParameters"]["proxy"]
    if action == "raise":
        raise RuntimeError("handler failed")
    if action == "exit":
        os._exit(3)
    return {"statusCode": 200, "body": json.dumps({"calls": CALLS, "pid": os.getpid(),
            "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"], "memory": context.memory_limit_in_mb})}
"""


def test_worker_mode_through_the_gateway(serve, tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(API)
    (tmp_path / "worker.py").write_text(HANDLER)
    (tmp_path / "apiway.yaml").write_text(
        "apis:\n  - openapi: api.yaml\n    id: workers001\n"
        "functions:\n  Worker: {handler: worker.py:handler, mode: worker, concurrency: 2, memory: 256}\n"
    )
    server: Server = serve(tmp_path / "apiway.yaml")
    first = server.call("GET", "workers001", "dev", "/hello")
    second = server.call("GET", "workers001", "dev", "/hello")
    assert first.status == second.status == 200
    assert second.json()["calls"] == first.json()["calls"] + 1  # the same warm worker kept its state
    assert second.json()["pid"] == first.json()["pid"] != server.proc.pid
    assert first.json()["name"] == "Worker" and first.json()["memory"] == "256"

    raised = server.call("GET", "workers001", "dev", "/raise")
    assert raised.status == 502 and raised.json() == {"message": "Internal server error"}
    crashed = server.call("GET", "workers001", "dev", "/exit")
    assert crashed.status == 502 and crashed.json() == {"message": "Internal server error"}
    after = server.call("GET", "workers001", "dev", "/hello")
    assert after.status == 200  # a fresh worker replaced the crashed one; the gateway kept serving
    assert server.proc.poll() is None


FORKING = """import json, os, subprocess, time

def handler(event, context):
    sleeper = subprocess.Popen(["sleep", "120"])  # a child process the function starts and leaves running
    forked = os.fork()
    if forked == 0:  # a bare fork, as a daemonising library would
        time.sleep(120)
        os._exit(0)
    return {"statusCode": 200, "body": json.dumps({"pids": [os.getpid(), sleeper.pid, forked]})}
"""


def _alive_after(pids: list[int], within: float) -> list[int]:
    """The pids still alive (zombies count as gone) after waiting up to `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        alive = [pid for pid in pids if _running(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_gateway_takes_its_workers_and_their_children_with_it(serve, tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(API)
    (tmp_path / "worker.py").write_text(FORKING)
    (tmp_path / "apiway.yaml").write_text(
        "apis:\n  - openapi: api.yaml\n    id: workers001\n"
        "functions:\n  Worker: {handler: worker.py:handler, mode: worker}\n"
    )
    server: Server = serve(tmp_path / "apiway.yaml")
    reply = server.call("GET", "workers001", "dev", "/fork")
    assert reply.status == 200
    pids = reply.json()["pids"]
    assert _alive_after(pids, 0) == pids  # the worker and both children run
    os.kill(server.proc.pid, signal.SIGKILL)  # the gateway alone, with no chance to clean up
    server.proc.wait(10)
    assert not _alive_after(pids, 5)

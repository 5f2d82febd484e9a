"""The CloudWatch Logs API of a running server, called by boto3's `logs` client and the AWS CLI: a worker-mode
function's log group and stream, events read, filtered with JSON selectors, paged, followed as `aws logs tail
--follow` follows them, and written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.cluster.nginx import installed
from tests.support import Server, function_proxy_api, until

GROUP = "/aws/lambda/Talker"
HANDLER = """import json

def handler(event, context):
    path = event["pathParameters"]["proxy"]
    status = int(path) if path.isdigit() else 200
    print(json.dumps({"status": status, "latency": 150 if status >= 500 else 20, "path": path}))
    print("plain line for", path)
    return {"statusCode": 200, "body": "ok"}
"""


@pytest.fixture
def server(serve, tmp_path: Path) -> Server:
    (tmp_path / "api.yaml").write_text(function_proxy_api("Talk", "Talker"))
    (tmp_path / "talker.py").write_text(HANDLER)
    (tmp_path / "apiway.yaml").write_text(
        "apis:\n  - openapi: api.yaml\n    id: talk000001\n"
        "functions:\n  Talker: {handler: talker.py:handler, mode: worker, concurrency: 1}\n")
    started: Server = serve(tmp_path / "apiway.yaml", "--quiet-functions")
    return started


def logs_client(port: int) -> Any:
    return boto3.client("logs", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}))


def call(server: Server, *paths: str) -> None:
    for path in paths:
        assert server.call("GET", "talk000001", "dev", f"/{path}").status == 200


def messages(events: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for e in events]


def test_a_functions_log_group_read_and_filtered_with_boto3(server: Server) -> None:
    call(server, "502", "200", "503", "hello")
    logs = logs_client(server.port)
    filtered = until(lambda: logs.filter_log_events(logGroupName=GROUP, filterPattern='"plain line for hello"')
                     ["events"])
    assert messages(filtered) == ["plain line for hello"]

    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [GROUP]
    assert groups[0]["arn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}:*"
    (stream,) = logs.describe_log_streams(logGroupName=GROUP, orderBy="LastEventTime", descending=True)["logStreams"]
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", stream["logStreamName"])
    assert stream["firstEventTimestamp"] <= stream["lastEventTimestamp"]

    five = logs.filter_log_events(logGroupName=GROUP, filterPattern="{ $.status = 5* }")["events"]
    assert [json.loads(m)["status"] for m in messages(five)] == [502, 503]
    assert all(e["logStreamName"] == stream["logStreamName"] and e["eventId"] for e in five)
    slow = logs.filter_log_events(logGroupName=GROUP, filterPattern="{ $.latency > 100 && $.status != 503 }")
    assert [json.loads(m)["status"] for m in messages(slow["events"])] == [502]
    starts = logs.filter_log_events(logGroupName=GROUP, filterPattern="START -Nothing")["events"]
    assert len(starts) == 4 and all(m.startswith("START RequestId: ") for m in messages(starts))

    # Paginators: a page of two events at a time gives every event once, in order.
    everything = messages(logs.filter_log_events(logGroupName=GROUP)["events"])
    paged = [m for page in logs.get_paginator("filter_log_events").paginate(
        logGroupName=GROUP, PaginationConfig={"PageSize": 2}) for m in messages(page["events"])]
    assert paged == everything and len(everything) == 4 * 5  # START, two lines, END, REPORT per invocation

    # GetLogEvents: from the head, forward tokens until the same token comes back; and backwards from the end.
    forward: list[str] = []
    token = None
    while True:
        page = logs.get_log_events(logGroupName=GROUP, logStreamName=stream["logStreamName"], startFromHead=True,
                                   limit=3, **({"nextToken": token} if token else {}))
        forward += messages(page["events"])
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert forward == everything
    newest = logs.get_log_events(logGroupName=GROUP, logStreamName=stream["logStreamName"], limit=5)
    assert messages(newest["events"]) == everything[-5:]
    older = logs.get_log_events(logGroupName=GROUP, logStreamName=stream["logStreamName"], limit=5,
                                nextToken=newest["nextBackwardToken"])
    assert messages(older["events"]) == everything[-10:-5]

    with pytest.raises(ClientError) as missing:
        logs.filter_log_events(logGroupName="/aws/lambda/Nope")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as invalid:
        logs.filter_log_events(logGroupName=GROUP, filterPattern="{ $.status = ")
    assert invalid.value.response["Error"]["Code"] == "InvalidParameterException"


def test_groups_streams_and_events_written_through_the_api(server: Server) -> None:
    logs = logs_client(server.port)
    for n in range(5):
        logs.create_log_group(logGroupName=f"/app/group-{n}")
    with pytest.raises(ClientError) as exists:
        logs.create_log_group(logGroupName="/app/group-0")
    assert exists.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    names = [g["logGroupName"] for page in logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix="/app/", PaginationConfig={"PageSize": 2}) for g in page["logGroups"]]
    assert names == [f"/app/group-{n}" for n in range(5)]

    logs.put_retention_policy(logGroupName="/app/group-0", retentionInDays=14)
    assert logs.describe_log_groups(logGroupNamePrefix="/app/group-0")["logGroups"][0]["retentionInDays"] == 14
    with pytest.raises(ClientError) as bad_days:
        logs.put_retention_policy(logGroupName="/app/group-0", retentionInDays=2)
    assert bad_days.value.response["Error"]["Code"] == "InvalidParameterException"
    logs.delete_retention_policy(logGroupName="/app/group-0")
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix="/app/group-0")["logGroups"][0]

    logs.create_log_stream(logGroupName="/app/group-0", logStreamName="mine")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="/app/group-0", logStreamName="mine",
                        logEvents=[{"timestamp": now, "message": '{"level": "error", "n": 1}'},
                                   {"timestamp": now + 1, "message": "two\nlines, one event"}])
    got = logs.get_log_events(logGroupName="/app/group-0", logStreamName="mine", startFromHead=True)
    assert messages(got["events"]) == ['{"level": "error", "n": 1}', "two\nlines, one event"]
    assert messages(logs.filter_log_events(logGroupName="/app/group-0", logStreamNames=["mine"],
                                           filterPattern='{ $.level = "error" }')["events"]) == [
        '{"level": "error", "n": 1}']
    with pytest.raises(ClientError) as no_stream:
        logs.put_log_events(logGroupName="/app/group-0", logStreamName="other",
                            logEvents=[{"timestamp": now, "message": "x"}])
    assert no_stream.value.response["Error"]["Code"] == "ResourceNotFoundException"
    logs.delete_log_group(logGroupName="/app/group-0")
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"]] == [
        f"/app/group-{n}" for n in range(1, 5)]


def test_following_a_group_as_aws_logs_tail_follow_does(server: Server) -> None:
    """The AWS CLI v2's `aws logs tail --follow` loop: FilterLogEvents from a start time, every page of it, then
    again from the newest timestamp seen, skipping the event ids already shown at that timestamp."""
    call(server, "first")
    logs = logs_client(server.port)
    until(lambda: logs.filter_log_events(logGroupName=GROUP, filterPattern='"plain line for first"')["events"])
    kwargs: dict[str, Any] = {"logGroupName": GROUP, "startTime": int(time.time() * 1000) - 60_000,
                              "interleaved": True}
    seen: dict[int, set[str]] = {}
    shown: list[str] = []

    def poll() -> None:
        while True:
            response = logs.filter_log_events(**kwargs)
            for event in response["events"]:
                if event["eventId"] not in seen.setdefault(event["timestamp"], set()):
                    seen[event["timestamp"]].add(event["eventId"])
                    shown.append(event["message"])
            if "nextToken" not in response:
                kwargs.pop("nextToken", None)
                kwargs["startTime"] = max(seen, default=kwargs["startTime"])
                return
            kwargs["nextToken"] = response["nextToken"]

    poll()
    assert "plain line for first" in shown
    before = len(shown)
    poll()
    assert len(shown) == before  # nothing new, nothing repeated
    call(server, "second")  # written after the follower started
    deadline = time.monotonic() + 15
    while "plain line for second" not in shown and time.monotonic() < deadline:
        time.sleep(0.2)
        poll()
    assert "plain line for second" in shown and shown.count("plain line for first") == 1


def test_aws_logs_tail_follow(server: Server) -> None:
    """The AWS CLI v2's own `aws logs tail` (the distribution's package: PyPI has only v1, which has no `tail`),
    once and with --follow, seeing a line written after it started."""
    aws = installed("aws", ("awscli",), path="/usr/bin/aws")
    call(server, "first")
    logs = logs_client(server.port)
    until(lambda: logs.filter_log_events(logGroupName=GROUP, filterPattern='"plain line for first"')["events"])
    # The distribution's CLI runs on the system's Python: nothing of this process's environment (a PYTHONPATH a loaded
    # function left, say, which would mix the virtualenv's AWS CLI v1 into it) may reach it.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(server.state.parent), "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": "",
           "PYTHONUNBUFFERED": "1"}  # --follow prints as it goes
    tail = [aws, "logs", "tail", GROUP, "--endpoint-url", f"http://127.0.0.1:{server.port}", "--since", "10m",
            "--format", "short"]
    once = subprocess.run(tail, capture_output=True, text=True, timeout=60, env=env)
    assert once.returncode == 0, once.stderr
    assert "plain line for first" in once.stdout
    follower = subprocess.Popen([*tail, "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(follower.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        assert until(lambda: any("plain line for first" in line for line in lines), 30), lines
        call(server, "second")  # written after the follower started
        assert until(lambda: any("plain line for second" in line for line in lines), 30), lines
    finally:
        follower.kill()
        follower.wait(10)
    assert sum("plain line for first" in line for line in lines) == 1


def test_the_aws_cli(server: Server) -> None:
    call(server, "500", "201")
    logs = logs_client(server.port)
    until(lambda: logs.filter_log_events(logGroupName=GROUP, filterPattern='"plain line for 201"')["events"])
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1"}
    aws = [str(Path(sys.executable).with_name("aws")), "logs", "--endpoint-url", f"http://127.0.0.1:{server.port}",
           "--output", "json"]

    def cli(*args: str) -> Any:
        done = subprocess.run([*aws, *args], capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert [g["logGroupName"] for g in cli("describe-log-groups")["logGroups"]] == [GROUP]
    found = cli("filter-log-events", "--log-group-name", GROUP, "--filter-pattern", "{ $.status >= 500 }",
                "--page-size", "1")
    assert [json.loads(e["message"])["status"] for e in found["events"]] == [500]
    (stream,) = cli("describe-log-streams", "--log-group-name", GROUP)["logStreams"]
    got = cli("get-log-events", "--log-group-name", GROUP, "--log-stream-name", stream["logStreamName"],
              "--start-from-head")
    assert sum(e["message"].startswith("REPORT RequestId: ") for e in got["events"]) == 2


def test_every_worker_process_writes_its_own_files_and_any_one_reads_them_all(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(function_proxy_api("Talk", "Talker"))
    (tmp_path / "talker.py").write_text(HANDLER)
    (tmp_path / "apiway.yaml").write_text(
        "apis:\n  - openapi: api.yaml\n    id: talk000001\n"
        "functions:\n  Talker: {handler: talker.py:handler, mode: worker, concurrency: 1}\n")
    (tmp_path / "state").mkdir()
    # The native server whichever front-end the suite runs on: --workers needs it.
    server = Server(tmp_path / "apiway.yaml", tmp_path / "state" / "state.db",
                    ["--workers", "2", "--server", "native", "--quiet-functions"])
    try:
        call(server, *(f"n{n}" for n in range(30)))  # each on a new connection: the kernel spreads them
        logs = logs_client(server.port)

        def starts() -> list[dict[str, Any]]:
            found = [e for page in logs.get_paginator("filter_log_events").paginate(
                logGroupName=GROUP, filterPattern="START") for e in page["events"]]
            return found if len(found) == 30 else []

        assert len(until(starts)) == 30  # whichever process answers sees every process's events
        streams = tmp_path / "state" / "logs" / "groups" / "%2Faws%2Flambda%2FTalker"
        writers = {f.name.split("-")[1].partition(".")[0] for f in streams.glob("*/*.log")}
        assert len(writers) == 2  # a file per process: no two processes append to one file
    finally:
        server.stop()

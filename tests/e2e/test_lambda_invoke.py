"""Lambda's Invoke API on the gateway's port, driven by boto3's own lambda client; and `apiway invoke` /
`apiway logs`, which run without a server."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from apiway.observe.log_groups import LogGroups
from tests.support import Server, request

FIXTURES = Path(__file__).parent / "fixtures" / "invoke"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(FIXTURES, target)
    return target / "apiway.yaml"


@pytest.fixture
def server(serve, project: Path) -> Server:
    return serve(project)


def lambda_client(server: Server):
    return boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{server.port}", region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x",
                        config=Config(retries={"total_max_attempts": 1}))


def invoke(client, name: str, payload: object = None, **kw) -> tuple[dict, object]:
    if payload is not None:
        kw["Payload"] = json.dumps(payload).encode()
    response = client.invoke(FunctionName=name, **kw)
    body = response["Payload"].read()
    return response, (json.loads(body) if body else None)


def test_request_response_round_trip(server: Server) -> None:
    client = lambda_client(server)
    for name in ("Echo", "Worker"):
        response, body = invoke(client, name, {"hello": [1, "two", None]})
        assert response["StatusCode"] == 200 and "FunctionError" not in response
        assert response["ExecutedVersion"] == "$LATEST"
        assert response["ResponseMetadata"]["RequestId"]
        assert body["event"] == {"hello": [1, "two", None]}
        assert body["function"] == name and body["arn"] == ARN + name
    _, inline = invoke(client, "Echo", {})
    _, worker = invoke(client, "Worker", {})
    assert inline["pid"] == server.proc.pid != worker["pid"]  # each function ran in its own mode
    _, empty = invoke(client, "Echo")
    assert empty["event"] == {}  # no payload: the function receives an empty object


def test_function_error_is_unhandled_with_the_error_document(server: Server) -> None:
    client = lambda_client(server)
    for name in ("Echo", "Worker"):
        response, body = invoke(client, name, {"action": "raise"})
        assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
        assert body["errorType"] == "ValueError" and body["errorMessage"] == "asked to fail"
        assert "stackTrace" in body


def test_event_invocation_runs_in_the_background(server: Server, tmp_path: Path) -> None:
    client = lambda_client(server)
    for name in ("Echo", "Worker"):
        marker = tmp_path / f"{name}.ran"
        response, body = invoke(client, name, {"action": "write", "path": str(marker)}, InvocationType="Event")
        assert response["StatusCode"] == 202 and body is None
        deadline = time.monotonic() + 15
        # The file appears (empty) before the function's write lands: wait for its content.
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.read_text().startswith(f"{name} ")


def test_dry_run(server: Server, tmp_path: Path) -> None:
    marker = tmp_path / "dry.ran"
    response, body = invoke(lambda_client(server), "Echo", {"action": "write", "path": str(marker)},
                            InvocationType="DryRun")
    assert response["StatusCode"] == 204 and body is None
    assert not marker.exists()


def test_full_arn_partial_arn_and_qualifiers(server: Server) -> None:
    client = lambda_client(server)
    names = [ARN + "Echo", ARN + "Echo:$LATEST", "123456789012:function:Echo", "Echo:live", ARN + "Worker:prod"]
    for name in names:
        response, body = invoke(client, name, {"n": name})
        assert response["StatusCode"] == 200 and body["event"] == {"n": name}
    response, body = invoke(client, "Echo", {"q": 1}, Qualifier="$LATEST")
    assert response["StatusCode"] == 200 and body["event"] == {"q": 1}


def test_unknown_function_is_resource_not_found(server: Server) -> None:
    client = lambda_client(server)
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName="Nope", Payload=b"{}")
    error = caught.value.response
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Error"]["Message"] == f"Function not found: {ARN}Nope"
    assert isinstance(caught.value, client.exceptions.ResourceNotFoundException)
    raw = request(server.port, "POST", "/2015-03-31/functions/Nope/invocations", body=b"{}")
    assert raw.status == 404 and raw.json() == {"Type": "User", "message": f"Function not found: {ARN}Nope"}
    assert raw.header("x-amzn-ErrorType") == "ResourceNotFoundException"


def test_invalid_json_and_too_large_payloads(server: Server) -> None:
    client = lambda_client(server)
    with pytest.raises(client.exceptions.InvalidRequestContentException) as bad:
        client.invoke(FunctionName="Echo", Payload=b"{not json")
    assert bad.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert bad.value.response["Error"]["Message"].startswith("Could not parse request body into json: ")
    with pytest.raises(client.exceptions.RequestTooLargeException) as large:
        client.invoke(FunctionName="Echo", Payload=json.dumps({"x": "a" * (6 * 1024 * 1024)}).encode())
    assert large.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert large.value.response["Error"]["Message"] == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation")


def test_busy_worker_is_throttled(server: Server) -> None:
    client = lambda_client(server)
    invoke(client, "Worker", {"action": "sleep", "seconds": 3}, InvocationType="Event")  # concurrency 1
    time.sleep(0.3)
    with pytest.raises(client.exceptions.TooManyRequestsException) as caught:
        client.invoke(FunctionName="Worker", Payload=b"{}")
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_log_tail(server: Server) -> None:
    client = lambda_client(server)
    response, _ = invoke(client, "Worker", {"action": "tail"}, LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert log.startswith(f"START RequestId: {request_id}")
    assert "worker got tail" in log and f"REPORT RequestId: {request_id}" in log
    inline, _ = invoke(client, "Echo", {}, LogType="Tail")
    assert "LogResult" not in inline  # in-process functions keep no log of their own


def test_api_requests_are_unaffected(server: Server) -> None:
    reply = server.call("POST", "invoke001", "dev", "/echo", body=b"{}")
    assert reply.status == 200 and reply.body == b"api /echo"
    other = request(server.port, "GET", "/2015-03-31/functions/Echo/invocations")
    assert other.status == 404 and "No API here" in other.json()["message"]


# --- `apiway invoke` and `apiway logs`


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apiway", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


def test_cli_invoke(project: Path, tmp_path: Path) -> None:
    cwd = project.parent
    result = run_cli("invoke", "Echo", "--payload", '{"a": 1}', cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["event"] == {"a": 1}

    event = tmp_path / "event.json"
    event.write_text('{"from": "file"}')
    result = run_cli("invoke", "Worker", "--event", str(event), "--project", str(project), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["event"] == {"from": "file"}  # the handler's print went to stderr
    assert "worker got echo" in result.stderr

    failed = run_cli("invoke", "Worker", "--payload", '{"action": "raise"}', cwd=cwd)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["errorType"] == "ValueError"

    unknown = run_cli("invoke", "Nope", cwd=cwd)
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "no function named 'Nope'" in unknown.stderr and "Echo, Worker" in unknown.stderr

    bad = run_cli("invoke", "Echo", "--payload", "{nope", cwd=cwd)
    assert bad.returncode == 2 and "not JSON" in bad.stderr

    help_text = run_cli("invoke", "--help", cwd=cwd).stdout
    assert "--event" in help_text and "--payload" in help_text and "--project" in help_text


def test_cli_logs(tmp_path: Path) -> None:
    state = tmp_path / "state" / "state.db"
    missing = run_cli("logs", "Worker", "--state", str(state), cwd=tmp_path)
    assert missing.returncode == 1 and "no log for function 'Worker' yet" in missing.stderr
    groups = LogGroups(state.parent / "logs" / "groups")
    for n, line in enumerate(["START RequestId: x", "hello"]):
        groups.stream("/aws/lambda/Worker", "2026/01/01/[$LATEST]0123").put(1000 + n, line)
    groups.close()
    shown = run_cli("logs", "Worker", "--state", str(state), cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout == "START RequestId: x\nhello\n"
    default = LogGroups(tmp_path / ".apiway" / "logs" / "groups")
    default.stream("/aws/lambda/Echo", "s").put(1, "from the default state")
    default.close()
    assert run_cli("logs", "Echo", cwd=tmp_path).stdout == "from the default state\n"
    assert "--state" in run_cli("logs", "--help", cwd=tmp_path).stdout

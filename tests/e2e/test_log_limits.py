"""Logs stay bounded under load: a function's log stream files rotate at `--log-max-bytes` keeping `--log-files`
files (`apiway logs` shows what is kept), and a storm of identical errors writes a few lines plus a count, in
the function's log and in the server's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from apiway.observe.log_groups import LogGroups
from tests.support import Server, function_proxy_api

API = function_proxy_api("Logs", "Noisy")

HANDLER = """import json

def handler(event, context):
    if event["pathParameters"]["proxy"] == "fail":
        raise RuntimeError("always the same failure")
    print("call", context.aws_request_id, "-" * 200)
    return {"statusCode": 200, "body": json.dumps({"ok": True})}
"""


def _log(tmp_path: Path) -> list[str]:
    return [e.message for e in LogGroups(tmp_path / "state" / "logs" / "groups").events("/aws/lambda/Noisy")]


def _project(tmp_path: Path) -> Path:
    (tmp_path / "api.yaml").write_text(API)
    (tmp_path / "noisy.py").write_text(HANDLER)
    (tmp_path / "apiway.yaml").write_text(
        "apis:\n  - openapi: api.yaml\n    id: logs000001\n"
        "functions:\n  Noisy: {handler: noisy.py:handler, mode: worker, concurrency: 1}\n"
    )
    return tmp_path / "apiway.yaml"


def test_function_logs_rotate_at_the_size_bound_and_keep_n_files(serve, tmp_path: Path) -> None:
    server: Server = serve(_project(tmp_path), "--log-max-bytes", "4096", "--log-files", "3")
    for n in range(60):  # ~600 bytes of log each: ~36 KB in all, nine times the bound
        assert server.call("GET", "logs000001", "dev", f"/ok{n}").status == 200
        server.stderr()  # keep the server's stderr pipe drained
    server.stop()  # what is buffered is written on the way out
    (stream,) = (tmp_path / "state" / "logs" / "groups" / "%2Faws%2Flambda%2FNoisy").glob("*/")  # one environment
    files = sorted(p.name for p in stream.iterdir())
    assert len(files) == 3 and [f.partition(".log")[2] for f in files] == ["", ".1", ".2"]
    assert all(0 < p.stat().st_size <= 4096 for p in stream.iterdir())
    shown = subprocess.run([sys.executable, "-m", "apiway", "logs", "Noisy", "--state", str(server.state)],
                           capture_output=True, timeout=30)
    kept = _log(tmp_path)
    assert shown.returncode == 0 and shown.stdout.decode() == "".join(line + "\n" for line in kept)
    assert kept[-1].startswith("REPORT RequestId: ")  # the newest invocation is there


def test_a_burst_of_identical_errors_writes_a_few_lines_and_a_count(serve, tmp_path: Path) -> None:
    server: Server = serve(_project(tmp_path))
    err = ""
    for _ in range(50):  # well within the 10 s window
        assert server.call("GET", "logs000001", "dev", "/fail").status == 502
        err += server.stderr()
    server.stop()  # the counts still held back are written on the way out
    err += server.stderr()

    log = _log(tmp_path)
    error_line = "[ERROR] RuntimeError: always the same failure"
    assert log.count(error_line) == 10
    assert sum(line.startswith(error_line + " (repeated 40 times in the last ") for line in log) == 1
    assert sum(line.startswith("START RequestId: ") for line in log) == 50  # framing is never held back

    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    failures = [r for r in records if r["level"] == "ERROR" and r.get("path") == "/dev/fail"]
    assert len(failures) == 10
    counted = [r for r in records if r.get("repeated")]
    assert [r["repeated"] for r in counted] == [40]
    assert counted[0]["message"].startswith("Lambda execution failed with status 200 due to customer function error")
    assert " (repeated 40 times in the last " in counted[0]["message"]


def test_quiet_functions_keep_function_output_off_stderr_and_in_the_log(serve, tmp_path: Path) -> None:
    server: Server = serve(_project(tmp_path), "--quiet-functions")
    for n in range(5):
        assert server.call("GET", "logs000001", "dev", f"/ok{n}").status == 200
    server.stop()
    err = server.stderr()
    log = "\n".join(_log(tmp_path))
    assert log.count("REPORT RequestId: ") == 5 and log.count("call ") == 5
    assert "[Noisy]" not in err and "REPORT RequestId" not in err

"""`apiway serve --watch`: a function whose code changes is reloaded — inline handlers re-imported,
workers replaced — without restarting the gateway."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apiway.functions.base import FunctionSpec
from apiway.functions.watch import CodeWatcher

API = """openapi: 3.0.1
info: {title: Watch}
paths:
  /inline:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Inline/invocations
  /worker:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Worker/invocations
"""


def handler(version: str) -> str:
    return f"def handler(event, context):\n    return {{'statusCode': 200, 'body': '{version}'}}\n"


def test_poll_reports_changed_functions(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "fa.py").write_text(handler("1"))
    (tmp_path / "b" / "fb.py").write_text(handler("1"))
    reloaded: list[str] = []
    watcher = CodeWatcher([FunctionSpec("A", "a/fa.py:handler", tmp_path), FunctionSpec("B", "b/fb.py:handler", tmp_path)],
                          reloaded.append)
    assert watcher.poll() == []
    (tmp_path / "a" / "helper.py").write_text("X = 1\n")  # any file next to the handler counts
    assert watcher.poll() == ["A"] and reloaded == ["A"]
    assert watcher.poll() == []


def wait_for_body(server, path: str, body: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.call("GET", "watchapi01", "dev", path).body == body.encode():
            return
        time.sleep(0.2)
    pytest.fail(f"{path} never answered {body!r}")


@pytest.mark.skipif(os.environ.get("APIWAY_TEST_SERVER") == "uvicorn",
                    reason="--watch runs in the native server's loop; `serve --server uvicorn --watch` refuses")
def test_serve_watch_reloads_changed_functions(serve, tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(API)
    for name in ("inline", "worker"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "fn.py").write_text(handler(f"{name} v1"))
    (tmp_path / "apiway.yaml").write_text(
        "apis:\n  - openapi: api.yaml\n    id: watchapi01\nfunctions:\n"
        "  Inline: {handler: inline/fn.py:handler, mode: inline}\n"
        "  Worker: {handler: worker/fn.py:handler, mode: worker}\n"
    )
    server = serve(tmp_path / "apiway.yaml", "--watch")
    assert "Watching the code of 2 function(s)" in server.output
    wait_for_body(server, "/inline", "inline v1")
    wait_for_body(server, "/worker", "worker v1")
    time.sleep(0.05)  # a new mtime even on coarse file systems
    (tmp_path / "inline" / "fn.py").write_text(handler("inline v2"))
    (tmp_path / "worker" / "fn.py").write_text(handler("worker v2"))
    wait_for_body(server, "/inline", "inline v2")
    wait_for_body(server, "/worker", "worker v2")
    (tmp_path / "inline" / "fn.py").write_text("def handler(:\n")  # a broken edit keeps the last good code
    time.sleep(2.5)
    assert server.call("GET", "watchapi01", "dev", "/inline").body == b"inline v2"
    assert server.proc.poll() is None


def test_watch_with_uvicorn_is_refused(tmp_path: Path) -> None:
    """`--watch` needs the native server: asking for both is a clear error, not a silent no-op."""
    (tmp_path / "api.yaml").write_text(API.split("  /worker:")[0].replace("Inline", "Fn"))
    result = subprocess.run([sys.executable, "-m", "apiway", "serve", "api.yaml", "--watch", "--server", "uvicorn",
                             "--port", "1"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--watch needs the native server" in result.stderr

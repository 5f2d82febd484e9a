"""Test support: start `apiway serve` as a real subprocess on a free port and talk HTTP to it."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson

from apiway.core.clock import SYSTEM_CLOCK
from apiway.model.documents import parse_text
from apiway.observe.log_groups import LogGroups
from apiway.openapi.importer import import_openapi

REPO = Path(__file__).resolve().parent.parent


def tell(observer: Callable[..., Any], done: Any) -> Any:
    """Call a stage observer (or an access-log renderer) as the gateway does, with a Completion's parts."""
    return observer(done.request, done.response, done.stage, done.invocation, done.error_type, done.latency_ms)
SPEC = REPO.parent / "shared" / "spec" / "aws-recorded"


MOCK_API = """openapi: 3.0.1
info: {title: Store}
paths:
  /a:
    get:
      x-amazon-apigateway-integration: {type: mock}
"""


def function_proxy_api(title: str, function: str) -> str:
    """An OpenAPI document sending every path and method to one function (AWS_PROXY, `{proxy+}`)."""
    return f"""openapi: 3.0.1
info: {{title: {title}}}
paths:
  /{{proxy+}}:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:{function}/invocations
"""


def mock_api_definition(api_id: str):
    """A one-method MOCK API as the importer builds it, for tests of what stores and deploys definitions."""
    return import_openapi(parse_text(MOCK_API, "a.yaml"), MOCK_API, "a.yaml", api_id)


def recorded(name: str) -> dict:
    """A file of AWS-recorded responses. Missing outside CI: skip loudly; in CI: fail."""
    path = SPEC / name
    if not path.is_file():
        import pytest

        message = f"AWS recordings not found at {path} (the shared spec folder must sit beside the repo)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return orjson.loads(path.read_bytes())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None

    def json(self):
        return orjson.loads(self.body)


def request(port: int, method: str, path: str, headers: dict[str, str] | list[tuple[str, str]] | None = None,
            body: bytes | str | None = None, timeout: float = 10) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        if not any(k.lower() == "host" for k, _ in items):
            items.insert(0, ("Host", f"127.0.0.1:{port}"))
        data = body.encode() if isinstance(body, str) else body
        for k, v in items:
            conn.putheader(k, v)
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        resp = conn.getresponse()
        return Reply(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


class Server:
    """A running `apiway serve`; `api_ids` maps API name → id as printed at start-up."""

    def __init__(self, target: Path | None, state: Path, extra_args: list[str] | None = None,
                 port: int | None = None, env: dict[str, str] | None = None):
        self.port = port or free_port()
        self.state = state
        self.target = target
        front_end = os.environ.get("APIWAY_TEST_SERVER")  # run the whole e2e suite on either front-end
        cmd = [sys.executable, "-m", "apiway", "serve", *([str(target)] if target else []), "--port", str(self.port),
               "--state", str(state), *(["--server", front_end] if front_end else []), *(extra_args or [])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=state.parent,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                                     start_new_session=True)
        self.output = ""
        self.api_ids: dict[str, str] = {}
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        while time.monotonic() < deadline:
            chunk = self.proc.stdout.read()
            if chunk:
                self.output += chunk.decode()
            if self.proc.poll() is not None:
                raise RuntimeError(f"apiway exited {self.proc.returncode}: {self.output}{self.stderr()}")
            if "Listening on" in self.output and self._port_open():
                for name, api_id in re.findall(r"^  (\S.*?)  \(api ([a-z0-9]+), stage", self.output, re.M):
                    self.api_ids[name] = api_id
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"apiway did not start: {self.output}{self.stderr()}")

    def _port_open(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stderr(self) -> str:
        if self.proc.stderr is None:
            return ""
        os.set_blocking(self.proc.stderr.fileno(), False)
        data = self.proc.stderr.read() or b""
        return data.decode(errors="replace")

    def path_url(self, api_id: str, stage: str, path: str) -> str:
        return f"/restapis/{api_id}/{stage}/_user_request_{path}"

    def call(self, method: str, api_id: str, stage: str, path: str, **kw) -> Reply:
        """Host-style invoke URL: Host {apiId}.execute-api.localhost, path /{stage}{path}."""
        headers = kw.pop("headers", None) or {}
        items = list(headers.items()) if isinstance(headers, dict) else list(headers)
        items.insert(0, ("Host", f"{api_id}.execute-api.localhost:{self.port}"))
        return request(self.port, method, f"/{stage}{path}", items, **kw)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def apigateway_client(port: int, **credentials: str):
    """A real boto3 `apigateway` client pointed at a running apiway (any credentials unless the
    control plane requires admin ones)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "apigateway", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id=credentials.get("key", "test"), aws_secret_access_key=credentials.get("secret", "test"),
        config=Config(retries={"max_attempts": 1}),
    )


def run_guards(guards, inv) -> None:
    """Run a method's checks as the gateway does: each returns None, or an awaitable when it must wait."""
    import asyncio

    for guard in guards:
        pending = guard(inv)
        if pending is not None:
            asyncio.run(pending)


# What a bare Invocation built outside a compiled stage needs of its stage: the clock's wall time, no observers.
BARE_STAGE: Any = SimpleNamespace(wall_ms=SYSTEM_CLOCK.wall_ms, observers=(), on_start=None)


def until(read: Callable[[], Any], timeout: float = 15) -> Any:
    """`read()` once it is truthy, or its last value after `timeout` seconds (polled every 0.02 s, so that a
    bound such as "served within 1 s" is checked to a fiftieth of it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def request_log_lines(groups: LogGroups, group: str, request_id: str, seconds: float = 10) -> list[str]:
    """A request's execution-log lines, without their `(requestId) ` prefix, once its `Method completed` line is in
    the group (the log writer flushes apart from the request)."""
    prefix = f"({request_id}) "
    deadline = time.monotonic() + seconds
    while True:
        lines = [e["message"][len(prefix):] for e in groups.tail(group, 0, 10_000) if e["message"].startswith(prefix)]
        if any(line.startswith("Method completed") for line in lines):
            return lines
        if time.monotonic() >= deadline:
            raise AssertionError(f"{group}: request {request_id} not completed in the log: {lines}")
        time.sleep(0.05)

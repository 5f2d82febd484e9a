"""Runtime "provided": the function's own executable `bootstrap` is the runtime, talking to the Runtime API."""

from __future__ import annotations

import asyncio
import io
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from apiway.functions.base import FunctionSpec
from apiway.functions.workers import WorkerRunner

FIXTURES = Path(__file__).parent / "fixtures" / "runtimes"
RID = "22222222-3333-4444-8555-{:012d}"


def setup(tmp_path: Path, *specs: tuple[str, str, str, dict[str, Any]]) -> WorkerRunner:
    """Copy the fixtures into a task root (executable bits are set here, not trusted from the checkout)."""
    for source in FIXTURES.iterdir():
        if source.is_file():
            target = tmp_path / source.name
            shutil.copyfile(source, target)
            if source.name.endswith("_bootstrap"):
                target.chmod(0o755)
    runner = WorkerRunner(log_stream=io.StringIO())
    for name, bootstrap, handler, options in specs:
        runner.load(FunctionSpec(name, handler, tmp_path, mode="worker", runtime="provided",
                                 bootstrap=tmp_path / bootstrap, **options))
    return runner


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 30))


async def call(r: WorkerRunner, name: str, event: Any = None, n: int = 0) -> tuple[Any, str | None]:
    result = await r.invoke(name, {} if event is None else event, RID.format(n))
    return orjson.loads(result.payload), result.function_error


RIC = {"environment": {"PYTHON": sys.executable}, "timeout": 10}


def test_aws_runtime_interface_client_cold_warm_and_errors(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Ric", "ric_bootstrap", "app.handler", RIC), ("RicBoom", "ric_bootstrap", "app.boom", RIC))

    async def body() -> None:
        cold, error = await call(r, "Ric", {"a": 1}, 1)
        assert error is None, cold
        assert cold["count"] == 1 and cold["event"] == {"a": 1} and cold["request"] == RID.format(1)
        assert cold["name"] == "Ric" and 0 < cold["remaining"] <= 10_000
        warm, error = await call(r, "Ric", {"b": 2}, 2)
        assert error is None and warm["count"] == 2 and warm["pid"] == cold["pid"]  # module state persists
        out, error = await call(r, "RicBoom", None, 3)
        assert error == "Unhandled"
        assert out["errorType"] == "ValueError" and out["errorMessage"] == "bad input"
        assert out["requestId"] == RID.format(3) and any("in boom" in frame for frame in out["stackTrace"])
        again, error = await call(r, "RicBoom", None, 4)  # the environment survives its handler's exceptions
        assert error == "Unhandled" and again["requestId"] == RID.format(4)
        await r.close()

    run(body)
    logs = r.logs("Ric")
    assert "app loaded" in logs and "invocation 1" in logs and "invocation 2" in logs
    assert logs.index("app loaded") < logs.index(f"START RequestId: {RID.format(1)} Version: $LATEST")
    assert sum(line.startswith("REPORT ") and "Init Duration" in line for line in logs) == 1
    assert "[ERROR] ValueError: bad input" in r.logs("RicBoom")  # the RIC's CR-separated record, split into lines


def test_aws_runtime_interface_client_import_error(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Missing", "ric_bootstrap", "no_such_module.handler", RIC))

    async def body() -> None:
        out, error = await call(r, "Missing", None, 5)
        assert error == "Unhandled" and out["errorType"] == "Runtime.ImportModuleError", out
        again, error = await call(r, "Missing", None, 6)  # init is retried by the next invocation
        assert error == "Unhandled" and again["errorType"] == "Runtime.ImportModuleError"
        await r.close()

    run(body)


@pytest.mark.parametrize("bootstrap", ["curl_bootstrap", "urllib_bootstrap"])
def test_any_executable_speaking_the_runtime_api_is_a_runtime(tmp_path: Path, bootstrap: str) -> None:
    if bootstrap == "curl_bootstrap" and shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    if bootstrap == "urllib_bootstrap" and shutil.which("python3") is None:
        pytest.skip("python3 is not on PATH")
    r = setup(tmp_path, ("Echo", bootstrap, "echo.handler", {}))

    async def body() -> None:
        first, error = await call(r, "Echo", {"n": 1}, 7)
        assert error is None and first == {"handler": "echo.handler", "echo": {"n": 1}}
        second, error = await call(r, "Echo", {"n": [2, "two"]}, 8)
        assert error is None and second == {"handler": "echo.handler", "echo": {"n": [2, "two"]}}
        await r.close()

    run(body)
    logs = r.logs("Echo")
    assert any(line.endswith(f"runtime got {RID.format(7)}") for line in logs)
    assert any(line.endswith(f"runtime got {RID.format(8)}") for line in logs)


def test_bootstrap_that_exits_fails_the_invocation(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Quit", "exit_bootstrap", "unused", {}))

    async def body() -> None:
        out, error = await call(r, "Quit", None, 9)
        assert error == "Unhandled"
        assert out == {"errorType": "Runtime.ExitError",
                       "errorMessage": f"RequestId: {RID.format(9)} Error: Runtime exited with error: exit status 7"}
        again, error = await call(r, "Quit", None, 10)  # a fresh environment each time
        assert error == "Unhandled" and again["errorType"] == "Runtime.ExitError"
        await r.close()

    run(body)
    assert "giving up" in r.logs("Quit")

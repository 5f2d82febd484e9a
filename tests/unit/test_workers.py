"""Worker mode: real execution environments (processes) driven through the Lambda Runtime API on real sockets."""

from __future__ import annotations

import asyncio
import io
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from apiway.functions.base import FunctionSpec, FunctionThrottled
from apiway.functions.workers import WorkerRunner
from apiway.observe.log_groups import LogGroups

HANDLERS = '''
import os, sys, time
COUNT = 0
print("module loaded")

def count(event, context):
    global COUNT
    COUNT += 1
    print("count is", COUNT)
    print("to stderr", file=sys.stderr)
    return {"count": COUNT, "pid": os.getpid(), "event": event}

def env(event, context):
    return {"name": os.environ["AWS_LAMBDA_FUNCTION_NAME"], "only": os.environ.get("ONLY_HERE"),
            "gateway_secret": os.environ.get("GATEWAY_ONLY"), "api": os.environ.get("AWS_LAMBDA_RUNTIME_API"),
            "trace": os.environ.get("_X_AMZN_TRACE_ID"), "ctx_name": context.function_name,
            "memory": context.memory_limit_in_mb, "remaining": context.get_remaining_time_in_millis(),
            "request": context.aws_request_id, "arn": context.invoked_function_arn,
            "group": context.log_group_name, "stream": context.log_stream_name}

def sleep(event, context):
    time.sleep(event.get("seconds", 0.5))
    return {"slept": event.get("seconds", 0.5), "pid": os.getpid()}

def boom(event, context):
    raise KeyError("missing thing")

def die(event, context):
    os._exit(3)

def unmarshalable(event, context):
    return {"value": object()}

def big(event, context):
    return {"data": "x" * event["size"]}

def big_error(event, context):
    raise ValueError("x" * event["size"])

def argv(event, context):
    import subprocess
    child = """if True:
        import os, stat
        for fd in range(256):  # what a child process of the handler inherits
            try:
                print(stat.S_ISSOCK(os.fstat(fd).st_mode))
            except OSError:
                pass"""
    out = subprocess.run([sys.executable, "-c", child], close_fds=False, capture_output=True, text=True).stdout
    return {"argv": sys.argv[1:], "child_sockets": out.split().count("True"), "child_fds": len(out.split())}

def grow(event, context):
    held = bytearray(event["mb"] * 1024 * 1024)
    held[::4096] = b"x" * len(held[::4096])  # every page resident
    with open("/proc/self/status") as status:
        return {"peak_kb": next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))}

def rss(event, context):
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return {"rss_kb": kb, "trace": os.environ.get("_X_AMZN_TRACE_ID")}
'''

RID = "11111111-2222-4333-8444-{:012d}"


def setup(tmp_path: Path, *specs: tuple[str, str, dict[str, Any]]) -> WorkerRunner:
    (tmp_path / "fns.py").write_text(HANDLERS)
    (tmp_path / "broken.py").write_text("import nope_not_a_module\n")
    runner = WorkerRunner(log_stream=io.StringIO())
    for name, handler, options in specs:
        runner.load(FunctionSpec(name, handler, tmp_path, **options))
    return runner


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 15))


async def call(r: WorkerRunner, name: str, event: Any = None, n: int = 0) -> tuple[Any, str | None]:
    result = await r.invoke(name, {} if event is None else event, RID.format(n))
    return orjson.loads(result.payload), result.function_error


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_cold_then_warm_keeps_module_state_and_logs_each_invocation(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Count", "fns.py:count", {}))

    async def body() -> None:
        first, error = await call(r, "Count", {"a": 1}, 1)
        assert error is None and first["count"] == 1 and first["event"] == {"a": 1}
        second, _ = await call(r, "Count", None, 2)
        assert second["count"] == 2 and second["pid"] == first["pid"]  # same warm environment
        await r.close()
        assert not alive(first["pid"])

    run(body)
    logs = r.logs("Count")
    assert logs[0] == "module loaded"  # init output comes before the first START
    assert logs[1] == f"START RequestId: {RID.format(1)} Version: $LATEST"
    assert logs[2:4] == ["count is 1", "to stderr"]
    assert logs[4] == f"END RequestId: {RID.format(1)}"
    cold = logs[5].split("\t")
    assert cold[0] == f"REPORT RequestId: {RID.format(1)}" and cold[1].startswith("Duration: ")
    assert cold[2].startswith("Billed Duration: ") and cold[3] == "Memory Size: 128 MB"
    assert cold[4].startswith("Max Memory Used: ") and cold[5].startswith("Init Duration: ")
    assert logs[6:9] == [f"START RequestId: {RID.format(2)} Version: $LATEST", "count is 2", "to stderr"]
    assert "Init Duration" not in logs[10] and logs[10].startswith(f"REPORT RequestId: {RID.format(2)}\t")


def test_max_memory_used_follows_the_peak_read_again_only_after_page_faults(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Grow", "fns.py:grow", {"memory": 256}))
    peaks = []

    async def body() -> None:
        for n, mb in enumerate((0, 0, 96, 0)):
            out, error = await call(r, "Grow", {"mb": mb}, n)
            assert error is None
            peaks.append(out["peak_kb"])
        await r.close()

    run(body)
    reported = [int(re.search(r"Max Memory Used: (\d+) MB", line)[1])  # type: ignore[index]
                for line in r.logs("Grow") if line.startswith("REPORT")]
    assert len(reported) == 4
    assert reported[0] >= peaks[0] // 1024 and reported[1] >= reported[0]
    assert reported[2] >= peaks[2] / 1024 >= reported[1] + 90  # the 96 MB the third invocation touched
    assert reported[3] == reported[2]  # a peak, not the present size


def test_environment_variables_and_context(tmp_path: Path) -> None:
    os.environ["GATEWAY_ONLY"] = "secret"
    r = setup(tmp_path, ("Env", "fns.py:env", {"timeout": 2, "memory": 256, "environment": {"ONLY_HERE": "x"}}))

    async def body() -> None:
        event = {"headers": {"X-Amzn-Trace-Id": "Root=1-67890abc-0123456789abcdef01234567"}}
        out, error = await call(r, "Env", event, 7)
        await r.close()
        assert error is None
        assert out["name"] == out["ctx_name"] == "Env" and out["only"] == "x" and out["gateway_secret"] is None
        assert out["api"].startswith("127.0.0.1:") and out["memory"] == "256"
        assert 1000 < out["remaining"] <= 2000 and out["request"] == RID.format(7)
        assert out["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:Env"
        assert out["group"] == "/aws/lambda/Env" and "[$LATEST]" in out["stream"]
        assert out["trace"].startswith("Root=1-67890abc-0123456789abcdef01234567;")

    try:
        run(body)
    finally:
        del os.environ["GATEWAY_ONLY"]


def test_many_invocations_keep_the_worker_flat_and_each_sees_its_own_trace_id(tmp_path: Path) -> None:
    # Each invocation has a new trace id; setting it with setenv(3) grew the worker by ~144 bytes a call
    # (glibc keeps every replaced value), i.e. ~1.4 MB over 10,000 calls.
    r = setup(tmp_path, ("Rss", "fns.py:rss", {}))

    async def body() -> None:
        for n in range(1000):  # warm-up: the interpreter's caches and the allocator settle
            out, _ = await call(r, "Rss", {}, n)
        before, count = out["rss_kb"], 0
        stop = asyncio.get_running_loop().time() + 30
        while count < 30_000 and asyncio.get_running_loop().time() < stop:
            count += 1
            trace = f"Root=1-67890abc-{count:024x}"
            out, error = await call(r, "Rss", {"headers": {"X-Amzn-Trace-Id": trace}}, count)
            assert error is None and out["trace"].startswith(trace + ";")
        await r.close()
        assert count >= 10_000, f"only {count} invocations in 30 s"
        assert out["rss_kb"] - before < 512, f"grew {out['rss_kb'] - before} kB over {count} invocations"

    asyncio.run(asyncio.wait_for(body(), 60))


def test_concurrency_limit_throttles_the_extra_invocation(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Sleep", "fns.py:sleep", {"concurrency": 2}))

    async def body() -> None:
        calls = [call(r, "Sleep", {"seconds": 0.6}, n) for n in range(3)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        throttled = [x for x in results if isinstance(x, FunctionThrottled)]
        served = [x for x in results if not isinstance(x, BaseException)]
        assert len(throttled) == 1 and len(served) == 2
        assert throttled[0].status_code == 429  # the gateway answers 500 (e2e tests)
        assert orjson.loads(throttled[0].payload)["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        again, _ = await call(r, "Sleep", {"seconds": 0}, 9)  # a free environment is reused, warm
        assert again["pid"] in {s[0]["pid"] for s in served}
        await r.close()

    run(body)


def test_timeout_kills_the_worker_and_the_next_call_gets_a_fresh_one(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Slow", "fns.py:sleep", {"timeout": 0.3}))

    async def body() -> None:
        warm, _ = await call(r, "Slow", {"seconds": 0}, 1)
        out, error = await call(r, "Slow", {"seconds": 5}, 2)
        assert error == "Unhandled"
        assert out["errorMessage"].endswith(f" {RID.format(2)} Task timed out after 0.30 seconds")
        await asyncio.sleep(0.05)
        assert not alive(warm["pid"])
        fresh, error = await call(r, "Slow", {"seconds": 0}, 3)
        assert error is None and fresh["pid"] != warm["pid"]
        await r.close()

    run(body)
    assert any(line.endswith("Task timed out after 0.30 seconds") for line in r.logs("Slow"))


def test_handler_exception_is_an_unhandled_function_error(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Boom", "fns.py:boom", {}), ("Bad", "fns.py:unmarshalable", {}))

    async def body() -> None:
        out, error = await call(r, "Boom", None, 4)
        assert error == "Unhandled"
        assert out["errorType"] == "KeyError" and out["errorMessage"] == "'missing thing'"
        assert out["requestId"] == RID.format(4)
        assert len(out["stackTrace"]) == 1 and "in boom" in out["stackTrace"][0]
        bad, error = await call(r, "Bad", None, 5)
        assert error == "Unhandled" and bad["errorType"] == "Runtime.MarshalError"
        assert bad["errorMessage"].startswith("Unable to marshal response:")
        again, _ = await call(r, "Boom", None, 6)  # the environment survives its handler's exceptions
        assert again["requestId"] == RID.format(6)
        await r.close()

    run(body)
    assert "[ERROR] KeyError: 'missing thing'" in r.logs("Boom")


def test_runtime_exit_is_survived(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Die", "fns.py:die", {}), ("Count", "fns.py:count", {}))

    async def body() -> None:
        out, error = await call(r, "Die", None, 8)
        assert error == "Unhandled"
        assert out == {"errorType": "Runtime.ExitError",
                       "errorMessage": f"RequestId: {RID.format(8)} Error: Runtime exited with error: exit status 3"}
        again, error = await call(r, "Die", None, 9)  # a new environment, which dies the same way
        assert error == "Unhandled" and again["errorType"] == "Runtime.ExitError"
        ok, error = await call(r, "Count", None, 10)
        assert error is None and ok["count"] == 1
        await r.close()

    run(body)
    assert "Runtime.ExitError" in r.logs("Die")


def test_a_response_over_the_limit_fails_the_invocation_and_the_environment_serves_on(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Big", "fns.py:big", {"memory": 512}), ("BigError", "fns.py:big_error", {"memory": 512}))

    async def body() -> None:
        size = 6 * 1024 * 1024 + 100 - len('{"data":""}')
        ok, error = await call(r, "Big", {"size": size}, 1)  # exactly at the limit
        assert error is None and len(ok["data"]) == size
        out, error = await call(r, "Big", {"size": size + 1}, 2)
        assert error == "Unhandled" and out == {
            "errorMessage": "Response payload size (6291557 bytes) exceeded maximum allowed payload size "
                            "(6291556 bytes).", "errorType": "Function.ResponseSizeTooLarge"}
        again, error = await call(r, "Big", {"size": 3}, 3)
        assert error is None and again == {"data": "xxx"}
        doc, error = await call(r, "BigError", {"size": size}, 4)  # an error document over the limit
        assert error == "Unhandled"
        assert doc == {"errorMessage": "Unknown application error occurred", "errorType": "ValueError"}
        small, error = await call(r, "BigError", {"size": 3}, 5)
        assert error == "Unhandled" and small["errorType"] == "ValueError" and small["errorMessage"] == "xxx"
        await r.close()

    run(body)


def test_the_handler_sees_neither_the_channel_nor_its_descriptor(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Argv", "fns.py:argv", {}))

    async def body() -> None:
        out, error = await call(r, "Argv", None, 1)
        assert error is None and out["argv"] == [] and out["child_sockets"] == 0 and out["child_fds"] >= 3
        await r.close()

    run(body)


def test_import_error_is_reported_as_an_init_error(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Broken", "broken.py:handler", {}), ("Missing", "fns.py:nothing_here", {}))

    async def body() -> None:
        out, error = await call(r, "Broken", None, 11)
        assert error == "Unhandled"
        assert out["errorType"] == "Runtime.ImportModuleError"
        assert out["errorMessage"] == "Unable to import module 'broken': No module named 'nope_not_a_module'"
        missing, error = await call(r, "Missing", None, 12)
        assert error == "Unhandled" and missing["errorType"] == "Runtime.HandlerNotFound"
        assert missing["errorMessage"] == "Handler 'nothing_here' missing on module 'fns'"
        again, _ = await call(r, "Broken", None, 13)  # init is retried by the next invocation
        assert again["errorType"] == "Runtime.ImportModuleError"
        await r.close()

    run(body)
    assert any(line.startswith("[ERROR] Runtime.ImportModuleError:") for line in r.logs("Broken"))


def test_close_leaves_no_processes(tmp_path: Path) -> None:
    r = setup(tmp_path, ("Sleep", "fns.py:sleep", {"timeout": 10}))

    async def body() -> None:
        idle, _ = await call(r, "Sleep", {"seconds": 0}, 1)
        busy = asyncio.ensure_future(call(r, "Sleep", {"seconds": 5}, 2))
        await asyncio.sleep(0.2)
        await r.close()
        out, error = await busy
        assert error == "Unhandled" and out["errorType"] == "Runtime.ExitError"
        assert not alive(idle["pid"])
        assert not [p for p in os.listdir("/proc") if p.isdigit() and _child_of_us(int(p))]

    run(body)


def _child_of_us(pid: int) -> bool:
    """A live execution environment started by this process (the runner's watchdog is not one)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            watchdog = b"apiway.functions.reaper" in f.read()
    except OSError:
        return False
    return int(fields[1]) == os.getpid() and fields[0] != "Z" and not watchdog


def _group_lines(groups: LogGroups, name: str) -> list[str]:
    groups.close()
    return [e.message for e in groups.events(f"/aws/lambda/{name}")]


def test_logs_are_kept_in_each_functions_log_group(tmp_path: Path) -> None:
    (tmp_path / "fns.py").write_text(HANDLERS)
    stream = io.StringIO()
    groups = LogGroups(tmp_path / "logs" / "groups")
    r = WorkerRunner(log_stream=stream, log_groups=groups)
    r.load(FunctionSpec("Count", "fns.py:count", tmp_path))
    r.load(FunctionSpec("Boom", "fns.py:boom", tmp_path))

    async def body() -> None:
        await call(r, "Count", None, 1)
        await call(r, "Count", None, 2)
        await call(r, "Boom", None, 3)
        await r.close()

    run(body)
    lines = _group_lines(groups, "Count")
    assert lines == r.logs("Count")  # exactly the lines echoed, without the prefix
    assert lines[0] == "module loaded" and lines[1] == f"START RequestId: {RID.format(1)} Version: $LATEST"
    assert lines[2:4] == ["count is 1", "to stderr"] and lines[4] == f"END RequestId: {RID.format(1)}"
    assert lines[5].startswith(f"REPORT RequestId: {RID.format(1)}\t") and "Init Duration" in lines[5]
    assert lines[6:9] == [f"START RequestId: {RID.format(2)} Version: $LATEST", "count is 2", "to stderr"]
    assert lines[9] == f"END RequestId: {RID.format(2)}" and lines[10].startswith(f"REPORT RequestId: {RID.format(2)}\t")
    assert len(lines) == 11
    assert "[ERROR] KeyError: 'missing thing'" in _group_lines(groups, "Boom")
    (stream_name,) = [s.name for s in groups.streams("/aws/lambda/Count")]  # one environment, Lambda's stream name
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", stream_name)
    echoed = stream.getvalue().splitlines()
    assert [line[len("[Count] "):] for line in echoed if line.startswith("[Count] ")] == lines
    assert "\x1b[" not in stream.getvalue()  # no colour when the stream is not a terminal


def test_a_terminal_gets_a_colour_per_function(tmp_path: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    (tmp_path / "fns.py").write_text(HANDLERS)
    stream = Terminal()
    groups = LogGroups(tmp_path / "logs")
    r = WorkerRunner(log_stream=stream, log_groups=groups)
    r.load(FunctionSpec("Count", "fns.py:count", tmp_path))
    r.load(FunctionSpec("Sleep", "fns.py:sleep", tmp_path))

    async def body() -> None:
        await call(r, "Count", None, 1)
        await call(r, "Sleep", {"seconds": 0}, 2)
        await r.close()

    run(body)
    echoed = stream.getvalue().splitlines()
    count = {line.split("[Count]")[0] for line in echoed if "[Count]" in line}
    sleep = {line.split("[Sleep]")[0] for line in echoed if "[Sleep]" in line}
    assert len(count) == len(sleep) == 1 and count != sleep and next(iter(count)).startswith("\x1b[")
    assert all("\x1b[0m " in line for line in echoed)
    assert not any("\x1b[" in line for line in _group_lines(groups, "Count"))  # the log is never coloured


VERSIONED = '''
import os, time
VERSION = "{version}"

def handler(event, context):
    time.sleep(event.get("seconds", 0))
    return {{"version": VERSION, "pid": os.getpid()}}
'''


def test_reload_stops_idle_environments_and_lets_busy_ones_finish(tmp_path: Path) -> None:
    source = tmp_path / "ver.py"
    source.write_text(VERSIONED.format(version="v1"))
    r = WorkerRunner(log_stream=io.StringIO())
    r.load(FunctionSpec("Ver", "ver.py:handler", tmp_path, timeout=10, concurrency=2))

    def workers() -> list[int]:
        return [int(p) for p in os.listdir("/proc") if p.isdigit() and _child_of_us(int(p))]

    async def body() -> None:
        warm = await asyncio.gather(call(r, "Ver", {"seconds": 0.3}, 1), call(r, "Ver", {"seconds": 0.3}, 2))
        assert {out["version"] for out, _ in warm} == {"v1"} and len({out["pid"] for out, _ in warm}) == 2
        slow = asyncio.ensure_future(call(r, "Ver", {"seconds": 1.0}, 3))  # takes one warm environment
        await asyncio.sleep(0.2)
        source.write_text(VERSIONED.format(version="v2"))  # same size, same second: no stale cached bytecode
        r.reload("Ver")
        await asyncio.sleep(0.1)
        idle = [out["pid"] for out, _ in warm if alive(out["pid"])]
        assert len(idle) == 1  # the idle environment was stopped at once, the busy one goes on
        fresh, error = await call(r, "Ver", None, 4)
        assert error is None and fresh["version"] == "v2" and fresh["pid"] not in idle
        with pytest.raises(FunctionThrottled):  # the finishing environment still counts: no pile-up
            await asyncio.gather(call(r, "Ver", {"seconds": 0.3}, 5), call(r, "Ver", {"seconds": 0.3}, 6))
        old, error = await slow
        assert error is None and old == {"version": "v1", "pid": idle[0]}  # not dropped, answered by the old code
        await asyncio.sleep(0.1)
        assert not alive(idle[0])  # then discarded instead of returning to the pool
        for n in range(7, 12):
            out, error = await call(r, "Ver", None, n)
            assert error is None and out["version"] == "v2"
        both = await asyncio.gather(call(r, "Ver", {"seconds": 0.2}, 12), call(r, "Ver", {"seconds": 0.2}, 13))
        assert {out["version"] for out, _ in both} == {"v2"}
        assert len(workers()) <= 2
        await r.close()
        assert workers() == []

    run(body)


def test_loading_a_loaded_function_again_reloads_it(tmp_path: Path) -> None:
    source = tmp_path / "ver.py"
    source.write_text(VERSIONED.format(version="v1"))
    r = WorkerRunner(log_stream=io.StringIO())
    r.load(FunctionSpec("Ver", "ver.py:handler", tmp_path))

    async def body() -> None:
        first, _ = await call(r, "Ver", None, 1)
        source.write_text(VERSIONED.format(version="v2"))
        r.load(FunctionSpec("Ver", "ver.py:handler", tmp_path, concurrency=1))
        await asyncio.sleep(0.1)
        assert not alive(first["pid"])  # not left running outside the runner's reach
        second, _ = await call(r, "Ver", None, 2)
        assert first["version"] == "v1" and second["version"] == "v2"
        with pytest.raises(FunctionThrottled):  # the new settings apply
            await asyncio.gather(call(r, "Ver", {"seconds": 0.3}, 3), call(r, "Ver", {"seconds": 0.3}, 4))
        await asyncio.sleep(0.4)
        await r.close()

    run(body)

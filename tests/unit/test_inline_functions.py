"""In-process functions: Lambda's context and environment, each function seeing only its own variables,
errors and timeouts reported as Lambda reports them."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson

from apiway.functions.base import FunctionSpec
from apiway.functions.inline import InlineRunner

HANDLERS = '''
import os, time
LOADED_WITH = os.environ.get("ONLY_A")

def env(event, context):
    return {"only_a": os.environ.get("ONLY_A"), "shared": os.environ.get("SHARED"),
            "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"], "memory": context.memory_limit_in_mb,
            "arn": context.invoked_function_arn, "remaining": context.get_remaining_time_in_millis(),
            "request": context.aws_request_id, "loaded_with": LOADED_WITH}

def boom(event, context):
    raise KeyError("missing thing")

def slow(event, context):
    time.sleep(5)
'''


def runner(tmp_path: Path) -> InlineRunner:
    (tmp_path / "fns.py").write_text(HANDLERS)
    r = InlineRunner()
    r.load(FunctionSpec("A", "fns.py:env", tmp_path, timeout=2, memory=256, environment={"ONLY_A": "a", "SHARED": "1"}))
    r.load(FunctionSpec("B", "fns.py:env", tmp_path, environment={"SHARED": "2"}))
    r.load(FunctionSpec("Boom", "fns.py:boom", tmp_path))
    r.load(FunctionSpec("Slow", "fns.py:slow", tmp_path, timeout=0.3))
    return r


def invoke(r: InlineRunner, name: str) -> tuple[dict, str | None]:
    result = asyncio.run(r.invoke(name, {}, "11111111-2222-4333-8444-555555555555"))
    return orjson.loads(result.payload), result.function_error


def test_each_function_sees_only_its_own_environment(tmp_path: Path) -> None:
    os.environ.pop("ONLY_A", None)
    r = runner(tmp_path)
    a, _ = invoke(r, "A")
    assert a["only_a"] == "a" and a["shared"] == "1" and a["name"] == "A"
    b, _ = invoke(r, "B")
    assert b["only_a"] is None and b["shared"] == "2" and b["name"] == "B"
    assert invoke(r, "A")[0]["only_a"] == "a"


def test_context_values(tmp_path: Path) -> None:
    a, error = invoke(runner(tmp_path), "A")
    assert error is None
    assert a["memory"] == "256"
    assert a["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:A"
    assert 0 < a["remaining"] <= 2000
    assert a["request"] == "11111111-2222-4333-8444-555555555555"


def test_error_and_timeout_payloads(tmp_path: Path) -> None:
    r = runner(tmp_path)
    error, kind = invoke(r, "Boom")
    assert kind == "Unhandled"
    assert error["errorType"] == "KeyError" and error["errorMessage"] == "'missing thing'"
    assert any("raise KeyError" in frame for frame in error["stackTrace"])
    timed_out, kind = invoke(r, "Slow")
    assert kind == "Unhandled"
    assert timed_out["errorMessage"].endswith("Task timed out after 0.30 seconds")

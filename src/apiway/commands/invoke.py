"""`apiway invoke` (one function of a project, once, no server) and `apiway logs` (a worker-mode
function's log group)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import orjson

from apiway.config import load_project
from apiway.core import request_ids
from apiway.functions.base import FunctionThrottled
from apiway.functions.runners import Functions
from apiway.observe.log_groups import LogGroups, NoSuchGroup

EXIT_FUNCTION_ERROR = 1
EXIT_USAGE = 2


def run_invoke(project_file: Path, name: str, event_file: Path | None, payload: str | None) -> int:
    """Invoke one function of a project once, without a server; print its payload (or error document)."""
    if event_file is not None:
        try:
            text = event_file.read_bytes()
        except OSError as exc:
            print(f"apiway: cannot read the event file {event_file}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        source = str(event_file)
    else:
        text, source = (payload if payload is not None else "{}").encode(), "--payload"
    try:
        event = orjson.loads(text) if text.strip() else {}
    except orjson.JSONDecodeError as exc:
        print(f"apiway: {source} is not JSON: {exc}", file=sys.stderr)
        return EXIT_USAGE
    project = load_project(project_file)
    spec = next((s for s in project.functions if s.name == name), None)
    if spec is None:
        known = ", ".join(sorted(s.name for s in project.functions)) or "none"
        print(f"apiway: no function named {name!r} in {project.source} (functions: {known})", file=sys.stderr)
        return EXIT_USAGE
    functions = Functions()

    async def once() -> bytes:
        try:
            # Whatever an in-process handler prints belongs with the logs on stderr: stdout carries the payload.
            with contextlib.redirect_stdout(sys.stderr):
                functions.load(spec)
                result = await functions.invoke(name, event, request_ids.request_id())
        finally:
            await functions.close()
        nonlocal failed
        failed = result.function_error is not None
        return result.payload

    failed = False
    try:
        output = asyncio.run(once())
    except FunctionThrottled as exc:
        output, failed = exc.payload, True
    sys.stdout.write(output.decode("utf-8", "replace") + "\n")
    sys.stdout.flush()
    return EXIT_FUNCTION_ERROR if failed else 0


def log_groups(state: Path) -> LogGroups:
    """Where `apiway serve` keeps log groups: `logs/groups/` beside the state file."""
    return LogGroups(state.parent / "logs" / "groups")


def show_logs(name: str, state: Path) -> int:
    """A function's log group, every stream's events in time order, one message a line."""
    groups = log_groups(state)
    group = f"/aws/lambda/{name}"
    try:
        events = groups.events(group)
    except NoSuchGroup:
        print(f"apiway: no log for function {name!r} yet (no log group {group} in {groups.root}; functions in "
              f"worker mode write it when they run under `apiway serve`)", file=sys.stderr)
        return EXIT_FUNCTION_ERROR
    except OSError as exc:
        print(f"apiway: cannot read {groups.root}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.buffer.write("".join(e.message + "\n" for e in events).encode("utf-8", "replace"))
    sys.stdout.flush()
    return 0

"""Run inputs through a fuzz target without atheris, one by one, and say which break it and how:

    .venv/bin/python -m fuzz.replay TARGET FILE_OR_FOLDER...

Each input gets TIMEOUT seconds (20), after which it counts as a hang. Exit status 1 when any input breaks the
target. `signature` names a failure by its exception type and a frame in apiway (or the harness), plus what was
wrong for a `Finding`: that is how `make fuzz` tells distinct findings apart."""

from __future__ import annotations

import re
import signal
import sys
import time
import traceback
from pathlib import Path

from fuzz.common import Finding
from fuzz.targets import entry

TIMEOUT = 20.0
_VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")


def signature(exc: BaseException) -> str:
    """Exception type and innermost frame in apiway (else in the harness); for a RecursionError, whose innermost
    frame is wherever the stack ran out, the outermost frame in apiway instead."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/apiway/" in f.filename] or [f for f in frames if "/fuzz/" in f.filename] or frames
    kind = type(exc).__name__
    if isinstance(exc, Finding):  # a wrong answer: what was wrong, without the input's own values
        kind += " (" + _VALUES.sub("…", str(exc))[:100] + ")"
    if not ours:
        return kind
    frame = ours[0] if isinstance(exc, RecursionError) else ours[-1]
    return f"{kind} at {Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def inputs(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        found.extend(sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path])
    return found


class Hang(Exception):
    """An input ran past TIMEOUT."""


def _expired(signum: int, frame: object) -> None:
    raise Hang(f"ran past {TIMEOUT} s")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m fuzz.replay TARGET FILE_OR_FOLDER...", file=sys.stderr)
        return 2
    one_input = entry(argv[0])
    failed = 0
    signal.signal(signal.SIGALRM, _expired)
    for path in inputs(argv[1:]):
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
        try:
            one_input(path.read_bytes())
        except Exception as exc:
            failed += 1
            print(f"FAIL {path}  {signature(exc)}: {str(exc)[:200]}")
            if len(argv) == 2 and path == Path(argv[1]):
                traceback.print_exc()
            continue
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        elapsed = time.perf_counter() - started
        if elapsed > 1:
            print(f"SLOW {path}  {elapsed:.2f} s")
    print(f"{failed} of {len(inputs(argv[1:]))} inputs break {argv[0]}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

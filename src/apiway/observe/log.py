"""Structured server log: one JSON object per line on stderr. Never pass secrets in `fields`.

Lines repeated with the same level and message (a storm of throttled requests, say) are rate limited
(`repeats.Repeats`): the first few per 10 s are written, the rest become one line with a `repeated` count.
Request ids in a message (a function's error document quotes its own) do not make it a different line."""

from __future__ import annotations

import atexit
import contextlib
import re
import sys
import time
from typing import Any

import orjson

from apiway.observe.repeats import Repeats, repeated

_out = sys.stderr.buffer
_repeats = Repeats()
_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def log(level: str, message: str, **fields: Any) -> None:
    now = time.time()
    summaries = _repeats.summaries(now)
    if summaries:
        _write_summaries(summaries, now)
    if not _repeats.admit((level, _IDS.sub("…", message)), now):
        return
    record = {"time": round(now, 3), "level": level, "message": message, **fields}
    _out.write(orjson.dumps(record, default=str) + b"\n")
    _out.flush()


def _write_summaries(summaries: list[tuple[Any, int, float]], now: float) -> None:
    for (level, message), count, seconds in summaries:
        record = {"time": round(now, 3), "level": level, "message": repeated(message, count, seconds),
                  "repeated": count}
        _out.write(orjson.dumps(record) + b"\n")
    _out.flush()


@atexit.register
def flush_repeats() -> None:
    """What was held back when the process ends is still counted in the log."""
    summaries = _repeats.summaries(time.time(), final=True)
    if summaries:
        with contextlib.suppress(OSError, ValueError):  # stderr already closed
            _write_summaries(summaries, time.time())

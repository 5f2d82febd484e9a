"""Structured server log: one JSON object per line on stderr. Never pass secrets in `fields`."""

from __future__ import annotations

import sys
import time
from typing import Any

import orjson

_out = sys.stderr.buffer


def log(level: str, message: str, **fields: Any) -> None:
    record = {"time": round(time.time(), 3), "level": level, "message": message, **fields}
    _out.write(orjson.dumps(record, default=str) + b"\n")
    _out.flush()

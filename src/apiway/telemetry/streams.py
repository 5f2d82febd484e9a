"""Log stream names: each server process writes its own streams (several processes share the log groups'
folder), named as AWS names the gateway's streams, by a hex id — made once per process, after any fork."""

from __future__ import annotations

import os
from uuid import uuid4

_made: tuple[int, str] = (0, "")


def process_id() -> str:
    global _made
    pid = os.getpid()
    if _made[0] != pid:
        _made = (pid, uuid4().hex)
    return _made[1]


def stream_name(is_canary: bool = False) -> str:
    """This process's stream in a log group; a canary's requests get one of their own."""
    return f"Canary_{process_id()}" if is_canary else process_id()

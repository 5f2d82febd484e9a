"""Kills the execution environments' process groups when the gateway dies, even of SIGKILL.

A worker dies with the gateway (PR_SET_PDEATHSIG), but a process its function forked does not: it is
reparented to init and lives on. So one small watchdog process per gateway (`python -m apiway.functions.reaper`)
is told each environment's process group on a pipe; when the pipe reaches end of file (the kernel closes it
however the gateway ends), it kills every group still listed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import IO

__all__ = ["GroupReaper"]


class GroupReaper:
    """The gateway's side: `watch` a new environment's process group, `forget` it once it is gone."""

    def __init__(self, source_root: str) -> None:
        self._source_root = source_root
        self._groups: set[int] = set()
        self._proc: subprocess.Popen[bytes] | None = None

    def watch(self, pgid: int) -> None:
        self._groups.add(pgid)
        self._send(b"+%d\n" % pgid)

    def forget(self, pgid: int) -> None:
        if pgid in self._groups:
            self._groups.discard(pgid)
            self._send(b"-%d\n" % pgid)

    def close(self) -> None:
        """End the watchdog (it kills any group still listed); the next `watch` starts a new one."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(2)

    def _send(self, message: bytes) -> None:
        pipe = self._pipe()
        try:
            pipe.write(message)
            pipe.flush()
        except OSError:  # the watchdog died (killed by hand): start another, told every group still alive
            self.close()
            pipe = self._pipe()
            with contextlib.suppress(OSError):
                pipe.write(b"".join(b"+%d\n" % pgid for pgid in self._groups))
                pipe.flush()

    def _pipe(self) -> IO[bytes]:
        if self._proc is None:
            # Its own session: a Ctrl-C meant for the gateway must not end the watchdog first.
            self._proc = subprocess.Popen(
                (sys.executable, "-S", "-m", "apiway.functions.reaper"), stdin=subprocess.PIPE,
                env={"PYTHONPATH": self._source_root}, start_new_session=True)
        assert self._proc.stdin is not None
        return self._proc.stdin


def main() -> None:
    """The watchdog: keep the listed groups until end of file, then kill those still listed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    groups: set[int] = set()
    for line in sys.stdin.buffer:
        with contextlib.suppress(ValueError):
            if line[:1] == b"+":
                groups.add(int(line[1:]))
            else:
                groups.discard(int(line[1:]))
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


if __name__ == "__main__":
    main()

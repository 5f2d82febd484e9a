"""A log file bounded in size: past `max_bytes` it is renamed NAME.1 (older ones NAME.2, …) and a new one begun;
`files` files are kept in all, the current one included, so a log never takes more than about
max_bytes times files on disk. Written here rather than with logging.handlers.RotatingFileHandler: function
output is raw lines written on every invocation, and log records, formatters and handler locks would cost more
than the write itself."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LogLimits", "RotatingFile"]


@dataclass(frozen=True)
class LogLimits:
    max_bytes: int = 10 * 1024 * 1024
    files: int = 5
    retention_days: int = 7  # log groups: files not written for this long are deleted (0: kept forever)


class RotatingFile:
    """Appends text lines to `path`, rotating it at the size bound (a write never splits across files)."""

    __slots__ = ("_file", "_limits", "_max", "_path", "_size", "_write")

    def __init__(self, path: Path, limits: LogLimits) -> None:
        self._path = path
        self._limits = limits
        self._max = limits.max_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._open("ab")
        self._size = self._file.tell()

    def write(self, text: str) -> None:
        self.write_bytes(text.encode("utf-8", "replace"))

    def write_bytes(self, data: bytes) -> None:
        size = self._size + len(data)
        if size > self._max and self._size:
            self._rotate()
            size = len(data)
        self._write(data)
        self._size = size

    def _open(self, mode: str) -> None:
        # Unbuffered: each batch of lines is one write(2), on disk at once, cheaper than a buffer and a flush.
        self._file = open(self._path, mode, buffering=0)  # noqa: SIM115  # held open between writes
        self._write = self._file.write

    def close(self) -> None:
        self._file.close()

    def _rotate(self) -> None:
        self._file.close()
        older = [self._path.with_name(f"{self._path.name}.{n}") for n in range(1, max(1, self._limits.files))]
        for newer, older_one in zip(reversed(older[:-1]), reversed(older[1:]), strict=True):
            with contextlib.suppress(FileNotFoundError):  # NAME.2 -> NAME.3 ...; the oldest is overwritten
                os.replace(newer, older_one)
        if older:
            os.replace(self._path, older[0])
        self._open("wb")  # with files=1 the log just starts again
        self._size = 0

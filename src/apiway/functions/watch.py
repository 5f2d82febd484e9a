"""`apiway serve --watch`: polls each function's code once a second and reloads a function whose files
changed — its warm workers are replaced (in-flight invocations finish first), inline handlers re-imported."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from apiway.functions.base import FunctionSpec
from apiway.observe.log import log

SKIPPED_DIRS = frozenset(("__pycache__", ".git", ".apiway", "node_modules", ".venv", ".pytest_cache"))
MAX_FILES = 10_000  # per function: bounds the cost of a poll on a huge tree


def code_root(spec: FunctionSpec) -> Path:
    if spec.bootstrap is not None:
        return spec.bootstrap.parent
    if spec.runtime == "nodejs":  # "path/file.export": the handler file's folder
        return (spec.base_dir / spec.handler).resolve().parent
    return (spec.base_dir / spec.handler.rpartition(":")[0]).resolve().parent


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """path → (mtime_ns, size) of the files under `root`."""
    found: dict[str, tuple[int, int]] = {}
    stack = [str(root)]
    while stack and len(found) < MAX_FILES:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIPPED_DIRS:
                    stack.append(entry.path)
            elif entry.is_file():
                try:
                    stat = entry.stat()
                except OSError:
                    continue
                found[entry.path] = (stat.st_mtime_ns, stat.st_size)
    return found


class CodeWatcher:
    def __init__(self, specs: list[FunctionSpec], reload: Callable[[str], None], interval: float = 1.0) -> None:
        self._reload = reload
        self._interval = interval
        self._roots = {spec.name: code_root(spec) for spec in specs}
        self._seen = {name: snapshot(root) for name, root in self._roots.items()}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin polling (call from inside the server's event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self.poll()

    def poll(self) -> list[str]:
        """Reload every function whose code changed since the last poll; returns their names."""
        changed = []
        for name, root in self._roots.items():
            current = snapshot(root)
            if current != self._seen[name]:
                self._seen[name] = current
                changed.append(name)
                try:
                    self._reload(name)
                    log("INFO", "function code changed: reloaded", function=name)
                except Exception as exc:  # a broken edit must not stop the watcher or the gateway
                    log("ERROR", "function reload failed", function=name, error=f"{type(exc).__name__}: {exc}")
        return changed

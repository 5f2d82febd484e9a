"""Log groups and streams as files (a minimal stand-in with the writer and reader API the gateway's logs use:
one JSON line per event, a file per stream under `<root>/<group>/`)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import quote, unquote


class LogStream:
    __slots__ = ("_file", "_lock")

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def put(self, ts_ms: int, message: str) -> None:
        line = json.dumps({"timestamp": ts_ms, "message": message}) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        self._file.close()


class LogGroups:
    def __init__(self, root: Path, limits: object = None) -> None:
        self.root = root
        self._streams: dict[tuple[str, str], LogStream] = {}

    def stream(self, group: str, stream: str) -> LogStream:
        found = self._streams.get((group, stream))
        if found is None:
            found = self._streams[(group, stream)] = LogStream(self.root / quote(group, "") / quote(stream, ""))
        return found

    def group_names(self) -> list[str]:
        return sorted(unquote(p.name) for p in self.root.iterdir()) if self.root.exists() else []

    def tail(self, group: str, since_ms: int, limit: int = 200) -> list[dict[str, object]]:
        events: list[dict[str, object]] = []
        folder = self.root / quote(group, "")
        for path in folder.iterdir() if folder.exists() else ():
            for line in path.read_text(encoding="utf-8").splitlines():
                event = json.loads(line)
                if event["timestamp"] >= since_ms:
                    events.append({**event, "stream": unquote(path.name)})
        events.sort(key=lambda e: e["timestamp"])  # type: ignore[arg-type, return-value]
        return events[-limit:]

    def close(self) -> None:
        for stream in self._streams.values():
            stream.close()

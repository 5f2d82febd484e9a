"""Log groups and log streams in CloudWatch Logs' shape, kept as files: the store behind the CloudWatch Logs API,
function logs, access and execution logs.

Layout under `root` (`<state dir>/logs/groups/` for `apiway serve`), names percent-encoded:

    <group>/@group.json                         {"creationTime": ms, "retentionInDays": n | null}
    <group>/<stream>/<created ms>-<pid>.log     one file per process writing the stream (.log.1, … rotated)

A line is one event: `<timestamp ms> <ingestion ms> <sequence>`, a tab, and the message as it is, a backslash or
newline in it escaped (`\\\\`, `\\n`): a message may hold newlines and is still one event (files of earlier versions
have a space and the message as a JSON string instead of the tab: they are read too). Each process writes only its
own files, so `serve --workers N` needs no lock between processes, and every process reads all of them.

Writing costs the request path one deque append (`LogStream.put`): one background thread writes what was put at
most every `FLUSH_SECONDS` and at `close`. Bounded: each file rotates at `LogLimits.max_bytes` keeping
`LogLimits.files`, a stream's queue holds at most `MAX_QUEUED` events (the oldest are dropped should the disk fall
that far behind), and files not written for a group's retention (its own `PutRetentionPolicy`, else
`LogLimits.retention_days`) are deleted."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import repeat
from operator import call
from pathlib import Path
from urllib.parse import quote, unquote

import orjson

from apiway.observe.rotating import LogLimits, RotatingFile

__all__ = ["Event", "GroupExists", "GroupInfo", "LogGroups", "LogStream", "NoSuchGroup", "NoSuchStream",
           "StreamExists", "StreamInfo"]

FLUSH_SECONDS = 0.2
SWEEP_SECONDS = 60.0  # retention and vanished files are looked at this often
MAX_QUEUED = 100_000  # events per stream waiting for the writer thread
TAIL_BYTES = 256 * 1024  # what `tail` reads of each file at least (1 KB per event asked for): its newest events
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)  # in a message read back: `\\n` a newline, `\\\\` a backslash
_META = "@group.json"  # never a percent-encoded name: '@' is always encoded


class NoSuchGroup(LookupError):
    pass


class NoSuchStream(LookupError):
    pass


class GroupExists(ValueError):
    pass


class StreamExists(ValueError):
    pass


def _encode(name: str) -> str:
    encoded = quote(name, safe="")
    return encoded.replace(".", "%2E") if not encoded.strip(".") else encoded  # "." and ".." are no directories


@dataclass(frozen=True, slots=True)
class Event:
    timestamp: int
    ingestion: int
    stream: str
    writer: str  # the file's writer (`<created ms>-<pid>`): with `seq`, the event's place among equal timestamps
    seq: int
    message: str

    @property
    def key(self) -> tuple[int, str, str, int]:
        return (self.timestamp, self.stream, self.writer, self.seq)

    @property
    def event_id(self) -> str:
        return f"{self.timestamp}-{self.writer}-{self.seq}"


@dataclass(frozen=True, slots=True)
class GroupInfo:
    name: str
    creation_time: int
    retention_days: int | None
    stored_bytes: int


@dataclass(frozen=True, slots=True)
class StreamInfo:
    name: str
    creation_time: int
    first_event: int | None
    last_event: int | None  # the last write, as AWS's lastEventTimestamp is: eventually consistent
    stored_bytes: int


class LogStream:
    """A stream's writing end. `put` (or `append`, the same without a call of its own) is all the request path
    calls."""

    __slots__ = ("_queue", "append", "group", "name")

    def __init__(self, group: str, name: str) -> None:
        self.group = group
        self.name = name
        self._queue: deque[tuple[int, str]] = deque(maxlen=MAX_QUEUED)
        self.append = self._queue.append  # takes the event (timestamp ms, message)

    def put(self, ts_ms: int, message: str) -> None:
        self.append((ts_ms, message))


class _Writer:
    """This process's file of one stream."""

    __slots__ = ("file", "name", "path", "seq")

    def __init__(self, directory: Path, limits: LogLimits) -> None:
        self.name = f"{int(time.time() * 1000)}-{os.getpid()}"
        self.path = directory / f"{self.name}.log"
        self.file = RotatingFile(self.path, limits)
        self.seq = 0


class LogGroups:
    def __init__(self, root: Path, limits: LogLimits | None = None) -> None:
        self.root = root
        self.limits = limits or LogLimits()
        self._streams: dict[tuple[str, str], LogStream] = {}
        self._writers: dict[tuple[str, str], _Writer] = {}
        self._known_groups: set[str] = set()
        self._lock = threading.Lock()  # one flush at a time: the writer thread's, or a reader's of its own events
        self._pid = 0  # the process the writer thread runs in: a forked worker starts its own
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_sweep = 0.0
        _instances.add(self)

    def _forked(self) -> None:
        """In a forked child: a lock of its own (the parent's writer thread may have held this one), files of its
        own, and a writer thread for the streams it inherited (its stages may have been compiled before the fork)."""
        self._lock = threading.Lock()
        self._writers = {}  # the parent's files are the parent's
        self._known_groups = set()
        self._pid = 0
        self._thread = None
        if self._streams:
            self._start()

    # -- writing --------------------------------------------------------------------------------------

    def stream(self, group: str, stream: str) -> LogStream:
        """The writing end of a stream (made on first use; the group too)."""
        key = (group, stream)
        found = self._streams.get(key)
        if found is None:
            found = self._streams.setdefault(key, LogStream(group, stream))
        if self._pid != os.getpid():
            self._start()
        return found

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._wake = threading.Event()
            self._thread = threading.Thread(target=self._run, name="log-groups", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        wake = self._wake
        while not wake.wait(FLUSH_SECONDS):
            try:
                self.flush()
                if time.monotonic() >= self._next_sweep:
                    self.sweep()
            except (OSError, TypeError, ValueError):  # a full disk, a message that is no text: that round is lost
                with self._lock:
                    self._writers.clear()

    def flush(self) -> None:
        """Write every event put so far (this process's)."""
        with self._lock:
            now = int(time.time() * 1000)
            for key, stream in list(self._streams.items()):
                queue = stream._queue
                n = len(queue)  # what was put so far: puts go on meanwhile, at the other end
                if not n:
                    continue
                writer = self._writers.get(key) or self._open(*key)
                stamps, messages = zip(*map(call, repeat(queue.popleft, n)), strict=True)
                seq = writer.seq
                writer.seq = seq + n
                self._write(writer.file, _lines(stamps, messages, now, seq))

    def _write(self, file: RotatingFile, data: bytes) -> None:
        """A write per file-sized chunk cut at a line's end, so that a large batch still rotates at the bound (a
        line longer than the bound is written alone)."""
        bound = self.limits.max_bytes
        while len(data) > bound:
            cut = data.rfind(b"\n", 0, bound) + 1 or data.find(b"\n") + 1 or len(data)
            file.write_bytes(data[:cut])
            data = data[cut:]
        if data:
            file.write_bytes(data)

    def _open(self, group: str, stream: str) -> _Writer:
        if group not in self._known_groups:
            self._ensure_group(group)
            self._known_groups.add(group)
        writer = self._writers[(group, stream)] = _Writer(self._stream_dir(group, stream), self.limits)
        return writer

    def _ensure_group(self, group: str) -> bool:
        directory = self._group_dir(group)
        directory.mkdir(parents=True, exist_ok=True)
        meta = directory / _META
        try:
            fd = os.open(meta, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as out:
            out.write(orjson.dumps({"creationTime": int(time.time() * 1000), "retentionInDays": None}))
        return True

    def close(self) -> None:
        """Write what is left; the writer thread stops."""
        if self._thread is not None and self._pid == os.getpid():
            self._wake.set()
            self._thread.join(timeout=5)
            self._thread = None
            self._pid = 0
        self.flush()
        with self._lock:
            for writer in self._writers.values():
                writer.file.close()
            self._writers.clear()

    def sweep(self) -> None:
        """Delete files older than their group's retention; reopen this process's files that were deleted."""
        self._next_sweep = time.monotonic() + SWEEP_SECONDS
        now = time.time()
        for group_dir in _dirs(self.root):
            days = self._meta(group_dir).get("retentionInDays") or self.limits.retention_days
            if not days:
                continue
            oldest = now - days * 86400
            for stream_dir in _dirs(group_dir):
                with contextlib.suppress(OSError):
                    expired = stream_dir.stat().st_mtime < oldest
                    for file in _files(stream_dir):
                        if file.stat().st_mtime < oldest:
                            file.unlink()
                            expired = True
                    if expired:
                        stream_dir.rmdir()  # once empty
        with self._lock:
            for key, writer in list(self._writers.items()):
                if not writer.path.exists():
                    writer.file.close()
                    del self._writers[key]
                    self._known_groups.discard(key[0])

    # -- reading --------------------------------------------------------------------------------------

    def _flush_own(self) -> None:
        """Before reading: this process's own events are readable at once."""
        with contextlib.suppress(OSError, TypeError, ValueError):
            self.flush()

    def _group_dir(self, group: str) -> Path:
        return self.root / _encode(group)

    def _stream_dir(self, group: str, stream: str) -> Path:
        return self._group_dir(group) / _encode(stream)

    @staticmethod
    def _meta(group_dir: Path) -> dict[str, int | None]:
        try:
            meta: dict[str, int | None] = orjson.loads((group_dir / _META).read_bytes())
        except (FileNotFoundError, NotADirectoryError, orjson.JSONDecodeError):
            return {}
        return meta

    def group_names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(unquote(d.name) for d in _dirs(self.root))

    def groups(self, prefix: str = "") -> list[GroupInfo]:
        out = []
        for name in self.group_names():
            if name.startswith(prefix):
                with contextlib.suppress(NoSuchGroup):
                    out.append(self.group(name))
        return out

    def group(self, name: str) -> GroupInfo:
        directory = self._group_dir(name)
        if not directory.is_dir():
            raise NoSuchGroup(name)
        meta = self._meta(directory)
        created = meta.get("creationTime") or int(directory.stat().st_mtime * 1000)
        size = sum(f.stat().st_size for s in _dirs(directory) for f in _files(s))
        return GroupInfo(name, created, meta.get("retentionInDays"), size)

    def streams(self, group: str, prefix: str = "") -> list[StreamInfo]:
        self._flush_own()
        directory = self._group_dir(group)
        if not directory.is_dir():
            raise NoSuchGroup(group)
        out = []
        for stream_dir in _dirs(directory):
            name = unquote(stream_dir.name)
            if name.startswith(prefix):
                out.append(_stream_info(name, stream_dir))
        return out

    def stream_info(self, group: str, stream: str) -> StreamInfo:
        self._flush_own()
        directory = self._stream_dir(group, stream)
        if not directory.is_dir():
            if not self._group_dir(group).is_dir():
                raise NoSuchGroup(group)
            raise NoSuchStream(stream)
        return _stream_info(stream, directory)

    def events(self, group: str, streams: Iterable[str] | None = None, start: int | None = None,
               end: int | None = None, tail_bytes: int | None = None) -> list[Event]:
        """A group's events (of `streams`, else all) with start <= timestamp < end, in timestamp order; with
        `tail_bytes`, only those in the last so many bytes of each file (the newest, read cheaply)."""
        self._flush_own()
        directory = self._group_dir(group)
        if not directory.is_dir():
            raise NoSuchGroup(group)
        dirs = ([self._stream_dir(group, s) for s in streams] if streams is not None else list(_dirs(directory)))
        since = (start or 0) / 1000 - 1  # a file last written before `start` holds nothing at or after it
        found: list[Event] = []
        for stream_dir in dirs:
            name = unquote(stream_dir.name)
            for file in _files(stream_dir):
                with contextlib.suppress(FileNotFoundError):
                    if start is not None and file.stat().st_mtime < since:
                        continue
                    found.extend(e for e in _read(file, name, tail_bytes)
                                 if (start is None or e.timestamp >= start) and (end is None or e.timestamp < end))
        found.sort(key=lambda e: e.key)
        return found

    def tail(self, group: str, since_ms: int, limit: int = 200) -> list[dict[str, int | str]]:
        """The newest `limit` events at or after `since_ms`, oldest first (the dashboard's log view)."""
        try:
            events = self.events(group, start=since_ms, tail_bytes=max(TAIL_BYTES, limit * 1024))
        except NoSuchGroup:
            return []
        return [{"timestamp": e.timestamp, "stream": e.stream, "message": e.message} for e in events[-limit:]]

    # -- managing (the CloudWatch Logs API's writes) ---------------------------------------------------

    def create_group(self, name: str) -> None:
        if not self._ensure_group(name):
            raise GroupExists(name)

    def delete_group(self, name: str) -> None:
        directory = self._group_dir(name)
        if not directory.is_dir():
            raise NoSuchGroup(name)
        shutil.rmtree(directory, ignore_errors=True)
        with self._lock:
            for key in [k for k in self._writers if k[0] == name]:
                self._writers.pop(key).file.close()
            self._known_groups.discard(name)

    def set_retention(self, name: str, days: int | None) -> None:
        directory = self._group_dir(name)
        if not directory.is_dir():
            raise NoSuchGroup(name)
        meta = self._meta(directory)
        meta["retentionInDays"] = days
        meta.setdefault("creationTime", int(directory.stat().st_mtime * 1000))
        temporary = directory / f"{_META}.{os.getpid()}"
        temporary.write_bytes(orjson.dumps(meta))
        os.replace(temporary, directory / _META)

    def create_stream(self, group: str, stream: str) -> None:
        if not self._group_dir(group).is_dir():
            raise NoSuchGroup(group)
        directory = self._stream_dir(group, stream)
        try:
            directory.mkdir()
        except FileExistsError:
            raise StreamExists(stream) from None

    def delete_stream(self, group: str, stream: str) -> None:
        directory = self._stream_dir(group, stream)
        if not directory.is_dir():
            if not self._group_dir(group).is_dir():
                raise NoSuchGroup(group)
            raise NoSuchStream(stream)
        shutil.rmtree(directory, ignore_errors=True)
        with self._lock:
            writer = self._writers.pop((group, stream), None)
            if writer is not None:
                writer.file.close()


_instances: weakref.WeakSet[LogGroups] = weakref.WeakSet()


def _after_fork() -> None:
    for groups in list(_instances):
        groups._forked()


os.register_at_fork(after_in_child=_after_fork)


def _dirs(directory: Path) -> Iterator[Path]:
    try:
        with os.scandir(directory) as entries:
            found = [Path(e.path) for e in entries if e.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return iter(())
    return iter(found)


def _files(stream_dir: Path) -> list[Path]:
    """A stream's files, each writer's oldest rotation first."""
    try:
        with os.scandir(stream_dir) as entries:
            names = [e.name for e in entries if e.is_file() and ".log" in e.name]
    except (FileNotFoundError, NotADirectoryError):
        return []

    def order(name: str) -> tuple[str, int]:
        base, _, number = name.partition(".log")
        return (base, -int(number[1:]) if number else 0)

    return [stream_dir / name for name in sorted(names, key=order)]


def _read(file: Path, stream: str, tail_bytes: int | None = None) -> Iterator[Event]:
    writer = file.name.partition(".log")[0]
    with open(file, "rb") as lines:
        if tail_bytes is not None and os.fstat(lines.fileno()).st_size > tail_bytes:
            lines.seek(-tail_bytes, os.SEEK_END)
            lines.readline()  # the rest of a line cut in two
        for line in lines:
            if not line.endswith(b"\n"):  # a line being written by another process
                continue
            head, tab, rest = line.partition(b"\t")
            parts = head.split(b" ") if tab else line.split(b" ", 3)
            if len(parts) != (3 if tab else 4):
                continue
            try:
                message = _unescape(rest[:-1].decode("utf-8", "replace")) if tab else orjson.loads(parts[3])
                yield Event(int(parts[0]), int(parts[1]), stream, writer, int(parts[2]), message)
            except (ValueError, orjson.JSONDecodeError):
                continue


def _lines(stamps: tuple[int, ...], messages: tuple[str, ...], now: int, seq: int) -> bytes:
    """A batch of events as the file's lines, numbered from `seq`. Built by C loops alone (the writer thread's
    CPU is the server's): a line's numbers as text joined with the message as it is, which is escaped only in
    the rare batch holding a newline or backslash."""
    n = len(messages)
    heads = {t: f"{t} {now} " for t in set(stamps)}  # a batch holds a few distinct milliseconds
    text = "".join(messages)
    if "\n" in text or "\\" in text:
        messages = tuple(m.replace("\\", "\\\\").replace("\n", "\\n") for m in messages)
    parts = ["\t"] * (5 * n)  # per line: timestamp and ingestion, sequence, tab, message, newline
    parts[0::5] = map(heads.__getitem__, stamps)
    parts[1::5] = map(str, range(seq, seq + n))
    parts[3::5] = messages
    parts[4::5] = repeat("\n", n)
    return "".join(parts).encode("utf-8", "replace")


def _unescape(message: str) -> str:
    if "\\" not in message:
        return message
    return _ESCAPED.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), message)


def _stream_info(name: str, directory: Path) -> StreamInfo:
    files = _files(directory)
    created = [int(f.name.split("-", 1)[0]) for f in files if f.name.split("-", 1)[0].isdigit()]
    stats = [f.stat() for f in files]
    firsts = [next((e.timestamp for e in _read(f, name)), None) for f in files]
    first = min((t for t in firsts if t is not None), default=None)
    last = max((int(s.st_mtime * 1000) for s in stats if s.st_size), default=None)
    creation = min(created, default=int(directory.stat().st_mtime * 1000))
    return StreamInfo(name, creation, first, last, sum(s.st_size for s in stats))

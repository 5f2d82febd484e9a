"""A bounded queue drained by one background thread in batches: how finished traces leave the request path.
`put` only appends (a full queue drops the oldest); the thread wakes every `interval` seconds, or as soon as a
batch is full, and hands what is queued to `send`. The thread starts with the first item, in the process that
queues it (a forked worker starts its own), and `close` sends what is left."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from apiway.observe.log import log

T = TypeVar("T")


class Batcher(Generic[T]):
    def __init__(self, send: Callable[[list[T]], None], what: str, interval: float = 1.0, batch: int = 512,
                 capacity: int = 4096) -> None:
        self._send = send
        self._what = what
        self._interval = interval
        self._batch = batch
        self._queue: deque[T] = deque(maxlen=capacity)
        self._wake = threading.Event()
        self._closed = False
        self._pid = 0
        self._thread: threading.Thread | None = None
        self._failing = False

    def put(self, item: T) -> None:
        self._queue.append(item)
        if self._pid != os.getpid():
            self._start()
        elif len(self._queue) >= self._batch:
            self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        self._closed = True
        self._wake.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._wake = threading.Event()  # a forked child's copy may be set or locked by a thread it does not have
        self._thread = threading.Thread(target=self._loop, name=f"apiway {self._what}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            closing = self._closed
            while self._queue:
                items = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
                self._deliver(items)
            if closing:
                return

    def _deliver(self, items: list[T]) -> None:
        try:
            self._send(items)
        except Exception as exc:  # told once per outage, not per batch
            if not self._failing:
                log("WARN", f"{self._what} failed; dropping until it works again",
                    error=f"{type(exc).__name__}: {exc}")
            self._failing = True
        else:
            if self._failing:
                log("INFO", f"{self._what} works again")
            self._failing = False

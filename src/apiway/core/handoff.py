"""Work handed to the event loop's thread by other threads.

Requests run on the event loop's thread, and what they read — the gateway's routes, the shared state's
buckets and caches, the key index — changes only on that thread, so a request never sees a change half
made and needs no lock. Long work runs elsewhere (the control plane runs in a thread of its own and
compiles there); the change it makes is handed to the loop as one callable, run between requests, in the
order handed.

Until a loop is bound (start-up, tools, tests without a server) every callable runs at once, in the
caller's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


class LoopHandoff:
    __slots__ = ("_loop", "_thread")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    def bind(self) -> None:
        """Called on the loop's thread, from a coroutine: hand work to this loop from now on."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()

    def on_loop(self) -> bool:
        """True on the loop's thread, or when no loop is bound."""
        return self._loop is None or threading.get_ident() == self._thread

    def post(self, fn: Callable[..., object], *args: object) -> None:
        """Run `fn(*args)` on the loop's thread, soon; now when already there. Never waits, so it may be
        called while holding a lock the loop's thread might take."""
        if self.on_loop():
            fn(*args)
        else:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(fn, *args)

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(*args)` on the loop's thread and wait for its result. Not to be called while holding a
        lock the loop's thread might take."""
        if self.on_loop():
            return fn(*args)
        assert self._loop is not None
        done: Future[T] = Future()

        def run() -> None:
            try:
                done.set_result(fn(*args))
            except BaseException as exc:  # handed back to the waiting thread
                done.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return done.result()

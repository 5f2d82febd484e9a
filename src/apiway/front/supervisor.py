"""`serve --workers N`: a supervisor process and N serving processes (workers) on one port.

The caller has prepared what every worker needs (the project loaded and checked, its APIs written to the
store) and the supervisor forks the workers from that state, so a worker starts without importing or
loading anything again: it opens its own store connections, installs the stored stages, listens with
SO_REUSEPORT (the kernel spreads new connections over the workers' sockets, so a connection stays with the
worker that accepted it) and says it is ready. The workers learn of each other's control-plane changes
through the store, as nodes do.

The supervisor holds a socket bound to each port without listening: it keeps the port theirs while a worker
restarts and is never handed a connection. It has no threads when it forks. A worker that exits once the
server is up is forked again, with a log line (at once; after a pause that grows while restarts keep failing
quickly); one that fails before the server is up stops the server, as a one-process server would stop. On
SIGTERM or SIGINT it asks every worker to stop (SIGTERM: each drains, front/native.py), waits for them, and
kills what is still running after `grace` seconds. A worker dies with the supervisor (PR_SET_PDEATHSIG)."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from apiway.observe.log import flush_repeats, log

__all__ = ["WorkerStart", "reserve", "supervise"]

_STOPPING = (signal.SIGTERM, signal.SIGINT)
_QUICK_EXIT = 5.0  # a worker that exits sooner than this after starting restarts after a growing pause
_MAX_PAUSE = 10.0


@dataclass(frozen=True)
class WorkerStart:
    index: int  # 0 … N-1, kept by the worker that replaces it
    restarted: bool
    ready: Callable[[], None]  # the worker calls it once it listens


Worker = Callable[[WorkerStart], int]  # runs a worker until it stops; its exit status


def reserve(host: str, port: int) -> socket.socket:
    """A socket bound to the address with SO_REUSEPORT and not listening (port 0: a free port, which the
    workers then share). Raises OSError when another program holds the port."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class _Slot:
    index: int
    pid: int = 0
    started: float = 0.0
    ready_fd: int = -1  # the read end of the worker's readiness pipe
    ready: bool = False
    failures: int = 0  # quick exits in a row
    restart_at: float | None = None
    starts: int = 0


class _Supervisor:
    def __init__(self, count: int, worker: Worker, keep: list[socket.socket]) -> None:
        self.worker = worker
        self.keep = keep
        self.slots = [_Slot(i) for i in range(count)]
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        self.stop_signal: int | None = None
        self.pid = os.getpid()
        self.up = False  # every worker has been ready once

    def fork(self, slot: _Slot) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: it never returns into the supervisor's code
            os.close(read_fd)
            os._exit(self._child(slot, write_fd))
        os.close(write_fd)
        slot.pid, slot.started, slot.ready_fd, slot.ready = pid, time.monotonic(), read_fd, False
        slot.starts += 1
        self.selector.register(read_fd, selectors.EVENT_READ, slot)

    def _child(self, slot: _Slot, write_fd: int) -> int:
        status = 1
        try:
            signal.set_wakeup_fd(-1)
            for sig in (*_STOPPING, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            _die_with_parent()
            if os.getppid() != self.pid:  # the supervisor died before that took effect
                return 1
            self.selector.close()
            for fd in (self.wake_r, self.wake_w, *(s.ready_fd for s in self.slots if s.ready_fd >= 0)):
                os.close(fd)
            for sock in self.keep:
                sock.close()

            def ready() -> None:
                with contextlib.suppress(OSError):
                    os.write(write_fd, b"r")
                    os.close(write_fd)

            status = self.worker(WorkerStart(slot.index, slot.starts > 1, ready))
        except KeyboardInterrupt:
            status = 130
        except BaseException as exc:  # nothing may unwind into the supervisor's stack
            log("ERROR", "worker failed", worker=slot.index, error=f"{type(exc).__name__}: {exc}")
        finally:
            flush_repeats()  # what atexit would do: os._exit skips it
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
        return status

    def run(self, on_up: Callable[[list[int]], None], grace: float) -> int:
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        for sig in (*_STOPPING, signal.SIGCHLD):
            signal.signal(sig, self._signalled)
        self.selector.register(self.wake_r, selectors.EVENT_READ, None)
        for slot in self.slots:
            self.fork(slot)
        while self.stop_signal is None:
            for key, _ in self.selector.select(timeout=self._timeout()):
                if key.data is None:
                    os.read(self.wake_r, 512)  # the signal itself was handled by _signalled
                else:
                    self._readiness(key.data)
            failed = self._reap()
            if failed is not None:
                self._stop_all(grace)
                return failed
            if not self.up and all(s.ready for s in self.slots):
                self.up = True
                on_up([s.pid for s in self.slots])
            self._restart_due()
        self._stop_all(grace)
        return 0

    def _signalled(self, sig: int, frame: object) -> None:
        if sig in _STOPPING:
            self.stop_signal = sig

    def _timeout(self) -> float | None:
        due = [s.restart_at for s in self.slots if s.restart_at is not None]
        return max(0.0, min(due) - time.monotonic()) if due else 1.0

    def _readiness(self, slot: _Slot) -> None:
        data = b""
        with contextlib.suppress(OSError):
            data = os.read(slot.ready_fd, 1)
        self._forget_pipe(slot)
        if data and slot.pid:
            slot.ready = True
            if self.up:
                log("INFO", "worker restarted", worker=slot.index, pid=slot.pid)

    def _forget_pipe(self, slot: _Slot) -> None:
        if slot.ready_fd >= 0:
            self.selector.unregister(slot.ready_fd)
            os.close(slot.ready_fd)
            slot.ready_fd = -1

    def _reap(self) -> int | None:
        """Collect exited workers and schedule their restart; an exit status when the server cannot start."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid == 0:
                return None
            slot = next((s for s in self.slots if s.pid == pid), None)
            if slot is None:
                continue
            self._forget_pipe(slot)
            slot.pid = 0
            how = _how(status)
            if not self.up:  # it could not start: neither will another
                log("ERROR", "worker exited while starting; stopping", worker=slot.index, exit=how)
                code = os.waitstatus_to_exitcode(status)
                return code if code > 0 else 1
            quick = time.monotonic() - slot.started < _QUICK_EXIT
            slot.failures = slot.failures + 1 if quick else 0
            pause = min(_MAX_PAUSE, 0.5 * 2 ** (slot.failures - 1)) if slot.failures else 0.0
            slot.restart_at = time.monotonic() + pause
            log("ERROR", "worker exited; starting another", worker=slot.index, pid=pid, exit=how,
                restart_in=round(pause, 1))

    def _restart_due(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.restart_at is not None and slot.restart_at <= now:
                slot.restart_at = None
                self.fork(slot)

    def _stop_all(self, grace: float) -> None:
        """Every worker asked to stop, then waited for; those still running after `grace` killed."""
        for slot in self.slots:
            if slot.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(s.pid for s in self.slots):
            if time.monotonic() > deadline:
                for slot in self.slots:
                    if slot.pid:
                        log("ERROR", "worker did not stop in time; killed", worker=slot.index, pid=slot.pid)
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(slot.pid, signal.SIGKILL)
                deadline = float("inf")
            try:
                pid, _ = os.waitpid(-1, 0 if deadline == float("inf") else os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
                continue
            for slot in self.slots:
                if slot.pid == pid:
                    slot.pid = 0


def supervise(count: int, worker: Worker, on_up: Callable[[list[int]], None], grace: float,
              keep: list[socket.socket]) -> int:
    """Run `count` workers until SIGTERM/SIGINT; `on_up(pids)` once all are ready. `keep`: sockets the
    supervisor holds (reserve()) and the workers close. The exit status: 0 once stopped by a signal, else that
    of a worker that failed while the server was starting."""
    return _Supervisor(count, worker, keep).run(on_up, grace)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _die_with_parent() -> None:
    """Linux: the kernel sends the worker SIGTERM should the supervisor die, even of SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: a worker outlives a killed supervisor
        pass

"""Functions run in Lambda-like execution environments: worker processes driven through the Lambda Runtime API.

Each function has up to `concurrency` environments (default 10), started on demand and reused while warm; an
environment serves one invocation at a time, like Lambda's. An environment is one process in its own process
group with its own `RuntimeApi` port. For Python it runs `python -m apiway.functions.python_bootstrap`, which
takes its invocations through a cheaper channel instead, frames on a Unix socket pair (bootstrap_channel.py):
the same events, answers and errors without two loopback HTTP round trips per invocation. For runtime
"provided" it runs the function's executable `bootstrap` (any runtime client that speaks the Runtime API, AWS's
`awslambdaric` included), in `LAMBDA_TASK_ROOT` with `_HANDLER` set; for runtime "nodejs" the machine's `node`
runs apiway's `node_bootstrap.mjs` (functions/node.py). What AWS does, and what is done here:

- Cold start: the runtime imports the handler, then asks for the first event (apiway's Python bootstrap says it is
  ready); that time is the REPORT line's `Init Duration`. An import failure is posted to `/runtime/init/error`
  (sent as an init error frame); the invocation answers that error document (`Runtime.ImportModuleError`, ...)
  and the environment is discarded, so the next invoke retries init.
- Throttling: with every environment busy, Lambda's Invoke answers 429 `TooManyRequestsException` and API
  Gateway turns that into 500 `Internal server error`. `invoke` raises `FunctionThrottled`, a gateway error with
  exactly that outcome (it carries the 429 document for callers that expose Lambda's own API).
- Timeout: `timeout` seconds after the runtime received the event, the process group is killed (SIGKILL) and
  the invocation fails with `Task timed out after N.NN seconds` (`inline.timeout_payload`).
- A runtime that exits mid-invocation (`os._exit`, a segfault, the memory limit) fails it with
  `{"errorType": "Runtime.ExitError", "errorMessage": "RequestId: … Error: Runtime exited with error:
  exit status 3"}` (`signal: killed`, `signal: segmentation fault` for signals) and is discarded.
- Memory: the process's address space is capped at `memory` MB + `MEMORY_MARGIN_MB` for the interpreter
  (RLIMIT_AS); `Max Memory Used` is its peak resident size. Node.js reserves far more address space than it
  uses: its margin is larger, and its heap is capped at `memory` MB instead (`--max-old-space-size`).
- Gateway killed (even by SIGKILL): each environment dies with it (PR_SET_PDEATHSIG), and so do the processes
  its function forked: a watchdog process (`reaper.GroupReaper`) kills every environment's process group when
  the gateway is gone. An environment that exits takes its process group with it.
- Environment: only `lambda_environment(spec)` plus `AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_LOG_STREAM_NAME`,
  `LAMBDA_RUNTIME_DIR`, `PATH` and the `PYTHONPATH` apiway's bootstrap needs: none of the gateway's own variables.
- Reload (`reload(name)`, or `load` of a loaded name): idle environments are stopped at once; busy ones finish
  their invocation with the old code and are then stopped instead of reused, counting towards the concurrency
  until then; the next invoke cold-starts with the new code.
- Logs: the environment's stdout and stderr, framed per invocation by `START RequestId: …`, `END RequestId: …`
  and `REPORT RequestId: …` lines, go to the server's stderr (each line prefixed with `[function name]`) and
  the last `LOG_LINES` lines of each function are kept (`logs(name)`). On a terminal the prefix has a colour
  per function; with `log_groups`, each line (without the prefix) is also an event of log group
  `/aws/lambda/<name>`, in the environment's stream `YYYY/MM/DD/[$LATEST]<32 hex>` (its
  `AWS_LAMBDA_LOG_STREAM_NAME`), as Lambda writes CloudWatch Logs. A line the function writes over and
  over (the same error on every call) is written 10 times per 10 s, then counted: "… (repeated N times in
  the last 10 s)"; the START/END/REPORT lines and the kept lines (`logs(name)`, Tail) are never held back.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import math
import os
import resource
import signal
import sys
import termios
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

import apiway
from apiway.core.request_ids import trace_header
from apiway.functions.base import FunctionSpec, FunctionThrottled, InvokeResult, event_trace
from apiway.functions.bootstrap_channel import BootstrapChannel
from apiway.functions.inline import lambda_environment, timeout_payload
from apiway.functions.node import NODE_BOOTSTRAP, NODE_MEMORY_MARGIN_MB, node_command, node_major
from apiway.functions.reaper import GroupReaper
from apiway.functions.runtime_api import PendingEvent, RuntimeApi
from apiway.observe.log import log
from apiway.observe.log_groups import LogGroups, LogStream
from apiway.observe.repeats import Repeats, repeated

__all__ = ["WorkerRunner"]

INIT_TIMEOUT = 10.0  # Lambda's limit on the init phase
MEMORY_MARGIN_MB = 256  # address space for the interpreter on top of the function's memory
LOG_LINES = 1000
BOOTSTRAP = "apiway.functions.python_bootstrap"
_SOURCE_ROOT = str(Path(apiway.__file__).resolve().parent.parent)  # where the bootstrap is importable from
_COLOURS = ("\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[32m", "\x1b[34m", "\x1b[96m", "\x1b[95m", "\x1b[93m",
            "\x1b[92m", "\x1b[94m")  # one per function on a terminal, in the order they first log
class _Function:
    __slots__ = ("count", "environments", "generation", "idle", "limit", "log_stream", "logs", "spec")

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.limit = max(1, spec.concurrency)
        self.generation = 0  # bumped by reload: environments of an older generation are not reused
        self.count = 0  # environments alive or starting
        self.idle: list[_Environment] = []  # warm and free; the most recently used is reused first
        self.environments: set[_Environment] = set()
        self.logs: deque[str] = deque(maxlen=LOG_LINES)
        self.log_stream: LogStream | None = None  # the newest environment's: where held-back counts are written


class _Environment:
    """One execution environment: its Runtime API (and bootstrap channel), its process, its log pipe, its
    invocation in progress."""

    __slots__ = ("_fd", "_partial", "_peak", "_status_fd", "alive", "api", "channel", "fn", "generation", "init_ms",
                 "inv", "log_stream", "proc", "runner", "spawned", "started", "timer", "watcher")

    def __init__(self, fn: _Function, runner: WorkerRunner) -> None:
        self.fn = fn
        self.generation = fn.generation
        self.runner = runner
        self.api = RuntimeApi(self._delivered, self._answered, self._init_failed)
        self.channel: BootstrapChannel | None = None  # apiway's Python bootstrap takes invocations here instead
        self.proc: asyncio.subprocess.Process | None = None
        self.watcher: asyncio.Task[None] | None = None
        self.alive = True
        self.inv: PendingEvent | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.spawned = 0.0
        self.started = 0.0  # when the runtime received the current event
        self.init_ms: float | None = None  # set on the cold invocation, reported once
        self._fd = -1
        self._status_fd = -1
        self._peak = (-1, 0)  # the runtime's page faults when its peak memory (MB) was last read, and that peak
        self._partial = b""
        self.log_stream: LogStream | None = None

    async def start(self) -> None:
        spec = self.fn.spec
        port = await self.api.start()
        env = lambda_environment(spec)
        env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{port}"
        version = env["AWS_LAMBDA_FUNCTION_VERSION"]  # a published version's number (functions/catalog.py)
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = f"{datetime.now(UTC):%Y/%m/%d}/[{version}]{os.urandom(16).hex()}"
        self.log_stream = self.runner.log_stream(spec.name, env["AWS_LAMBDA_LOG_STREAM_NAME"])
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
        env.setdefault("PATH", os.environ.get("PATH", os.defpath))
        env.setdefault("LANG", "C.UTF-8")
        pass_fds: tuple[int, ...] = ()
        if spec.runtime == "provided":  # the function's own executable is the runtime
            if spec.bootstrap is None:
                raise ValueError(f"function {spec.name} has runtime 'provided' but no bootstrap")
            bootstrap = Path(spec.base_dir, spec.bootstrap).resolve()
            env["LAMBDA_RUNTIME_DIR"] = str(bootstrap.parent)
            command: tuple[str, ...] = (str(bootstrap),)
        elif spec.runtime == "nodejs":
            env["LAMBDA_RUNTIME_DIR"] = str(NODE_BOOTSTRAP.parent)
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_nodejs{node_major()}.x"
            command = node_command(spec.memory)
        else:
            env["LAMBDA_RUNTIME_DIR"] = _SOURCE_ROOT
            env["PYTHONPATH"] = os.pathsep.join(p for p in (_SOURCE_ROOT, env.get("PYTHONPATH")) if p)
            self.channel = BootstrapChannel(self._delivered, self._answered, self._init_failed, self.discard)
            pass_fds = (await self.channel.start(),)
            command = (sys.executable, "-m", BOOTSTRAP, str(pass_fds[0]))
        margin = NODE_MEMORY_MARGIN_MB if spec.runtime == "nodejs" else MEMORY_MARGIN_MB
        limit = (spec.memory + margin) * 1024 * 1024
        read_end, write_end = os.pipe()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.DEVNULL, stdout=write_end,
                stderr=write_end, cwd=str(spec.base_dir), env=env, preexec_fn=lambda: _limit_child(limit),
                pass_fds=pass_fds)
        except BaseException:
            os.close(read_end)
            self._close_channels()
            raise
        finally:
            os.close(write_end)
            if self.channel is not None:
                self.channel.started()  # the process has its end
        self.spawned = time.monotonic()
        self.runner.reaper.watch(self.proc.pid)  # its group is its pid (_limit_child)
        with contextlib.suppress(OSError):
            self._status_fd = os.open(f"/proc/{self.proc.pid}/status", os.O_RDONLY)
        os.set_blocking(read_end, False)
        self._fd = read_end
        loop = asyncio.get_running_loop()
        loop.add_reader(read_end, self.drain)
        self.watcher = loop.create_task(self._watch())

    def run(self, inv: PendingEvent) -> None:
        self.inv = inv
        loop = asyncio.get_running_loop()
        if self.started == 0.0:  # cold: the init phase has its own limit
            self.timer = loop.call_later(INIT_TIMEOUT, self._timed_out)
        (self.channel or self.api).submit(inv)

    # --- Runtime API (or bootstrap channel) events

    def _delivered(self, inv: PendingEvent) -> None:
        now = time.monotonic()
        if self.started == 0.0:
            self.init_ms = (now - self.spawned) * 1000
            self.drain()  # output of the init phase comes before START
        self.started = now
        inv.deadline_ms = int((time.time() + inv.timeout) * 1000)
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(inv.timeout, self._timed_out)
        self._emit([f"START RequestId: {inv.request_id} Version: {self._version()}"], framing=True)

    def _answered(self, inv: PendingEvent, result: InvokeResult) -> None:
        self._complete(inv, result, self.channel.faults if self.channel is not None else None)

    def _init_failed(self, result: InvokeResult) -> None:
        inv = self.inv
        self.discard()
        if inv is not None:
            self._complete(inv, result)

    def _timed_out(self) -> None:
        inv = self.inv
        self.timer = None
        self.discard()
        if inv is not None:
            payload = timeout_payload(self.fn.spec, inv.request_id)
            self._emit([orjson.loads(payload)["errorMessage"]])
            self._complete(inv, InvokeResult(payload, "Unhandled"))

    async def _watch(self) -> None:
        assert self.proc is not None
        code = await self.proc.wait()
        # Whatever the function forked goes with it, as the whole sandbox does on Lambda.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.runner.reaper.forget(self.proc.pid)
        self.drain()
        inv = self.inv
        self.discard()
        if inv is not None:  # crashed mid-invocation, or killed by close()
            status = f"exit status {code}" if code >= 0 else f"signal: {_signal_name(-code)}"
            message = f"RequestId: {inv.request_id} Error: Runtime exited with error: {status}"
            self._emit([message, "Runtime.ExitError"])
            payload = orjson.dumps({"errorType": "Runtime.ExitError", "errorMessage": message})
            self._complete(inv, InvokeResult(payload, "Unhandled"))
        self._close_pipe()
        if self._status_fd >= 0:
            os.close(self._status_fd)
            self._status_fd = -1
        self._close_channels()

    def _close_channels(self) -> None:
        self.api.close()
        if self.channel is not None:
            self.channel.close()

    # --- bookkeeping

    def _complete(self, inv: PendingEvent, result: InvokeResult, faults: int | None = None) -> None:
        """`faults`: the runtime's page faults as it answered (apiway's bootstrap says), else unknown."""
        if inv is not self.inv:
            return
        self.inv = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self._fd >= 0 and _unread(self._fd):  # usually nothing: the loop read what came during the invocation
            self.drain()
        if self._partial:
            lines, self._partial = [self._partial.decode("utf-8", "replace")], b""
            self._emit(lines)
        rid = inv.request_id
        if not inv.delivered:
            self._emit([f"START RequestId: {rid} Version: {self._version()}"], framing=True)
        duration = (time.monotonic() - self.started) * 1000 if inv.delivered else 0.0
        report = (f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: "
                  f"{max(1, math.ceil(duration))} ms\tMemory Size: {self.fn.spec.memory} MB\tMax Memory Used: "
                  f"{self._max_memory_mb(faults)} MB")
        if self.init_ms is not None:
            report += f"\tInit Duration: {self.init_ms:.2f} ms"
            self.init_ms = None
        self._emit([f"END RequestId: {rid}", report], framing=True)
        if self.alive:
            if self.generation == self.fn.generation:
                self.fn.idle.append(self)  # warm: reused before any other
            else:
                self.discard()  # the function was reloaded while this invocation ran: its code is stale
        inv.resolve(result)

    def _version(self) -> str:
        return self.fn.spec.environment.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")

    def discard(self) -> None:
        """Take the environment out of service and kill its process group (idempotent)."""
        if not self.alive:
            return
        self.alive = False
        fn = self.fn
        fn.count -= 1
        if self in fn.idle:
            fn.idle.remove(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def _max_memory_mb(self, faults: int | None) -> int:
        """The process's peak resident size (VmHWM). Reading /proc costs more than the rest of a warm invocation's
        bookkeeping, so it is skipped when the runtime's page faults have not moved since the last read: resident
        memory does not grow without one (khugepaged filling in a huge page aside, seen at the next fault)."""
        if faults is not None and faults == self._peak[0]:
            return self._peak[1]
        if self._status_fd < 0:
            return 0
        try:  # the file stays open: re-reading it costs a third of opening it each time
            status = os.pread(self._status_fd, 4096, 0)
        except OSError:
            return 0
        at = status.find(b"VmHWM:")
        if at < 0:
            return 0
        peak = math.ceil(int(status[at + 6:status.index(b"kB", at)]) / 1024)
        self._peak = (-1 if faults is None else faults, peak)
        return peak

    # --- logs

    def drain(self) -> None:
        """Read whatever the process wrote so far (called by the loop, and before each framing line)."""
        fd = self._fd
        if fd < 0:
            return
        chunks = []
        eof = False
        while True:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                eof = True
                break
            if not data:
                eof = True
                break
            chunks.append(data)
            if len(data) < 65536:  # the pipe is empty now (reading on would only raise): the loop calls again
                break
        if chunks:
            data = self._partial + b"".join(chunks)
            *lines, self._partial = data.split(b"\n")
            if lines:
                text = [line.decode("utf-8", "replace") for line in lines]
                if any(b"\r" in line for line in lines):  # AWS's runtime clients separate a record's lines by CR
                    text = [part for line in text for part in line.rstrip("\r").split("\r")]
                self._emit(text)
        if eof:
            self._close_pipe()

    def _close_pipe(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

    def _emit(self, lines: list[str], framing: bool = False) -> None:
        self.fn.logs.extend(lines)
        self.runner.echo(self.fn.spec.name, lines, framing, self.log_stream)


class WorkerRunner:
    """The FunctionInvoker of worker mode. `load` registers functions (nothing starts until an invoke)."""

    def __init__(self, log_stream: TextIO | None = None, echo_logs: bool = True,
                 log_groups: LogGroups | None = None) -> None:
        self._functions: dict[str, _Function] = {}
        self._log_stream = log_stream
        self._echo_logs = echo_logs
        self._log_groups = log_groups
        self._repeats = Repeats()  # keyed by (function, line)
        self._colours: dict[str, str] = {}
        self._tty: tuple[TextIO, bool] | None = None  # the echo stream, and whether it is a terminal
        self.reaper = GroupReaper(_SOURCE_ROOT)  # kills the environments should the gateway be killed

    def load(self, spec: FunctionSpec) -> None:
        if spec.name in self._functions:  # loaded again: a reload, so that no environment is left behind
            self.reload(spec.name, spec)
        else:
            self._functions[spec.name] = _Function(spec)

    def reload(self, name: str, spec: FunctionSpec | None = None) -> None:
        """New code (and, given `spec`, new settings) for the function: its idle environments are stopped now,
        busy ones finish their invocation and are then stopped instead of reused; the next invoke cold-starts.
        The stopping ones still count towards the function's concurrency until they are gone."""
        fn = self._functions[name]
        if spec is not None:
            fn.spec = spec
            fn.limit = max(1, spec.concurrency)
        fn.generation += 1
        for env in list(fn.idle):
            env.discard()

    def has(self, name: str) -> bool:
        return name in self._functions

    def logs(self, name: str) -> list[str]:
        fn = self._functions.get(name)
        return list(fn.logs) if fn is not None else []

    def log_stream(self, name: str, stream: str) -> LogStream | None:
        """A new environment's stream in the function's log group (none without log groups)."""
        if self._log_groups is None:
            return None
        found = self._log_groups.stream(f"/aws/lambda/{name.partition(':')[0]}", stream)  # every version's
        fn = self._functions.get(name)
        if fn is not None:
            fn.log_stream = found
        return found

    def echo(self, name: str, lines: list[str], framing: bool = False, stream: LogStream | None = None) -> None:
        """Write a function's log lines, each one event of `stream` (else the function's newest stream); its own
        output (not `framing`, the once-per-invocation START, END and REPORT lines) goes through the repeat limit
        first."""
        if not framing:
            lines = self._unrepeated(name, lines)
            if not lines:
                return
        if stream is None:
            fn = self._functions.get(name)
            stream = fn.log_stream if fn is not None else None
        if stream is not None:
            now = int(time.time() * 1000)
            for line in lines:
                stream.put(now, line)
        if self._echo_logs:
            stream = self._log_stream or sys.stderr
            prefix = f"[{name}] "
            if self._is_tty(stream):
                colour = self._colours.get(name)
                if colour is None:
                    colour = self._colours[name] = _COLOURS[len(self._colours) % len(_COLOURS)]
                prefix = f"{colour}[{name}]\x1b[0m "
            stream.write(prefix + f"\n{prefix}".join(lines) + "\n")
            stream.flush()

    def _unrepeated(self, name: str, lines: list[str]) -> list[str]:
        now = time.monotonic()
        summaries = self._repeats.summaries(now)
        if summaries:  # counts of lines held back in a window now over, each in its function's log
            for (other, line), count, seconds in summaries:
                self.echo(other, [repeated(line, count, seconds)], framing=True)
        admit = self._repeats.admit
        return [line for line in lines if admit((name, line), now)]

    def _is_tty(self, stream: TextIO) -> bool:
        if self._tty is None or self._tty[0] is not stream:
            try:
                tty = stream.isatty()
            except (AttributeError, ValueError):  # no isatty, or a closed stream
                tty = False
            self._tty = (stream, tty)
        return self._tty[1]

    async def invoke(self, name: str, event: Any, request_id: str, trace: str | None = None) -> InvokeResult:
        fn = self._functions[name]
        spec = fn.spec
        loop = asyncio.get_running_loop()
        trace = trace or trace_header(event_trace(event), int(time.time()))
        inv = PendingEvent(request_id, orjson.dumps(event), spec.timeout, spec.arn, trace, loop.create_future())
        if fn.idle:
            env = fn.idle.pop()
        else:
            if fn.count >= fn.limit:
                raise FunctionThrottled(name)
            fn.count += 1
            env = _Environment(fn, self)
            fn.environments.add(env)
            try:
                await env.start()
            except Exception as exc:
                env.discard()
                fn.environments.discard(env)
                log("ERROR", "execution environment failed to start", function=name,
                    error=f"{type(exc).__name__}: {exc}")
                message = f"RequestId: {request_id} Error: Runtime failed to start: {exc}"
                return InvokeResult(orjson.dumps({"errorType": "Runtime.Unknown", "errorMessage": message}),
                                    "Unhandled")
            env.watcher.add_done_callback(lambda _: fn.environments.discard(env))  # type: ignore[union-attr]
        env.run(inv)
        # A cancelled caller cancels only its future: the environment finishes the invocation, then is reused.
        return await inv.result

    async def close(self) -> None:
        """Kill every environment and wait for the processes to be gone."""
        watchers = []
        for fn in self._functions.values():
            for env in list(fn.environments):
                env.discard()
                if env.watcher is not None:
                    watchers.append(env.watcher)
        if watchers:
            await asyncio.gather(*watchers, return_exceptions=True)
        self.reaper.close()
        for (name, line), count, seconds in self._repeats.summaries(time.monotonic(), final=True):
            self.echo(name, [repeated(line, count, seconds)], framing=True)


def _unread(fd: int) -> int:
    """Bytes waiting in the pipe (FIONREAD): asking costs a third of a read that finds nothing, which raises."""
    try:
        return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), sys.byteorder)
    except OSError:
        return 1  # let drain() find out


def _signal_name(number: int) -> str:
    name = signal.strsignal(number) if number > 0 else None
    return (name or f"signal {number}").lower()


def _limit_child(limit: int) -> None:
    """Runs in the child between fork and exec: a process group of its own (killed as one; out of the terminal's
    foreground, so a Ctrl-C meant for the gateway is not delivered to it), capped memory, batch scheduling, and
    death with the gateway.

    Not a session of its own: the kernel's autogroup scheduling would give each environment its own task group,
    and switching among dozens of groups on one core costs more than among their processes. SCHED_BATCH: an
    environment handed an event does not preempt the gateway, which goes on handing out the others first."""
    os.setpgid(0, 0)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if _SCHED_BATCH is not None:
        with contextlib.suppress(OSError):  # a hint: a sandbox that forbids it must not stop the environment
            os.sched_setscheduler(0, _SCHED_BATCH, os.sched_param(0))
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _find_prctl() -> Callable[..., int] | None:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not Linux
        return None


_prctl = _find_prctl()  # resolved here: the child between fork and exec must not import anything
_SCHED_BATCH: int | None = getattr(os, "SCHED_BATCH", None)  # Linux's

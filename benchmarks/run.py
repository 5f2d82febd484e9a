#!/usr/bin/env python3
"""Benchmark harness: apiway against nginx on the same core.

Every scenario is a server pinned to one CPU (``--server-cpu``, default 0) and
driven by ``wrk`` pinned to another (``--client-cpu``, default 1) over
keep-alive connections.  Upstreams used by proxy scenarios run on the client
CPU as their own process group, so they are not counted as server CPU.

For each measured run the harness reports requests/s, p50 and p99 latency
(from ``wrk --latency``) and the *server CPU time per request*: utime + stime
of the server's whole process group (the server process, its threads and its
children, read from /proc) over the measured run, divided by the number of
requests wrk completed.

Rounds are interleaved (A B C D E, A B C D E, ...) and the table quotes the
median of each figure across rounds.  nginx ``return 200`` is the reference
measured in the same run.

``--baseline PATH`` compares against another apiway executable (say, a checkout
of an older commit) in the same run: each apiway scenario is then measured with
both executables, one right after the other in every round, and the report adds
the baseline's rows and a table of the changes.

After the CPU scenarios, the reference and one apiway method per kind of integration are counted in
*instructions per request* under valgrind's callgrind (``benchmarks/instructions.py``): unlike CPU time, the count
does not move with the machine's load.  ``--write-doc`` also puts the run's row into the document's history table
(``benchmarks/history.py``).

Only the Python standard library is used.  Run ``benchmarks/run.py --help``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import dataclasses
import datetime
import functools
import http.client
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import history
import instructions

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
TEMPLATES = HERE / "templates"

API_ID = "benchapi01"
STAGE = "bench"
CACHED_STAGE = "cached"  # the same API with the stage cache on (GET methods cached)
CLOSED_STAGE = "closed"  # the same API with stage throttling 0/0: every request is rejected
HTTP_API_ID = "benchhttp1"  # an HTTP API (API Gateway v2) with the REST API's Lambda and HTTP_PROXY routes
HTTP_STAGE = "$default"
LOOPBACK = "127.0.0.1"

DOC_START = "<!-- bench:start -->"
DOC_END = "<!-- bench:end -->"
REFERENCE = "nginx-return-200"

CLK_TCK = os.sysconf("SC_CLK_TCK")

NGINX_READY_TIMEOUT = 10.0
APIWAY_READY_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
# A measured run is rejected when more than this share of its requests failed.
MAX_ERROR_RATIO = 0.01


# --------------------------------------------------------------------------
# scenarios


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "nginx" or "apiway"
    description: str
    needs_upstream: bool = False
    template: str = ""  # nginx config template
    path: str = "/"  # request path (apiway: resource path below the stage)
    body: str = "hello"  # body the probe request must return
    stage: str = STAGE  # apiway: the stage invoked
    status: int = 200  # status every response must have
    headers: tuple[tuple[str, str], ...] = ()  # sent with every request
    usage_plan: bool = False  # apiway: create BENCH_KEY and a usage plan for the stage first (control plane)
    api_id: str = API_ID  # apiway: the API invoked (HTTP_API_ID: the HTTP API, which the project then serves too)


SCENARIOS: list[Scenario] = [
    Scenario(
        "nginx-return-200",
        "nginx",
        'nginx, 1 worker, `return 200 "hello"`',
        template="nginx-return.conf.in",
    ),
    Scenario(
        "nginx-proxy-pass",
        "nginx",
        "nginx, 1 worker, proxy_pass with upstream keepalive to nginx `return 200`",
        needs_upstream=True,
        template="nginx-proxy.conf.in",
    ),
    Scenario(
        "apiway-mock",
        "apiway",
        "apiway, REST method with a MOCK integration and a static response template",
        path="mock",
        body='{"hello": "world"}',
    ),
    Scenario(
        "apiway-mock-vtl",
        "apiway",
        "apiway, MOCK with a VTL response template (#set, #foreach over the query, $input.params, $context)",
        path="mock-vtl?q=bench&a=1&b=2",
        body='{"stage": "bench", "q": "bench", "method": "GET", "keys": ["q", "a", "b"]}',
    ),
    Scenario(
        "apiway-cache-hit",
        "apiway",
        "apiway, the MOCK method of `apiway-mock` on a stage with the response cache on: every request a cache hit",
        path="mock",
        body='{"hello": "world"}',
        stage=CACHED_STAGE,
    ),
    Scenario(
        "apiway-throttled",
        "apiway",
        "apiway, the MOCK method on a stage throttled to 0 requests/s: every request rejected with AWS's 429",
        path="mock",
        body='{"message":"Too Many Requests"}',
        stage=CLOSED_STAGE,
        status=429,
    ),
    Scenario(
        "apiway-mock-headers",
        "apiway",
        "apiway, `apiway-mock` sent with the `x-api-key` and `Authorization` headers of the next two scenarios "
        "(their baseline: parsing each header costs the server too)",
        path="mock",
        body='{"hello": "world"}',
        headers=(("x-api-key", "bench-key-0123456789abcdef"), ("Authorization", "allow")),
    ),
    Scenario(
        "apiway-api-key",
        "apiway",
        "apiway, the MOCK method with `apiKeyRequired`: key lookup, usage-plan throttle and quota on every request",
        path="keyed",
        body='{"hello": "world"}',
        headers=(("x-api-key", "bench-key-0123456789abcdef"), ("Authorization", "allow")),
        usage_plan=True,
    ),
    Scenario(
        "apiway-authorizer-cached",
        "apiway",
        "apiway, the MOCK method behind a Lambda TOKEN authorizer whose decision is cached (TTL 300 s)",
        path="authorized",
        body='{"hello": "world"}',
        headers=(("x-api-key", "bench-key-0123456789abcdef"), ("Authorization", "allow")),
    ),
    Scenario(
        "apiway-http-proxy",
        "apiway",
        "apiway, REST method with an HTTP_PROXY integration to nginx `return 200`",
        needs_upstream=True,
        path="proxy",
    ),
    Scenario(
        "apiway-aws-proxy",
        "apiway",
        "apiway, REST method with an AWS_PROXY integration to a trivial Python handler, `mode: inline`",
        path="lambda",
    ),
    Scenario(
        "apiway-http-api-proxy",
        "apiway",
        "apiway, HTTP API route with an HTTP_PROXY integration to nginx `return 200` (same upstream as "
        "`apiway-http-proxy`)",
        needs_upstream=True,
        path="proxy",
        stage=HTTP_STAGE,
        api_id=HTTP_API_ID,
    ),
    Scenario(
        "apiway-http-api-lambda",
        "apiway",
        "apiway, HTTP API route with an AWS_PROXY integration, payload 2.0, to the handler of `apiway-aws-proxy`, "
        "`mode: inline`",
        path="lambda",
        stage=HTTP_STAGE,
        api_id=HTTP_API_ID,
    ),
    Scenario(
        "apiway-aws-proxy-worker",
        "apiway",
        "apiway, the same handler in `mode: worker` (warm worker processes, on the Python bootstrap's frame channel)",
        path="lambda-worker",
    ),
]
SCENARIO_BY_NAME = {s.name: s for s in SCENARIOS}
# Counted in instructions after the CPU scenarios: the reference and one method per kind of integration.
INSTRUCTION_SCENARIOS = ("nginx-return-200", "apiway-mock", "apiway-aws-proxy", "apiway-http-proxy")
# The history table's instruction columns (docs/performance.md), in order.
HISTORY_SCENARIOS = ("apiway-mock", "apiway-aws-proxy", "apiway-http-proxy")


def apiway_url_path(resource: str, stage: str = STAGE, api_id: str = API_ID) -> str:
    return f"/restapis/{api_id}/{stage}/_user_request_/{resource}"


# --------------------------------------------------------------------------
# errors


class ScenarioFailed(Exception):
    """A measured round could not be completed."""


class StartFailed(ScenarioFailed):
    """The server under test could not be started; later rounds are skipped."""


class Interrupted(BaseException):
    """Raised from SIGTERM / SIGHUP handlers so that cleanup runs."""


# --------------------------------------------------------------------------
# process management


_RUNNING: list[ProcessGroup] = []


class ProcessGroup:
    """A child started in its own session, so its pid is also its pgid."""

    def __init__(self, name: str, argv: list[str], log_path: Path, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            self._log.close()
            raise StartFailed(f"cannot start {name}: {exc}") from exc
        _RUNNING.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        pgid = self.proc.pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=STOP_TIMEOUT)
        # Members of the group that outlived the leader (e.g. orphaned workers).
        deadline = time.monotonic() + STOP_TIMEOUT
        while _group_pids(pgid) and time.monotonic() < deadline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            time.sleep(0.05)
        with contextlib.suppress(ValueError):
            _RUNNING.remove(self)
        self._log.close()

    def log_tail(self, lines: int = 3) -> str:
        return tail_text(self.log_path, lines)


def stop_all() -> None:
    """Stop every process group still running; safe to call more than once."""
    old = signal.getsignal(signal.SIGINT)
    with contextlib.suppress(ValueError):  # not in the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for pg in reversed(list(_RUNNING)):
            with contextlib.suppress(Exception):
                pg.stop()
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGINT, old)


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def tail_text(path: Path, lines: int = 3, width: int = 300) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    kept = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # For a Python traceback the exception line says it all.
    kept = kept[-1:] if any(ln.startswith("Traceback (most recent call last)") for ln in kept) else kept[-lines:]
    out = " / ".join(kept).replace(f"{REPO_ROOT}/", "")
    return out if len(out) <= width else "..." + out[-width:]


# --------------------------------------------------------------------------
# CPU accounting from /proc


def _read_stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, pgrp, utime+stime+cutime+cstime in ticks) of one process."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # Field 2 (comm) may hold spaces or parentheses: split after the last ')'.
    rest = data[data.rindex(b")") + 2 :].split()
    # rest[0] is field 3 (state), so field N is rest[N - 3].
    ppid, pgrp = int(rest[1]), int(rest[2])
    utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
    # cutime/cstime hold the time of children that exited and were reaped, so
    # a worker that dies during the run is still counted.
    return ppid, pgrp, utime + stime + cutime + cstime


def _all_stats() -> dict[int, tuple[int, int, int]]:
    stats: dict[int, tuple[int, int, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _read_stat(int(entry))
            if st is not None:
                stats[int(entry)] = st
    return stats


def _group_pids(pgid: int) -> list[int]:
    return [pid for pid, (_, pgrp, _) in _all_stats().items() if pgrp == pgid]


def group_cpu_seconds(root_pid: int) -> tuple[float, int]:
    """CPU seconds of ``root_pid``'s process group plus all its descendants.

    Returns (seconds, number of processes counted).
    """
    stats = _all_stats()
    members = {pid for pid, (_, pgrp, _) in stats.items() if pgrp == root_pid}
    if root_pid in stats:
        members.add(root_pid)
    # Descendants that moved to another process group or session.
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    todo = list(members)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in members:
                members.add(child)
                todo.append(child)
    ticks = sum(stats[pid][2] for pid in members)
    return ticks / CLK_TCK, len(members)


# --------------------------------------------------------------------------
# networking helpers (loopback only)


_PORTS_HANDED_OUT: set[int] = set()


def free_port() -> int:
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        if port not in _PORTS_HANDED_OUT:
            _PORTS_HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def tcp_accepting(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0):
            return True
    except OSError:
        return False


def http_get(port: int, path: str, timeout: float = 5.0, headers: Iterable[tuple[str, str]] = ()) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": "application/json", **dict(headers)})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def describe_get(port: int, path: str, body: str | None = None, expected: int = 200,
                 headers: Iterable[tuple[str, str]] = ()) -> tuple[bool, str]:
    """(ok, description) of one GET; ok means status ``expected`` (and ``body``, when given)."""
    try:
        status, got = http_get(port, path, headers=headers)
    except (OSError, http.client.HTTPException) as exc:
        return False, f"GET {path}: {type(exc).__name__}: {exc}"
    text = got.decode("utf-8", "replace")
    ok = status == expected and (body is None or text.strip() == body)
    snippet = text[:120].replace("\n", " ")
    return ok, f"GET {path} -> {status} {snippet}" + ("" if ok or status != expected else f" (expected {body})")


def wait_ready(pg: ProcessGroup, port: int, path: str, timeout: float, log_tail: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    last = "port not accepting connections"
    while time.monotonic() < deadline:
        if not pg.alive():
            raise StartFailed(f"{pg.name} exited with code {pg.proc.returncode}: {log_tail() or 'no output'}")
        if tcp_accepting(port):
            ok, last = describe_get(port, path)
            if ok:
                return
        time.sleep(0.1)
    tail = log_tail()
    raise StartFailed(f"{pg.name} not ready within {timeout:g} s ({last})" + (f"; log: {tail}" if tail else ""))


# --------------------------------------------------------------------------
# wrk


_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_NUM_UNIT = r"([0-9]*\.?[0-9]+)(us|ms|s|m|h)"


def to_ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


@dataclasses.dataclass
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int = 0
    socket_errors: int = 0
    raw: str = ""


def parse_wrk(output: str) -> WrkResult:
    dist: dict[str, float] = {}
    for m in re.finditer(rf"^\s*(\d+(?:\.\d+)?)%\s+{_NUM_UNIT}\s*$", output, re.M):
        dist[m.group(1)] = to_ms(m.group(2), m.group(3))
    m_req = re.search(rf"^\s*(\d+) requests in {_NUM_UNIT}", output, re.M)
    m_rps = re.search(r"^Requests/sec:\s+([0-9.]+)", output, re.M)
    if not m_req or not m_rps or "50" not in dist or "99" not in dist:
        raise ScenarioFailed("could not parse wrk output: " + " / ".join(output.strip().splitlines()[-3:]))
    non_2xx = 0
    m_non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if m_non:
        non_2xx = int(m_non.group(1))
    sock = 0
    m_sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if m_sock:
        sock = sum(int(x) for x in m_sock.groups())
    return WrkResult(
        requests=int(m_req.group(1)),
        duration_s=to_ms(m_req.group(2), m_req.group(3)) / 1e3,
        rps=float(m_rps.group(1)),
        p50_ms=dist["50"],
        p99_ms=dist["99"],
        non_2xx=non_2xx,
        socket_errors=sock,
        raw=output,
    )


# --------------------------------------------------------------------------
# run context


@dataclasses.dataclass
class Context:
    args: argparse.Namespace
    tmp: Path
    nginx: str
    wrk: str
    apiway: Path
    upstream: ProcessGroup | None = None
    upstream_port: int = 0
    upstream_error: str = ""
    project_dir: Path | None = None
    counter: int = 0
    baseline: Path | None = None  # --baseline: the apiway executable compared against
    baseline_label: str = ""
    http_api: bool = False  # a selected scenario calls the HTTP API: the project serves it

    def workdir(self, name: str) -> Path:
        self.counter += 1
        d = self.tmp / f"{self.counter:03d}-{name}"
        d.mkdir(parents=True)
        return d


def render(template: str, dest: Path, **values: object) -> Path:
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    leftover = re.findall(r"@[A-Z][A-Z_]*@", text)
    if leftover:
        raise RuntimeError(f"{template}: unfilled placeholders {sorted(set(leftover))}")
    dest.write_text(text)
    return dest


def taskset(cpu: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *argv]


def start_nginx(ctx: Context, name: str, template: str, cpu: int, wrapper: Sequence[str] = (),
                ready_timeout: float = NGINX_READY_TIMEOUT) -> tuple[ProcessGroup, int]:
    """nginx on `cpu`; with a `wrapper` (a command line prefix) without a master process, so the process started
    is the one serving."""
    prefix = ctx.workdir(name)
    (prefix / "tmp").mkdir()
    port = free_port()
    conf = render(template, prefix / "nginx.conf", PORT=port, PREFIX=prefix, UPSTREAM_PORT=ctx.upstream_port)
    error_log = prefix / "error.log"
    directives = "daemon off;" + (" master_process off;" if wrapper else "")
    argv = taskset(
        cpu,
        [*wrapper, ctx.nginx, "-p", f"{prefix}/", "-c", str(conf), "-e", str(error_log), "-g", directives],
    )
    pg = ProcessGroup(name, argv, prefix / "stdout.log")

    def log_tail() -> str:
        return tail_text(error_log) or pg.log_tail()

    try:
        wait_ready(pg, port, "/", ready_timeout, log_tail)
    except BaseException:
        pg.stop()
        raise
    return pg, port


def write_apiway_project(ctx: Context, http_api: bool, name: str = "apiway-project") -> Path:
    """The benchmark project in the work dir; with the HTTP API beside the REST API when `http_api`."""
    d = ctx.tmp / name
    (d / "functions").mkdir(parents=True)
    # Without an upstream the variable still needs a value; point it at a
    # port nothing listens on (only the HTTP_PROXY method would use it).
    upstream_port = ctx.upstream_port or free_port()
    # The HTTP API only when a scenario calls it: builds from before HTTP APIs can still be compared.
    api = f"  - {{openapi: bench-http-api.yaml, id: {HTTP_API_ID}, kind: http}}" if http_api else ""
    render("apiway.yaml.in", d / "apiway.yaml", API_ID=API_ID, STAGE=STAGE, UPSTREAM_PORT=upstream_port,
           HTTP_API=api)
    render("bench-api.yaml.in", d / "bench-api.yaml")
    if http_api:
        render("bench-http-api.yaml.in", d / "bench-http-api.yaml", UPSTREAM_PORT=upstream_port)
    for function in (TEMPLATES / "functions").glob("*.py"):
        shutil.copyfile(function, d / "functions" / function.name)
    return d


def start_apiway(ctx: Context, name: str, apiway: Path, wrapper: Sequence[str] = (),
                 ready_timeout: float = APIWAY_READY_TIMEOUT, project: Path | None = None) -> tuple[ProcessGroup, int]:
    """apiway serving `project`, by default the run's (written on the first start)."""
    if not apiway.exists():
        raise StartFailed(f"apiway executable not found ({display_path(apiway)})")
    if project is None:
        if ctx.project_dir is None:
            ctx.project_dir = write_apiway_project(ctx, ctx.http_api)
        project = ctx.project_dir
    work = ctx.workdir(name)
    port = free_port()
    argv = taskset(
        ctx.args.server_cpu,
        [
            *wrapper,
            str(apiway),
            "serve",
            str(project / "apiway.yaml"),
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--state",
            str(work / "state.db"),  # fresh state on every start
            # AWS's account-level limit (10,000 requests/s) would throttle the measured runs.
            "--throttle-rate",
            "1e9",
            "--throttle-burst",
            "1000000000",
            *shlex.split(ctx.args.apiway_args),
        ],
    )
    pg = ProcessGroup(name, argv, work / "apiway.log", cwd=project)
    try:
        wait_ready(pg, port, apiway_url_path("mock"), ready_timeout, pg.log_tail)
    except BaseException:
        pg.stop()
        raise
    return pg, port


def create_usage_plan(port: int, stage: str, key: str) -> None:
    """An enabled API key in a usage plan for the stage, with limits the run never reaches, so every
    request pays the full check (key, plan throttle, quota count) and is admitted."""
    def call(path: str, body: dict) -> dict:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
        try:
            conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 201:
                raise StartFailed(f"POST {path} -> {resp.status} {data[:200]!r}")
            return json.loads(data)
        finally:
            conn.close()

    key_id = call("/apikeys", {"name": "bench", "value": key, "enabled": True})["id"]
    plan = call("/usageplans", {"name": "bench", "apiStages": [{"apiId": API_ID, "stage": stage}],
                                "throttle": {"rateLimit": 1e9, "burstLimit": 1000000000},
                                "quota": {"limit": 2000000000, "period": "DAY"}})
    call(f"/usageplans/{plan['id']}/keys", {"keyId": key_id, "keyType": "API_KEY"})


def start_upstream(ctx: Context) -> None:
    try:
        ctx.upstream, ctx.upstream_port = start_nginx(
            ctx, "upstream-nginx", "nginx-return.conf.in", ctx.args.client_cpu
        )
    except Exception as exc:
        ctx.upstream_error = f"upstream nginx failed to start: {exc}"


# wrk sends what `request` returns as it is: N requests in one write, answered in order on the connection.
_PIPELINE_LUA = """
local depth = tonumber(os.getenv("PIPELINE_DEPTH") or "1")
init = function(args)
  local batch = {}
  for i = 1, depth do batch[i] = wrk.format(nil, nil) end
  req = table.concat(batch)
end
request = function() return req end
"""


@dataclasses.dataclass(frozen=True)
class Pipelining:
    """What wrk is given to send `depth` requests at a time per connection: its extra arguments and environment."""

    args: list[str]
    env: dict[str, str]


def pipelining(directory: Path, depth: int) -> Pipelining:
    """wrk with `depth` requests at a time per connection, its script written into `directory`; 1 is plain
    keep-alive (no script)."""
    if depth <= 1:
        return Pipelining([], {})
    script = directory / "pipeline.lua"
    script.write_text(_PIPELINE_LUA)
    return Pipelining(["-s", str(script)], {"PIPELINE_DEPTH": str(depth)})


def run_wrk(ctx: Context, port: int, path: str, duration: float,
            headers: Iterable[tuple[str, str]] = ()) -> WrkResult:
    a = ctx.args
    argv = taskset(
        a.client_cpu,
        [
            ctx.wrk,
            f"-t{a.threads}",
            f"-c{a.connections}",
            f"-d{duration:g}s",
            f"--timeout={a.timeout:g}s",
            "--latency",
            *(arg for name, value in headers for arg in ("-H", f"{name}: {value}")),
            f"http://{LOOPBACK}:{port}{path}",
        ],
    )
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=duration + a.timeout + 30)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode != 0:
        raise ScenarioFailed(f"wrk exited with code {proc.returncode}: {' / '.join(out.strip().splitlines()[-3:])}")
    return parse_wrk(out)


# --------------------------------------------------------------------------
# measurement


@dataclasses.dataclass
class RoundResult:
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_req: float
    server_cpu_pct: float
    requests: int
    cpu_seconds: float
    wall_seconds: float
    processes: int
    non_2xx: int
    socket_errors: int


@dataclasses.dataclass
class ScenarioResult:
    scenario: Scenario
    rounds: list[RoundResult] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)
    attempted: int = 0
    disabled: str = ""
    baseline: bool = False  # measured with the --baseline executable
    name: str = ""  # the scenario's name, with "@<baseline label>" for the baseline

    def __post_init__(self) -> None:
        self.name = self.name or self.scenario.name

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.rounds)


def measure_round(ctx: Context, sc: Scenario, round_no: int, apiway: Path | None = None) -> RoundResult:
    a = ctx.args
    if sc.needs_upstream:
        if ctx.upstream is None:
            raise StartFailed(ctx.upstream_error or "upstream nginx not running")
        if not ctx.upstream.alive():
            raise StartFailed(f"upstream nginx died: {ctx.upstream.log_tail()}")
    if sc.kind == "nginx":
        server, port = start_nginx(ctx, sc.name, sc.template, a.server_cpu)
        path = sc.path
    else:
        server, port = start_apiway(ctx, sc.name, apiway or ctx.apiway)
        path = apiway_url_path(sc.path, sc.stage, sc.api_id)
    try:
        if sc.usage_plan:
            create_usage_plan(port, sc.stage, dict(sc.headers)["x-api-key"])
        ok, desc = describe_get(port, path, sc.body, sc.status, sc.headers)
        if not ok:
            raise StartFailed(f"probe failed: {desc}")
        if a.warmup > 0:
            run_wrk(ctx, port, path, a.warmup, sc.headers)
            time.sleep(0.5)  # let warm-up connections close
        if not server.alive():
            raise ScenarioFailed(f"server exited during warm-up: {server.log_tail()}")
        cpu0, _ = group_cpu_seconds(server.pid)
        t0 = time.monotonic()
        res = run_wrk(ctx, port, path, a.duration, sc.headers)
        wall = time.monotonic() - t0
        cpu1, nproc = group_cpu_seconds(server.pid)
        if not server.alive():
            raise ScenarioFailed(f"server exited during the run: {server.log_tail()}")
    finally:
        server.stop()
    if res.requests <= 0:
        raise ScenarioFailed("wrk completed no requests")
    # wrk counts non-2xx/3xx responses only: a scenario expecting an error status expects every response there.
    unexpected = res.non_2xx if sc.status < 400 else res.requests - res.non_2xx
    bad = unexpected + res.socket_errors
    if bad > MAX_ERROR_RATIO * res.requests:
        raise ScenarioFailed(
            f"{unexpected} responses without status {sc.status} and {res.socket_errors} socket errors in "
            f"{res.requests} requests"
        )
    cpu = cpu1 - cpu0
    return RoundResult(
        round=round_no,
        rps=res.rps,
        p50_ms=res.p50_ms,
        p99_ms=res.p99_ms,
        cpu_us_per_req=cpu * 1e6 / res.requests,
        server_cpu_pct=100.0 * cpu / wall if wall > 0 else 0.0,
        requests=res.requests,
        cpu_seconds=cpu,
        wall_seconds=wall,
        processes=nproc,
        non_2xx=res.non_2xx,
        socket_errors=res.socket_errors,
    )


def run_all(ctx: Context, selected: list[Scenario], results: dict[str, ScenarioResult]) -> None:
    """Every round measures each result in turn; a baseline result directly follows its scenario's (A B A B ...)."""
    a = ctx.args
    if any(s.needs_upstream for s in selected):
        start_upstream(ctx)
        if ctx.upstream is not None:
            log(f"upstream nginx on CPU {a.client_cpu}, port {ctx.upstream_port}")
        else:
            log(ctx.upstream_error)
    for round_no in range(1, a.rounds + 1):
        for res in results.values():
            if res.disabled:
                continue
            res.attempted += 1
            label = f"[round {round_no}/{a.rounds}] {res.name}"
            try:
                r = measure_round(ctx, res.scenario, round_no, ctx.baseline if res.baseline else ctx.apiway)
            except StartFailed as exc:
                res.disabled = str(exc)
                res.failures.append(f"round {round_no}: {exc}")
                log(f"{label}: FAILED to start: {exc} (skipped in later rounds)")
                continue
            except ScenarioFailed as exc:
                res.failures.append(f"round {round_no}: {exc}")
                log(f"{label}: FAILED: {exc}")
                continue
            except Exception as exc:  # a harness problem must not lose the other scenarios
                res.disabled = f"harness error: {type(exc).__name__}: {exc}"
                res.failures.append(f"round {round_no}: {res.disabled}")
                log(f"{label}: FAILED with a harness error (skipped in later rounds)")
                traceback.print_exc()
                continue
            res.rounds.append(r)
            log(
                f"{label}: {r.rps:,.0f} req/s, p50 {fmt_ms(r.p50_ms)}, p99 {fmt_ms(r.p99_ms)}, "
                f"{r.cpu_us_per_req:.1f} µs CPU/req ({r.server_cpu_pct:.0f}% of a core, "
                f"{r.processes} process(es))"
            )


@dataclasses.dataclass
class InstructionCounts:
    counts: dict[str, float] = dataclasses.field(default_factory=dict)  # scenario -> instructions per request
    failures: list[str] = dataclasses.field(default_factory=list)
    skipped: str = ""  # why nothing was counted


def count_instructions(ctx: Context, scenarios: list[Scenario]) -> InstructionCounts:
    """Instructions per request of each scenario under callgrind: an nginx for each nginx scenario, one apiway
    serving all the apiway scenarios' paths in turn (REST API scenarios only)."""
    result = InstructionCounts()
    if not instructions.available():
        result.skipped = instructions.MISSING
        log(instructions.MISSING)
        return result
    a = ctx.args
    out = ctx.workdir("callgrind")
    wrapper = instructions.callgrind_argv(out)
    if any(s.needs_upstream for s in scenarios) and ctx.upstream is None:
        start_upstream(ctx)

    def fail(sc: Scenario, why: object) -> None:
        result.failures.append(f"{sc.name}: {why}")
        log(f"[instructions] {sc.name}: FAILED: {why}")

    def count(server: ProcessGroup, port: int, sc: Scenario, path: str) -> None:
        if sc.needs_upstream and ctx.upstream is None:
            return fail(sc, ctx.upstream_error or "upstream nginx not running")
        try:
            value = instructions.count_path(server.pid, port, path, a.instructions_n, a.instructions_warmup, out,
                                            dict(sc.headers))
        except instructions.CountFailed as exc:
            return fail(sc, exc)
        result.counts[sc.name] = value
        log(f"[instructions] {sc.name}: {value:,.0f} instructions/request")

    def count_on(start: Callable[[], tuple[ProcessGroup, int]], served: list[Scenario]) -> None:
        try:
            server, port = start()
        except StartFailed as exc:
            for sc in served:
                fail(sc, exc)
            return
        try:
            for sc in served:
                path = sc.path if sc.kind == "nginx" else apiway_url_path(sc.path, sc.stage, sc.api_id)
                count(server, port, sc, path)
        finally:
            server.stop()

    timeout = instructions.READY_TIMEOUT
    for sc in (s for s in scenarios if s.kind == "nginx"):
        count_on(functools.partial(start_nginx, ctx, f"{sc.name}-callgrind", sc.template, a.server_cpu, wrapper,
                                   timeout), [sc])
    apiway_scenarios = [sc for sc in scenarios if sc.kind == "apiway"]
    if apiway_scenarios:
        # Always the REST API alone, whatever the CPU scenarios served: the history's figures must not depend on
        # the scenarios selected (another API in the project is more state for every request to go through).
        project = write_apiway_project(ctx, http_api=False, name="callgrind-project")
        count_on(functools.partial(start_apiway, ctx, "apiway-callgrind", ctx.apiway, wrapper, timeout, project),
                 apiway_scenarios)
    return result


# --------------------------------------------------------------------------
# report


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fmt_ms(ms: float) -> str:
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 100:
        return f"{ms:.2f} ms"
    return f"{ms:.0f} ms"


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def display_path(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def command_line(argv: list[str]) -> str:
    script = Path(sys.argv[0])
    shown = display_path(script) if script.name == "run.py" else "benchmarks/run.py"
    return shlex.join(["python3", shown, *argv])


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Processor", "cpu model") and value.strip():
                return value.strip()
    return platform.processor() or "unknown"


def tool_version(argv: list[str], pattern: str) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.search(pattern, out.stdout + out.stderr)
    return m.group(1) if m else "unknown"


def git_short_rev(directory: Path) -> str:
    """Short commit of the checkout holding ``directory``, or "unknown"."""
    return tool_version(["git", "-C", str(directory), "rev-parse", "--short", "HEAD"], r"^([0-9a-f]+)\s*$")


def baseline_checkout(apiway: Path) -> Path:
    # A checkout's .venv/bin/apiway is inside the checkout; resolve symlinks to reach it.
    return apiway.resolve().parent


def python_version(apiway: Path) -> str:
    """Version of the Python that runs ``apiway`` (its venv's), or of this one."""
    python = apiway.parent / "python"
    if python.exists():
        return tool_version([str(python), "--version"], r"Python (\S+)")
    return platform.python_version()


def package_version(apiway: Path) -> str:
    """The apiway package version the executable runs (its venv's), or "unknown"."""
    python = apiway.parent / "python"
    if not python.exists():
        return "unknown"
    code = "import importlib.metadata as m; print(m.version('apiway'))"
    return tool_version([str(python), "-c", code], r"^(\S+)\s*$")


def apiway_version(apiway: Path, checkout: Path) -> str:
    version = package_version(apiway)
    if version == "unknown":
        return version
    rev = git_short_rev(checkout)
    return version if rev == "unknown" else f"{version} (git {rev})"


def machine_info(ctx: Context) -> list[tuple[str, str]]:
    py_version = python_version(ctx.apiway)
    info = [
        ("nproc", str(os.cpu_count())),
        ("CPU", cpu_model()),
        ("kernel", f"{platform.system()} {platform.release()}"),
        ("python", py_version),
        ("nginx", tool_version([ctx.nginx, "-v"], r"nginx/(\S+)")),
        ("wrk", tool_version([ctx.wrk, "--version"], r"wrk\s+(\S+)")),
        ("apiway", apiway_version(ctx.apiway, REPO_ROOT)),
    ]
    if ctx.baseline is not None:
        base = apiway_version(ctx.baseline, baseline_checkout(ctx.baseline))
        base_py = python_version(ctx.baseline)
        # A different interpreter would be part of the measured difference: say so.
        info.append(("baseline apiway", base if base_py == py_version else f"{base} on python {base_py}"))
    return info


def render_report(
    ctx: Context,
    described: list[Scenario],
    results: dict[str, ScenarioResult],
    counted: InstructionCounts | None,
    argv: list[str],
    started: datetime.datetime,
    interrupted: bool,
) -> str:
    lines = [
        f"Measured {started.strftime('%Y-%m-%d %H:%M UTC')} with:",
        "",
        "```",
        command_line(argv),
        "```",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine_info(ctx)) + ".",
    ]
    if results:
        lines += ["", *cpu_report(ctx, results)]
    if counted is not None:
        lines += ["", *instruction_report(ctx.args, counted)]
    lines += ["", "Scenarios:", ""] + [f"- `{s.name}`: {s.description}" for s in described]
    if interrupted:
        lines += ["", "**Interrupted: partial results.**"]
    return "\n".join(lines) + "\n"


def cpu_report(ctx: Context, results: dict[str, ScenarioResult]) -> list[str]:
    a = ctx.args
    ref = results.get(REFERENCE)
    ref_cpu = ref.median("cpu_us_per_req") if ref and ref.rounds else None
    lines = [
        f"Server on CPU {a.server_cpu}; wrk (`-t{a.threads} -c{a.connections} -d{a.duration:g}s --latency`"
        + (f", after a {a.warmup:g} s warm-up" if a.warmup > 0 else ", no warm-up")
        + f") and, for the proxy scenarios, the upstream nginx on CPU {a.client_cpu}; "
        f"median of {a.rounds} interleaved round(s).",
        "",
        "| scenario | req/s | p50 | p99 | server CPU µs/req | CPU vs nginx return | rounds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    notes: list[str] = []
    for res in results.values():
        name = md_cell(res.name)
        if res.rounds:
            cpu = res.median("cpu_us_per_req")
            ratio = f"{cpu / ref_cpu:.1f}x" if ref_cpu else "n/a"
            rounds = f"{len(res.rounds)}/{res.attempted}"
            lines.append(
                f"| {name} | {res.median('rps'):,.0f} | {fmt_ms(res.median('p50_ms'))} | "
                f"{fmt_ms(res.median('p99_ms'))} | {cpu:.1f} | {ratio} | {rounds} |"
            )
        else:
            status = f"failed: {res.disabled or res.failures[-1]}" if res.failures else "not run"
            lines.append(f"| {name} | — | — | — | — | — | {md_cell(status)} |")
        if res.rounds and res.failures:
            notes.extend(f"{name}: {md_cell(f)}" for f in res.failures)
    if ctx.baseline is not None:
        lines += baseline_comparison(ctx.baseline, ctx.baseline_label, results)
    if notes:
        lines += ["", "Failed rounds:", ""] + [f"- {n}" for n in notes]
    return lines


def instruction_report(a: argparse.Namespace, counted: InstructionCounts) -> list[str]:
    if counted.skipped:
        return [f"{counted.skipped}."]
    lines = [
        "Instructions per request: user-space instructions of the server process, counted by valgrind's callgrind "
        f"(`benchmarks/instructions.py`) over {a.instructions_n:,} requests after {a.instructions_warmup:,} of "
        "warm-up, one at a time on one keep-alive connection; one apiway serves its scenarios in turn.",
        "",
        *instructions.render_table(counted.counts, REFERENCE),
    ]
    if counted.failures:
        lines += ["", "Not counted:", ""] + [f"- {md_cell(f)}" for f in counted.failures]
    return lines


def baseline_comparison(baseline: Path, label: str, results: dict[str, ScenarioResult]) -> list[str]:
    """Report lines comparing each apiway scenario with its baseline row (the medians of the table above)."""
    label = md_cell(label)
    lines = [
        "",
        f"Against the baseline `{label}` (`{md_cell(display_path(baseline))}`, the `@{label}` rows), measured "
        "right after the current code in every round. Change is of the median CPU µs/req; negative is less CPU now.",
        "",
        f"| scenario | CPU µs/req now | CPU µs/req {label} | change | req/s now | req/s {label} |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]

    def cpu(res: ScenarioResult) -> str:
        return f"{res.median('cpu_us_per_req'):.1f}" if res.rounds else "—"

    def rps(res: ScenarioResult) -> str:
        return f"{res.median('rps'):,.0f}" if res.rounds else "—"

    for base in (r for r in results.values() if r.baseline):
        now = results[base.scenario.name]
        change = "—"
        if now.rounds and base.rounds:
            change = f"{100.0 * (now.median('cpu_us_per_req') / base.median('cpu_us_per_req') - 1.0):+.1f}%"
        lines.append(f"| {now.name} | {cpu(now)} | {cpu(base)} | {change} | {rps(now)} | {rps(base)} |")
    return lines


DOC_HEADER = """# Performance

How apiway is measured: `benchmarks/run.py` (or `benchmarks/run.sh`) starts each
server under test pinned to CPU 0 and drives it with `wrk` pinned to CPU 1 over
keep-alive connections (`wrk -t1 -c64 -d10s --latency` after a 2 s warm-up).
Upstreams used by proxy scenarios also run on CPU 1, in their own process group.
Besides req/s and latency it reports the **server CPU time per request**: utime +
stime of the server's whole process group, read from /proc over the measured
run, divided by the requests wrk completed. nginx on the same core is measured
in the same run as the reference; rounds are interleaved and medians quoted.

After the CPU scenarios it counts **instructions per request** (`benchmarks/instructions.py`): the
server runs under valgrind's callgrind, 2,000 requests are sent one at a time on one keep-alive
connection after 500 of warm-up, and the user-space instructions the server process executed for
them are divided by 2,000 — nginx `return 200` as the reference, then one apiway serving the MOCK,
AWS_PROXY inline and HTTP_PROXY methods in turn. How to read that table: it is the work of the
server's own code (interpreter, apiway, its libraries; nginx's C), not the kernel's (syscalls,
loopback TCP) nor the upstream's. It hardly moves with the machine's load: runs of the same code on
this loaded machine gave MOCK 173.4k to 174.6k (within 0.7 %; probably the server's timers, which
fire more often per request when valgrind runs slower), so a change of 2 % between two commits is real where
the CPU µs above only resolve 10 % or so. Counts compare across machines of one architecture with
the same Python and libraries; the last column is the ratio to nginx's count. It takes about
4 minutes of the ~16 of `make bench` (valgrind
runs a server 50 to 100 times slower; `--instructions-only` runs it alone, `--no-instructions`
skips it, and without valgrind — `apt-get install valgrind` — it is skipped with a note).

`make bench` (`benchmarks/run.py --write-doc docs/performance.md`) regenerates the section below
and puts the run's row in the History table after it.
"""


def fill_markers(path: Path, start_marker: str, end_marker: str, text: str) -> None:
    """Put `text` between two markers of a document (the companion benchmarks' sections of docs/performance.md)."""
    doc = path.read_text()
    start, end = doc.find(start_marker), doc.find(end_marker)
    if start < 0 or end < 0:
        raise SystemExit(f"{path}: markers {start_marker} … {end_marker} not found")
    path.write_text(doc[: start + len(start_marker)] + "\n" + text + doc[end:])


def history_row(ctx: Context, results: dict[str, ScenarioResult], counted: InstructionCounts | None,
                started: datetime.datetime) -> list[str] | None:
    """This run's row of the history table, or None when it measured none of the row's figures."""
    counts = counted.counts if counted is not None else {}

    def cpu(name: str) -> float | None:
        res = results.get(name)
        return res.median("cpu_us_per_req") if res and res.rounds else None

    figures = [history.kilo(counts.get(name)) for name in HISTORY_SCENARIOS]
    figures += [history.micro(cpu("apiway-mock")), history.micro(cpu(REFERENCE))]
    if all(f == history.MISSING for f in figures):
        return None
    return [package_version(ctx.apiway), git_short_rev(REPO_ROOT), started.strftime("%Y-%m-%d"), *figures]


def write_doc(path: Path, report: str, row: list[str] | None) -> None:
    """The report into the generated section, `row` into the history table."""
    section = f"{DOC_START}\n{report}{DOC_END}\n"
    if path.exists():
        text = path.read_text()
        start, end = text.find(DOC_START), text.find(DOC_END)
        if start != -1 and end != -1 and end > start:
            text = text[:start] + section + text[end + len(DOC_END) :].lstrip("\n")
        else:
            text = text.rstrip("\n") + "\n\n## Latest results\n\n" + section
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = DOC_HEADER + "\n## Latest results\n\n" + section
    path.write_text(text if row is None else history.update(text, row))


# --------------------------------------------------------------------------
# prerequisites


def find_tool(name: str) -> str | None:
    extra = os.pathsep.join(["/usr/sbin", "/sbin", "/usr/local/sbin"])
    return shutil.which(name) or shutil.which(name, path=extra)


def ensure_tools(install: bool) -> tuple[str, str]:
    missing = [t for t in ("wrk", "nginx") if not find_tool(t)]
    if missing and install:
        if os.geteuid() != 0:
            raise SystemExit(f"missing {', '.join(missing)}; install them (apt-get install -y wrk nginx) as root")
        log(f"installing {' '.join(missing)} with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update"], check=True, env=env, stdout=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "wrk", "nginx"], check=True, env=env, stdout=sys.stderr)
    wrk, nginx = find_tool("wrk"), find_tool("nginx")
    if not wrk or not nginx:
        raise SystemExit("wrk and nginx are required (apt-get install -y wrk nginx)")
    if not find_tool("taskset"):
        raise SystemExit("taskset (util-linux) is required")
    return wrk, nginx


# --------------------------------------------------------------------------
# main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark apiway against nginx on the same core (server CPU per request, req/s, latency). "
        "wrk takes whole seconds: --duration, --warmup and --timeout are rounded up.",
    )
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up before each run (default 2)")
    p.add_argument("--connections", type=int, default=64, help="wrk keep-alive connections (default 64)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--timeout", type=float, default=5.0, help="wrk per-request timeout, seconds (default 5)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are quoted (default 3)")
    p.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    p.add_argument("--server-cpu", type=int, default=0, help="CPU for the server under test (default 0)")
    p.add_argument("--client-cpu", type=int, default=1, help="CPU for wrk and upstreams (default 1)")
    p.add_argument(
        "--apiway",
        type=Path,
        default=REPO_ROOT / ".venv" / "bin" / "apiway",
        help="apiway executable (default: .venv/bin/apiway in the repository)",
    )
    p.add_argument("--apiway-args", default="", help="extra arguments appended to `apiway serve` (also the baseline's)")
    p.add_argument(
        "--baseline",
        metavar="PATH",
        type=Path,
        help="another apiway executable (e.g. .venv/bin/apiway of a checkout of an older commit) to compare with: "
        "each apiway scenario is also measured with it, right after the current one in every round, and the report "
        "adds <scenario>@<label> rows and a comparison table",
    )
    p.add_argument(
        "--baseline-label",
        metavar="TEXT",
        help="name of the baseline in the report (default: the git short commit of the checkout holding the "
        "baseline executable, else 'baseline')",
    )
    p.add_argument("--instructions-n", type=int, default=2000, metavar="N",
                   help="requests counted per scenario under callgrind (default 2000)")
    p.add_argument("--instructions-warmup", type=int, default=500, metavar="N",
                   help="requests before counting, per scenario (default 500)")
    counting = p.add_mutually_exclusive_group()
    counting.add_argument("--no-instructions", action="store_true",
                          help="skip the instruction counts (valgrind), after the CPU scenarios")
    counting.add_argument("--instructions-only", action="store_true",
                          help="only the instruction counts, no CPU scenarios")
    p.add_argument(
        "--write-doc", metavar="PATH", help="write the results section into PATH (relative to the repo root)"
    )
    p.add_argument("--json", metavar="PATH", help="also write per-round raw results as JSON")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory (configs, logs)")
    p.add_argument("--no-install", action="store_true", help="never apt-get install missing wrk/nginx")
    p.add_argument("--list", action="store_true", help="list scenarios and exit")
    args = p.parse_args(argv)
    if args.duration <= 0 or args.rounds < 1 or args.connections < 1 or args.threads < 1:
        p.error("--duration, --rounds, --connections and --threads must be positive")
    if args.connections < args.threads:
        p.error("--connections must be >= --threads")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    if args.instructions_n < 1 or args.instructions_warmup < 0:
        p.error("--instructions-n must be positive and --instructions-warmup >= 0")
    # wrk takes whole seconds only (-d0.5s is a usage error); the report quotes the rounded values.
    args.duration, args.warmup, args.timeout = (float(math.ceil(x)) for x in (args.duration, args.warmup, args.timeout))
    if args.baseline_label is not None and args.baseline is None:
        p.error("--baseline-label needs --baseline")
    # Fail now rather than after the rounds of the scenarios before it.
    if args.baseline is not None and not (args.baseline.is_file() and os.access(args.baseline, os.X_OK)):
        p.error(f"--baseline {args.baseline}: not an executable file")
    if args.baseline_label is not None and not args.baseline_label.strip():
        p.error("--baseline-label must not be empty")
    return args


def select_scenarios(only: str) -> list[Scenario]:
    if not only.strip():
        return list(SCENARIOS)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIO_BY_NAME]
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIO_BY_NAME)}")
    # Keep the canonical order so the reference comes first.
    return [s for s in SCENARIOS if s.name in names]


def check_cpus(args: argparse.Namespace) -> None:
    allowed = os.sched_getaffinity(0)
    for flag, cpu in (("--server-cpu", args.server_cpu), ("--client-cpu", args.client_cpu)):
        if cpu not in allowed:
            raise SystemExit(f"{flag} {cpu}: CPU not available (allowed: {sorted(allowed)})")
    if args.server_cpu == args.client_cpu:
        log("warning: server and client share a CPU; figures are not comparable with the documented ones")


def results_json(results: Iterable[ScenarioResult]) -> list[dict[str, object]]:
    return [
        {
            "scenario": r.name,
            "baseline": r.baseline,
            "attempted": r.attempted,
            "failures": r.failures,
            "rounds": [dataclasses.asdict(x) for x in r.rounds],
        }
        for r in results
    ]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.list:
        for s in SCENARIOS:
            print(f"{s.name:20} {s.description}")
        return 0
    selected = select_scenarios(args.only)
    counting = [] if args.no_instructions else [SCENARIO_BY_NAME[n] for n in INSTRUCTION_SCENARIOS]
    to_count = [s for s in counting if s in selected]
    if args.instructions_only:
        selected = []
    check_cpus(args)
    wrk, nginx = ensure_tools(not args.no_install)
    # The harness itself only waits; keep it off the server's CPU.
    os.sched_setaffinity(0, {args.client_cpu})

    started = datetime.datetime.now(datetime.UTC)
    tmp = Path(tempfile.mkdtemp(prefix="apiway-bench-"))
    tmp.chmod(0o755)  # nginx workers drop privileges and need to reach their prefix
    ctx = Context(args=args, tmp=tmp, nginx=nginx, wrk=wrk, apiway=args.apiway.absolute(),
                  http_api=any(s.api_id == HTTP_API_ID for s in selected))
    if args.baseline is not None:
        ctx.baseline = args.baseline.absolute()
        rev = git_short_rev(baseline_checkout(ctx.baseline))
        ctx.baseline_label = args.baseline_label or (rev if rev != "unknown" else "baseline")
    # Insertion order is the measuring order: each baseline result right after its scenario's.
    results: dict[str, ScenarioResult] = {}
    for s in selected:
        results[s.name] = ScenarioResult(s)
        if ctx.baseline is not None and s.kind == "apiway":
            name = f"{s.name}@{ctx.baseline_label}"
            results[name] = ScenarioResult(s, baseline=True, name=name)

    atexit.register(stop_all)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupted)
    interrupted = False
    counted: InstructionCounts | None = None
    log(f"scenarios: {', '.join(s.name for s in selected) or 'none'}; instructions counted for "
        f"{', '.join(s.name for s in to_count) or 'none'}; work dir {tmp}")
    if ctx.baseline is not None:
        if any(r.baseline for r in results.values()):
            log(f"baseline {ctx.baseline_label}: {ctx.baseline}")
        else:
            log("warning: --baseline given but no apiway scenario selected")
    try:
        run_all(ctx, selected, results)
        if to_count:
            counted = count_instructions(ctx, to_count)
    except (KeyboardInterrupt, Interrupted):
        interrupted = True
        log("interrupted; stopping servers")
    finally:
        stop_all()
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    described = [s for s in SCENARIOS if s in selected or s in to_count]
    report = render_report(ctx, described, results, counted, argv, started, interrupted)
    print(report, end="")
    if args.json:
        Path(args.json).write_text(json.dumps(results_json(results.values()), indent=2) + "\n")
    if args.write_doc:
        if interrupted:
            log("not writing the doc: the run was interrupted")
        else:
            doc = Path(args.write_doc)
            doc = doc if doc.is_absolute() else REPO_ROOT / doc
            write_doc(doc, report, history_row(ctx, results, counted, started))
            log(f"wrote {display_path(doc)}")
    if interrupted:
        return 130
    return 0 if any(r.rounds for r in results.values()) or (counted and counted.counts) else 1


if __name__ == "__main__":
    sys.exit(main())

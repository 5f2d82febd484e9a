#!/usr/bin/env python3
"""Soak: one apiway server at full load for minutes, its memory and its function logs watched throughout.

One ``apiway serve`` (the native server) pinned to one CPU (``--server-cpu``, default 0) serves one API with
three routes: a MOCK method, an HTTP_PROXY method to nginx ``return 200`` and an AWS_PROXY method to a Python
function in ``mode: worker`` that prints a distinct line on every invocation.  Three ``wrk`` processes, one per
route, pinned to the other CPU (``--client-cpu``, default 1) with the upstream nginx, drive the three routes
at once for ``--duration`` seconds.  The upstream is its own process group and is not counted.

Every ``--interval`` seconds the harness samples the server's process tree (the server and all its
descendants: the worker processes and the watchdog), each process's VmRSS and RssAnon (/proc/PID/status) and
Pss (/proc/PID/smaps_rollup), the tree's CPU time, the size and number of files in the function log directory,
and the requests done so far where they can be seen mid-run (the upstream's request counter for HTTP_PROXY, the
function's REPORT lines on the server's stderr for the worker route; the MOCK route's count comes from wrk at
the end).  The log directory is also checked every ``--log-check-interval`` seconds for its maximum size.

The report gives each route's requests and errors from wrk, the tree's RSS (sum of VmRSS, the headline; shared
pages are counted once per process) and PSS (sum of Pss: shared pages split between the processes sharing them)
at the start of the steady state, at the end and at its maximum, and their least-squares slope over the samples
after ``--warmup`` seconds, in KB/min (KB = 1024 bytes) and projected over an hour.  The function log
directory's largest size is compared with its bound: ``--log-files`` x ``--log-max-bytes`` per function, plus
``--log-slack`` (a single write is never split across files).  The server's own stderr (function lines echoed
with a ``[name]`` prefix, and its own records) is bounded only by where it is redirected: its size is reported,
not checked.

Exit status: 0 when every response was 2xx, wrk saw no socket errors, the server stayed up and the log
directory stayed within its bound; 1 otherwise (the report says which); 130 when interrupted.

Only the Python standard library is used, plus ``benchmarks/run.py`` (process groups, wrk and nginx).

    benchmarks/soak.py --duration 600 --out .apiway/soak/soak.json
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import dataclasses
import datetime
import json
import math
import os
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as harness  # noqa: E402  (the load harness: process groups, wrk, nginx, /proc)

FUNCTION = "SoakFn"
SOAK_TEMPLATES = "soak"  # under benchmarks/templates


@dataclasses.dataclass(frozen=True)
class Route:
    name: str
    integration: str
    path: str  # resource below the stage
    body: str  # what the probe must return


ROUTES = (
    Route("mock", "MOCK", "mock", '{"hello": "world"}'),
    Route("http-proxy", "HTTP_PROXY to nginx `return 200`", "proxy", "hello"),
    Route("worker", f"AWS_PROXY to `{FUNCTION}`, `mode: worker`", "lambda-worker", "hello"),
)


# --------------------------------------------------------------------------
# the process tree's memory, from /proc


@dataclasses.dataclass
class ProcMem:
    pid: int
    role: str  # server, worker, watchdog, or the executable's name
    rss_kb: int  # VmRSS
    anon_kb: int  # RssAnon
    pss_kb: int  # Pss (smaps_rollup)


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants (workers run in process groups of their own, so parents are followed)."""
    stats = harness._all_stats()
    if root not in stats:
        return []
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    pids, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            pids.append(child)
            todo.append(child)
    return pids


def _kb_field(text: str, name: str) -> int:
    at = text.find(name)
    if at < 0:
        return 0
    return int(text[at + len(name) :].split(None, 1)[0])


def process_role(pid: int, root: int) -> str:
    if pid == root:
        return "server"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    if b"apiway.functions.python_bootstrap" in argv:
        return "worker"
    if b"apiway.functions.reaper" in argv:
        return "watchdog"
    return os.path.basename(argv[0].decode(errors="replace")) or "?"


def read_mem(pid: int, role: str) -> ProcMem | None:
    """None for a process gone meanwhile, or a zombie (no memory left to count)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    if "VmRSS:" not in status:
        return None
    return ProcMem(pid, role, _kb_field(status, "VmRSS:"), _kb_field(status, "RssAnon:"),
                   _kb_field(rollup, "\nPss:"))


# --------------------------------------------------------------------------
# logs


def dir_usage(path: Path) -> tuple[int, int]:
    """(total bytes, number of files) of the regular files in ``path`` (0, 0 before it exists)."""
    total = count = 0
    with contextlib.suppress(FileNotFoundError), os.scandir(path) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):  # rotated away meanwhile
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
                    count += 1
    return total, count


class ServerLog:
    """Reads the server's stdout+stderr as it grows: function lines (``[name] ...``), their REPORT lines, and
    the server's own lines (JSON records, counted by level; the first and last few kept)."""

    KEEP = 5

    def __init__(self, path: Path, function: str) -> None:
        self.path = path
        self.prefix = f"[{function}] ".encode()
        self.report = self.prefix + b"REPORT RequestId: "
        self.offset = 0
        self.carry = b""
        self.bytes = 0
        self.function_lines = 0
        self.reports = 0
        self.own_lines: dict[str, int] = {}  # by level ("other" for lines that are not a JSON record)
        self.first_own: list[str] = []
        self.last_own: deque[str] = deque(maxlen=self.KEEP)

    def skip_to_end(self) -> None:
        """Start reading from here (the start-up banner and the probes are not counted)."""
        with contextlib.suppress(OSError):
            self.offset = self.path.stat().st_size

    def scan(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                while chunk := f.read(8 << 20):
                    self.offset += len(chunk)
                    self.bytes += len(chunk)
                    self._feed(chunk)
        except OSError:
            return

    def _feed(self, chunk: bytes) -> None:
        lines = (self.carry + chunk).split(b"\n")
        self.carry = lines.pop()
        prefix, report = self.prefix, self.report
        for line in lines:
            if line.startswith(prefix):
                self.function_lines += 1
                if line.startswith(report):
                    self.reports += 1
            elif line.strip():
                self._own(line)

    def _own(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        level = "other"
        if text.startswith("{"):
            with contextlib.suppress(ValueError, AttributeError):
                level = str(json.loads(text).get("level", "other"))
        self.own_lines[level] = self.own_lines.get(level, 0) + 1
        if len(self.first_own) < self.KEEP:
            self.first_own.append(text[:300])
        else:
            self.last_own.append(text[:300])


def upstream_requests(port: int) -> int | None:
    """nginx's stub_status request counter (the soak's own polls included)."""
    try:
        status, body = harness.http_get(port, "/nginx-status", timeout=2.0)
    except OSError:
        return None
    lines = body.decode(errors="replace").splitlines()
    if status != 200 or len(lines) < 3:
        return None
    with contextlib.suppress(ValueError, IndexError):
        return int(lines[2].split()[2])
    return None


# --------------------------------------------------------------------------
# samples


@dataclasses.dataclass
class Sample:
    t: float  # seconds since the load started
    phase: str  # "before" (idle, before the load), "load", "after" (idle, once wrk ended)
    tree_rss_kb: int
    tree_pss_kb: int
    tree_anon_kb: int
    server_rss_kb: int
    workers: int
    workers_rss_kb: int
    processes: list[ProcMem]
    cpu_seconds: float  # the tree's utime+stime so far
    log_bytes: int
    log_files: int
    server_log_bytes: int
    worker_invocations: int  # REPORT lines on the server's stderr since start-up
    upstream_requests: int | None


class Sampler:
    def __init__(self, root: int, log_dir: Path, server_log: ServerLog, upstream_port: int) -> None:
        self.root = root
        self.log_dir = log_dir
        self.server_log = server_log
        self.upstream_port = upstream_port
        self.roles: dict[int, str] = {}
        self.samples: list[Sample] = []
        self.log_max = (0, 0.0, 0)  # (bytes, t, files) of the largest log directory seen
        self.log_checks = 0

    def check_logs(self, t: float) -> tuple[int, int]:
        size, files = dir_usage(self.log_dir)
        self.log_checks += 1
        if size > self.log_max[0]:
            self.log_max = (size, t, files)
        return size, files

    def sample(self, t: float, phase: str) -> Sample:
        procs = []
        for pid in tree_pids(self.root):
            role = self.roles.get(pid)
            if role is None:
                role = self.roles[pid] = process_role(pid, self.root)
            mem = read_mem(pid, role)
            if mem is not None:
                procs.append(mem)
        cpu, _ = harness.group_cpu_seconds(self.root)
        log_bytes, log_files = self.check_logs(t)
        self.server_log.scan()
        workers = [p for p in procs if p.role == "worker"]
        s = Sample(
            t=round(t, 2),
            phase=phase,
            tree_rss_kb=sum(p.rss_kb for p in procs),
            tree_pss_kb=sum(p.pss_kb for p in procs),
            tree_anon_kb=sum(p.anon_kb for p in procs),
            server_rss_kb=sum(p.rss_kb for p in procs if p.role == "server"),
            workers=len(workers),
            workers_rss_kb=sum(p.rss_kb for p in workers),
            processes=procs,
            cpu_seconds=round(cpu, 2),
            log_bytes=log_bytes,
            log_files=log_files,
            server_log_bytes=self.server_log.bytes,
            worker_invocations=self.server_log.reports,
            upstream_requests=upstream_requests(self.upstream_port),
        )
        self.samples.append(s)
        return s


# --------------------------------------------------------------------------
# load


@dataclasses.dataclass
class RouteResult:
    route: Route
    connections: int
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    non_2xx: int = 0
    socket_errors: int = 0
    error: str = ""  # wrk failed or its output could not be read


def start_wrk(ctx: harness.Context, port: int, route: Route, connections: int) -> harness.ProcessGroup:
    a = ctx.args
    argv = harness.taskset(a.client_cpu, [
        ctx.wrk, f"-t{a.threads}", f"-c{connections}", f"-d{a.duration:g}s", f"--timeout={a.timeout:g}s",
        "--latency", f"http://{harness.LOOPBACK}:{port}{harness.apiway_url_path(route.path)}",
    ])
    return harness.ProcessGroup(f"wrk-{route.name}", argv, ctx.tmp / f"wrk-{route.name}.log")


def finish_wrk(pg: harness.ProcessGroup, result: RouteResult) -> None:
    code = pg.proc.poll()
    pg.stop()  # closes its log; a wrk still running past its deadline is killed
    output = pg.log_path.read_text(errors="replace")
    if code is None:
        result.error = "wrk was stopped before it ended"
        return
    if code != 0:
        result.error = f"wrk exited with code {code}: {' / '.join(output.strip().splitlines()[-3:])}"
        return
    try:
        w = harness.parse_wrk(output)
    except harness.ScenarioFailed as exc:
        result.error = str(exc)
        return
    result.requests, result.rps, result.p50_ms, result.p99_ms = w.requests, w.rps, w.p50_ms, w.p99_ms
    result.non_2xx, result.socket_errors = w.non_2xx, w.socket_errors


def write_project(ctx: harness.Context, concurrency: int) -> Path:
    d = ctx.tmp / "soak-project"
    (d / "functions").mkdir(parents=True)
    harness.render(f"{SOAK_TEMPLATES}/apiway.yaml.in", d / "apiway.yaml", API_ID=harness.API_ID,
                   STAGE=harness.STAGE, UPSTREAM_PORT=ctx.upstream_port, FUNCTION=FUNCTION, CONCURRENCY=concurrency)
    harness.render(f"{SOAK_TEMPLATES}/soak-api.yaml.in", d / "soak-api.yaml", FUNCTION=FUNCTION)
    shutil.copyfile(harness.TEMPLATES / SOAK_TEMPLATES / "functions" / "soak.py", d / "functions" / "soak.py")
    return d


@dataclasses.dataclass
class Soak:
    args: argparse.Namespace
    routes: list[RouteResult]
    sampler: Sampler | None = None
    findings: list[str] = dataclasses.field(default_factory=list)
    load_seconds: float = 0.0
    interrupted: bool = False


def run_soak(ctx: harness.Context, soak: Soak) -> None:
    a = ctx.args
    upstream, ctx.upstream_port = harness.start_nginx(ctx, "upstream-nginx", f"{SOAK_TEMPLATES}/upstream.conf.in",
                                                      a.client_cpu)
    harness.log(f"upstream nginx on CPU {a.client_cpu}, port {ctx.upstream_port}")
    ctx.project_dir = write_project(ctx, a.worker_connections)
    server, port = harness.start_apiway(ctx, "apiway", ctx.apiway)
    log_dir = server.log_path.parent / "logs"  # `logs/` beside the state file
    harness.log(f"apiway on CPU {a.server_cpu}, port {port}, pid {server.pid}; function logs in {log_dir}")
    for r in soak.routes:
        ok, desc = harness.describe_get(port, harness.apiway_url_path(r.route.path), r.route.body)
        if not ok:
            raise harness.StartFailed(f"probe of the {r.route.name} route failed: {desc}")
    server_log = ServerLog(server.log_path, FUNCTION)
    server_log.skip_to_end()
    sampler = soak.sampler = Sampler(server.pid, log_dir, server_log, ctx.upstream_port)
    sampler.sample(0.0, "before")

    wrks = [start_wrk(ctx, port, r.route, r.connections) for r in soak.routes]
    t0 = time.monotonic()
    harness.log(f"load: {len(wrks)} wrk processes for {a.duration:g} s; a sample every {a.interval:g} s")
    deadline = a.duration + a.timeout + 30  # wrk ends on its own; past this it is killed
    next_sample = a.interval
    next_check = a.log_check_interval
    try:
        while True:
            now = time.monotonic() - t0
            if not server.alive():
                soak.findings.append(f"the server exited during the load (code {server.proc.returncode}): "
                                     f"{server.log_tail()}")
                break
            if not any(w.alive() for w in wrks) or now > deadline:
                break
            if now >= next_sample:
                s = sampler.sample(now, "load")
                harness.log(progress(s))
                while next_sample <= now:
                    next_sample += a.interval
            elif now >= next_check:
                sampler.check_logs(now)
            while next_check <= now:
                next_check += a.log_check_interval
            time.sleep(max(0.01, min(next_sample, next_check) - (time.monotonic() - t0)))
    finally:
        soak.load_seconds = time.monotonic() - t0
        for w, r in zip(wrks, soak.routes, strict=True):
            finish_wrk(w, r)
    if server.alive():
        time.sleep(1.0)  # the last responses written, connections closed
        sampler.sample(time.monotonic() - t0, "after")
    upstream.stop()


def progress(s: Sample) -> str:
    upstream = "?" if s.upstream_requests is None else f"{s.upstream_requests:,}"
    return (f"t={s.t:6.0f}s  tree RSS {s.tree_rss_kb / 1024:7.1f} MB  PSS {s.tree_pss_kb / 1024:7.1f} MB  "
            f"server {s.server_rss_kb / 1024:6.1f} MB  {s.workers} workers {s.workers_rss_kb / 1024:6.1f} MB  "
            f"logs {s.log_bytes / 1024:7.0f} KB in {s.log_files} files  "
            f"worker calls {s.worker_invocations:,}  upstream requests {upstream}")


# --------------------------------------------------------------------------
# figures


@dataclasses.dataclass
class Trend:
    start_kb: int  # the first steady-state sample
    end_kb: int  # the last one
    max_kb: int
    max_t: float
    slope_kb_per_min: float | None  # least squares over the steady-state samples

    @property
    def per_hour_mb(self) -> float | None:
        return None if self.slope_kb_per_min is None else self.slope_kb_per_min * 60 / 1024


def trend(samples: list[Sample], value: Callable[[Sample], int]) -> Trend | None:
    if not samples:
        return None
    ys = [value(s) for s in samples]
    top = max(range(len(ys)), key=ys.__getitem__)
    slope = None
    if len(samples) >= 2 and samples[-1].t > samples[0].t:
        slope = statistics.linear_regression([s.t / 60 for s in samples], ys).slope
    return Trend(ys[0], ys[-1], ys[top], samples[top].t, slope)


TRENDS: tuple[tuple[str, Callable[[Sample], int]], ...] = (
    ("tree RSS (sum of VmRSS)", lambda s: s.tree_rss_kb),
    ("tree PSS (sum of Pss)", lambda s: s.tree_pss_kb),
    ("tree anonymous RSS (sum of RssAnon)", lambda s: s.tree_anon_kb),
    ("server process RSS", lambda s: s.server_rss_kb),
    ("workers' RSS (sum)", lambda s: s.workers_rss_kb),
)


def steady(soak: Soak) -> list[Sample]:
    assert soak.sampler is not None
    return [s for s in soak.sampler.samples if s.phase == "load" and s.t >= soak.args.warmup]


def log_bound(args: argparse.Namespace) -> int:
    bound: int = args.log_files * args.log_max_bytes + args.log_slack  # one function writes logs
    return bound


def judge(soak: Soak) -> None:
    """The findings that make the exit status 1."""
    a = soak.args
    for r in soak.routes:
        if r.error:
            soak.findings.append(f"{r.route.name}: {r.error}")
        if r.non_2xx:
            soak.findings.append(f"{r.route.name}: {r.non_2xx:,} non-2xx responses in {r.requests:,}")
        if r.socket_errors:
            soak.findings.append(f"{r.route.name}: {r.socket_errors:,} socket errors (connect/read/write/timeout)")
    if soak.sampler is not None:
        size, t, files = soak.sampler.log_max
        if size > log_bound(a):
            soak.findings.append(f"the function log directory reached {size:,} bytes in {files} files at "
                                 f"t={t:.0f}s, over its bound of {log_bound(a):,}")
        if not any(s.phase == "load" for s in soak.sampler.samples):
            soak.findings.append("no sample was taken under load")


def kb(v: float) -> str:
    return f"{v:,.0f}"


def signed(v: float | None, digits: int = 0) -> str:
    return "—" if v is None else f"{v:+,.{digits}f}"


def render_report(ctx: harness.Context, soak: Soak, argv: list[str], started: datetime.datetime) -> str:
    a = soak.args
    lines = [
        f"Soak measured {started.strftime('%Y-%m-%d %H:%M UTC')} with:",
        "",
        "```",
        shlex.join(["python3", "benchmarks/soak.py", *argv]),
        "```",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in harness.machine_info(ctx)) + ".",
        "",
        f"apiway (native server) and its workers on CPU {a.server_cpu}; three wrk (`-t{a.threads} "
        f"--timeout {a.timeout:g}s`, one per route) and the upstream nginx on CPU {a.client_cpu}; load for "
        f"{soak.load_seconds:.0f} s (asked {a.duration:g} s). `{FUNCTION}`: `mode: worker`, concurrency "
        f"{a.worker_connections}; `--log-max-bytes {a.log_max_bytes} --log-files {a.log_files}`.",
        "",
        "| route | integration | connections | requests | req/s | p50 | p99 | non-2xx | socket errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in soak.routes:
        if r.error:
            lines.append(f"| {r.route.name} | {r.route.integration} | {r.connections} | "
                         f"{harness.md_cell(r.error)} | | | | | |")
        else:
            lines.append(f"| {r.route.name} | {r.route.integration} | {r.connections} | {r.requests:,} | "
                         f"{r.rps:,.0f} | {harness.fmt_ms(r.p50_ms)} | {harness.fmt_ms(r.p99_ms)} | "
                         f"{r.non_2xx:,} | {r.socket_errors:,} |")
    sampler = soak.sampler
    if sampler is not None and sampler.samples:
        lines += memory_section(soak, sampler) + logs_section(soak, sampler) + samples_section(sampler)
    lines += ["", "**Findings:**" if soak.findings else "Findings: none (every response 2xx, no socket errors, "
              "the server up throughout, the log directory within its bound)."]
    lines += [f"- {harness.md_cell(f)}" for f in soak.findings]
    if soak.interrupted:
        lines += ["", "**Interrupted: partial results.**"]
    return "\n".join(lines) + "\n"


def memory_section(soak: Soak, sampler: Sampler) -> list[str]:
    a = soak.args
    st = steady(soak)
    lines = ["", f"Memory of the server's process tree (KB = 1024 bytes). Steady state: the {len(st)} samples "
             f"from t={a.warmup:g} s on (every {a.interval:g} s); the slope is their least-squares fit.", ""]
    if len(st) < 2:
        lines += [f"Not enough steady-state samples for a slope ({len(st)}): run longer than --warmup."]
    lines += [
        "| measure | start of steady state | end | max (at t) | slope KB/min | per hour |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, value in TRENDS:
        tr = trend(st, value)
        if tr is None:
            continue
        hour = "—" if tr.per_hour_mb is None else f"{tr.per_hour_mb:+,.1f} MB"
        lines.append(f"| {label} | {kb(tr.start_kb)} | {kb(tr.end_kb)} | {kb(tr.max_kb)} ({tr.max_t:.0f} s) | "
                     f"{signed(tr.slope_kb_per_min, 1)} | {hour} |")
    before = next((s for s in sampler.samples if s.phase == "before"), None)
    after = next((s for s in sampler.samples if s.phase == "after"), None)
    idle = []
    if before is not None:
        idle.append(f"before the load {kb(before.tree_rss_kb)} KB ({len(before.processes)} processes)")
    if after is not None:
        idle.append(f"1 s after it {kb(after.tree_rss_kb)} KB ({len(after.processes)} processes)")
    if idle:
        lines += ["", "Tree RSS " + ", ".join(idle) + "."]
    if st:
        counts = [len(s.processes) for s in st]
        first = {p.pid for p in st[0].processes}
        new = sorted({p.pid for s in st for p in s.processes} - first)
        lines += ["", f"Processes in the tree during the steady state: {min(counts)} to {max(counts)}; "
                  + (f"{len(new)} appeared after its start (pids {', '.join(map(str, new[:10]))})." if new
                     else "none appeared or was replaced after its start.")]
        lines += per_process(st)
        cpu = st[-1].cpu_seconds - st[0].cpu_seconds
        span = st[-1].t - st[0].t
        if span > 0:
            lines += ["", f"Tree CPU over the steady state: {100 * cpu / span:.0f}% of a core."]
    return lines


def per_process(st: list[Sample]) -> list[str]:
    """Each process seen in the steady state: its RSS when first seen there, at the end, at its largest, its slope."""
    series: dict[int, list[tuple[float, ProcMem]]] = {}
    for s in st:
        for m in s.processes:
            series.setdefault(m.pid, []).append((s.t, m))
    order = {"server": 0, "watchdog": 1, "worker": 2}
    lines = ["", "| process | pid | from t (s) | RSS first | RSS end | RSS max | slope KB/min | Pss end |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for pid, points in sorted(series.items(), key=lambda item: (order.get(item[1][0][1].role, 3), item[0])):
        rss = [m.rss_kb for _, m in points]
        slope = None
        if len(points) >= 2 and points[-1][0] > points[0][0]:
            slope = statistics.linear_regression([t / 60 for t, _ in points], rss).slope
        end = "gone" if points[-1][0] < st[-1].t else kb(rss[-1])
        lines.append(f"| {points[0][1].role} | {pid} | {points[0][0]:.0f} | {kb(rss[0])} | {end} | {kb(max(rss))} | "
                     f"{signed(slope, 1)} | {kb(points[-1][1].pss_kb)} |")
    return lines


def logs_section(soak: Soak, sampler: Sampler) -> list[str]:
    a = soak.args
    size, t, files = sampler.log_max
    final = sampler.samples[-1]
    log = sampler.server_log
    bound = log_bound(a)
    verdict = "within" if size <= bound else "**over**"
    lines = [
        "",
        f"Function log directory (`{FUNCTION}.log` and its rotations), checked {sampler.log_checks} times: "
        f"largest {size:,} bytes in {files} files (t={t:.0f} s), {verdict} its bound of {bound:,} "
        f"({a.log_files} files x {a.log_max_bytes:,} bytes + {a.log_slack:,} slack); at the end {final.log_bytes:,} "
        f"bytes in {final.log_files} files.",
        "",
        f"Server stdout+stderr during the load (bounded only where it is redirected; not checked): "
        f"{log.bytes:,} bytes, {log.bytes / max(soak.load_seconds, 1e-9) / 1024:,.0f} KB/s; "
        f"{log.function_lines:,} function lines ({log.reports:,} REPORT lines); "
        f"the server's own lines: {own_summary(log.own_lines)}.",
    ]
    shown = log.first_own + list(log.last_own)
    if shown:
        lines += ["", "The server's own lines (first and last):", "", "```", *shown, "```"]
    return lines


def own_summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {level}" for level, n in sorted(counts.items())) if counts else "none"


def samples_section(sampler: Sampler) -> list[str]:
    lines = ["", "Samples (memory in KB, logs in bytes):", "",
             "| t (s) | phase | tree RSS | tree PSS | server RSS | workers | workers' RSS | log dir bytes | log files "
             "| worker calls | upstream requests |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in sampler.samples:
        upstream = "—" if s.upstream_requests is None else f"{s.upstream_requests:,}"
        lines.append(f"| {s.t:.0f} | {s.phase} | {kb(s.tree_rss_kb)} | {kb(s.tree_pss_kb)} | {kb(s.server_rss_kb)} | "
                     f"{s.workers} | {kb(s.workers_rss_kb)} | {s.log_bytes:,} | {s.log_files} | "
                     f"{s.worker_invocations:,} | {upstream} |")
    return lines


def report_json(soak: Soak, argv: list[str], started: datetime.datetime) -> dict[str, Any]:
    a = soak.args
    sampler = soak.sampler
    st = steady(soak) if sampler is not None else []
    trends = {}
    for label, value in TRENDS:
        tr = trend(st, value)
        if tr is not None:
            trends[label] = {**dataclasses.asdict(tr), "per_hour_mb": tr.per_hour_mb}
    return {
        "started": started.isoformat(),
        "argv": argv,
        "duration_s": a.duration,
        "load_seconds": round(soak.load_seconds, 2),
        "warmup_s": a.warmup,
        "interval_s": a.interval,
        "interrupted": soak.interrupted,
        "findings": soak.findings,
        "routes": [{**{k: v for k, v in dataclasses.asdict(r).items() if k != "route"},
                    "route": r.route.name, "integration": r.route.integration, "path": r.route.path}
                   for r in soak.routes],
        "rss_kb_unit": 1024,
        "steady_state_samples": len(st),
        "trends": trends,
        "logs": None if sampler is None else {
            "max_bytes": a.log_max_bytes, "files": a.log_files, "slack": a.log_slack, "bound": log_bound(a),
            "largest": sampler.log_max[0], "largest_at_t": sampler.log_max[1], "largest_files": sampler.log_max[2],
            "checks": sampler.log_checks,
            "server_log_bytes": sampler.server_log.bytes, "server_own_lines": sampler.server_log.own_lines,
            "server_own_first": sampler.server_log.first_own, "server_own_last": list(sampler.server_log.last_own),
        },
        "samples": [] if sampler is None else [dataclasses.asdict(s) for s in sampler.samples],
    }


# --------------------------------------------------------------------------
# main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Soak apiway at full load over MOCK, HTTP_PROXY and a worker-mode function: the RSS of the "
        "server's process tree and the size of the function log directory, sampled throughout. wrk takes whole "
        "seconds: --duration and --timeout are rounded up.",
    )
    p.add_argument("--duration", type=float, default=600.0, help="seconds of load (default 600)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between memory samples (default 10)")
    p.add_argument("--warmup", type=float, default=60.0,
                   help="seconds of load left out of the steady state and its slope (default 60)")
    p.add_argument("--log-check-interval", type=float, default=1.0,
                   help="seconds between checks of the log directory's size (default 1)")
    p.add_argument("--connections", type=int, default=64,
                   help="wrk keep-alive connections on the MOCK and HTTP_PROXY routes, each (default 64)")
    p.add_argument("--worker-connections", type=int, default=16,
                   help="wrk connections on the worker route, also the function's concurrency (default 16)")
    p.add_argument("--threads", type=int, default=1, help="threads of each wrk (default 1)")
    p.add_argument("--timeout", type=float, default=5.0, help="wrk per-request timeout, seconds (default 5)")
    p.add_argument("--log-max-bytes", type=int, default=1024 * 1024,
                   help="apiway serve --log-max-bytes: the function log's rotation size (default 1048576)")
    p.add_argument("--log-files", type=int, default=3, help="apiway serve --log-files (default 3)")
    p.add_argument("--log-slack", type=int, default=64 * 1024,
                   help="bytes allowed over log-files x log-max-bytes before it is a finding (default 65536)")
    p.add_argument("--server-cpu", type=int, default=0, help="CPU for apiway and its workers (default 0)")
    p.add_argument("--client-cpu", type=int, default=1, help="CPU for wrk, the upstream and this script (default 1)")
    p.add_argument("--apiway", type=Path, default=harness.REPO_ROOT / ".venv" / "bin" / "apiway",
                   help="apiway executable (default: .venv/bin/apiway in the repository)")
    p.add_argument("--apiway-args", default="", help="extra arguments appended to `apiway serve`")
    p.add_argument("--out", metavar="FILE", type=Path,
                   help="write the results as JSON to FILE and the Markdown report beside it (FILE with .md)")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory (configs, logs)")
    p.add_argument("--no-install", action="store_true", help="never apt-get install missing wrk/nginx")
    args = p.parse_args(argv)
    if min(args.duration, args.interval, args.log_check_interval, args.timeout) <= 0:
        p.error("--duration, --interval, --log-check-interval and --timeout must be positive")
    if min(args.connections, args.worker_connections, args.threads, args.log_max_bytes, args.log_files) < 1:
        p.error("--connections, --worker-connections, --threads, --log-max-bytes and --log-files must be >= 1")
    if args.threads > min(args.connections, args.worker_connections):
        p.error("each wrk needs at least as many connections as threads")
    if args.warmup < 0 or args.log_slack < 0:
        p.error("--warmup and --log-slack must be >= 0")
    if args.out is not None and args.out.suffix == ".md":
        p.error("--out names the JSON file; the Markdown report is written beside it with .md")
    args.duration, args.timeout = (float(math.ceil(x)) for x in (args.duration, args.timeout))
    # What benchmarks/run.py's start_apiway appends to `apiway serve`.
    args.serve_args = f"--log-max-bytes {args.log_max_bytes} --log-files {args.log_files} {args.apiway_args}"
    return args


def write_outputs(out: Path, report: str, data: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    out.with_suffix(".md").write_text(report)
    harness.log(f"wrote {harness.display_path(out)} and {harness.display_path(out.with_suffix('.md'))}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    harness.check_cpus(args)
    wrk, nginx = harness.ensure_tools(not args.no_install)
    os.sched_setaffinity(0, {args.client_cpu})  # this script samples and waits: off the server's CPU

    started = datetime.datetime.now(datetime.UTC)
    tmp = Path(tempfile.mkdtemp(prefix="apiway-soak-"))
    tmp.chmod(0o755)  # nginx workers drop privileges and need to reach their prefix
    # run.py's helpers read their settings from ctx.args: the same names, `apiway serve` getting the log limits.
    ctx_args = argparse.Namespace(**{**vars(args), "apiway_args": args.serve_args})
    ctx = harness.Context(args=ctx_args, tmp=tmp, nginx=nginx, wrk=wrk, apiway=args.apiway.absolute())
    conns = {"worker": args.worker_connections}
    soak = Soak(args, [RouteResult(r, conns.get(r.name, args.connections)) for r in ROUTES])

    atexit.register(harness.stop_all)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, harness._raise_interrupted)
    harness.log(f"soak for {args.duration:g} s; work dir {tmp}")
    try:
        run_soak(ctx, soak)
    except (KeyboardInterrupt, harness.Interrupted):
        soak.interrupted = True
        harness.log("interrupted; stopping")
    except harness.ScenarioFailed as exc:
        soak.findings.append(f"could not run: {exc}")
    finally:
        harness.stop_all()
        if args.keep_tmp:
            harness.log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    judge(soak)
    report = render_report(ctx, soak, argv, started)
    print(report, end="")
    if args.out is not None:
        write_outputs(args.out, report, report_json(soak, argv, started))
    if soak.interrupted:
        return 130
    return 1 if soak.findings else 0


if __name__ == "__main__":
    sys.exit(main())

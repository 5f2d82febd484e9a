#!/usr/bin/env python3
"""How cost grows with work: the same request measured with little and with much of one thing around it.

One `apiway serve` per case, pinned to one CPU (default 0); wrk, the clients and the upstream nginx on the
other (default 1). Server CPU per request is utime + stime of the server's process group over a wrk run
(run.py's accounting), divided by the requests wrk completed; memory is the server's VmRSS, sampled every
20 ms during each run (its peak) and read before and after. Within each group the cases' runs are
interleaved for R rounds and medians quoted.

    routes       one MOCK method on a stage of an API with N resources (ImportRestApi + CreateDeployment
                 through the control plane, both timed: wall time and server CPU)
    keys         a MOCK method with apiKeyRequired, N keys in its usage plan; each request sends the next
                 key (wrk's Lua), so every key is used; the keys are written to the store directly (100,000
                 control-plane calls over HTTP would make the benchmark's set-up its longest part), then the
                 server is started and timed to its first keyed answer; last,
                 CreateApiKey + CreateUsagePlanKey with N keys present, timed until the new key is admitted
    connections  the MOCK method over C keep-alive connections
    bodies       HTTP_PROXY to a local nginx: POST bodies of S bytes (nginx drops them, answers 5 bytes) and
                 GET responses of S bytes, 32 clients (--body-clients)
    idle         memory per idle connection: N HTTP keep-alive connections (each has made one request) and N
                 WebSocket connections (benchmarks/websocket.py's API and measure), held open

    benchmarks/scaling.py [--seconds 5] [--rounds 5] [--only routes,keys,...] [--write-doc docs/performance.md]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as harness  # noqa: E402  (process groups, CPU accounting, ports, wrk's output)
import websocket as ws_bench  # noqa: E402  (the WebSocket API and its idle-connection measure)
from control_plane import Client, openapi, replace_block  # noqa: E402

DOC_START = "<!-- scaling-bench:start -->"
DOC_END = "<!-- scaling-bench:end -->"
HEADING = "How cost grows with work"
GROUPS = ("routes", "keys", "connections", "bodies", "idle")
LOOPBACK = harness.LOOPBACK
STAGE = "s"
READY_TIMEOUT = 120.0
MOCK = {"type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": '{"ok": true}'}}}}
NGINX_CONF = """worker_processes 1;
pid nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    client_max_body_size 20m;
    client_body_temp_path tmp/client_body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /small {{ return 200 "hello"; }}
        location /files/ {{ alias {prefix}/files/; default_type application/octet-stream; }}
    }}
}}
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def key_value(i: int) -> str:
    return f"scaling-key-{i:012d}"


def fmt_size(n: int) -> str:
    return f"{n // 1048576} MB" if n >= 1048576 and n % 1048576 == 0 else (
        f"{n // 1024} KB" if n % 1024 == 0 else f"{n} B")


# --------------------------------------------------------------------------
# memory of the server process, from /proc


def status_kib(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM (its peak RSS) so that the next run's peak is its own."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class RssWatch(threading.Thread):
    """VmRSS of one process every 20 ms while a run lasts."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.02):
            self.samples.append(status_kib(self.pid, "VmRSS"))

    def stop(self) -> int:
        self.stopping.set()
        self.join()
        return max(self.samples, default=0)


# --------------------------------------------------------------------------
# servers


@dataclasses.dataclass
class Server:
    pg: harness.ProcessGroup
    port: int
    work: Path
    api_id: str = ""
    plan_id: str = ""

    @property
    def pid(self) -> int:
        return self.pg.pid

    def url_path(self, resource: str) -> str:
        return harness.apiway_url_path(resource, STAGE, self.api_id)

    def client(self, timeout: float = 600.0) -> Client:
        c = Client(self.port)
        c.conn.timeout = timeout
        return c


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.apiway = str(Path(sys.executable).with_name("apiway"))
        wrk = shutil.which("wrk") or "/usr/bin/wrk"
        if not Path(wrk).exists():
            raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
        self.wrk_path = wrk
        self.count = 0

    def workdir(self, name: str) -> Path:
        self.count += 1
        d = self.tmp / f"{self.count:02d}-{name}"
        d.mkdir()
        return d

    def start(self, name: str, work: Path | None = None, project: Path | None = None) -> Server:
        """`apiway serve` on the server CPU with its state in `work` (a new directory by default); returns once
        the control plane answers."""
        work = work or self.workdir(name)
        port = harness.free_port()
        argv = harness.taskset(self.args.server_cpu, [
            self.apiway, "serve", *([str(project)] if project else []), "--host", LOOPBACK, "--port", str(port),
            "--state", str(work / "state.db"),
            # AWS's account limit (10,000 requests/s) would cap the runs.
            "--throttle-rate", "1e9", "--throttle-burst", "1000000000"])
        pg = harness.ProcessGroup(name, argv, work / "apiway.log", cwd=work)
        server = Server(pg, port, work)
        self.wait_for(server, "/restapis")
        return server

    def wait_for(self, server: Server, path: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last = ""
        while time.monotonic() < deadline:
            if not server.pg.alive():
                raise SystemExit(f"{server.pg.name} exited: {server.pg.log_tail()}")
            if harness.tcp_accepting(server.port):
                ok, last = harness.describe_get(server.port, path, headers=headers)
                if ok:
                    return
            time.sleep(0.01)
        raise SystemExit(f"{server.pg.name}: no 200 from {path} within {READY_TIMEOUT:g} s ({last})")

    def wrk(self, port: int, path: str, connections: int, seconds: float,
            script: Path | None = None) -> harness.WrkResult:
        argv = harness.taskset(self.args.client_cpu, [
            self.wrk_path, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout=10s", "--latency",
            *(["-s", str(script)] if script else []), f"http://{LOOPBACK}:{port}{path}"])
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, start_new_session=True)
        if done.returncode != 0:
            raise SystemExit(f"wrk exited with {done.returncode}: {done.stdout[-500:]} {done.stderr[-500:]}")
        return harness.parse_wrk(done.stdout)


# --------------------------------------------------------------------------
# measured runs


@dataclasses.dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float
    requests: int
    errors: int
    rss_before: int  # KiB
    rss_peak: int
    rss_after: int


@dataclasses.dataclass
class Case:
    group: str
    label: str
    server: Server
    path: str
    connections: int
    script: Path | None = None
    runs: list[Run] = dataclasses.field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)


def measure(bench: Bench, case: Case) -> Run:
    a = bench.args
    server = case.server
    if a.warmup > 0:
        bench.wrk(server.port, case.path, case.connections, a.warmup, case.script)
        time.sleep(0.5)  # the warm-up's connections close
    reset_peak(server.pid)
    before = status_kib(server.pid, "VmRSS")
    watch = RssWatch(server.pid)
    watch.start()
    cpu0, _ = harness.group_cpu_seconds(server.pid)
    try:
        res = bench.wrk(server.port, case.path, case.connections, a.seconds, case.script)
    finally:
        sampled = watch.stop()
    cpu1, _ = harness.group_cpu_seconds(server.pid)
    if not server.pg.alive():
        raise SystemExit(f"{server.pg.name} exited during the run: {server.pg.log_tail()}")
    if res.requests <= 0:
        raise SystemExit(f"{case.label}: wrk completed no requests")
    errors = res.non_2xx + res.socket_errors
    if errors > harness.MAX_ERROR_RATIO * res.requests:
        raise SystemExit(f"{case.group} {case.label}: {res.non_2xx} non-2xx and {res.socket_errors} socket errors "
                         f"in {res.requests} requests")
    peak = max(sampled, status_kib(server.pid, "VmHWM"))
    return Run(res.rps, res.p50_ms, res.p99_ms, (cpu1 - cpu0) * 1e6 / res.requests, res.requests, errors,
               before, peak, status_kib(server.pid, "VmRSS"))


def interleave(bench: Bench, cases: list[Case]) -> None:
    for round_no in range(1, bench.args.rounds + 1):
        for case in cases:
            r = measure(bench, case)
            case.runs.append(r)
            log(f"[{case.group} {round_no}/{bench.args.rounds}] {case.label}: {r.rps:,.0f} req/s, "
                f"{r.cpu_us:.1f} µs CPU/req, p99 {r.p99_ms:.2f} ms, RSS {r.rss_before / 1024:.0f} → peak "
                f"{r.rss_peak / 1024:.0f} → {r.rss_after / 1024:.0f} MiB")


def timed_call(server: Server, call: Callable[[], object]) -> tuple[float, float, object]:
    """(wall ms, server CPU ms, result) of one control-plane call."""
    cpu0, _ = harness.group_cpu_seconds(server.pid)
    t0 = time.monotonic()
    result = call()
    wall = time.monotonic() - t0
    cpu1, _ = harness.group_cpu_seconds(server.pid)
    return wall * 1000, (cpu1 - cpu0) * 1000, result


def write_lua(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@contextlib.contextmanager
def stopping(servers: list[Server]) -> Iterator[None]:
    try:
        yield
    finally:
        for s in servers:
            s.pg.stop()


# --------------------------------------------------------------------------
# the groups


def routes_server(bench: Bench, n: int, report: dict) -> Server:
    """A fresh server with an n-resource API imported and deployed through the control plane, both timed."""
    server = bench.start(f"routes-{n}")
    c = server.client()
    document = openapi(n + 1)  # plus the root
    imp_wall, imp_cpu, made = timed_call(server, lambda: c.call("POST", "/restapis?mode=import", document))
    assert isinstance(made, dict)
    server.api_id = made["id"]
    deployments = f"/restapis/{server.api_id}/deployments"
    dep_wall, dep_cpu, _ = timed_call(server, lambda: c.call("POST", deployments, {"stageName": STAGE}))
    report["deploys"].append({"resources": n, "import_ms": imp_wall, "import_cpu_ms": imp_cpu, "deploy_ms": dep_wall,
                              "deploy_cpu_ms": dep_cpu, "rss_kib": status_kib(server.pid, "VmRSS")})
    log(f"[routes] {n:,} resource(s): import {imp_wall:,.0f} ms ({imp_cpu:,.0f} ms CPU), deploy "
        f"{dep_wall:,.0f} ms ({dep_cpu:,.0f} ms CPU)")
    return server


def routes(bench: Bench, report: dict) -> list[Case]:
    cases: list[Case] = []
    servers: list[Server] = []
    with stopping(servers):
        for n in bench.args.routes:
            server = routes_server(bench, n, report)
            servers.append(server)
            path = server.url_path(f"items{n - 1}")  # the last resource
            bench.wait_for(server, path)
            cases.append(Case("routes", f"{n:,} resource{'s' if n > 1 else ''}", server, path, 64))
        interleave(bench, cases)
    return cases


KEYED_API = {"openapi": "3.0.1", "info": {"title": "keyed", "version": "1"},
             "components": {"securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}},
             "paths": {"/keyed": {"get": {"security": [{"api_key": []}], "responses": {"200": {"description": "ok"}},
                                          "x-amazon-apigateway-integration": MOCK}}}}


def seed_keys(state: Path, plan_id: str, n: int) -> None:
    """`n` enabled keys in the plan, written to the stopped server's store as the control plane writes them."""
    from apiway.control.operations.api_keys import link_id, new_key
    from apiway.store.kinds import API_KEY, USAGE_PLAN_KEY
    from apiway.store.sqlite import SqliteStore

    store = SqliteStore(state)
    try:
        with store.transaction():
            for i in range(n):
                key = new_key(f"k{i}", key_value(i), True)
                store.put_record(API_KEY, key["id"], key)
                store.put_record(USAGE_PLAN_KEY, link_id(plan_id, key["id"]), {"usagePlanId": plan_id,
                                                                                "keyId": key["id"]})
    finally:
        store.close()


def keyed_server(bench: Bench, n: int, report: dict) -> Server:
    work = bench.workdir(f"keys-{n}")
    server = bench.start(f"keys-{n}-setup", work)
    try:
        c = server.client()
        server.api_id = c.call("POST", "/restapis?mode=import", json.dumps(KEYED_API).encode())["id"]
        c.call("POST", f"/restapis/{server.api_id}/deployments", {"stageName": STAGE})
        server.plan_id = c.call("POST", "/usageplans", {
            "name": "scaling", "apiStages": [{"apiId": server.api_id, "stage": STAGE}],
            "throttle": {"rateLimit": 1e9, "burstLimit": 1000000000},
            "quota": {"limit": 2000000000, "period": "DAY"}})["id"]
    finally:
        server.pg.stop()
    t0 = time.monotonic()
    seed_keys(work / "state.db", server.plan_id, n)
    seeded = time.monotonic() - t0
    t0 = time.monotonic()
    restarted = bench.start(f"keys-{n}", work)
    restarted.api_id, restarted.plan_id = server.api_id, server.plan_id
    bench.wait_for(restarted, restarted.url_path("keyed"), (("x-api-key", key_value(n - 1)),))
    startup = time.monotonic() - t0
    report["keys"][n] = {"seed_s": seeded, "startup_s": startup, "rss_ready_kib": status_kib(restarted.pid, "VmRSS")}
    log(f"[keys] {n:,} keys written in {seeded:.1f} s; server answered a keyed request {startup:.2f} s after its "
        f"start, RSS {report['keys'][n]['rss_ready_kib'] / 1024:.0f} MiB")
    return restarted


def key_admission(bench: Bench, server: Server, n: int) -> dict[str, float]:
    """CreateApiKey + CreateUsagePlanKey with `n` keys present, and the time until the new key is admitted."""
    c = server.client()
    value = "scaling-new-key-0123456789"
    create_wall, create_cpu, made = timed_call(server, lambda: c.call(
        "POST", "/apikeys", {"name": "new", "value": value, "enabled": True}))
    assert isinstance(made, dict)
    t0 = time.monotonic()
    link_wall, link_cpu, _ = timed_call(server, lambda: c.call(
        "POST", f"/usageplans/{server.plan_id}/keys", {"keyId": made["id"], "keyType": "API_KEY"}))
    cpu0, _ = harness.group_cpu_seconds(server.pid)
    bench.wait_for(server, server.url_path("keyed"), (("x-api-key", value),))
    admitted = (time.monotonic() - t0) * 1000
    time.sleep(0.5)  # a rebuild still running after the first admission is counted too
    cpu1, _ = harness.group_cpu_seconds(server.pid)
    return {"create_ms": create_wall, "create_cpu_ms": create_cpu, "link_ms": link_wall, "link_cpu_ms": link_cpu,
            "admitted_ms": admitted, "after_link_cpu_ms": (cpu1 - cpu0) * 1000}


def keys(bench: Bench, report: dict) -> list[Case]:
    cases: list[Case] = []
    servers: list[Server] = []
    with stopping(servers):
        for n in bench.args.keys:
            server = keyed_server(bench, n, report)
            servers.append(server)
            path = server.url_path("keyed")
            script = write_lua(server.work / "keys.lua", f"""
local i = 0
request = function()
  i = (i + 1) % {n}
  return wrk.format("GET", "{path}", {{["x-api-key"] = string.format("scaling-key-%012d", i)}})
end
""")
            cases.append(Case("keys", f"{n:,} keys, each request the next key", server, path, 64, script))
        big = servers[-1]
        one = write_lua(big.work / "one-key.lua", f'wrk.headers["x-api-key"] = "{key_value(0)}"\n')
        cases.append(Case("keys", f"{bench.args.keys[-1]:,} keys, every request the same key", big,
                          big.url_path("keyed"), 64, one))
        interleave(bench, cases)
        for n, server in zip(bench.args.keys, servers, strict=True):
            report["keys"][n]["rss_after_runs_kib"] = status_kib(server.pid, "VmRSS")
            report["keys"][n].update(key_admission(bench, server, n))
            log(f"[keys] {n:,} keys: {report['keys'][n]}")
    return cases


def mock_server(bench: Bench, name: str) -> tuple[Server, str]:
    """A fresh server with one MOCK GET deployed: (server, its path)."""
    server = bench.start(name)
    c = server.client()
    server.api_id = c.call("POST", "/restapis?mode=import", openapi(2))["id"]
    c.call("POST", f"/restapis/{server.api_id}/deployments", {"stageName": STAGE})
    path = server.url_path("items0")
    bench.wait_for(server, path)
    return server, path


def connections(bench: Bench, report: dict) -> list[Case]:
    cases: list[Case] = []
    servers: list[Server] = []
    with stopping(servers):
        for n in bench.args.connections:  # a server each: the memory one case leaves is not the next one's
            server, path = mock_server(bench, f"connections-{n}")
            servers.append(server)
            cases.append(Case("connections", f"{n:,} keep-alive connections", server, path, n))
        interleave(bench, cases)
    return cases


def proxy_api(upstream: int) -> bytes:
    def method(verb: str, target: str) -> dict:
        return {verb: {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": {
            "type": "http_proxy", "httpMethod": verb.upper(), "uri": f"http://{LOOPBACK}:{upstream}{target}"}}}

    paths = {"/upload": method("post", "/small"), "/download/{name}": method("get", "/files/{name}")}
    paths["/download/{name}"]["get"]["x-amazon-apigateway-integration"]["requestParameters"] = {
        "integration.request.path.name": "method.request.path.name"}
    paths["/download/{name}"]["get"]["parameters"] = [{"name": "name", "in": "path", "required": True,
                                                      "schema": {"type": "string"}}]
    return json.dumps({"openapi": "3.0.1", "info": {"title": "bodies", "version": "1"}, "paths": paths}).encode()


def start_upstream(bench: Bench, sizes: list[int]) -> tuple[harness.ProcessGroup, int]:
    prefix = bench.workdir("upstream")
    (prefix / "tmp").mkdir()
    (prefix / "files").mkdir()
    for size in sizes:
        (prefix / "files" / str(size)).write_bytes(b"x" * size)
    port = harness.free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port))
    nginx = harness.find_tool("nginx")
    if nginx is None:
        raise SystemExit("nginx is required for the bodies group (apt-get install nginx)")
    pg = harness.ProcessGroup("upstream", harness.taskset(bench.args.client_cpu, [
        nginx, "-p", f"{prefix}/", "-c", str(conf), "-e", str(prefix / "error.log"), "-g", "daemon off;"]),
        prefix / "stdout.log")
    deadline = time.monotonic() + 10
    while not harness.tcp_accepting(port):
        if time.monotonic() > deadline or not pg.alive():
            pg.stop()
            raise SystemExit(f"upstream nginx did not start: {harness.tail_text(prefix / 'error.log')}")
        time.sleep(0.05)
    return pg, port


def bodies(bench: Bench, report: dict) -> list[Case]:
    sizes = bench.args.bodies
    upstream, up_port = start_upstream(bench, sizes)
    cases: list[Case] = []
    servers: list[Server] = []
    try:
        with stopping(servers):
            for way in ("request", "response"):
                for size in sizes:  # a server each: its peak RSS is that case's alone
                    server = bench.start(f"bodies-{way}-{size}")
                    servers.append(server)
                    c = server.client()
                    server.api_id = c.call("POST", "/restapis?mode=import", proxy_api(up_port))["id"]
                    c.call("POST", f"/restapis/{server.api_id}/deployments", {"stageName": STAGE})
                    bench.wait_for(server, server.url_path(f"download/{sizes[0]}"))
                    if way == "request":
                        script = write_lua(server.work / "post.lua", f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = string.rep("x", {size})
""")
                        cases.append(Case("bodies", f"{fmt_size(size)} request body (POST)", server,
                                          server.url_path("upload"), bench.args.body_clients, script))
                    else:
                        cases.append(Case("bodies", f"{fmt_size(size)} response body (GET)", server,
                                          server.url_path(f"download/{size}"), bench.args.body_clients))
            interleave(bench, cases)
    finally:
        upstream.stop()
    return cases


async def hold_http(port: int, path: str, count: int, pid: int, batch: int = 200) -> dict[str, float]:
    """`count` keep-alive connections, each after one answered request, held while the server's RSS is read."""
    request = f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}\r\n\r\n".encode()

    async def one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(request)
        await read_response(reader)
        return reader, writer

    before = status_kib(pid, "VmRSS")
    t0 = time.perf_counter()
    conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    while len(conns) < count:
        conns += await asyncio.gather(*(one() for _ in range(min(batch, count - len(conns)))))
    opened = time.perf_counter() - t0
    await asyncio.sleep(2)
    after = status_kib(pid, "VmRSS")
    for reader, writer in conns[:: max(1, count // 50)]:  # still kept alive: they answer again
        writer.write(request)
        await asyncio.wait_for(read_response(reader), 10)
    for _, writer in conns:
        writer.close()
    return {"connections": count, "rss_before_mib": before / 1024, "rss_after_mib": after / 1024,
            "kib_per_connection": (after - before) / count, "open_seconds": opened}


async def read_response(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"keep-alive connection answered {head[:80]!r}")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    await reader.readexactly(length)


def idle(bench: Bench, report: dict) -> list[Case]:
    n = bench.args.idle
    server, path = mock_server(bench, "idle-http")
    with stopping([server]):
        report["idle_http"] = asyncio.run(hold_http(server.port, path, n, server.pid))
    log(f"[idle] HTTP keep-alive: {report['idle_http']}")
    work = bench.workdir("idle-websocket")
    (work / "echo.py").write_text(ws_bench.FUNCTION)
    (work / "apiway.yaml").write_text(ws_bench.PROJECT)
    server = bench.start("idle-websocket", work, work / "apiway.yaml")
    with stopping([server]):
        api = ws_bench.build_api(server.port)
        url = f"ws://{LOOPBACK}:{server.port}/restapis/{api}/{ws_bench.STAGE}/_user_request_"
        report["idle_ws"] = asyncio.run(ws_bench.idle(url, server.pid, n))
    log(f"[idle] WebSocket: {report['idle_ws']}")
    return []


# --------------------------------------------------------------------------
# report


def mib(kib: float) -> str:
    return f"{kib / 1024:,.0f}"


def render(args: argparse.Namespace, argv: list[str], cases: list[Case], report: dict) -> str:
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
             f"`{' '.join(['benchmarks/scaling.py', *argv])}`: server on CPU {args.server_cpu}, wrk (one thread), "
             f"the clients and the upstream nginx on CPU {args.client_cpu}; {args.seconds:g} s runs after "
             f"{args.warmup:g} s of warm-up, each group's cases interleaved, median of {args.rounds} rounds. "
             "Memory is the server's VmRSS: before the first run → its peak over the rounds → after the last run.",
             ""]
    if cases:
        lines += ["| what grows | case | connections | req/s | server CPU µs/request | p50 | p99 | "
                  "server RSS MiB, before → peak → after |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for case in cases:
            rss = f"{mib(case.runs[0].rss_before)} → {mib(max(r.rss_peak for r in case.runs))} → " \
                  f"{mib(case.runs[-1].rss_after)}"
            lines.append(f"| {case.group} | {case.label} | {case.connections:,} | {case.median('rps'):,.0f} | "
                         f"**{case.median('cpu_us'):,.1f}** | {harness.fmt_ms(case.median('p50_ms'))} | "
                         f"{harness.fmt_ms(case.median('p99_ms'))} | {rss} |")
        lines.append("")
    if report["deploys"]:
        lines += ["Deploying an API of N resources (one MOCK GET each) through the control plane, on a fresh server:",
                  "", "| resources | ImportRestApi: wall / server CPU | CreateDeployment: wall / server CPU | "
                  "server RSS after |", "|---:|---:|---:|---:|"]
        lines += [f"| {d['resources']:,} | {d['import_ms']:,.0f} / {d['import_cpu_ms']:,.0f} ms | "
                  f"{d['deploy_ms']:,.0f} / {d['deploy_cpu_ms']:,.0f} ms | {mib(d['rss_kib'])} MiB |"
                  for d in report["deploys"]]
        lines.append("")
    if report["keys"]:
        lines += ["API keys in the method's usage plan (written to the store directly, then the server started):", "",
                  "| keys | start-up to first keyed answer | RSS at start-up | RSS after the runs | "
                  "CreateApiKey: wall / CPU | CreateUsagePlanKey: wall / CPU | "
                  "new key admitted, from CreateUsagePlanKey |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for n, k in report["keys"].items():
            lines.append(f"| {n:,} | {k['startup_s']:.2f} s | {mib(k['rss_ready_kib'])} MiB | "
                         f"{mib(k['rss_after_runs_kib'])} MiB | {k['create_ms']:,.0f} / {k['create_cpu_ms']:,.0f} ms | "
                         f"{k['link_ms']:,.0f} / {k['link_cpu_ms']:,.0f} ms | {k['admitted_ms']:,.0f} ms |")
        lines.append("")
    body_cases = [c for c in cases if c.group == "bodies"]
    if body_cases:
        lines += ["Bodies, each case on a server of its own: its peak RSS over its RSS before the first run, per "
                  f"connection ({bench_clients(body_cases)} sending at once), and its peak in each round: "
                  + "; ".join(body_memory(c) for c in body_cases) + ".", ""]
    for name, label in (("idle_http", "HTTP keep-alive"),
                        ("idle_ws", "WebSocket (benchmarks/websocket.py's measure)")):
        if name in report:
            r = report[name]
            lines.append(f"- **{r['connections']:,} idle {label} connections**: RSS {r['rss_before_mib']:.0f} → "
                         f"{r['rss_after_mib']:.0f} MiB, **{r['kib_per_connection']:.1f} KiB per connection** "
                         f"(opened in {r['open_seconds']:.1f} s).")
    return "\n".join(lines).rstrip() + "\n"


def body_memory(case: Case) -> str:
    grown = (max(r.rss_peak for r in case.runs) - case.runs[0].rss_before) / 1024 / case.connections
    return f"{case.label}: {grown:,.1f} MiB ({', '.join(mib(r.rss_peak) for r in case.runs)} MiB)"


def bench_clients(cases: list[Case]) -> str:
    return ", ".join(sorted({f"{c.connections:,}" for c in cases}))


def sizes(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=5, help="seconds per measured run (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="seconds of warm-up before each run (default 1)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds per group; medians quoted (default 5)")
    p.add_argument("--routes", type=sizes, default=[1, 1000, 10000], help="resources (default 1,1000,10000)")
    p.add_argument("--keys", type=sizes, default=[10, 100000], help="API keys (default 10,100000)")
    p.add_argument("--connections", type=sizes, default=[64, 5000], help="keep-alive connections (default 64,5000)")
    p.add_argument("--bodies", type=sizes, default=[1024, 1048576], help="body sizes (default 1024,1048576)")
    p.add_argument("--body-clients", type=int, default=32, help="connections sending bodies (default 32)")
    p.add_argument("--idle", type=int, default=10000, help="idle connections of each kind (default 10000)")
    p.add_argument("--only", default=",".join(GROUPS), help=f"groups to run (default all: {','.join(GROUPS)})")
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    p.add_argument("--write-doc", type=Path, help="replace the block between the scaling-bench markers of this file")
    args = p.parse_args(argv)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    if unknown := set(groups) - set(GROUPS):
        p.error(f"unknown groups {sorted(unknown)}; known: {', '.join(GROUPS)}")
    if args.seconds < 1 or args.rounds < 1 or args.warmup < 0 or not args.keys or not args.bodies:
        p.error("--seconds and --rounds must be positive, --warmup at least 0, --keys and --bodies not empty")
    # wrk's and the idle clients' sockets, and the server's (inherited): raise the soft limit to what they need.
    need = max(max(args.connections, default=0), args.idle) + 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        p.error(f"{need} file descriptors needed; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    os.sched_setaffinity(0, {args.client_cpu})
    tmp = Path(tempfile.mkdtemp(prefix="apiway-scaling-"))
    tmp.chmod(0o755)  # nginx's worker drops privileges and serves files from below it
    bench = Bench(args, tmp)
    report: dict = {"deploys": [], "keys": {}}
    cases: list[Case] = []
    runners = {"routes": routes, "keys": keys, "connections": connections, "bodies": bodies, "idle": idle}
    started = time.monotonic()
    try:
        for group in GROUPS:
            if group in groups:
                cases += runners[group](bench, report)
                log(f"[{group}] done at {time.monotonic() - started:.0f} s")
    finally:
        harness.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    text = render(args, argv, cases, report)
    print(text)
    if args.write_doc:
        replace_block(args.write_doc, DOC_START, DOC_END, ["", text], HEADING)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""What observing a stage costs: the same MOCK method served four ways, in one run.

    off                 `serve --no-metrics`, no access log, no tracing: nothing observes the stage
    metrics             metrics on (the default), nothing else
    metrics+access-log  metrics and the stage's access log (the console's CLF format, to a log group on disk)
    metrics+tracing     metrics and `tracingEnabled` at the default sampling (the first request each second, then
                        5 %), spans exported over OTLP/HTTP to a local sink

Each server is pinned to one CPU (`--server-cpu`, default 0), wrk to another (`--client-cpu`, default 1) with
64 keep-alive connections; rounds are interleaved. With `--pipeline N` each connection sends N requests at a time
(one write, answered in order): the server then reads and writes once per N requests, so what a case adds is less
mixed with the kernel's cost of waking wrk, which grows as a saturated server slows down.

The report gives each case's server CPU µs per request (its whole process group, /proc) per round and their
median, and what each feature adds over the case it builds on as the median of the differences within a round (the
cases of one round run back to back, so a slow spell of the machine moves them together), with the smallest and
largest of those differences. nginx `return 200`, measured the same way in every round, shows how fast this
machine is.

`--instructions` also counts each case's user-space instructions per request under callgrind
(`benchmarks/instructions.py`: one keep-alive client, one request at a time), which, unlike CPU time, the
machine's noise does not move.

    benchmarks/observability.py [--seconds 5] [--rounds 7] [--pipeline 16] [--instructions]
                                [--write-doc docs/performance.md]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import instructions  # noqa: E402  (callgrind counts)
import run as harness  # noqa: E402  (process groups, ports, readiness, wrk parsing, nginx)

# The doc keeps one block for plain keep-alive and one for pipelined runs.
DOC_START = "<!-- observability-bench{}:start -->"
DOC_END = "<!-- observability-bench{}:end -->"
API = {"openapi": "3.0.1", "info": {"title": "observed", "version": "1"}, "paths": {"/who": {"get": {
    "x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": '{"ok": true}'}}},
    }}}}}
CLF = ('$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] '
       '"$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength '
       '$context.requestId $context.extendedRequestId')
CASES = ("off", "metrics", "metrics+access-log", "metrics+tracing")
# What each case adds to, for its line of the report.
OVER = {"metrics": "off", "metrics+access-log": "off", "metrics+tracing": "metrics"}
NGINX = "nginx return 200"
# A sink for exported spans: answers every POST with 200 and keeps nothing.
SINK = """
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""


def call(port: int, method: str, path: str, body: object) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)  # under callgrind an import takes a while
    conn.request(method, path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    reply = conn.getresponse()
    data = reply.read()
    if reply.status >= 300:
        raise SystemExit(f"{method} {path}: {reply.status} {data[:300]!r}")
    return json.loads(data or b"{}")


def serve(work: Path, case: str, cpu: int, sink_port: int,
          wrapper: list[str] | None = None) -> tuple[harness.ProcessGroup, int, str]:
    """A server for `case` with the API on stage prod, observed as the case says: (process group, port, api id).
    `wrapper` runs it under another program (callgrind)."""
    work.mkdir()
    port = harness.free_port()
    apiway = str(Path(sys.executable).parent / "apiway")
    extra = ["--no-metrics"] if case == "off" else []
    argv = harness.taskset(cpu, [*(wrapper or []), apiway, "serve", "--port", str(port), "--state",
                                 str(work / "state.db"), "--throttle-rate", "1e9", "--throttle-burst", "1000000000",
                                 *extra])
    sink = f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{sink_port}"
    env_prefix = ["env", sink] if case.endswith("tracing") else []
    server = harness.ProcessGroup(case, env_prefix + argv, work / "apiway.log", cwd=work)
    harness.wait_ready(server, port, "/restapis", instructions.READY_TIMEOUT if wrapper else 60,
                       lambda: (work / "apiway.log").read_text()[-2000:])
    api_id = call(port, "POST", "/restapis?mode=import", API)["id"]
    call(port, "POST", f"/restapis/{api_id}/deployments", {"stageName": "prod"})
    ops: list[dict[str, str]] = []
    if case.endswith("access-log"):
        ops = [{"op": "replace", "path": "/accessLogSettings/destinationArn",
                "value": "arn:aws:logs:us-east-1:123456789012:log-group:bench-access"},
               {"op": "replace", "path": "/accessLogSettings/format", "value": CLF}]
    elif case.endswith("tracing"):
        ops = [{"op": "replace", "path": "/tracingEnabled", "value": "true"}]
    if ops:
        call(port, "PATCH", f"/restapis/{api_id}/stages/prod", {"patchOperations": ops})
    time.sleep(0.5)
    return server, port, api_id


def host(api_id: str) -> str:
    return f"{api_id}.execute-api.localhost"


def measure(wrk: str, cpu: int, server: harness.ProcessGroup, port: int, api_id: str, seconds: float,
            pipelined: harness.Pipelining) -> float:
    """Server CPU µs per request over one wrk run (nginx: `api_id` empty)."""
    url = f"http://127.0.0.1:{port}/prod/who" if api_id else f"http://127.0.0.1:{port}/"
    argv = harness.taskset(cpu, [wrk, "-t1", "-c64", f"-d{seconds:g}s", "--latency", *pipelined.args,
                                 *(["-H", f"Host: {host(api_id)}"] if api_id else []), url])
    cpu0, _ = harness.group_cpu_seconds(server.pid)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True,
                          env=pipelined.env)
    cpu1, _ = harness.group_cpu_seconds(server.pid)
    result = harness.parse_wrk(done.stdout)
    if result.requests <= 0 or result.non_2xx or result.socket_errors:
        raise SystemExit(f"wrk saw failures against {server.name}:\n{done.stdout}")
    return (cpu1 - cpu0) * 1e6 / result.requests


def count(case: str, tmp: Path, cpu: int, sink_port: int) -> float:
    """Instructions per request of `case`'s server under callgrind."""
    out = tmp / f"callgrind-{case.replace('+', '-')}"
    out.mkdir()
    server, port, api_id = serve(tmp / f"counted-{case.replace('+', '-')}", case, cpu, sink_port,
                                 instructions.callgrind_argv(out))
    try:
        return instructions.count_path(server.pid, port, "/prod/who", 3000, 1000, out, {"Host": host(api_id)})
    finally:
        server.stop()


def differences(cpu_us: dict[str, list[float]]) -> dict[str, list[float]]:
    """Per case, what it added over the case it builds on, round by round."""
    return {case: [a - b for a, b in zip(cpu_us[case], cpu_us[base], strict=True)] for case, base in OVER.items()}


def report(args: argparse.Namespace, cpu_us: dict[str, list[float]], counted: dict[str, float],
           logged_mb: float) -> str:
    median = {case: statistics.median(values) for case, values in cpu_us.items()}
    added = differences(cpu_us)
    rows = []
    for case in (*CASES, NGINX):
        cells = [case, ", ".join(f"{v:.1f}" for v in cpu_us[case]), f"{median[case]:.1f}"]
        if case in added:
            d = added[case]
            cells.append(f"{statistics.median(d):+.1f} ({min(d):+.1f} … {max(d):+.1f}) over `{OVER[case]}`")
        else:
            cells.append("—")
        if counted:
            n = counted.get(case)
            cells.append(f"{n:,.0f}" + (f" ({n - counted[OVER[case]]:+,.0f})" if case in OVER else "")
                         if n is not None else "—")
        rows.append("| " + " | ".join(cells) + " |")
    head = "| case | server CPU µs/request per round | median | added: median of the rounds' differences (range) |"
    rule = "|---|---|---:|---|"
    if counted:
        head += " instructions/request (added) |"
        rule += "---:|"
    pipelined = f" --pipeline {args.pipeline}" if args.pipeline > 1 else ""
    at_a_time = f", {args.pipeline} requests at a time per connection" if args.pipeline > 1 else ""
    words = {"metrics": "metrics", "metrics+access-log": "access log + metrics",
             "metrics+tracing": "tracing at the default sampling"}
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/observability.py --seconds {args.seconds:g} "
        f"--rounds {args.rounds}{pipelined}{' --instructions' if counted else ''}` (MOCK, server on CPU "
        f"{args.server_cpu}, wrk -c64 on CPU {args.client_cpu}{at_a_time}, rounds interleaved):", "", head, rule,
        *rows, ""]
    for case, base in OVER.items():
        typical = statistics.median(added[case])
        extra = f", {counted[case] - counted[base]:+,.0f} instructions" if counted else ""
        where = f" ({logged_mb:.0f} MB of access-log files written in the run)" if case.endswith("access-log") else ""
        lines.append(f"- {words[case]}: **{typical:+.1f} µs** over `{base}`{extra}{where}")
    lines.append(f"- this machine: nginx `return 200` {median[NGINX]:.1f} µs per request, apiway MOCK with nothing "
                 f"observed {median['off']:.1f} µs")
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--pipeline", type=int, default=1, help="requests sent at a time per connection")
    parser.add_argument("--instructions", action="store_true",
                        help="also count each case's instructions per request under callgrind (a few minutes each)")
    parser.add_argument("--write-doc", type=Path)
    args = parser.parse_args()
    wrk, nginx = shutil.which("wrk"), shutil.which("nginx") or "/usr/sbin/nginx"
    if wrk is None or not Path(nginx).exists():
        raise SystemExit("wrk and nginx are needed (Debian: apt-get install wrk nginx-light)")
    if args.instructions and not instructions.available():
        raise SystemExit(instructions.MISSING)
    cpu_us: dict[str, list[float]] = {case: [] for case in (*CASES, NGINX)}
    counted: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="observability-bench-") as tmp:
        sink_port = harness.free_port()
        sink = harness.ProcessGroup("otlp-sink", harness.taskset(args.client_cpu, [
            sys.executable, "-c", SINK, str(sink_port)]), Path(tmp) / "sink.log")
        pipelined = harness.pipelining(Path(tmp), args.pipeline)
        ctx = harness.Context(args=args, tmp=Path(tmp), nginx=nginx, wrk=wrk, apiway=Path(sys.executable))
        servers = {}
        try:
            servers = {case: serve(Path(tmp) / case.replace("+", "-"), case, args.server_cpu, sink_port)
                       for case in CASES}
            nginx_group, nginx_port = harness.start_nginx(ctx, "nginx-return", "nginx-return.conf.in",
                                                          args.server_cpu)
            servers[NGINX] = (nginx_group, nginx_port, "")
            for server, port, api_id in servers.values():
                measure(wrk, args.client_cpu, server, port, api_id, 2, pipelined)  # warm-up
            for _ in range(args.rounds):
                for case, (server, port, api_id) in servers.items():
                    cpu_us[case].append(measure(wrk, args.client_cpu, server, port, api_id, args.seconds,
                                                pipelined))
            logged = sum(f.stat().st_size for f in (Path(tmp) / "metrics-access-log").rglob("*") if f.is_file())
        finally:
            for server, _, _ in servers.values():
                server.stop()
        try:
            if args.instructions:
                for case in CASES:
                    counted[case] = count(case, Path(tmp), args.server_cpu, sink_port)
                    print(f"{case}: {counted[case]:,.0f} instructions/request", file=sys.stderr, flush=True)
        finally:
            sink.stop()
    text = report(args, cpu_us, counted, logged / 1e6)
    print(text)
    if args.write_doc:
        block = "-pipelined" if args.pipeline > 1 else ""
        harness.fill_markers(args.write_doc, DOC_START.format(block), DOC_END.format(block), text)


if __name__ == "__main__":
    main()

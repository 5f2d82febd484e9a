#!/usr/bin/env python3
"""What observing a stage costs: the same MOCK method served four ways, in one run.

    off                 `serve --no-metrics`, no access log, no tracing: nothing observes the stage
    metrics             metrics on (the default), nothing else
    metrics+access-log  metrics and the stage's access log (the console's CLF format, to a log group on disk)
    metrics+tracing     metrics and `tracingEnabled` at the default sampling (the first request each second, then
                        5 %), spans exported over OTLP/HTTP to a local sink

Each server is pinned to one CPU (`--server-cpu`, default 0), wrk to another (`--client-cpu`, default 1) with
64 keep-alive connections; rounds are interleaved and the report gives the median of the server's CPU µs per
request (its whole process group, /proc) and what each feature adds over the case it builds on.

    benchmarks/observability.py [--seconds 5] [--rounds 5] [--write-doc docs/performance.md]
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

import run as harness  # noqa: E402  (process groups, ports, readiness, wrk parsing)

DOC_START = "<!-- observability-bench:start -->"
DOC_END = "<!-- observability-bench:end -->"
API = {"openapi": "3.0.1", "info": {"title": "observed", "version": "1"}, "paths": {"/who": {"get": {
    "x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": '{"ok": true}'}}},
    }}}}}
CLF = ('$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] '
       '"$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength '
       '$context.requestId $context.extendedRequestId')
CASES = ("off", "metrics", "metrics+access-log", "metrics+tracing")
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
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    reply = conn.getresponse()
    data = reply.read()
    if reply.status >= 300:
        raise SystemExit(f"{method} {path}: {reply.status} {data[:300]!r}")
    return json.loads(data or b"{}")


def serve(work: Path, case: str, cpu: int, sink_port: int) -> tuple[harness.ProcessGroup, int, str]:
    """A server for `case` with the API on stage prod, observed as the case says: (process group, port, api id)."""
    work.mkdir()
    port = harness.free_port()
    apiway = str(Path(sys.executable).parent / "apiway")
    extra = ["--no-metrics"] if case == "off" else []
    argv = harness.taskset(cpu, [apiway, "serve", "--port", str(port), "--state", str(work / "state.db"),
                                 "--throttle-rate", "1e9", "--throttle-burst", "1000000000", *extra])
    sink = f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{sink_port}"
    env_prefix = ["env", sink] if case.endswith("tracing") else []
    server = harness.ProcessGroup(case, env_prefix + argv, work / "apiway.log", cwd=work)
    harness.wait_ready(server, port, "/restapis", 60, lambda: (work / "apiway.log").read_text()[-2000:])
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


def measure(wrk: str, cpu: int, server: harness.ProcessGroup, port: int, api_id: str, seconds: float) -> float:
    """Server CPU µs per request over one wrk run."""
    argv = harness.taskset(cpu, [wrk, "-t1", "-c64", f"-d{seconds:g}s", "--latency", "-H",
                                 f"Host: {api_id}.execute-api.localhost", f"http://127.0.0.1:{port}/prod/who"])
    cpu0, _ = harness.group_cpu_seconds(server.pid)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    cpu1, _ = harness.group_cpu_seconds(server.pid)
    result = harness.parse_wrk(done.stdout)
    if result.requests <= 0 or result.non_2xx or result.socket_errors:
        raise SystemExit(f"wrk saw failures:\n{done.stdout}")
    return (cpu1 - cpu0) * 1e6 / result.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--write-doc", type=Path)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    cpu_us: dict[str, list[float]] = {case: [] for case in CASES}
    with tempfile.TemporaryDirectory(prefix="observability-bench-") as tmp:
        sink_port = harness.free_port()
        sink = harness.ProcessGroup("otlp-sink", harness.taskset(args.client_cpu, [
            sys.executable, "-c", SINK, str(sink_port)]), Path(tmp) / "sink.log")
        servers = {}
        try:
            servers = {case: serve(Path(tmp) / case.replace("+", "-"), case, args.server_cpu, sink_port)
                       for case in CASES}
            for server, port, api_id in servers.values():
                measure(wrk, args.client_cpu, server, port, api_id, 2)  # warm-up
            for _ in range(args.rounds):
                for case, (server, port, api_id) in servers.items():
                    cpu_us[case].append(measure(wrk, args.client_cpu, server, port, api_id, args.seconds))
            logged = sum(f.stat().st_size for f in (Path(tmp) / "metrics-access-log").rglob("*") if f.is_file())
        finally:
            for server, _, _ in servers.values():
                server.stop()
            sink.stop()
    median = {case: statistics.median(values) for case, values in cpu_us.items()}
    rows = [f"| {case} | {', '.join(f'{v:.1f}' for v in cpu_us[case])} | {median[case]:.1f} |" for case in CASES]
    text = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/observability.py --seconds {args.seconds:g} "
        f"--rounds {args.rounds}` (MOCK, server on CPU {args.server_cpu}, wrk -c64 on CPU {args.client_cpu}, "
        "rounds interleaved):", "",
        "| case | server CPU µs/request per round | median |", "|---|---|---:|", *rows, "",
        f"- metrics: **{median['metrics'] - median['off']:+.1f} µs** over `off`",
        f"- access log + metrics: **{median['metrics+access-log'] - median['off']:+.1f} µs** over `off` "
        f"({logged / 1e6:.0f} MB of access-log files written in the run)",
        f"- tracing at the default sampling: **{median['metrics+tracing'] - median['metrics']:+.1f} µs** over "
        "`metrics`", ""])
    print(text)
    if args.write_doc:
        harness.fill_markers(args.write_doc, DOC_START, DOC_END, text)


if __name__ == "__main__":
    main()

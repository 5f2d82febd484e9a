#!/usr/bin/env python3
"""`serve --workers 2` against one worker, in the same run: MOCK requests per second with wrk.

Two servers serve the same one-method MOCK REST API (imported through the control plane, the account throttle
lifted so that it caps neither): one with a single worker, one with `--workers 2`. wrk (32 keep-alive
connections, one thread) drives each in turn for D seconds, R rounds alternated so that other load on the
machine weighs on both alike; the report gives each round and the ratio of the sums. Neither server is pinned:
the point is what the second core adds. wrk shares the two cores with the servers, so on a 2-core machine the
ratio's ceiling is 2·s/(s + w) for a server cost s and a wrk cost w per request: both are reported (CPU of
the server's processes and of wrk per request). With `--pipeline N` (the default 16) each connection sends N
requests at a time (HTTP/1.1 pipelining, which the server answers in order): wrk's cost per request falls to a
few hundred nanoseconds, so the second core goes to the server rather than to the load generator, as it would
with the load on other machines. `--pipeline 1` measures plain keep-alive.

    benchmarks/workers.py [--seconds 5] [--rounds 5] [--pipeline 16] [--write-doc docs/performance.md]
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as harness  # noqa: E402  (process groups, ports, readiness)

DOC_START = "<!-- workers-bench:start -->"
DOC_END = "<!-- workers-bench:end -->"
API = {"openapi": "3.0.1", "info": {"title": "who", "version": "1"}, "paths": {"/who": {"get": {
    "x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": '{"ok": true}'}}},
    }}}}}


def serve(work: Path, workers: int) -> tuple[harness.ProcessGroup, int, str]:
    """A server with `workers` workers serving API on stage prod: (process group, port, api id)."""
    work.mkdir()
    port = harness.free_port()
    apiway = str(Path(sys.executable).parent / "apiway")
    server = harness.ProcessGroup(f"apiway-{workers}", [
        apiway, "serve", "--port", str(port), "--state", str(work / "state.db"), "--workers", str(workers),
        "--throttle-rate", "1000000", "--throttle-burst", "1000000"], work / "apiway.log", cwd=work)
    harness.wait_ready(server, port, "/restapis", 60, lambda: (work / "apiway.log").read_text()[-2000:])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/restapis?mode=import", body=json.dumps(API).encode(),
                 headers={"Content-Type": "application/json"})
    api_id = json.loads(conn.getresponse().read())["id"]
    conn.request("POST", f"/restapis/{api_id}/deployments", body=b'{"stageName": "prod"}',
                 headers={"Content-Type": "application/json"})
    conn.getresponse().read()
    time.sleep(1.5)  # every worker has heard of the deployment (changes cross workers within 1 s)
    return server, port, api_id


def rate(wrk: str, port: int, api_id: str, seconds: float, pipelined: harness.Pipelining) -> float:
    """Requests/s wrk completed."""
    done = subprocess.run([wrk, "-t1", "-c32", f"-d{seconds:g}s", "-H", f"Host: {api_id}.execute-api.localhost",
                           *pipelined.args, f"http://127.0.0.1:{port}/prod/who"], capture_output=True, text=True,
                          timeout=seconds + 30, check=True, env=pipelined.env)
    if "Non-2xx" in done.stdout or "Socket errors" in done.stdout:
        raise SystemExit(f"wrk saw failures:\n{done.stdout}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if found is None:
        raise SystemExit(f"no rate in wrk's output:\n{done.stdout}")
    return float(found.group(1))


def children_cpu() -> float:
    """CPU seconds of this script's finished children (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pipeline", type=int, default=16, help="requests sent at a time per connection")
    parser.add_argument("--write-doc", type=Path)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    rates: dict[int, list[float]] = {1: [], 2: []}
    # CPU seconds per request: of the server's processes (supervisor and workers), and of wrk.
    server_cpu: dict[int, float] = {1: 0.0, 2: 0.0}
    client_cpu: dict[int, float] = {1: 0.0, 2: 0.0}
    with tempfile.TemporaryDirectory(prefix="workers-bench-") as tmp:
        pipelined = harness.pipelining(Path(tmp), args.pipeline)
        servers = {n: serve(Path(tmp) / f"w{n}", n) for n in (1, 2)}
        try:
            for _, port, api_id in servers.values():
                rate(wrk, port, api_id, 1, pipelined)  # warm-up
            for _ in range(args.rounds):
                for n, (server, port, api_id) in servers.items():
                    cpu0, wrk0 = harness.group_cpu_seconds(server.pid)[0], children_cpu()
                    rates[n].append(rate(wrk, port, api_id, args.seconds, pipelined))
                    server_cpu[n] += harness.group_cpu_seconds(server.pid)[0] - cpu0
                    client_cpu[n] += children_cpu() - wrk0
        finally:
            for server, _, _ in servers.values():
                server.stop()
    ratio = sum(rates[2]) / sum(rates[1])
    text = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/workers.py --seconds {args.seconds:g} --rounds "
        f"{args.rounds} --pipeline {args.pipeline}` (MOCK, wrk -t1 -c32 on the same cores, "
        f"{args.pipeline} request(s) at a time per connection, rounds alternated):", "",
        "| | requests/s per round | sum | server CPU µs/request | wrk CPU µs/request |", "|---|---|---:|---:|---:|",
        *(f"| `--workers {n}` | {', '.join(f'{r:,.0f}' for r in rates[n])} | {sum(rates[n]):,.0f} | "
          f"{server_cpu[n] / (sum(rates[n]) * args.seconds) * 1e6:.1f} | "
          f"{client_cpu[n] / (sum(rates[n]) * args.seconds) * 1e6:.1f} |" for n in (1, 2)),
        "", f"**`--workers 2` serves {ratio:.2f} times the requests/s of one worker.**", ""])
    print(text)
    if args.write_doc:
        harness.fill_markers(args.write_doc, DOC_START, DOC_END, text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What a large import and deploy costs the traffic already served.

apiway runs pinned to one CPU (default 0) with no project. A small MOCK API is deployed, then a probe
(pinned with this script to the other CPU) requests it back to back over one keep-alive connection while
the control plane imports an N-path API (ImportRestApi), deploys it to a stage (CreateDeployment), and
redeploys it. For each call the report gives its wall time and the probe's longest request while the call
ran: the time the gateway kept every client waiting. Standard library only, plus the harness.

    benchmarks/big_deploy.py --paths 20000 [--write-doc docs/performance.md]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as harness  # noqa: E402  (the load harness: process groups, ports)
from control_plane import Client, openapi, replace_block  # noqa: E402

DOC_START = "<!-- big-deploy:start -->"
DOC_END = "<!-- big-deploy:end -->"
PROBE_API = {"openapi": "3.0.1", "info": {"title": "probe", "version": "1"}, "paths": {"/ping": {"get": {
    "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                                        "responses": {"default": {"statusCode": "200"}}}}}}}


class Probe(threading.Thread):
    """Requests one path back to back; `longest(start, end)` is the longest request that overlapped."""

    def __init__(self, port: int, path: str) -> None:
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path = path
        self.samples: list[tuple[float, float]] = []  # (start, end), monotonic seconds
        self.failures = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            start = time.monotonic()
            self.conn.request("GET", self.path)
            response = self.conn.getresponse()
            response.read()
            self.samples.append((start, time.monotonic()))
            if response.status != 200:
                self.failures += 1

    def longest(self, start: float, end: float) -> tuple[float, int]:
        """(longest request in ms, requests) among those overlapping [start, end]."""
        spans = [b - a for a, b in self.samples if b >= start and a <= end]
        return (max(spans) * 1000 if spans else 0.0), len(spans)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", type=int, default=20000, help="paths in the imported API (default 20000)")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--apiway", help="the apiway executable (default: beside this Python)")
    parser.add_argument("--write-doc", type=Path, help="replace the big-deploy table in this markdown file")
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {args.client_cpu})
    work = Path(tempfile.mkdtemp(prefix="apiway-big-deploy-"))
    port = harness.free_port()
    apiway = args.apiway or str(Path(sys.executable).with_name("apiway"))
    server = harness.ProcessGroup("apiway", harness.taskset(args.server_cpu, [
        apiway, "serve", "--port", str(port), "--state", str(work / "state.db")]), work / "apiway.log", cwd=work)
    document = openapi(args.paths + 1)  # plus the root
    rows: list[tuple[str, float, float, int]] = []
    try:
        deadline = time.monotonic() + 30
        while not harness.tcp_accepting(port):
            if time.monotonic() > deadline or not server.alive():
                raise SystemExit(f"apiway did not start: {server.log_tail()}")
            time.sleep(0.05)
        c = Client(port)
        c.conn.timeout = 600
        probe_id = c.call("POST", "/restapis?mode=import", json.dumps(PROBE_API).encode())["id"]
        c.call("POST", f"/restapis/{probe_id}/deployments", {"stageName": "p"})
        probe = Probe(port, f"/restapis/{probe_id}/p/_user_request_/ping")
        probe.start()
        time.sleep(1)
        api: dict[str, str] = {}

        spans: list[tuple[str, float, float]] = []

        def timed(name: str, call: object) -> None:
            start = time.monotonic()
            result = call() if callable(call) else None
            spans.append((name, start, time.monotonic()))
            if isinstance(result, dict) and "id" in result and not api:
                api["id"] = result["id"]

        timed(f"ImportRestApi ({args.paths:,} paths)",
              lambda: c.call("POST", "/restapis?mode=import", document))
        timed("CreateDeployment (new stage)", lambda: c.call("POST", f"/restapis/{api['id']}/deployments",
                                                             {"stageName": "big"}))
        timed("CreateDeployment (redeploy)", lambda: c.call("POST", f"/restapis/{api['id']}/deployments",
                                                            {"stageName": "big"}))
        check = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        check.request("GET", f"/restapis/{api['id']}/big/_user_request_/items{args.paths - 1}")
        served = check.getresponse()
        body = served.read()
        if served.status != 200:
            raise SystemExit(f"the deployed API does not answer: {served.status} {body[:200]!r}")
        time.sleep(0.5)
        probe.stopping.set()
        probe.join(timeout=60)
        for name, start, end in spans:  # a request answered after the call ended still overlapped it
            longest, count = probe.longest(start, end)
            rows.append((name, (end - start) * 1000, longest, count))
            print(f"{name:<44} {(end - start) * 1000:9.0f} ms   probe's longest request {longest:7.1f} ms "
                  f"({count} requests answered meanwhile)", flush=True)
        quiet, _ = probe.longest(probe.samples[0][0], probe.samples[0][0] + 0.9)
        print(f"probe's longest request before the calls: {quiet:.1f} ms; probe failures: {probe.failures}")
        if probe.failures:
            raise SystemExit("the probe got non-200 answers")
    finally:
        server.stop()
    if args.write_doc:
        write_doc(args.write_doc, rows, args)
    return 0


def write_doc(path: Path, rows: list[tuple[str, float, float, int]], args: argparse.Namespace) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = ["", f"Measured {stamp} with `benchmarks/big_deploy.py --paths {args.paths}` "
             f"(server on CPU {args.server_cpu}; the probe and the control-plane client on CPU {args.client_cpu}).",
             "", "| call | wall time | probe's longest request meanwhile | probe requests meanwhile |",
             "|---|---:|---:|---:|"]
    lines += [f"| {name} | {wall:,.0f} ms | {longest:,.1f} ms | {count:,} |" for name, wall, longest, count in rows]
    replace_block(path, DOC_START, DOC_END, [*lines, ""], "Large imports and deploys beside live traffic")


if __name__ == "__main__":
    sys.exit(main())

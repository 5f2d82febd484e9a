#!/usr/bin/env python3
"""Control-plane cost: server CPU per call on a 100-resource REST API.

apiway runs pinned to one CPU (default 0) with no project; this script (the client, pinned to the
other CPU) imports a 100-resource API through the control plane, then times each operation: N
sequential calls over one keep-alive connection, server CPU (utime+stime of its process group,
from /proc) divided by N, and the client-side latency p50/p99. Calls are sent unsigned, as the
control plane on a loopback listener accepts them. Standard library only, plus the harness.

    benchmarks/control_plane.py --calls 400 [--write-doc docs/performance.md]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as harness  # noqa: E402  (the load harness: process groups, CPU accounting, ports)

DOC_START = "<!-- control-bench:start -->"
DOC_END = "<!-- control-bench:end -->"
RESOURCES = 100


def openapi(resources: int) -> bytes:
    paths = {}
    for i in range(resources - 1):  # plus the root
        paths[f"/items{i}"] = {"get": {
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                "responses": {"default": {"statusCode": "200",
                                          "responseTemplates": {"application/json": '{"item": ' + str(i) + "}"}}},
            }}}
    return json.dumps({"openapi": "3.0.1", "info": {"title": "bench-100", "version": "1"}, "paths": paths}).encode()


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: object = None, expect: tuple[int, ...] = (200, 201, 202, 204)) -> dict:
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status not in expect:
            raise RuntimeError(f"{method} {path} → {resp.status} {raw[:300]!r}")
        return json.loads(raw) if raw else {}


def measure(pid: int, calls: int, fn: Callable[[int], None]) -> tuple[float, float, float]:
    """(server CPU µs per call, p50 ms, p99 ms) over `calls` calls."""
    fn(0)  # warm
    latencies = []
    cpu0, _ = harness.group_cpu_seconds(pid)
    for i in range(calls):
        start = time.perf_counter()
        fn(i)
        latencies.append((time.perf_counter() - start) * 1000)
    cpu1, _ = harness.group_cpu_seconds(pid)
    latencies.sort()
    return (cpu1 - cpu0) / calls * 1e6, statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]


def scenarios(c: Client, api: str, ids: list[str]) -> dict[str, Callable[[int], None]]:
    base = f"/restapis/{api}"

    def res(i: int) -> str:
        return ids[i % len(ids)]

    def create_delete(i: int) -> None:
        made = c.call("POST", f"{base}/resources/{ids[0]}", {"pathPart": f"tmp{i}"})
        c.call("DELETE", f"{base}/resources/{made['id']}")

    return {
        "GetRestApi": lambda i: c.call("GET", base),
        "GetResource": lambda i: c.call("GET", f"{base}/resources/{res(i)}"),
        "GetResources (limit 500, 100 items)": lambda i: c.call("GET", f"{base}/resources?limit=500"),
        "GetMethod": lambda i: c.call("GET", f"{base}/resources/{res(i)}/methods/GET"),
        "UpdateMethod (patch)": lambda i: c.call("PATCH", f"{base}/resources/{res(i)}/methods/GET", {
            "patchOperations": [{"op": "replace", "path": "/operationName", "value": f"op{i}"}]}),
        "UpdateIntegrationResponse (patch)": lambda i: c.call(
            "PATCH", f"{base}/resources/{res(i)}/methods/GET/integration/responses/200", {"patchOperations": [
                {"op": "replace", "path": "/responseTemplates/application~1json", "value": f'{{"n": {i}}}'}]}),
        # Last of the method-level calls: it replaces integrations, dropping their integration responses.
        "PutIntegration": lambda i: c.call("PUT", f"{base}/resources/{res(i)}/methods/GET/integration", {
            "type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'}}),
        "CreateResource + DeleteResource (pair)": create_delete,
        "UpdateStage (variables; recompiles the stage)": lambda i: c.call("PATCH", f"{base}/stages/bench", {
            "patchOperations": [{"op": "replace", "path": "/variables/n", "value": str(i)}]}),
        "CreateDeployment (snapshot + compile 100 methods)": lambda i: c.call(
            "POST", f"{base}/deployments", {"stageName": "bench"}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=400, help="calls per operation (default 400)")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--write-doc", type=Path, help="replace the control-plane table in this markdown file")
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {args.client_cpu})
    work = Path(tempfile.mkdtemp(prefix="apiway-control-bench-"))
    port = harness.free_port()
    apiway = str(Path(sys.executable).with_name("apiway"))
    server = harness.ProcessGroup("apiway", harness.taskset(args.server_cpu, [
        apiway, "serve", "--port", str(port), "--state", str(work / "state.db")]), work / "apiway.log", cwd=work)
    try:
        deadline = time.monotonic() + 30
        while not harness.tcp_accepting(port):
            if time.monotonic() > deadline or not server.alive():
                raise SystemExit(f"apiway did not start: {server.log_tail()}")
            time.sleep(0.05)
        c = Client(port)
        api = c.call("POST", "/restapis?mode=import", openapi(RESOURCES))["id"]
        items = c.call("GET", f"/restapis/{api}/resources?limit=500")["item"]
        assert len(items) == RESOURCES, len(items)
        ids = [r["id"] for r in items if r["path"] != "/"]
        c.call("POST", f"/restapis/{api}/deployments", {"stageName": "bench"})
        rows = []
        for name, fn in scenarios(c, api, ids).items():
            cpu, p50, p99 = measure(server.pid, args.calls, fn)
            rows.append((name, cpu, p50, p99))
            print(f"{name:<52} {cpu:8.0f} µs CPU/call   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms", flush=True)
    finally:
        server.stop()
    if args.write_doc:
        write_doc(args.write_doc, rows, args)
    return 0


def write_doc(path: Path, rows: list[tuple[str, float, float, float]], args: argparse.Namespace) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = ["", f"Measured {stamp} with `benchmarks/control_plane.py --calls {args.calls}` "
             f"(server on CPU {args.server_cpu}, client on CPU {args.client_cpu}; {RESOURCES}-resource API, "
             "sequential calls on one keep-alive connection).", "",
             "| operation | server CPU µs/call | p50 | p99 |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {cpu:,.0f} | {p50:.2f} ms | {p99:.2f} ms |" for name, cpu, p50, p99 in rows]
    replace_block(path, DOC_START, DOC_END, [*lines, ""], "Control plane")


def replace_block(path: Path, start: str, end: str, lines: list[str], heading: str) -> None:
    """Put `lines` between the `start` and `end` markers of a markdown file, or append them under `heading`."""
    text = path.read_text() if path.exists() else ""
    block = "\n".join([start, *lines, end])
    if start in text:
        head, _, rest = text.partition(start)
        text = head + block + rest.partition(end)[2]
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())

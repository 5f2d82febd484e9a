#!/usr/bin/env python3
"""WebSocket APIs: what a connection costs at rest and what a message costs on the way through.

apiway runs pinned to one CPU (default 0); this script, the client, runs on the other (default 1) with the
`websockets` library. It builds one WebSocket API through the control plane:

    echo     MOCK, two-way: the integration response renders the frame (no backend)
    lambda   AWS_PROXY to an inline Python function returning the message as its body, two-way
    worker   the same function in worker mode (its own processes, the Lambda Runtime API), two-way
    whoami   MOCK, two-way: answers the caller's connection id (used to address the broadcast)

and measures, in this order:

1. idle connections: N connections opened (default 10,000) and held; the server's resident memory (its whole
   process group, from /proc) before and after, divided by N;
2. round trips: C clients (default 32) each send a message and wait for its answer, for D seconds per route;
   server CPU (utime+stime of its process group) divided by the messages answered: CPU µs per message;
3. a broadcast: B clients (default 1,000) connected; one POST /@connections/{id} per client over 8 keep-alive
   connections (the address functions are given; a Lambda function broadcasting with boto3 does the same);
   the time from the first POST to the last client's receipt.

    benchmarks/websocket.py [--idle 10000] [--clients 32] [--seconds 10] [--broadcast 1000]
                            [--write-doc docs/performance.md]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as harness  # noqa: E402  (process groups, CPU accounting, ports)

DOC_START = "<!-- websocket-bench:start -->"
DOC_END = "<!-- websocket-bench:end -->"
STAGE = "bench"
FUNCTION = '''def handler(event, context):
    return {"statusCode": 200, "body": event.get("body") or ""}
'''
PROJECT = """functions:
  echo:
    handler: echo.py:handler
    mode: inline
  echo_worker:
    handler: echo.py:handler
    mode: worker
"""


class Control:
    """The apigatewayv2 control plane over one keep-alive connection (unsigned: the listener is loopback)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status >= 300:
            raise SystemExit(f"{method} {path} → {resp.status} {raw[:300]!r}")
        return json.loads(raw) if raw else {}

    def two_way_route(self, api: str, key: str, integration: dict[str, Any], response_template: str | None) -> None:
        made = self.call("POST", f"/v2/apis/{api}/integrations", integration)
        if response_template is not None:
            self.call("POST", f"/v2/apis/{api}/integrations/{made['integrationId']}/integrationresponses",
                      {"integrationResponseKey": "$default", "responseTemplates": {"$default": response_template},
                       "templateSelectionExpression": "\\$default"})
        route = self.call("POST", f"/v2/apis/{api}/routes", {
            "routeKey": key, "target": f"integrations/{made['integrationId']}", "routeResponseSelectionExpression":
            "$default"})
        self.call("POST", f"/v2/apis/{api}/routes/{route['routeId']}/routeresponses", {"routeResponseKey": "$default"})


def build_api(port: int) -> str:
    control = Control(port)
    api = control.call("POST", "/v2/apis", {"name": "ws-bench", "protocolType": "WEBSOCKET",
                                            "routeSelectionExpression": "$request.body.action"})["apiId"]
    mock = {"integrationType": "MOCK", "templateSelectionExpression": "\\$default",
            "requestTemplates": {"$default": '{"statusCode": 200}'}}
    control.two_way_route(api, "echo", mock, '{"echo": true}')
    control.two_way_route(api, "whoami", mock, "$context.connectionId")
    for route, function in (("lambda", "echo"), ("worker", "echo_worker")):
        control.two_way_route(api, route, {"integrationType": "AWS_PROXY", "integrationUri":
                                           f"arn:aws:lambda:us-east-1:123456789012:function:{function}"}, None)
    control.call("POST", f"/v2/apis/{api}/stages", {"stageName": STAGE, "autoDeploy": True})
    return api


def group_rss_kib(root: int) -> int:
    """Resident memory of the server's process group (kB), from /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != root:
                continue
            for line in Path(f"/proc/{entry}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total


async def open_many(url: str, count: int, batch: int = 200) -> list[ClientConnection]:
    """`count` connections, opened `batch` at a time (the listen backlog is finite)."""
    opened: list[ClientConnection] = []
    while len(opened) < count:
        n = min(batch, count - len(opened))
        opened += await asyncio.gather(*(connect(url, ping_interval=None, max_queue=4, open_timeout=60)
                                          for _ in range(n)))
    return opened


async def close_all(conns: list[ClientConnection]) -> None:
    for i in range(0, len(conns), 500):
        await asyncio.gather(*(c.close() for c in conns[i:i + 500]), return_exceptions=True)


async def idle(url: str, pid: int, count: int) -> dict[str, float]:
    before = group_rss_kib(pid)
    started = time.perf_counter()
    conns = await open_many(url, count)
    opened_s = time.perf_counter() - started
    await asyncio.sleep(2)  # let the server settle (its $connect tasks, the registry)
    after = group_rss_kib(pid)
    # Still alive: every connection answers.
    for conn in conns[:: max(1, count // 50)]:
        await conn.send('{"action": "echo"}')
        await asyncio.wait_for(conn.recv(), 10)
    await close_all(conns)
    return {"connections": count, "rss_before_mib": before / 1024, "rss_after_mib": after / 1024,
            "kib_per_connection": (after - before) / count, "open_seconds": opened_s}


async def round_trips(url: str, pid: int, route: str, clients: int, seconds: float,
                      expected: str | None = None) -> dict[str, float]:
    """`expected`: the answer every client must get first (default: this API's answer for `route`)."""
    conns = await open_many(url, clients)
    message = json.dumps({"action": route, "text": "x" * 64})
    if expected is None:
        expected = '{"echo": true}' if route == "echo" else message
    for conn in conns:  # every client gets the route's answer, not an error frame
        await conn.send(message)
        answer = await asyncio.wait_for(conn.recv(), 10)
        if answer != expected:
            raise SystemExit(f"route {route} answered {answer!r}, expected {expected!r}")
    latencies: list[float] = []

    async def loop(conn: ClientConnection, until: float) -> int:
        done = 0
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            await conn.send(message)
            await conn.recv()
            latencies.append(time.perf_counter() - t0)
            done += 1
        return done

    await asyncio.gather(*(loop(c, time.perf_counter() + 1.0) for c in conns))  # warm-up
    latencies.clear()
    cpu0, _ = harness.group_cpu_seconds(pid)
    t0 = time.perf_counter()
    counts = await asyncio.gather(*(loop(c, time.perf_counter() + seconds) for c in conns))
    elapsed = time.perf_counter() - t0
    cpu1, _ = harness.group_cpu_seconds(pid)
    await close_all(conns)
    total = sum(counts)
    latencies.sort()
    return {"messages": total, "messages_per_s": total / elapsed, "cpu_us_per_message": (cpu1 - cpu0) / total * 1e6,
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}


async def broadcast(url: str, port: int, count: int, posters: int = 8) -> dict[str, float]:
    conns = await open_many(url, count)
    ids = []
    for conn in conns:
        await conn.send('{"action": "whoami"}')
        ids.append(str(await asyncio.wait_for(conn.recv(), 10)))
    received = asyncio.Event()
    left = [count]
    last = [0.0]

    async def receive(conn: ClientConnection) -> None:
        await conn.recv()
        last[0] = time.perf_counter()
        left[0] -= 1
        if left[0] == 0:
            received.set()

    def post(part: list[str]) -> None:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for connection_id in part:
            client.request("POST", f"/@connections/{connection_id}", body=b'{"news": "broadcast"}')
            resp = client.getresponse()
            resp.read()
            if resp.status != 200:
                raise SystemExit(f"POST @connections → {resp.status}")
        client.close()

    receivers = [asyncio.create_task(receive(c)) for c in conns]
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    await asyncio.gather(*(loop.run_in_executor(None, post, ids[i::posters]) for i in range(posters)))
    posted = time.perf_counter() - t0
    await asyncio.wait_for(received.wait(), 60)
    await asyncio.gather(*receivers)
    await close_all(conns)
    return {"clients": count, "posts_done_ms": posted * 1000, "last_delivery_ms": (last[0] - t0) * 1000}


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    idle_r, bc = results["idle"], results["broadcast"]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/websocket.py --idle {args.idle} --clients "
        f"{args.clients} --seconds {args.seconds} --broadcast {args.broadcast}` (native front-end; server on CPU "
        f"{args.server_cpu}, the `websockets` client on CPU {args.client_cpu}).",
        "",
        f"- **{idle_r['connections']:,} idle connections** on one process: resident memory "
        f"{idle_r['rss_before_mib']:.0f} → {idle_r['rss_after_mib']:.0f} MiB, **{idle_r['kib_per_connection']:.1f} "
        f"KiB per connection** (opened in {idle_r['open_seconds']:.1f} s).",
        "",
        "| route (two-way) | messages/s | server CPU µs/message | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results["round_trips"].items():
        lines.append(f"| {name} | {r['messages_per_s']:,.0f} | {r['cpu_us_per_message']:.1f} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} |")
    lines += ["", f"- **Broadcast to {bc['clients']:,} clients** through `POST /@connections/{{id}}` (8 keep-alive "
              f"posters): all POSTs answered after {bc['posts_done_ms']:.0f} ms, **last delivery "
              f"{bc['last_delivery_ms']:.0f} ms** after the first POST.", ""]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace, port: int, pid: int, api: str) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{port}/restapis/{api}/{STAGE}/_user_request_"
    results: dict[str, Any] = {"idle": await idle(url, pid, args.idle), "round_trips": {}}
    for route, label in (("echo", "MOCK"), ("lambda", "AWS_PROXY, inline function"),
                         ("worker", "AWS_PROXY, function in worker mode (the default)")):
        results["round_trips"][label] = await round_trips(url, pid, route, args.clients, args.seconds)
    results["broadcast"] = await broadcast(url, port, args.broadcast)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--broadcast", type=int, default=1_000)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--write-doc", type=Path)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.idle + 1000
    if hard < need:
        raise SystemExit(f"{args.idle} connections need {need} file descriptors; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))  # inherited by the server
    os.sched_setaffinity(0, {args.client_cpu})
    apiway = str(Path(sys.executable).parent / "apiway")
    with tempfile.TemporaryDirectory(prefix="ws-bench-") as tmp:
        work = Path(tmp)
        (work / "echo.py").write_text(FUNCTION)
        (work / "apiway.yaml").write_text(PROJECT)
        port = harness.free_port()
        server = harness.ProcessGroup("apiway", harness.taskset(args.server_cpu, [
            apiway, "serve", str(work / "apiway.yaml"), "--port", str(port), "--state", str(work / "state.db")]),
            work / "apiway.log", cwd=work)
        try:
            harness.wait_ready(server, port, "/v2/apis", 30, lambda: (work / "apiway.log").read_text()[-2000:])
            api = build_api(port)
            results = asyncio.run(main_async(args, port, server.pid, api))
        finally:
            server.stop()
    text = report(results, args)
    print(text)
    print(json.dumps(results, indent=2))
    if args.write_doc:
        harness.fill_markers(args.write_doc, DOC_START, DOC_END, text)


if __name__ == "__main__":
    main()

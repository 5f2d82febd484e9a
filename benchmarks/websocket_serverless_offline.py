#!/usr/bin/env python3
"""The WebSocket benchmark of benchmarks/websocket.py, run against serverless-offline for comparison.

serverless-offline (the npm packages `serverless@3` and `serverless-offline@13`, the last major release that
supports serverless 3) is installed on first use with `npm install --no-audit --no-fund` into a cache directory
under the system temporary directory (`--cache` to choose another), never into the repository. The script writes a
`serverless.yml` with a function `echo` bound to a `websocket` event with route key `echo` (route selection
expression: the default, `$request.body.action`) and a function `connect` on `$connect` that accepts every
connection (serverless-offline refuses connections, HTTP 502, when no `$connect` route is defined). Two routes send
the message back to its sender: `reply`, two-way (`routeResponseSelectionExpression: $default`: the handler's `body`
is the answer), and `echo`, whose handler POSTs the message to serverless-offline's `POST
/@connections/{connectionId}` endpoint on the WebSocket port (plain `fetch`, unsigned). Handlers run in serverless-
offline's default mode (worker threads: one per concurrent invocation, kept until idle for 60 s, so the threads the
`$connect` burst starts count in the idle memory).

serverless-offline runs pinned to one CPU (default 0), this script, the client, on the other (default 1). With the
functions of benchmarks/websocket.py it measures:

1. idle connections: N connections opened (default 10,000) and held; the server's resident memory (its whole
   process group, from /proc) before and after, divided by N;
2. round trips: C clients (default 32) each send a message to a route and wait for it back, for D seconds per route;
   server CPU (utime+stime of its process group) divided by the messages answered: CPU µs per message.

    benchmarks/websocket_serverless_offline.py [--idle 10000] [--clients 32] [--seconds 10] [--cache DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.exceptions import InvalidStatus

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as harness  # noqa: E402  (process groups, CPU accounting, ports)
import websocket as bench  # noqa: E402  (idle connections, round trips, group memory)

PACKAGES = ["serverless@3", "serverless-offline@13"]
STAGE = "bench"
SERVERLESS_YML = """service: ws-bench
frameworkVersion: "3"
provider:
  name: aws
  runtime: nodejs20.x
  region: us-east-1
  stage: {stage}
  environment:
    WS_PORT: "{ws_port}"
plugins:
  - serverless-offline
functions:
  connect:
    handler: handler.connect
    events:
      - websocket:
          route: $connect
  echo:
    handler: handler.echo
    events:
      - websocket:
          route: echo
  reply:
    handler: handler.reply
    events:
      - websocket:
          route: reply
          routeResponseSelectionExpression: $default
"""
HANDLER = """const base = `http://127.0.0.1:${process.env.WS_PORT}/@connections/`;

exports.connect = async () => ({ statusCode: 200 });

exports.echo = async (event) => {
  const res = await fetch(base + encodeURIComponent(event.requestContext.connectionId), {
    method: "POST",
    body: event.body,
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`@connections answered ${res.status}`);
  return { statusCode: 200 };
};

exports.reply = async (event) => ({ statusCode: 200, body: event.body });
"""


def install(cache: Path) -> Path:
    """node_modules holding serverless and serverless-offline, installed into `cache` on first use."""
    modules = cache / "node_modules"
    if not (modules / "serverless-offline" / "package.json").exists():
        cache.mkdir(parents=True, exist_ok=True)
        if not (cache / "package.json").exists():
            (cache / "package.json").write_text('{"name": "ws-bench-serverless-offline", "private": true}\n')
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm not found")
        subprocess.run([npm, "install", "--no-audit", "--no-fund", *PACKAGES], cwd=cache, check=True, timeout=600)
    return modules


def versions(modules: Path) -> dict[str, str]:
    found = {"node": subprocess.run(["node", "--version"], capture_output=True, text=True, check=True,
                                    timeout=30).stdout.strip()}
    for name in ("serverless", "serverless-offline"):
        found[name] = json.loads((modules / name / "package.json").read_text())["version"]
    return found


def wait_listening(server: harness.ProcessGroup, port: int, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise SystemExit(f"serverless-offline exited with code {server.proc.returncode}: "
                             f"{log.read_text()[-2000:]}")
        if harness.tcp_accepting(port):
            return
        time.sleep(0.2)
    raise SystemExit(f"serverless-offline not listening on {port} within {timeout:g} s: {log.read_text()[-2000:]}")


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    idle_r, v = results["idle"], results["versions"]
    echo, reply = results["round_trips"]["echo"], results["round_trips"]["reply"]
    return "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/websocket_serverless_offline.py --idle {args.idle} "
        f"--clients {args.clients} --seconds {args.seconds}` (serverless {v['serverless']}, serverless-offline "
        f"{v['serverless-offline']}, Node.js {v['node']}, handlers in worker threads; server on CPU "
        f"{args.server_cpu}, the `websockets` client on CPU {args.client_cpu}).",
        "",
        f"- **{idle_r['connections']:,} idle connections**: resident memory {idle_r['rss_before_mib']:.0f} → "
        f"{idle_r['rss_after_mib']:.0f} MiB, **{idle_r['kib_per_connection']:.1f} KiB per connection** "
        f"(opened in {idle_r['open_seconds']:.1f} s; server threads {idle_r['threads_before']} → "
        f"{idle_r['threads_after']}: the `$connect` handlers' worker threads count in).",
        "",
        "| route | messages/s | server CPU µs/message | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
        f"| reply (Node.js handler, two-way: its `body` is the answer) | {reply['messages_per_s']:,.0f} | "
        f"{reply['cpu_us_per_message']:.1f} | {reply['p50_ms']:.2f} | {reply['p99_ms']:.2f} |",
        f"| echo (Node.js handler, answer through @connections) | {echo['messages_per_s']:,.0f} | "
        f"{echo['cpu_us_per_message']:.1f} | {echo['p50_ms']:.2f} | {echo['p99_ms']:.2f} |",
        "",
    ])


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


async def first_connection(url: str, timeout: float) -> None:
    """serverless-offline accepts TCP before its routes are in place (HTTP 502 until then): wait for a handshake."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = (await bench.open_many(url, 1))[0]
        except (OSError, InvalidStatus):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
            continue
        await conn.close()
        return


async def main_async(args: argparse.Namespace, url: str, pid: int) -> dict[str, Any]:
    await first_connection(url, 60)
    threads = threads_of(pid)
    results: dict[str, Any] = {"idle": await bench.idle(url, pid, args.idle)}
    # Each concurrent $connect runs in a worker thread of its own; they stay until idle for 60 s.
    results["idle"]["threads_before"], results["idle"]["threads_after"] = threads, threads_of(pid)
    results["round_trips"] = {}
    for route in ("echo", "reply"):
        message = json.dumps({"action": route, "text": "x" * 64})  # what round_trips sends
        results["round_trips"][route] = await bench.round_trips(url, pid, route, args.clients, args.seconds,
                                                                expected=message)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ws-bench-serverless-offline",
                        help="where the npm packages are installed (default: under the system temporary directory)")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.idle + 1000
    if hard < need:
        raise SystemExit(f"{args.idle} connections need {need} file descriptors; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))  # inherited by the server
    modules = install(args.cache)
    found = versions(modules)
    os.sched_setaffinity(0, {args.client_cpu})
    os.environ.update({"SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off", "SLS_DEPRECATION_DISABLE": "*",
                       "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})  # inherited by the server
    with tempfile.TemporaryDirectory(prefix="ws-bench-sls-") as tmp:
        work = Path(tmp)
        ws_port, http_port, lambda_port = harness.free_port(), harness.free_port(), harness.free_port()
        (work / "serverless.yml").write_text(SERVERLESS_YML.format(stage=STAGE, ws_port=ws_port))
        (work / "handler.js").write_text(HANDLER)
        (work / "node_modules").symlink_to(modules, target_is_directory=True)
        log = work / "serverless-offline.log"
        server = harness.ProcessGroup("serverless-offline", harness.taskset(args.server_cpu, [
            "node", str(modules / "serverless" / "bin" / "serverless.js"), "offline", "start", "--host", "127.0.0.1",
            "--websocketPort", str(ws_port), "--httpPort", str(http_port), "--lambdaPort", str(lambda_port)]),
            log, cwd=work)
        try:
            wait_listening(server, ws_port, log, 120)
            results = asyncio.run(main_async(args, f"ws://127.0.0.1:{ws_port}", server.pid))
        except BaseException:
            print(f"serverless-offline log (tail):\n{log.read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            server.stop()
    results["versions"] = found
    print(report(results, args))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

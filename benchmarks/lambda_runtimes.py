#!/usr/bin/env python3
"""What a warm invocation costs apiway's Python runtime alone, with 1 to 64 environments taking turns on one core.

Worker mode runs one process per execution environment; with 64 concurrent requests, 64 of them take turns on the
server's core. This drives K copies of apiway's Python bootstrap (`apiway.functions.python_bootstrap`, the
benchmark's `hello.py` handler) directly over their frame channels, with no gateway: each round hands one event
(a REST API proxy event of the size the benchmark's `/lambda-worker` method sends) to every environment, then
reads every answer. Everything runs on one CPU. It reports the user and system CPU time of the K runtime
processes per invocation (from /proc), and the wall time per invocation: how much of worker mode's cost is the
runtime's own work and how much is K processes sharing one core. With `--bare`, each runtime is a few lines of
Python that read a frame and answer a constant: the floor of a Python process taking its turn.

    benchmarks/lambda_runtimes.py [--environments 1,4,16,64] [--invocations 25600] [--cpu 0] [--bare]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

from apiway.functions.frames import HEAD, INVOKE, READY, RESPONSE, frame

REPO = Path(__file__).resolve().parent.parent

FUNCTIONS = REPO / "benchmarks" / "templates" / "functions"
WARMUP_ROUNDS = 20
# --bare: READY, then RESPONSE `{}` to every frame, no handler, no JSON.
BARE = f"""if True:
    import socket, struct, sys
    head = struct.Struct({HEAD.format!r})
    channel = socket.socket(fileno=int(sys.argv[1]))
    reader = channel.makefile("rb")
    channel.sendall(head.pack({READY}, 0, 0, 0))
    answer = head.pack({RESPONSE}, 0, 2, 0) + b"{{}}"
    while len(frame := reader.read(head.size)) == head.size:
        _, header_size, size, _ = head.unpack(frame)
        reader.read(header_size + size)
        channel.sendall(answer)
"""
TICK = os.sysconf("SC_CLK_TCK")


def proxy_event() -> bytes:
    """A REST API proxy event shaped like the gateway's for `GET /lambda-worker` from wrk (about 1.6 kB)."""
    headers = {"Host": "127.0.0.1:8080", "User-Agent": "wrk", "X-Forwarded-For": "127.0.0.1",
               "X-Forwarded-Port": "8080", "X-Forwarded-Proto": "http",
               "X-Amzn-Trace-Id": "Root=1-6931f2a0-0123456789abcdef01234567"}
    event = {
        "resource": "/lambda-worker", "path": "/lambda-worker", "httpMethod": "GET", "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": {"upstream": "127.0.0.1:9"},
        "requestContext": {
            "resourceId": "abc123", "resourcePath": "/lambda-worker", "httpMethod": "GET",
            "extendedRequestId": "Xy1AbCdEfGhIjK=", "requestTime": "07/Dec/2026:16:00:00 +0000",
            "path": "/bench/lambda-worker", "accountId": "123456789012", "protocol": "HTTP/1.1", "stage": "bench",
            "domainPrefix": "127", "requestTimeEpoch": 1796659200000,
            "requestId": "c1c44b21-036e-465d-874a-0437e4c89999", "domainName": "127.0.0.1", "apiId": "benchapi01",
            "identity": {"cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None,
                         "caller": None, "sourceIp": "127.0.0.1", "principalOrgId": None, "accessKey": None,
                         "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None,
                         "userArn": None, "userAgent": "wrk", "user": None},
        },
        "body": None, "isBase64Encoded": False,
    }
    return json.dumps(event).encode()


class Runtime:
    """One environment: the bootstrap process and the gateway's end of its channel."""

    def __init__(self, env: dict[str, str], bare: bool) -> None:
        ours, theirs = socket.socketpair()
        runtime = ["-c", BARE] if bare else ["-m", "apiway.functions.python_bootstrap"]
        self.proc = subprocess.Popen(
            [sys.executable, *runtime, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), env=env, cwd=FUNCTIONS.parent, stdout=subprocess.DEVNULL)
        theirs.close()
        self.sock = ours
        self.reader: BinaryIO = ours.makefile("rb")

    def read(self) -> int:
        head = self.reader.read(HEAD.size)
        if len(head) != HEAD.size:
            raise SystemExit(f"runtime {self.proc.pid} closed its channel")
        kind, header_size, size, _ = HEAD.unpack(head)
        self.reader.read(header_size + size)
        return kind

    def cpu_ticks(self) -> tuple[int, int]:
        with open(f"/proc/{self.proc.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return int(fields[11]), int(fields[12])

    def close(self) -> None:
        self.reader.close()
        self.sock.close()
        self.proc.wait(10)


def measure(count: int, invocations: int, message: bytes, bare: bool) -> tuple[float, float, float]:
    env = dict(os.environ, _HANDLER="functions/hello.py:handler", LAMBDA_TASK_ROOT=str(FUNCTIONS.parent),
               PYTHONPATH=str(REPO / "src"), AWS_LAMBDA_FUNCTION_NAME="HelloWorkerFn",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_LAMBDA_FUNCTION_VERSION="$LATEST")
    runtimes = [Runtime(env, bare) for _ in range(count)]
    try:
        for runtime in runtimes:
            if runtime.read() != READY:
                raise SystemExit("a runtime did not become ready")

        def rounds(n: int) -> None:
            for _ in range(n):
                for runtime in runtimes:
                    runtime.sock.sendall(message)
                for runtime in runtimes:
                    if runtime.read() != RESPONSE:
                        raise SystemExit("a runtime failed an invocation")

        rounds(WARMUP_ROUNDS)
        n = max(1, invocations // count)
        before = [runtime.cpu_ticks() for runtime in runtimes]
        started = time.perf_counter()
        rounds(n)
        wall = time.perf_counter() - started
        after = [runtime.cpu_ticks() for runtime in runtimes]
    finally:
        for runtime in runtimes:
            runtime.close()
    total = n * count
    user = sum(a[0] - b[0] for a, b in zip(after, before, strict=True)) / TICK / total * 1e6
    system = sum(a[1] - b[1] for a, b in zip(after, before, strict=True)) / TICK / total * 1e6
    return user, system, wall / total * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--environments", default="1,4,16,64", help="comma-separated counts K (default 1,4,16,64)")
    p.add_argument("--invocations", type=int, default=25600,
                   help="measured invocations per K (default 25600; CPU time is counted in clock ticks)")
    p.add_argument("--cpu", type=int, default=0, help="the one CPU everything runs on (default 0)")
    p.add_argument("--bare", action="store_true", help="runtimes that answer a constant (no handler, no JSON)")
    args = p.parse_args()
    os.sched_setaffinity(0, {args.cpu})  # the runtimes inherit it
    header = "\0".join(("c1c44b21-036e-465d-874a-0437e4c89999", str(int(time.time() * 1000) + 3_600_000),
                        "arn:aws:lambda:us-east-1:123456789012:function:HelloWorkerFn",
                        "Root=1-6931f2a0-0123456789abcdef01234567;Sampled=0", "", "")).encode()
    message = frame(INVOKE, header, proxy_event())
    kind = "bare runtimes (a constant answer)" if args.bare else "apiway's Python runtime, hello.py"
    print(f"{args.invocations} warm invocations per row, {kind}, everything on CPU {args.cpu}; CPU of the runtimes")
    print("| environments | user µs/invocation | system µs/invocation | CPU µs/invocation | wall µs/invocation |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for count in (int(k) for k in args.environments.split(",")):
        user, system, wall = measure(count, args.invocations, message, args.bare)
        print(f"| {count} | {user:.1f} | {system:.1f} | {user + system:.1f} | {wall:.1f} |", flush=True)


if __name__ == "__main__":
    main()

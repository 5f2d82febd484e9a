#!/usr/bin/env python3
"""User-space instructions per request of an HTTP server, counted by valgrind's callgrind.

The server runs under `valgrind --tool=callgrind`.  For each path in turn, one keep-alive connection sends
`--warmup` requests, the counters are zeroed (`callgrind_control -z`), the same connection sends `-n` requests one
at a time, and a dump (`callgrind_control -d`) holds the instructions the server executed in between (its
`summary:` line), divided by `-n`.  Only the server process is counted (not the client, not the kernel, not
children), and the count hardly moves with the machine's load: on a loaded 2-core machine repeated runs of
apiway agree within about 1 % (probably timers, firing more often per request when the server runs slower), where
CPU time per request spreads by 10 % or more.

Under callgrind a server runs 50-100 times slower: about a minute per 3,000 requests of apiway.

    benchmarks/instructions.py --port 18200 -n 2000 --warmup 500 --path /a --path /b -- SERVER [ARGS...]

`benchmarks/run.py` imports this module to count its scenarios (its servers, its project).
Only the Python standard library is used.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"
MISSING = "valgrind not found, instructions per request not counted: install it with `apt-get install valgrind`"
# Python under callgrind imports slowly: a server's start takes tens of seconds.
READY_TIMEOUT = 300.0
REQUEST_TIMEOUT = 60.0
DUMP_TIMEOUT = 60.0
_SUMMARY = re.compile(r"^summary:\s+(\d+)", re.M)


class CountFailed(Exception):
    """A path could not be counted (a failed request, no dump)."""


def available() -> bool:
    return shutil.which("valgrind") is not None and shutil.which("callgrind_control") is not None


def callgrind_argv(out_dir: Path) -> list[str]:
    """The prefix that runs a server under callgrind; its dumps go to `out_dir` as cg.<pid>.<n>."""
    return ["valgrind", "--tool=callgrind", "--dump-instr=no", f"--callgrind-out-file={out_dir}/cg.%p"]


def parse_summary(dump: str) -> int:
    """The instructions (Ir, callgrind's first and default event) a dump holds."""
    m = _SUMMARY.search(dump)
    if m is None:
        raise CountFailed("no summary: line in the callgrind dump")
    return int(m.group(1))


def _control(pid: int, flag: str) -> None:
    proc = subprocess.run(["callgrind_control", flag, str(pid)], capture_output=True, text=True, timeout=DUMP_TIMEOUT)
    if proc.returncode != 0:
        raise CountFailed(f"callgrind_control {flag} {pid}: {(proc.stdout + proc.stderr).strip()[-200:]}")


def _dump(pid: int, out_dir: Path) -> int:
    """Instructions since the last zeroing, from a new dump."""
    before = set(out_dir.glob(f"cg.{pid}.*"))
    _control(pid, "-d")
    deadline = time.monotonic() + DUMP_TIMEOUT
    while time.monotonic() < deadline:
        for path in set(out_dir.glob(f"cg.{pid}.*")) - before:
            with contextlib.suppress(CountFailed):  # still being written
                return parse_summary(path.read_text(errors="replace"))
        time.sleep(0.1)
    raise CountFailed(f"no callgrind dump of pid {pid} in {out_dir}")


def _send(conn: http.client.HTTPConnection, path: str, count: int, headers: dict[str, str]) -> None:
    for _ in range(count):
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        if not 200 <= resp.status < 300:
            raise CountFailed(f"GET {path} -> {resp.status} {body[:120]!r}")


def count_path(pid: int, port: int, path: str, requests: int, warmup: int, out_dir: Path,
               headers: dict[str, str] | None = None) -> float:
    """Instructions per request of the callgrind-run server `pid` for GET `path`."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=REQUEST_TIMEOUT)
    try:
        # The warm-up opens the connection: neither the accept nor the first-call costs are counted.
        _send(conn, path, max(warmup, 1), headers or {})
        _control(pid, "-z")
        _send(conn, path, requests, headers or {})
        return _dump(pid, out_dir) / requests
    except (OSError, http.client.HTTPException) as exc:
        raise CountFailed(f"GET {path}: {type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()


def render_table(counts: dict[str, float], reference: str | None = None) -> list[str]:
    """A Markdown table of instructions per request, with the ratio to `reference`'s row when it was counted."""
    ref = counts.get(reference) if reference else None
    lines = ["| scenario | instructions/request | vs " + (reference or "—") + " |", "| --- | ---: | ---: |"]
    for name, value in counts.items():
        ratio = f"{value / ref:.1f}x" if ref else "—"
        cell = name.replace("|", "\\|")
        lines.append(f"| {cell} | {value:,.0f} | {ratio} |")
    return lines


# --------------------------------------------------------------------------
# CLI: any server on a local port


def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=1.0):
            return
        time.sleep(0.5)
    raise SystemExit(f"nothing accepts on port {port} after {READY_TIMEOUT:g} s")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Instructions per request of an HTTP server run under valgrind's callgrind, one path after "
        "another on one server: SERVER ARGS... after `--`.",
    )
    p.add_argument("--port", type=int, required=True, help="port the server listens on (127.0.0.1)")
    p.add_argument("--path", action="append", required=True, help="GET path to count; repeat for more")
    p.add_argument("-n", "--requests", type=int, default=2000, help="counted requests per path (default 2000)")
    p.add_argument("--warmup", type=int, default=500, help="uncounted requests before, per path (default 500)")
    p.add_argument("-H", "--header", action="append", default=[], metavar="NAME:VALUE", help="sent every request")
    p.add_argument("--out-dir", type=Path, help="where callgrind writes its dumps (default: a temporary directory)")
    p.add_argument("server", nargs="+", help="the server's command line")
    args = p.parse_args(argv)
    if args.requests < 1 or args.warmup < 0:
        p.error("-n must be positive and --warmup not negative")
    if not available():
        raise SystemExit(MISSING)
    headers = {k.strip(): v.strip() for k, v in (h.split(":", 1) for h in args.header)}
    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="callgrind-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([*callgrind_argv(out_dir.absolute()), *args.server], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_ready(proc, args.port)
        counts = {}
        for path in args.path:
            counts[path] = count_path(proc.pid, args.port, path, args.requests, args.warmup, out_dir, headers)
            print(f"{path}: {counts[path]:,.0f} instructions/request", file=sys.stderr, flush=True)
    except CountFailed as exc:
        raise SystemExit(str(exc)) from exc
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
                break
        if args.out_dir is None:
            shutil.rmtree(out_dir, ignore_errors=True)
    print(f"{args.requests} requests per path after {args.warmup} warm-up, one at a time on one connection:")
    print("\n".join(render_table(counts, args.path[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())

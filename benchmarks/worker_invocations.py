#!/usr/bin/env python3
"""Instructions the gateway spends on one warm worker-mode invocation, counted in process by callgrind.

`WorkerRunner.invoke` (functions/workers.py) is called in a loop on uvloop, one invocation at a time, for the
benchmark's `hello.py` handler in `mode: worker` with an event of the size the benchmark's `/lambda-worker` method
sends (`lambda_runtimes.proxy_event`); the function's log lines go to /dev/null. The loop runs under
`valgrind --tool=callgrind` twice, with N and with M invocations after the same warm-up, and the difference of the
two totals divided by N - M is what one invocation costs the gateway's process: the frame out and in, the
timeout's timer, the log pipe, the START/END/REPORT lines, the future. The runtime runs outside valgrind (callgrind
does not follow children), so its own work is not counted; `lambda_runtimes.py` measures that.

    benchmarks/worker_invocations.py [-n 1500] [-m 500] [--apiway-root PATH]

`--apiway-root` counts another checkout (its `src` on the path) with this script, for a before-and-after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import instructions  # noqa: E402  (callgrind's command line and its dumps)
from lambda_runtimes import proxy_event  # noqa: E402

REPO = HERE.parent
FUNCTIONS = REPO / "benchmarks" / "templates" / "functions"
WARMUP = 300


async def _invoke(count: int) -> None:
    import orjson

    from apiway.functions.base import FunctionSpec
    from apiway.functions.workers import WorkerRunner

    event = orjson.loads(proxy_event())
    with open(os.devnull, "w") as sink:
        runner = WorkerRunner(log_stream=sink)
        runner.load(FunctionSpec("HelloWorkerFn", "functions/hello.py:handler", FUNCTIONS.parent, memory=128,
                                 timeout=3))
        for i in range(WARMUP + count):
            result = await runner.invoke("HelloWorkerFn", event, f"11111111-2222-4333-8444-{i:012d}")
            if result.function_error is not None:
                raise SystemExit(f"the invocation failed: {result.payload!r}")
        await runner.close()


def _count(root: Path, invocations: int, out_dir: Path) -> int:
    out_dir = out_dir / str(invocations)
    out_dir.mkdir()
    env = dict(os.environ, PYTHONPATH=str(root / "src"))  # this checkout's apiway, or --apiway-root's
    subprocess.run([*instructions.callgrind_argv(out_dir), sys.executable, __file__, "--inner", str(invocations)],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (dump,) = out_dir.glob("cg.*")
    return instructions.parse_summary(dump.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=1500, help="invocations of the longer run (default 1500)")
    p.add_argument("-m", type=int, default=500, help="invocations of the shorter run (default 500)")
    p.add_argument("--apiway-root", type=Path, default=REPO, help="the checkout whose src is counted")
    p.add_argument("--inner", type=int, help=argparse.SUPPRESS)  # the counted process
    args = p.parse_args()
    if args.inner is not None:
        import uvloop

        uvloop.run(_invoke(args.inner))
        return
    if args.n <= args.m:
        raise SystemExit("-n must be larger than -m")
    with tempfile.TemporaryDirectory() as tmp:
        longer, shorter = _count(args.apiway_root, args.n, Path(tmp)), _count(args.apiway_root, args.m, Path(tmp))
    print(f"{(longer - shorter) / (args.n - args.m):,.0f} instructions per warm invocation "
          f"({args.apiway_root}, {args.n} less {args.m} invocations)")


if __name__ == "__main__":
    main()

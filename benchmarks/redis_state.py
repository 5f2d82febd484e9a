"""What the shared state in Redis costs: the `apiway-api-key` scenario of benchmarks/run.py (a MOCK method
with an API key, its usage plan's throttle and quota, and the account bucket) served with the state in
memory, in Redis (accurate mode) and in Redis (batched mode), in interleaved rounds; the server CPU per
request is run.py's (the apiway process group, pinned), Redis's own CPU is read from /proc around each run
(warm-up included, so an upper bound) and reported beside it.

    python3 benchmarks/redis_state.py --rounds 3 --duration 5 --redis redis://127.0.0.1:6379/13
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = "apiway-api-key"


def redis_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_pid(url: str) -> int | None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


def run(args: argparse.Namespace, extra: str) -> tuple[float, float, int]:
    """(apiway CPU µs/request, req/s, requests) of one measured run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        command = [sys.executable, str(HERE / "run.py"), "--only", SCENARIO, "--rounds", "1",
                   "--duration", str(args.duration), "--warmup", "1", "--connections", str(args.connections),
                   "--no-install", "--json", str(out)]
        if extra:
            command += ["--apiway-args", extra]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        found = json.loads(out.read_text())[0]["rounds"][0]
    return found["cpu_us_per_req"], found["rps"], found["requests"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="a database the runs may empty")
    args = parser.parse_args()
    pid = redis_pid(args.redis)
    variants = {"memory": "", "redis accurate": f"--redis {args.redis}",
                "redis batched": f"--redis {args.redis} --redis-mode batched"}
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    for round_ in range(args.rounds):
        for name, extra in variants.items():
            flush(args.redis)
            before = redis_cpu_seconds(pid) if pid else 0.0
            cpu, rps, requests = run(args, extra)
            used = (redis_cpu_seconds(pid) - before) if pid else 0.0
            figures[name].append((cpu, rps, used * 1e6 / requests if requests else 0.0))
            print(f"round {round_ + 1} {name}: {cpu:.1f} µs/req, {rps:,.0f} req/s, Redis {figures[name][-1][2]:.1f} "
                  f"µs/req", flush=True)
    base = statistics.median(f[0] for f in figures["memory"])
    print(f"\n| state | apiway CPU µs/req (median of {args.rounds}) | vs memory | req/s | Redis CPU µs/req |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, rows in figures.items():
        cpu = statistics.median(r[0] for r in rows)
        print(f"| {name} | {cpu:.1f} | {cpu / base:.2f}x | {statistics.median(r[1] for r in rows):,.0f} | "
              f"{statistics.median(r[2] for r in rows):.1f} |")
    flush(args.redis)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CPU per script call: redis-py's asyncio client against the pipelined connection of state/redis_pipe.py,
64 concurrent callers, 20,000 calls each way (a Redis database the run may empty: 13).

    .venv/bin/python benchmarks/redis_pipe.py
"""

import asyncio
import time

import redis.asyncio as aredis
import uvloop

from apiway.state.redis_state import RedisSettings, RedisState

N, CONCURRENCY = 20_000, 64

async def measure(label, call):
    async def worker(n):
        for _ in range(n):
            await call()
    await asyncio.gather(*(worker(10) for _ in range(CONCURRENCY)))  # warm-up
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(N // CONCURRENCY) for _ in range(CONCURRENCY)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{label}: {cpu / N * 1e6:.1f} µs CPU per call ({N / wall:,.0f} calls/s)")

async def main():
    state = RedisState(RedisSettings("redis://127.0.0.1:6379/13"))
    state.configure_bucket(("stage", "a"), 1e9, 1_000_000_000)
    take = state.taker([("stage", "a"), ("account",)])
    await measure("pipelined connection (taker)", take)
    client = aredis.Redis.from_url("redis://127.0.0.1:6379/13")
    sha, keys = state._shas["take"], [state._bucket_name(("stage", "a")), state._bucket_name(("account",))]
    args = ["", 1e9, 1_000_000_000, 10000.0, 5000]
    await measure("redis-py asyncio evalsha", lambda: client.evalsha(sha, 2, *keys, *args))
    await client.aclose()
    await state.close()

if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main())

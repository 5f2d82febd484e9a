"""The Redis backend of `SharedState`, for several nodes (or worker processes) sharing one set of limits
and caches: `--redis redis://HOST:PORT/DB` (Redis 6+).

Key layout (Redis Cluster-safe: what one script touches shares a hash tag): every token bucket and quota
counter under `{apiway:limits}` — a request's buckets and its quota are taken together, so they must live
in one slot — and each cache namespace under a tag of its own, `{apiway:c:NAMESPACE}`, which spreads the
caches over a cluster's shards.

Two modes:
- accurate: every take is one script call (all the buckets a request touches at once), answered from
  Redis: exact across nodes. Per-request calls go through the pipelined connection (state/redis_pipe.py)
  and return awaitables (`remote` is true), which the checks await.
- batched: buckets and quota counters are kept and taken in this process as the in-memory backend does
  (plain calls, nothing awaited) but never refilled here: every `flush_ms` a node sends what it took and
  gets back what is left across all nodes (the refill happens in Redis). Nodes may together pass a limit by
  what they admit between two synchronisations; the debt is then paid before anything more is admitted.

Caches are always read from Redis (a hit must be a hit on every node); a put is sent without waiting.
When Redis cannot be reached, `failure` decides: open admits (a miss for caches) with a log line when it
goes and when it comes back; closed answers 503. The connection is retried and the mode recovers by itself.

WebSocket connections stay in the process (their registry in Redis is `state/redis_connections.py`'s)."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import redis

from apiway.core.clock import Clock
from apiway.core.errors import GatewayError
from apiway.core.handoff import LoopHandoff
from apiway.observe.log import log
from apiway.state import redis_scripts
from apiway.state.base import ACCOUNT, BucketKey, CacheKey
from apiway.state.buckets import ACCOUNT_BURST, ACCOUNT_RATE, TokenBucket, taker
from apiway.state.memory import _ENTRY_OVERHEAD, MemoryState, _bytes_of
from apiway.state.redis_pipe import Pipe, Unreachable, command

ACCURATE, BATCHED = "accurate", "batched"
FAIL_OPEN, FAIL_CLOSED = "open", "closed"
DEFAULT_FLUSH_MS = 50
QUOTA_EXPIRY_MS = 40 * 86_400_000  # a counter outlives its longest period (a month)
# Lua writes numbers with "%.14g": a larger count would come back from Redis as "4.6e+18". Counts are clamped to
# it on the way in; a plan without a quota (counted, never refused) still never runs out.
MAX_COUNT = 10**14 - 1
_SYNC_CHUNK = 500  # keys per synchronisation script


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """`--redis URL`, `--redis-mode`, `--redis-flush-ms`, `--redis-failure`."""

    url: str
    mode: str = ACCURATE  # accurate: every request asks Redis; batched: counted here, synchronised every flush_ms
    flush_ms: int = DEFAULT_FLUSH_MS
    failure: str = FAIL_OPEN  # Redis unreachable: open admits (with a log line), closed answers 503
    prefix: str = "apiway"  # of every key: several gateways may share one Redis under different prefixes


def describe_redis(settings: RedisSettings) -> str:
    """The settings for the start-up output, without the password."""
    parts = urlsplit(settings.url)
    where = f"{parts.scheme}://{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"
    how = (f"batched, synchronised every {settings.flush_ms} ms" if settings.mode == BATCHED
           else "accurate, every request counted in Redis")
    answer = "admits uncounted" if settings.failure == FAIL_OPEN else "answers 503"
    return f"Redis {where} ({how}; when Redis is unreachable the gateway {answer})"


def _unavailable() -> GatewayError:
    # a 5XX type every API kind renders; REST answers the status given here
    return GatewayError("API_CONFIGURATION_ERROR", "Service Unavailable", status=503,
                        log="the shared state (Redis) is unreachable and --redis-failure is closed")


class _Counter:
    """A quota counter of batched mode: what is left as of the last synchronisation (`base`) less what this
    node counted since."""

    __slots__ = ("base", "epoch", "key", "left", "limit", "period")

    def __init__(self, key: str, period: str, limit: int, left: int) -> None:
        self.key = key  # in Redis
        self.period = period
        self.limit = limit
        self.left = self.base = left
        self.epoch = 0  # bumped when the store sets the counter: a synchronisation in flight then does not apply

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


class RedisState:
    """Everything requests share, in Redis."""

    def __init__(self, settings: RedisSettings, clock: Clock | None = None, handoff: LoopHandoff | None = None,
                 ) -> None:
        self.settings = settings
        self.batched = settings.mode == BATCHED
        self.remote = not self.batched  # takers return awaitables (accurate mode)
        self.remote_reads = True  # cache readers always do
        self.open = settings.failure == FAIL_OPEN
        # Time is Redis's own (shared by every node) unless a clock is given (tests).
        self._now: Callable[[], float] | None = clock.monotonic if clock is not None else None
        self._local_clock = clock.monotonic if clock is not None else time.monotonic
        self.handoff = handoff or LoopHandoff()
        self._limits_tag = f"{{{settings.prefix}:limits}}"
        self._sync = redis.Redis.from_url(settings.url, socket_timeout=2, socket_connect_timeout=2)
        self._shas = {name: hashlib.sha1(source.encode()).hexdigest() for name, source in redis_scripts.SCRIPTS.items()}
        self._pipe = Pipe(self._open_connection, self._hello(), self._connection_changed)
        self._refusal: Any = True if self.open else _unavailable  # a take's answer while Redis is unreachable
        self._miss: Any = None if self.open else _unavailable  # a cache read's
        self._limits: dict[BucketKey, tuple[float, int]] = {}
        self._version = 0  # bumped when any bucket's limits change: resolved takers rebuild their command
        # batched mode: the buckets and counters taken here, and the synchronisation
        self._local: dict[BucketKey, TokenBucket] = {}
        self._base: dict[BucketKey, float] = {}
        self._counters: dict[tuple[str, str], _Counter] = {}
        self._syncing: asyncio.Task[None] | None = None
        self._down = False  # batched mode: the last synchronisation failed
        self._connections = MemoryState()  # WebSocket connections of this node
        self.configure_bucket(ACCOUNT, ACCOUNT_RATE, ACCOUNT_BURST)

    # -- connections to Redis ------------------------------------------------------------------------------

    def _hello(self) -> list[bytes]:
        parts = urlsplit(self.settings.url)
        hello = []
        if parts.password is not None:
            user = unquote(parts.username) if parts.username else None
            hello.append(command("AUTH", *([user] if user else []), unquote(parts.password)))
        db = (parts.path or "/0").strip("/") or "0"
        hello.append(command("SELECT", db))
        hello += [command("SCRIPT", "LOAD", source) for source in redis_scripts.SCRIPTS.values()]
        return hello

    def _open_connection(self) -> Any:
        parts = urlsplit(self.settings.url)
        loop = asyncio.get_running_loop()
        context = ssl.create_default_context() if parts.scheme == "rediss" else None
        return loop.create_connection(lambda: self._pipe, parts.hostname or "localhost", parts.port or 6379,
                                      ssl=context)

    def _connection_changed(self, up: bool, why: str) -> None:
        if up and why == "connected":
            log("INFO", "Redis connected: limits and caches shared", redis=describe_redis(self.settings))
        elif not up:
            answer = "admitted uncounted" if self.open else "answered 503"
            log("ERROR", f"Redis unreachable: requests are {answer} until it returns", why=why)
        else:
            log("ERROR", "Redis refused a command", why=why)

    def _eval(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """A script through the blocking client (deploy time, tools, tests): loaded on first use."""
        try:
            return self._sync.evalsha(self._shas[name], len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            self._sync.script_load(redis_scripts.SCRIPTS[name])
            return self._sync.evalsha(self._shas[name], len(keys), *keys, *args)

    def _clock_arg(self) -> str:
        return "" if self._now is None else repr(self._now())

    def _call(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> bytes:
        return command("EVALSHA", self._shas[name], str(len(keys)), *keys, *(str(a) for a in args))

    # -- token buckets -------------------------------------------------------------------------------------

    def _bucket_name(self, key: BucketKey) -> str:
        return f"{self._limits_tag}:b:{orjson.dumps(list(key)).decode()}"

    def set_account_limits(self, rate: float, burst: int) -> None:
        self.configure_bucket(ACCOUNT, rate, burst)

    def configure_bucket(self, key: BucketKey, rate: float, burst: int) -> None:
        if rate < 0 or burst < 0:
            raise ValueError(f"throttling limits cannot be negative (rate {rate}, burst {burst})")
        limits = (float(rate), burst)
        old = self._limits.get(key)
        if old == limits:
            return
        if self.batched and old is not None and key in self._local:  # what was taken under the old limits
            self._push(key, old)
        self._limits[key] = limits
        self._version += 1
        if not self.batched:
            return
        bucket = self._local.get(key)
        if bucket is None:  # learn what is left across the nodes before taking from it here
            tokens = self._seed(key, limits)
            bucket = TokenBucket(0.0, burst, self._local_clock())  # refilled by Redis only
            bucket.tokens = tokens
            self._base[key] = tokens
            self._local[key] = bucket
        else:
            bucket.burst = burst
            bucket.tokens = self._base[key] = min(bucket.tokens, burst)
            if self._down and self.open:
                bucket.rate = float(rate)

    def _push(self, key: BucketKey, limits: tuple[float, int]) -> None:
        bucket = self._local[key]
        try:
            reply = self._eval("sync_buckets", [self._bucket_name(key)],
                               [self._clock_arg(), *limits, self._base[key] - bucket.tokens])
        except redis.RedisError:
            return
        bucket.tokens = self._base[key] = float(reply[0])

    def _seed(self, key: BucketKey, limits: tuple[float, int]) -> float:
        try:
            reply = self._eval("sync_buckets", [self._bucket_name(key)], [self._clock_arg(), *limits, 0])
            return float(reply[0])
        except redis.RedisError as exc:
            log("ERROR", "Redis unreachable: a bucket starts with what this node alone allows", why=str(exc))
            return float(limits[1]) if self.open else 0.0

    def _take_args(self, keys: Sequence[BucketKey]) -> list[Any]:
        args: list[Any] = [self._clock_arg()]
        for key in keys:
            args += self._limits[key]
        return args

    def take(self, keys: Sequence[BucketKey]) -> bool:
        if self.batched:
            return self.taker(keys)()
        try:
            return bool(self._eval("take", [self._bucket_name(k) for k in keys], self._take_args(keys)))
        except redis.RedisError:
            if self.open:
                return True
            raise _unavailable() from None

    def taker(self, keys: Sequence[BucketKey]) -> Callable[[], Any]:
        keys = tuple(keys)
        if self.batched:
            return self._guarded(taker(tuple(self._local[k] for k in keys), self._local_clock))
        names = [self._bucket_name(k) for k in keys]
        pipe, refusal = self._pipe, self._refusal
        if self._now is not None:  # a test's clock: the time goes into every call

            def take_at() -> asyncio.Future[Any]:
                return pipe.call(self._call("take", names, self._take_args(keys)), refusal)

            return take_at
        built = [-1, b""]  # (limits version, command): limits change rarely, the command is built once for them

        def take() -> asyncio.Future[Any]:
            if built[0] != self._version:
                built[:] = [self._version, self._call("take", names, self._take_args(keys))]
            return pipe.call(built[1], refusal)  # type: ignore[arg-type]

        return take

    def _guarded(self, local: Callable[[], bool]) -> Callable[[], bool]:
        """A batched take: the local one, once the synchronisation runs, refused with 503 while Redis is down
        in closed mode."""

        def take() -> bool:
            if self._syncing is None:
                self._start()
            if self._down and not self.open:
                raise _unavailable()
            return local()

        return take

    # -- quota counters ------------------------------------------------------------------------------------

    def _quota_name(self, key: str) -> str:
        return f"{self._limits_tag}:q:{key}"

    def quota_set(self, key: str, period: str, left: int, anchor: int | None = None) -> None:
        name, left = self._quota_name(key), min(left, MAX_COUNT)
        counter = self._counters.get((key, period))
        try:
            if counter is not None:  # what this node counted goes first
                self._eval("sync_quotas", [name], [counter.limit, counter.base - counter.left, QUOTA_EXPIRY_MS,
                                                   period])
            self._eval("quota_set", [name], [left, "" if anchor is None else anchor, QUOTA_EXPIRY_MS, period])
            now_left = int(self._sync.hget(name, "l") or left)
        except redis.RedisError as exc:
            log("ERROR", "Redis unreachable: a quota kept as this node last knew it", why=str(exc))
            return
        if counter is not None:
            counter.left = counter.base = now_left
            counter.epoch += 1

    def quota_take(self, key: str, period: str, limit: int) -> bool:
        limit = min(limit, MAX_COUNT)
        if self.batched:
            return bool(self.quota_taker(key, period, limit)())
        try:
            return bool(self._eval("quota_take", [self._quota_name(key)], [limit, QUOTA_EXPIRY_MS, period]))
        except redis.RedisError:
            if self.open:
                return True
            raise _unavailable() from None

    def quota_taker(self, key: str, period: str, limit: int) -> Callable[[], Any]:
        name, limit = self._quota_name(key), min(limit, MAX_COUNT)
        if self.batched:
            counter = self._counters.get((key, period))
            if counter is None:
                for older in [k for k in self._counters if k[0] == key]:  # one period at a time, as in Redis
                    del self._counters[older]
                counter = _Counter(name, period, limit, self._seed_quota(name, limit, period))
                self._counters[(key, period)] = counter
            return self._guarded(counter.take)
        pipe, refusal = self._pipe, self._refusal
        payload = self._call("quota_take", [name], [limit, QUOTA_EXPIRY_MS, period])

        def take() -> asyncio.Future[Any]:
            return pipe.call(payload, refusal)

        return take

    def _seed_quota(self, name: str, limit: int, period: str) -> int:
        try:
            return int(self._eval("sync_quotas", [name], [limit, 0, QUOTA_EXPIRY_MS, period])[0])
        except redis.RedisError:
            return limit if self.open else 0

    def quota_left(self, key: str, period: str) -> int | None:
        counter = self._counters.get((key, period))
        if counter is not None:
            return counter.left
        try:
            left, found_period = self._sync.hmget(self._quota_name(key), ["l", "p"])
        except redis.RedisError:
            return None
        return None if left is None or found_period != period.encode() else int(left)

    # -- batched mode's synchronisation --------------------------------------------------------------------

    def _start(self) -> None:
        self._syncing = asyncio.get_running_loop().create_task(self._synchronise_every())

    async def _synchronise_every(self) -> None:
        interval = self.settings.flush_ms / 1000
        while True:
            await asyncio.sleep(interval)
            await self.synchronise()

    async def synchronise(self) -> None:
        """Send what was taken here since the last time, and take on what is left across every node."""
        try:
            for chunk in _chunks(list(self._local.items())):
                await self._sync_buckets(chunk)
            for counters in _chunks(list(self._counters.values())):
                await self._sync_quotas(counters)
        except (Unreachable, redis.RedisError) as exc:
            if not self._down:
                self._down = True
                if self.open:  # each node alone keeps the limits while Redis is away
                    for key, bucket in list(self._local.items()):
                        bucket.rate = self._limits[key][0]
                kept = "kept per node" if self.open else "answered 503"
                log("ERROR", f"Redis unreachable: batched limits are {kept}",
                    why=str(exc))
            return
        if self._down:
            self._down = False
            log("INFO", "Redis reachable: batched limits shared again")

    async def _sync_buckets(self, items: list[tuple[BucketKey, TokenBucket]]) -> None:
        recovering = self._down
        args: list[Any] = [self._clock_arg()]
        snapshots = []
        for key, bucket in items:
            if recovering:  # what the outage admitted is not counted (open) or nothing was admitted (closed)
                bucket.rate, self._base[key] = 0.0, bucket.tokens
            snapshot = bucket.tokens
            snapshots.append(snapshot)
            args += (*self._limits[key], self._base[key] - snapshot)
        reply = await self._pipe.call(self._call("sync_buckets", [self._bucket_name(k) for k, _ in items], args),
                                      Unreachable)
        if isinstance(reply, Exception):
            raise Unreachable(str(reply))
        for (key, bucket), snapshot, tokens in zip(items, snapshots, reply, strict=True):
            now_left = float(tokens)
            bucket.tokens = now_left - (snapshot - bucket.tokens)  # what was taken here meanwhile stays taken
            self._base[key] = now_left

    async def _sync_quotas(self, counters: list[_Counter]) -> None:
        snapshots = [(c.left, c.epoch) for c in counters]
        args: list[Any] = []
        for counter, (left, _) in zip(counters, snapshots, strict=True):
            args += (counter.limit, counter.base - left, QUOTA_EXPIRY_MS, counter.period)
        reply = await self._pipe.call(self._call("sync_quotas", [c.key for c in counters], args), Unreachable)
        if isinstance(reply, Exception):
            raise Unreachable(str(reply))
        for counter, (left, epoch), now_left in zip(counters, snapshots, reply, strict=True):
            if counter.epoch == epoch:
                counter.left = now_left - (left - counter.left)
                counter.base = now_left

    # -- caches --------------------------------------------------------------------------------------------

    def _space(self, namespace: str) -> str:
        return f"{{{self.settings.prefix}:c:{namespace}}}"

    def cache_configure(self, namespace: str, max_bytes: int | None = None, max_entries: int | None = None) -> None:
        try:
            self._eval("cache_configure", [self._space(namespace)],
                       ["" if max_bytes is None else max_bytes, "" if max_entries is None else max_entries])
        except redis.RedisError as exc:
            log("ERROR", "Redis unreachable: a cache's bounds not set", namespace=namespace, why=str(exc))

    def cache_get(self, namespace: str, key: CacheKey) -> bytes | None:
        try:
            found = self._eval("cache_get", [self._space(namespace)], [orjson.dumps(key), self._clock_arg()])
        except redis.RedisError:
            if self.open:
                return None
            raise _unavailable() from None
        return None if found is None else bytes(found)

    def cache_reader(self, namespace: str) -> Callable[[CacheKey], Any]:
        """Reads return awaitables of the value (or None)."""
        space = self._space(namespace).encode()
        head = b"*6\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(p), p)
                                    for p in (b"EVALSHA", self._shas["cache_get"].encode(), b"1", space))
        pipe, miss, now = self._pipe, self._miss, self._now
        dumps = orjson.dumps

        def read(key: CacheKey) -> asyncio.Future[Any]:
            member = dumps(key)
            when = b"" if now is None else repr(now()).encode()
            return pipe.call(b"%s$%d\r\n%s\r\n$%d\r\n%s\r\n" % (head, len(member), member, len(when), when), miss)

        return read

    def cache_put(self, namespace: str, key: CacheKey, value: bytes, ttl: float) -> None:
        args = [orjson.dumps(key), value, repr(float(ttl)), self._clock_arg(), _ENTRY_OVERHEAD + len(value)
                + _bytes_of(key)]
        if _on_loop():  # a request's put: sent, not waited for; never a blocking call on the loop
            # While Redis is down the entry is not kept (a later miss); the outage itself is logged once.
            self._pipe.send(command("EVALSHA", self._shas["cache_put"], "1", self._space(namespace),
                                    *(a if isinstance(a, bytes) else str(a) for a in args)))
            return
        try:
            self._eval("cache_put", [self._space(namespace)], args)
        except redis.RedisError as exc:
            log("ERROR", "Redis unreachable: a cache entry not kept", namespace=namespace, why=str(exc))

    def cache_usage(self, namespace: str) -> tuple[int, int]:
        try:
            entries, used = self._eval("cache_usage", [self._space(namespace)], [""])
        except redis.RedisError:
            return 0, 0
        return int(entries), int(used)

    def cache_flush(self, namespace: str) -> None:
        try:
            self._eval("cache_flush", [self._space(namespace)], [""])
        except redis.RedisError as exc:
            log("ERROR", "Redis unreachable: a cache not flushed", namespace=namespace, why=str(exc))

    # -- WebSocket connections (this node's) -----------------------------------------------------------------

    def connection_put(self, connection_id: str, stage: str, record: bytes) -> None:
        self._connections.connection_put(connection_id, stage, record)

    def connection_get(self, connection_id: str) -> bytes | None:
        return self._connections.connection_get(connection_id)

    def connection_delete(self, connection_id: str) -> bool:
        return self._connections.connection_delete(connection_id)

    def connections(self, stage: str) -> list[str]:
        return self._connections.connections(stage)

    # -- life ---------------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Batched counts go to Redis; the connections close."""
        if self._syncing is not None:
            self._syncing.cancel()
            self._syncing = None
            await self.synchronise()
        self._pipe.close()
        self._sync.close()


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i:i + _SYNC_CHUNK] for i in range(0, len(items), _SYNC_CHUNK)]

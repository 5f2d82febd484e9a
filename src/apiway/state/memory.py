"""The in-process backend of `SharedState`: token buckets, quota counters, byte caches and WebSocket
connections in dictionaries. Exact without locks because the event loop never interleaves requests
inside one of these calls, and a stage compiled in another thread (the control plane's) changes a bucket
or a cache that requests use only through the handoff to the loop's thread; adding a new one is a single
dictionary insert. Several nodes need the Redis backend instead."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from apiway.core.clock import SYSTEM_CLOCK, Clock
from apiway.core.handoff import LoopHandoff
from apiway.state.base import ACCOUNT, BucketKey, CacheKey
from apiway.state.buckets import ACCOUNT_BURST, ACCOUNT_RATE, TokenBucket, take_all, taker

_ENTRY_OVERHEAD = 200  # bytes of Python objects around each cached value, roughly


class _Namespace:
    """One cache namespace: entries in use order (least recent first), with what they weigh."""

    __slots__ = ("entries", "max_bytes", "max_entries", "used")

    def __init__(self, max_bytes: int | None, max_entries: int | None) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.used = 0
        self.entries: OrderedDict[CacheKey, tuple[bytes, float, int]] = OrderedDict()  # value, expires, size


class _Counter:
    __slots__ = ("left", "period")

    def __init__(self, period: str, left: int) -> None:
        self.period = period
        self.left = left

    def take(self) -> bool:
        """Count one request; False, counting nothing, when none is left."""
        if self.left <= 0:
            return False
        self.left -= 1
        return True


class MemoryState:
    """Everything requests share, in this process."""

    remote = remote_reads = False  # takers and readers answer at once (see SharedState.remote)

    def __init__(self, clock: Clock = SYSTEM_CLOCK, handoff: LoopHandoff | None = None) -> None:
        self.clock = clock.monotonic  # seconds; stored bound once, read per request
        self.handoff = handoff or LoopHandoff()
        self._buckets: dict[BucketKey, TokenBucket] = {ACCOUNT: TokenBucket(ACCOUNT_RATE, ACCOUNT_BURST, self.clock())}
        self._quotas: dict[str, _Counter] = {}
        self._caches: dict[str, _Namespace] = {}
        self._connections: dict[str, tuple[str, bytes]] = {}  # id → (stage, record)
        self._by_stage: dict[str, dict[str, None]] = {}  # stage → ids in registration order

    # -- token buckets ---------------------------------------------------------------------------------

    @property
    def account(self) -> TokenBucket:
        return self._buckets[ACCOUNT]

    def set_account_limits(self, rate: float, burst: int) -> None:
        """The account-level limits (AWS: 10,000 requests/s, burst 5,000 unless raised)."""
        self.configure_bucket(ACCOUNT, rate, burst)

    def configure_bucket(self, key: BucketKey, rate: float, burst: int) -> None:
        self.bucket(key, rate, burst)

    def bucket(self, key: BucketKey, rate: float, burst: int) -> TokenBucket:
        """The bucket object of `key` (this backend only), configured as `configure_bucket` says."""
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = TokenBucket(rate, burst, self.clock())
        elif found.rate != rate or found.burst != burst:
            self.handoff.post(self._reconfigure, found, rate, burst)
        return found

    def _reconfigure(self, bucket: TokenBucket, rate: float, burst: int) -> None:
        bucket.reconfigure(rate, burst, self.clock())

    def take(self, keys: Sequence[BucketKey]) -> bool:
        return take_all(tuple(self._buckets[k] for k in keys), self.clock())

    def taker(self, keys: Sequence[BucketKey]) -> Callable[[], bool]:
        # The bucket objects are resolved now; reconfiguring a bucket later changes it in place.
        return taker(tuple(self._buckets[k] for k in keys), self.clock)

    # -- quota counters --------------------------------------------------------------------------------

    # One counter object per key and period; the dictionary holds the latest period's. A taker holds its
    # period's counter, so setting what is left in that period reaches it, and a new period does not.

    def _counter(self, key: str, period: str, left: int) -> _Counter:
        counter = self._quotas.get(key)
        if counter is None or counter.period != period:
            counter = self._quotas[key] = _Counter(period, left)
        return counter

    def quota_set(self, key: str, period: str, left: int, anchor: int | None = None) -> None:
        self._counter(key, period, left).left = left  # one node: the store is never behind its own counts

    def quota_take(self, key: str, period: str, limit: int) -> bool:
        return self._counter(key, period, limit).take()

    def quota_taker(self, key: str, period: str, limit: int) -> Callable[[], bool]:
        return self._counter(key, period, limit).take

    def quota_left(self, key: str, period: str) -> int | None:
        counter = self._quotas.get(key)
        return counter.left if counter is not None and counter.period == period else None

    # -- caches ----------------------------------------------------------------------------------------------

    def cache_configure(self, namespace: str, max_bytes: int | None = None, max_entries: int | None = None) -> None:
        space = self._caches.get(namespace)
        if space is None:
            self._caches[namespace] = _Namespace(max_bytes, max_entries)
        elif space.max_bytes != max_bytes or space.max_entries != max_entries:  # changed in place: readers hold it
            self.handoff.post(_reset, space, max_bytes, max_entries)

    def _space(self, namespace: str) -> _Namespace:
        space = self._caches.get(namespace)
        if space is None:
            space = self._caches[namespace] = _Namespace(None, None)
        return space

    def cache_get(self, namespace: str, key: CacheKey) -> bytes | None:
        try:  # a hit is the common case: no exception, no `None` checks
            space = self._caches[namespace]
            value, expires, size = space.entries[key]
        except KeyError:
            return None
        if expires <= self.clock():
            del space.entries[key]
            space.used -= size
            return None
        if space.max_bytes is not None:  # least recently used out first; a count bound keeps insertion order
            space.entries.move_to_end(key)
        return value

    def cache_reader(self, namespace: str) -> Callable[[CacheKey], bytes | None]:
        space, clock = self._space(namespace), self.clock
        entries = space.entries  # cleared in place, never replaced

        def read(key: CacheKey) -> bytes | None:
            try:
                value, expires, size = entries[key]
            except KeyError:
                return None
            if expires <= clock():
                del entries[key]
                space.used -= size
                return None
            if space.max_bytes is not None:
                entries.move_to_end(key)
            return value

        return read

    def cache_put(self, namespace: str, key: CacheKey, value: bytes, ttl: float) -> None:
        space = self._space(namespace)
        entries = space.entries
        old = entries.pop(key, None)  # a renewed entry becomes the youngest
        if old is not None:
            space.used -= old[2]
        size = _ENTRY_OVERHEAD + len(value) + _bytes_of(key)
        if space.max_bytes is not None and size > space.max_bytes:
            return
        if space.max_entries is not None:
            while len(entries) >= space.max_entries and entries:
                space.used -= entries.popitem(last=False)[1][2]
            if space.max_entries <= 0:
                return
        entries[key] = (value, self.clock() + ttl, size)
        space.used += size
        if space.max_bytes is not None:
            while space.used > space.max_bytes:
                space.used -= entries.popitem(last=False)[1][2]

    def cache_flush(self, namespace: str) -> None:
        space = self._caches.get(namespace)
        if space is not None:
            space.entries.clear()
            space.used = 0

    def cache_usage(self, namespace: str) -> tuple[int, int]:
        space = self._caches.get(namespace)
        return (len(space.entries), space.used) if space is not None else (0, 0)

    # -- WebSocket connections -------------------------------------------------------------------------------

    def connection_put(self, connection_id: str, stage: str, record: bytes) -> None:
        old = self._connections.get(connection_id)
        if old is not None and old[0] != stage:
            self._by_stage[old[0]].pop(connection_id, None)
        self._connections[connection_id] = (stage, record)
        self._by_stage.setdefault(stage, {})[connection_id] = None

    def connection_get(self, connection_id: str) -> bytes | None:
        found = self._connections.get(connection_id)
        return found[1] if found is not None else None

    def connection_delete(self, connection_id: str) -> bool:
        found = self._connections.pop(connection_id, None)
        if found is None:
            return False
        ids = self._by_stage[found[0]]
        del ids[connection_id]
        if not ids:
            del self._by_stage[found[0]]
        return True

    def connections(self, stage: str) -> list[str]:
        return list(self._by_stage.get(stage, ()))

    async def close(self) -> None:
        """Nothing is kept elsewhere."""


def _reset(space: _Namespace, max_bytes: int | None, max_entries: int | None) -> None:
    space.entries.clear()
    space.used = 0
    space.max_bytes, space.max_entries = max_bytes, max_entries


def _bytes_of(key: CacheKey | None) -> int:
    if key is None:
        return 0
    if isinstance(key, str):
        return len(key)
    return sum(_bytes_of(part) for part in key)

"""The one interface for what requests share between them (design principle 5): token buckets taken
atomically, quota counters, TTL caches of bytes and the WebSocket connection registry. One backend lives
in the process (`state/memory.py`); a Redis one implements the same methods for several nodes.

Keys are plain strings or tuples of strings and cached values are bytes, so every operation maps onto
one Redis command or Lua script. Time comes from the backend's injected clock, never from the caller.
Per-request operations come as *takers* resolved once at deploy time (`taker(keys)`), so a request pays
for one call, not for key lookups."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

BucketKey = tuple[str, ...]  # e.g. ("stage", api_id, stage_name, "pets/GET"), ("plan", plan_id, key_id)
# A string, or a tuple of strings, None and such tuples (a response cache key's multi-value parameters): a
# remote backend encodes it unambiguously, e.g. as JSON.
CacheKey = str | tuple[Any, ...]
ACCOUNT: BucketKey = ("account",)  # the account-level bucket every request passes (spec §7.1)


class SharedState(Protocol):
    # True when takers return awaitables of their answer (a remote backend's accurate mode), and when cache
    # readers do: the checks resolved at deploy time then await them; otherwise they are plain calls and the
    # checks pay nothing more. (The signatures below are the plain calls'.)
    remote: bool
    remote_reads: bool

    # -- token buckets (spec §7.1-7.2) ------------------------------------------------------------------

    def configure_bucket(self, key: BucketKey, rate: float, burst: int) -> None:
        """The limits of bucket `key`: created full on first use, later changed in place when the limits
        change (the tokens earned so far kept, cut to the new burst), never refilled."""
        ...

    def take(self, keys: Sequence[BucketKey]) -> bool:
        """One token from every bucket of `keys` (configured ones) at once, or from none: False when any
        of them is empty, and then nothing is taken from the others."""
        ...

    def taker(self, keys: Sequence[BucketKey]) -> Callable[[], Any]:
        """`take(keys)` resolved once: the call a guard makes per request. It answers a bool, or where the state
        is `remote` an awaitable of the store's answer (truthy: taken)."""
        ...

    # -- quota counters (spec §7.4) -----------------------------------------------------------------------

    def quota_set(self, key: str, period: str, left: int, anchor: int | None = None) -> None:
        """What is left of `key`'s quota in the period starting `period` (an ISO day), as the store says.
        With `anchor` (when the store's figure was last set outright, store/usage.py `anchor`), a shared
        backend takes the figure only from a newer anchor and otherwise only to lower what is left: other
        nodes' counts not yet written make the store's figure lag behind."""
        ...

    def quota_take(self, key: str, period: str, limit: int) -> bool:
        """Count one request in `period`; a period not seen before starts with the whole `limit`. False,
        counting nothing, when none is left."""
        ...

    def quota_taker(self, key: str, period: str, limit: int) -> Callable[[], Any]:
        """`quota_take(key, period, limit)` resolved once per period: the call a request makes (answering as
        `taker`'s call does)."""
        ...

    def quota_left(self, key: str, period: str) -> int | None:
        """What is left in `period`, None when nothing was set or counted in it."""
        ...

    # -- caches of bytes with a TTL (response cache, authorizer results) ----------------------------------

    def cache_configure(self, namespace: str, max_bytes: int | None = None, max_entries: int | None = None) -> None:
        """Bound a namespace: by bytes (least recently used out first) or by entries (oldest out first).
        A namespace whose bounds change starts empty."""
        ...

    def cache_get(self, namespace: str, key: CacheKey) -> bytes | None:
        """The value, or None when there is none or its TTL has passed."""
        ...

    def cache_reader(self, namespace: str) -> Callable[[CacheKey], bytes | None]:
        """`cache_get(namespace, ·)` resolved once (at deploy time): the call a request makes. It stays valid
        across `cache_configure` and `cache_flush` of the namespace."""
        ...

    def cache_put(self, namespace: str, key: CacheKey, value: bytes, ttl: float) -> None:
        """Keep `value` for `ttl` seconds; one larger than the namespace's byte bound is not kept."""
        ...

    def cache_usage(self, namespace: str) -> tuple[int, int]:
        """(entries, bytes) the namespace holds, as its bounds count them; expired ones may be included."""
        ...

    def cache_flush(self, namespace: str) -> None:
        """Forget every entry of the namespace (its bounds stay)."""
        ...

    # -- WebSocket connections -----------------------------------------------------------------------------

    def connection_put(self, connection_id: str, stage: str, record: bytes) -> None:
        """Register (or update) a connection of `stage` (e.g. "apiId/stageName")."""
        ...

    def connection_get(self, connection_id: str) -> bytes | None: ...

    def connection_delete(self, connection_id: str) -> bool:
        """Forget a connection; False when it was not registered."""
        ...

    def connections(self, stage: str) -> list[str]:
        """The ids of `stage`'s connections, oldest first."""
        ...

    async def close(self) -> None:
        """At shutdown: what is counted here and not yet shared is sent; connections close."""
        ...

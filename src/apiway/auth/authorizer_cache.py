"""What authorizers remember between requests: their results, each kept for the authorizer's TTL
(`authorizerResultTtlInSeconds`), and the signing keys of Cognito user pools.

Results live in the shared state as bytes — a Lambda function's answer as it returned it, a verified
Cognito token as JSON — in one namespace per stage, keyed by deployment, authorizer and the caller's
identity-source values: a redeployment starts empty, as on AWS, and FlushStageAuthorizersCache empties
one stage. A namespace is bounded: past `max_entries` the oldest entries go first. Decoding a result
(compiling its policy) happens once per distinct value: a small memo maps the bytes to what they decode to.

In a remote state (Redis) the results are shared by every node: a result cached through one is a hit on
the others, and a flush through one empties the stage for all. Reads there must be awaited, so each guard
takes its shape at deploy time (`AuthorizerCache.remote`): in memory a hit stays a plain call, remotely the
guard returns an awaitable of the read and, on a miss, of the authorizer's call. Remote keys carry a digest
of the identity, not the token itself: no bearer token is written into Redis or seen by its MONITOR.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import orjson

from apiway.auth.jwks import UserPools
from apiway.core.clock import SYSTEM_CLOCK, Clock
from apiway.state.base import SharedState
from apiway.state.memory import MemoryState

Scope = tuple[str, str, str, str]  # (api id, stage, deployment id, authorizer id)
Identity = str | tuple[str, ...]  # a token, or the values of a REQUEST authorizer's identity sources
MAX_ENTRIES = 10_000
MEMO_ENTRIES = 1_024  # decoded results kept per authorizer kind; past it the memo starts over
DEFAULT_TTL = 300
T = TypeVar("T")


def result_ttl(authorizer: Mapping[str, Any]) -> int:
    """`authorizerResultTtlInSeconds`: 300 when unset, 0 turns caching off."""
    ttl = authorizer.get("authorizerResultTtlInSeconds")
    return DEFAULT_TTL if ttl is None else int(ttl)


def namespace(api_id: str, stage_name: str) -> str:
    return f"authorizers {api_id}/{stage_name}"


class CachedResults(Generic[T]):
    """One authorizer's view of the cache, made at deploy time: its namespace resolved, its keys starting
    with `head`, its results decoded by `decode` (bytes → result) at most once per distinct value. A guard's
    hit is `read(key)` then `memo.get(value)`, inline: no call more than the reader."""

    __slots__ = ("_put", "authorizer_id", "decode", "deployment_id", "head", "memo", "namespace", "read")

    def __init__(self, state: SharedState, scope: Scope, memo: dict[bytes, Any], decode: Callable[[bytes], T]) -> None:
        self.namespace = namespace(scope[0], scope[1])
        self.read = state.cache_reader(self.namespace)
        self._put = state.cache_put
        self.head: tuple[str, str] = (scope[2], scope[3])  # (deployment id, authorizer id): every key starts so
        self.deployment_id, self.authorizer_id = self.head
        self.memo = memo
        self.decode = decode

    def key(self, identity: Identity) -> tuple[str, ...]:
        """The cache key of a caller's identity-source values."""
        if isinstance(identity, str):
            return self.deployment_id, self.authorizer_id, identity
        return self.head + identity

    def get(self, key: tuple[str, ...]) -> T | None:
        """The result cached under `key`, or None when there is none or it expired."""
        value = self.read(key)
        return None if value is None else self.decoded(value)

    async def fetch(self, key: tuple[str, ...]) -> T | None:
        """`get` for the guards of a remote state, which await it (see SharedResults)."""
        return self.get(key)

    def decoded(self, value: bytes) -> T:
        """What `value` decodes to, from the memo when this process has decoded it before."""
        found: T | None = self.memo.get(value)
        if found is None:
            found = self.decode(value)
            self._remember(value, found)
        return found

    def put(self, key: tuple[str, ...], value: bytes, result: T, ttl: float) -> None:
        """Cache `value` (the serialised `result`) for `ttl` seconds."""
        self._put(self.namespace, key, value, ttl)
        self._remember(value, result)

    def _remember(self, value: bytes, result: T) -> None:
        if len(self.memo) >= MEMO_ENTRIES:
            self.memo.clear()
        self.memo[value] = result


class SharedResults(CachedResults[T]):
    """An authorizer's view of a remote cache (its guards' `Remote…` shape): `fetch` awaits the read, and
    keys are digested (`shared_key`). Its `read` returns awaitables: `get` is not for it."""

    __slots__ = ()

    async def fetch(self, key: tuple[str, ...]) -> T | None:
        """The result cached under `key` on any node, or None (also when the state is unreachable and its
        failure mode is open; closed raises its 503)."""
        value = await self.read(self.shared_key(key))  # type: ignore[misc]
        return None if value is None else self.decoded(value)

    def put(self, key: tuple[str, ...], value: bytes, result: T, ttl: float) -> None:
        super().put(self.shared_key(key), value, result, ttl)

    @staticmethod
    def shared_key(key: tuple[str, ...]) -> tuple[str, ...]:
        """(deployment id, authorizer id, digest of the identity values)."""
        return key[0], key[1], hashlib.sha256(orjson.dumps(key[2:])).hexdigest()


class AuthorizerCache:
    __slots__ = ("_memos", "clock", "max_entries", "remote", "state", "user_pools")

    def __init__(self, state: SharedState | None = None, max_entries: int = MAX_ENTRIES,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.state = MemoryState(clock) if state is None else state
        self.remote = self.state.remote_reads  # the guards' shape: awaited reads (SharedResults) or plain calls
        self.clock = clock  # the authorizers of this cache read it too (latency, token expiry)
        self.max_entries = max_entries
        self.user_pools = UserPools(clock)
        self._memos: dict[str, dict[bytes, Any]] = {}  # authorizer kind → bytes → decoded result

    def results(self, scope: Scope, kind: str, decode: Callable[[bytes], T]) -> CachedResults[T]:
        """The cache of one authorizer (at deploy time); `kind` names what `decode` makes of the bytes."""
        self.state.cache_configure(namespace(scope[0], scope[1]), max_entries=self.max_entries)
        kind_of = SharedResults if self.remote else CachedResults
        return kind_of(self.state, scope, self._memos.setdefault(kind, {}), decode)

    def flush(self, api_id: str, stage_name: str) -> None:
        """Forget every result of one stage (FlushStageAuthorizersCache)."""
        self.state.cache_flush(namespace(api_id, stage_name))

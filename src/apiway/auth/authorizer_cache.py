"""What authorizers remember between requests: their results, each kept for the authorizer's TTL
(`authorizerResultTtlInSeconds`), and the signing keys of Cognito user pools.

Results live in the shared state as bytes — a Lambda function's answer as it returned it, a verified
Cognito token as JSON — in one namespace per stage, keyed by deployment, authorizer and the caller's
identity-source values: a redeployment starts empty, as on AWS, and FlushStageAuthorizersCache empties
one stage. A namespace is bounded: past `max_entries` the oldest entries go first. Decoding a result
(compiling its policy) happens once per distinct value: a small memo maps the bytes to what they decode to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

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


class AuthorizerCache:
    __slots__ = ("_memos", "clock", "max_entries", "state", "user_pools")

    def __init__(self, state: SharedState | None = None, max_entries: int = MAX_ENTRIES,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        # Results stay in the process when the state's reads must be awaited: an authorizer's cache hit is
        # applied without waiting (the guards' contract), so a remote state's results are not shared yet.
        self.state = MemoryState(clock) if state is None or state.remote_reads else state
        self.clock = clock  # the authorizers of this cache read it too (latency, token expiry)
        self.max_entries = max_entries
        self.user_pools = UserPools(clock)
        self._memos: dict[str, dict[bytes, Any]] = {}  # authorizer kind → bytes → decoded result

    def results(self, scope: Scope, kind: str, decode: Callable[[bytes], T]) -> CachedResults[T]:
        """The cache of one authorizer (at deploy time); `kind` names what `decode` makes of the bytes."""
        self.state.cache_configure(namespace(scope[0], scope[1]), max_entries=self.max_entries)
        return CachedResults(self.state, scope, self._memos.setdefault(kind, {}), decode)

    def flush(self, api_id: str, stage_name: str) -> None:
        """Forget every result of one stage (FlushStageAuthorizersCache)."""
        self.state.cache_flush(namespace(api_id, stage_name))

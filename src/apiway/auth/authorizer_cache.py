"""What authorizers remember between requests: their results, each kept for the authorizer's TTL
(`authorizerResultTtlInSeconds`), and the signing keys of Cognito user pools.

Results are keyed by the authorizer's scope — API, stage, deployment, authorizer — and the caller's
identity-source values, so a redeployment starts empty, as on AWS, and FlushStageAuthorizersCache
empties one stage. The cache is bounded: past `max_entries` the oldest entries go first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from apiway.auth.jwks import UserPools
from apiway.core.clock import SYSTEM_CLOCK, Clock

Scope = tuple[str, str, str, str]  # (api id, stage, deployment id, authorizer id)
MAX_ENTRIES = 10_000
DEFAULT_TTL = 300


def result_ttl(authorizer: Mapping[str, Any]) -> int:
    """`authorizerResultTtlInSeconds`: 300 when unset, 0 turns caching off."""
    ttl = authorizer.get("authorizerResultTtlInSeconds")
    return DEFAULT_TTL if ttl is None else int(ttl)


class AuthorizerCache:
    __slots__ = ("_entries", "_now", "clock", "max_entries", "user_pools")

    def __init__(self, max_entries: int = MAX_ENTRIES, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock  # the authorizers of this cache read it too (latency, token expiry)
        self._now: Callable[[], float] = clock.monotonic
        self._entries: dict[tuple[Scope, Any], tuple[float, Any]] = {}  # insertion order = age
        self.max_entries = max_entries
        self.user_pools = UserPools(clock)

    def get(self, scope: Scope, identity: Any) -> Any:
        """The result cached for `identity`, or None when there is none or it expired."""
        key = (scope, identity)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._now():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, scope: Scope, identity: Any, result: Any, ttl: float) -> None:
        entries = self._entries
        key = (scope, identity)
        entries.pop(key, None)  # a renewed entry becomes the youngest
        while len(entries) >= self.max_entries:
            del entries[next(iter(entries))]
        entries[key] = (self._now() + ttl, result)

    def flush(self, api_id: str, stage_name: str) -> None:
        """Forget every result of one stage (FlushStageAuthorizersCache)."""
        self._entries = {k: v for k, v in self._entries.items() if k[0][:2] != (api_id, stage_name)}

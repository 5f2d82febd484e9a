"""Signing keys of JWT issuers (Cognito user pools), fetched once per issuer from its JWKS URL and
refetched at most every REFETCH_SECONDS when a token names an unknown key."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import orjson

from apiway.core.clock import Clock
from apiway.core.errors import AuthorizerConfigurationError

REFETCH_SECONDS = 30.0
FETCH_TIMEOUT_SECONDS = 5.0
_POOL_ARN = re.compile(r"^arn:aws[\w-]*:cognito-idp:([a-z0-9-]+):\d{12}:userpool/([\w-]+_[0-9a-zA-Z]+)$")


@dataclass(slots=True, frozen=True)
class UserPoolSettings:
    """Where a user pool's keys and tokens come from when it is not AWS's (the project file's `cognito:`)."""

    jwks_url: str | None = None
    issuer: str | None = None


class UserPool:
    __slots__ = ("_fetched_at", "_keys", "_lock", "_now", "issuer", "jwks_url")

    def __init__(self, issuer: str, jwks_url: str, clock: Clock) -> None:
        self._now = clock.monotonic
        self.issuer = issuer
        self.jwks_url = jwks_url
        self._keys: dict[str, Any] = {}  # kid → public key
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> Any:
        """The public key `kid`, or None; raises AuthorizerConfigurationError when the JWKS cannot be had."""
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:  # one fetch at a time; waiters see its result
            key = self._keys.get(kid)
            if key is None and self._now() - self._fetched_at >= REFETCH_SECONDS:
                self._keys = await asyncio.to_thread(self._fetch)
                self._fetched_at = self._now()
                key = self._keys.get(kid)
        return key

    def _fetch(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(self.jwks_url, timeout=FETCH_TIMEOUT_SECONDS) as resp:
                jwks = jwt.PyJWKSet.from_dict(orjson.loads(resp.read()))
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise AuthorizerConfigurationError(f"cannot read the JWKS of {self.issuer} at {self.jwks_url}: "
                                               f"{exc}") from None
        return {k.key_id: k.key for k in jwks.keys if k.key_id}


class UserPools:
    """Every user pool authorizers name, shared across deployments so keys are fetched once."""

    __slots__ = ("_pools", "clock", "settings")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.settings: Mapping[str, UserPoolSettings] = {}
        self._pools: dict[tuple[str, str], UserPool] = {}

    def pool(self, provider_arn: str) -> UserPool:
        """The pool of `arn:aws:cognito-idp:{region}:{account}:userpool/{poolId}`; ValueError if malformed."""
        m = _POOL_ARN.match(provider_arn)
        if m is None:
            raise ValueError(f"not a Cognito user pool ARN: {provider_arn!r}")
        region, pool_id = m.groups()
        settings = self.settings.get(pool_id) or UserPoolSettings()
        issuer = settings.issuer or f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
        jwks_url = settings.jwks_url or f"{issuer}/.well-known/jwks.json"
        pool = self._pools.get((issuer, jwks_url))
        if pool is None:
            pool = self._pools[(issuer, jwks_url)] = UserPool(issuer, jwks_url, self.clock)
        return pool

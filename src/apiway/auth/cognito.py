"""COGNITO_USER_POOLS authorizers: the JWT in the identity-source header is verified (RS256) against
the signing keys of one of the authorizer's user pools, then checked against the method: an ID token
without `authorizationScopes`, an access token carrying one of them with them. Any failure is 401.

A pool's keys come from its JWKS document, fetched once off the event loop and again only for an
unknown key id (at most every REFETCH_SECONDS). Verified tokens are cached for the authorizer's TTL
(never past their `exp`); the per-method checks run on every request. TestInvokeAuthorizer verifies a
token through `run_once`, which neither reads nor fills the cache.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from time import gmtime  # a conversion, not a clock read
from typing import Any

import jwt
import orjson

from apiway.auth.authorizer_cache import AuthorizerCache, Scope
from apiway.auth.trial import Trial
from apiway.core.errors import DeployError, GatewayError
from apiway.core.invocation import Invocation

_DATE_CLAIMS = frozenset(("exp", "iat", "nbf"))
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(slots=True, frozen=True)
class VerifiedToken:
    claims: dict[str, str]  # stringified, as `$context.authorizer.claims` shows them
    token_use: Any
    audience: tuple[str, ...]
    scopes: tuple[str, ...]

    def encode(self) -> bytes:
        """As the cache keeps it: JSON, so it can live outside the process."""
        return orjson.dumps([self.claims, self.token_use, self.audience, self.scopes])

    @classmethod
    def decode(cls, value: bytes) -> VerifiedToken:
        claims, token_use, audience, scopes = orjson.loads(value)
        return cls(claims, token_use, tuple(audience), tuple(scopes))


class CognitoAuthorizer:
    """The guard of one method."""

    __slots__ = ("_time", "audience_re", "cache", "header", "pools", "required_scopes", "ttl")

    def __init__(self, authorizer: Mapping[str, Any], method_scopes: list[str], cache: AuthorizerCache,
                 scope: Scope, ttl: int, where: str) -> None:
        source = str(authorizer.get("identitySource") or "")
        if not source.startswith("method.request.header.") or "," in source:
            raise DeployError(f"{where}: a Cognito authorizer's identitySource must be one "
                              f"method.request.header.X, got {source!r}")
        self.header = source.removeprefix("method.request.header.").lower()
        try:
            pools = [cache.user_pools.pool(arn) for arn in authorizer.get("providerARNs") or []]
        except ValueError as exc:
            raise DeployError(f"{where}: {exc}") from None
        if not pools:
            raise DeployError(f"{where}: a Cognito authorizer needs providerARNs")
        self.pools = {p.issuer: p for p in pools}
        expression = authorizer.get("identityValidationExpression")
        try:
            self.audience_re = re.compile(expression) if expression else None
        except re.error as exc:
            raise DeployError(f"{where}: identityValidationExpression is not a regular expression: {exc}") from None
        self.required_scopes = frozenset(method_scopes)
        self.ttl = ttl
        self.cache = cache.results(scope, "cognito", VerifiedToken.decode)
        self._time = cache.clock.time  # the injected clock: a cached result lives no longer than its token

    def __call__(self, inv: Invocation) -> Awaitable[None] | None:
        """A cached verification is applied at once; only a cache miss returns something to await."""
        token = self._token(inv)
        verified = None
        if self.ttl:
            cache = self.cache
            value = cache.read((cache.deployment_id, cache.authorizer_id, token))
            if value is not None:
                verified = cache.memo.get(value)
                if verified is None:
                    verified = cache.decoded(value)
        if verified is None:
            return self._miss(inv, token)
        self._apply(inv, verified)
        return None

    async def run_once(self, inv: Invocation, seen: Trial) -> None:
        """TestInvokeAuthorizer: verify the request's token without the cache, noting what was seen in `seen`."""
        seen.identity = inv.request.header(self.header)
        verified, _ = await self._verify(self._token(inv))
        self._apply(inv, verified)
        seen.claims = dict(verified.claims)

    def _token(self, inv: Invocation) -> str:
        token = inv.request.header(self.header)
        if not token:
            raise GatewayError("UNAUTHORIZED")
        return token[7:] if token[:7].lower() == "bearer " else token

    async def _miss(self, inv: Invocation, token: str) -> None:
        verified, exp = await self._verify(token)
        if self.ttl:
            self.cache.put(self.cache.key(token), verified.encode(), verified, min(self.ttl, exp - self._time()))
        self._apply(inv, verified)

    def _apply(self, inv: Invocation, verified: VerifiedToken) -> None:
        if self.required_scopes:
            if verified.token_use != "access" or self.required_scopes.isdisjoint(verified.scopes):
                raise GatewayError("UNAUTHORIZED")
        elif verified.token_use != "id" or (
            self.audience_re is not None and not any(self.audience_re.fullmatch(a) for a in verified.audience)
        ):
            raise GatewayError("UNAUTHORIZED")
        inv.authorizer = {"claims": dict(verified.claims),
                          "scopes": list(verified.scopes) if self.required_scopes else None}

    async def _verify(self, token: str) -> tuple[VerifiedToken, float]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise GatewayError("UNAUTHORIZED") from None
        pool = self.pools.get(issuer) if isinstance(issuer, str) else None
        key = await pool.key(kid) if pool is not None and isinstance(kid, str) else None
        if key is None:
            raise GatewayError("UNAUTHORIZED")
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"], issuer=pool.issuer,
                                options={"verify_aud": False, "require": ["exp", "iss"]})
        except jwt.PyJWTError:
            raise GatewayError("UNAUTHORIZED") from None
        audience = claims.get("aud")
        verified = VerifiedToken(
            claims={name: claim_text(name, value) for name, value in claims.items()},
            token_use=claims.get("token_use"),
            audience=tuple(a for a in (audience if isinstance(audience, list) else [audience]) if isinstance(a, str)),
            scopes=tuple(str(claims.get("scope") or "").split()),
        )
        return verified, float(claims["exp"])


class RemoteCognitoAuthorizer(CognitoAuthorizer):
    """The guard when the cache is in a remote state (every node's): the cached verification is awaited."""

    __slots__ = ()

    def __call__(self, inv: Invocation) -> Awaitable[None] | None:
        if not self.ttl:
            return super().__call__(inv)
        return self._shared(inv, self._token(inv))

    async def _shared(self, inv: Invocation, token: str) -> None:
        verified = await self.cache.fetch(self.cache.key(token))
        if verified is None:
            await self._miss(inv, token)
        else:
            self._apply(inv, verified)


def claim_text(name: str, value: Any) -> str:
    """A claim as AWS's (Java) authorizer renders it: dates like `Fri Jul 29 18:52:53 UTC 2016`,
    booleans `true`, lists `[a, b]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if name in _DATE_CLAIMS and isinstance(value, int | float):
        t = gmtime(value)
        return (f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}:"
                f"{t.tm_sec:02d} UTC {t.tm_year}")
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(claim_text("", v) for v in value) + "]"
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return "null" if value is None else str(value)

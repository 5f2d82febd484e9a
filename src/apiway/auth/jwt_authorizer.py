"""JWT authorizers of HTTP APIs (spec §8.6): the token in the identity source (alone or after `Bearer `)
is checked in the order AWS documents: an RSA signing algorithm; the header's `kid` one of the issuer's
keys (auth/oidc.py); the signature; `iss` exactly the configured issuer; `aud` one of the audiences, or,
only when the token has no `aud`, `client_id`; `exp` after now, `nbf` and `iat` not after now; then, when
the route lists `authorizationScopes`, at least one of them in the token's `scope` (space-separated) or
`scp`. A failing token is 401 with AWS's `www-authenticate: Bearer scope="…" error="invalid_token"
error_description="…"`, a missing scope 403 with `error="insufficient_scope"`; a request without a token
is 401.

What a token's signature, issuer and audience proved is remembered per authorizer (until the issuer's key
set changes); its times and the route's scopes are checked on every request. Claims reach the integration
as strings, the way AWS renders them: numbers as written, booleans `true`/`false`, arrays `[a b]`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from apiway.auth.http_identity import HEADER, QUERY, Getter, compile_source
from apiway.auth.oidc import Issuer, KeysUnavailable
from apiway.core.errors import DeployError, GatewayError
from apiway.core.invocation import Invocation

ALGORITHMS = frozenset(("RS256", "RS384", "RS512"))  # "Currently, only RSA-based algorithms are supported"
MEMO_ENTRIES = 1_024  # verified tokens remembered per authorizer; past it the memo starts over
_DECODE_OPTIONS = {"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                   "verify_iss": False, "verify_sub": False, "verify_jti": False}  # checked here, on our clock
_SAFE_ALG = re.compile(r"[A-Za-z0-9+_-]{1,16}")  # what of a token's `alg` may be echoed in a header


class BearerError(GatewayError):
    """A JWT authorizer's refusal with its `www-authenticate` challenge (the HTTP API renderer adds
    `headers` to the error response)."""

    __slots__ = ("headers",)

    def __init__(self, response_type: str, error: str, description: str, scope: str, log: str | None = None) -> None:
        super().__init__(response_type, log=f"JWT authorizer: {log or description}")
        self.headers = [("www-authenticate",
                         f'Bearer scope="{scope}" error="{error}" error_description="{description}"')]


@dataclass(slots=True, frozen=True)
class VerifiedJwt:
    """What a token proved once (signature, issuer, audience), and what must be checked on each use."""

    claims: dict[str, str]
    scopes: tuple[str, ...]
    exp: float | None
    nbf: float | None
    iat: float | None
    generation: int  # the issuer's key set it was verified with


def claim_text(value: Any) -> str:
    """A claim as AWS's HTTP APIs render it: `[a b]` for arrays, `map[k:v]` for objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(claim_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{claim_text(value[k])}" for k in sorted(value)) + "]"
    return "<nil>"


def token_scopes(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """The scopes a token grants: `scope` (space-separated) and `scp` (a list or space-separated)."""
    found: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        listed = value.split() if isinstance(value, str) else value if isinstance(value, list) else ()
        for scope in listed:
            if isinstance(scope, str) and scope not in found:
                found.append(scope)
    return tuple(found)


def _time_claim(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(name)
    return float(value)


class JwtAuthorizer:
    """The guard of one route."""

    __slots__ = ("_memo", "_time", "audiences", "issuer", "issuer_url", "route_scopes", "scope_text", "token_of")

    def __init__(self, authorizer: Mapping[str, Any], route_scopes: list[str], issuer: Issuer,
                 time: Callable[[], float], where: str) -> None:
        sources = list(authorizer.get("identitySource") or [])
        if len(sources) != 1:
            raise DeployError(f"{where}: a JWT authorizer's identitySource is one $request.header.{{name}} or "
                              f"$request.querystring.{{name}}, got {sources!r}")
        self.token_of: Getter = compile_source(sources[0], where, (HEADER, QUERY))
        config = authorizer.get("jwtConfiguration") or {}
        audiences = config.get("audience") or []
        if not audiences:
            raise DeployError(f"{where}: a JWT authorizer needs jwtConfiguration.audience")
        self.audiences = frozenset(audiences)
        self.issuer = issuer
        self.issuer_url = issuer.issuer
        self.route_scopes = tuple(route_scopes)
        self.scope_text = " ".join(route_scopes)
        self._time = time
        self._memo: dict[str, VerifiedJwt] = {}

    def __call__(self, inv: Invocation) -> Awaitable[None] | None:
        """A token verified before, or signed with a key already known, is settled at once; only a key to
        fetch returns something to await."""
        token = self._token(inv)
        verified = self._memo.get(token)
        if verified is None or verified.generation != self.issuer.generation:
            alg, kid = self._header(token)
            key = self.issuer.cached(kid)
            if key is None:
                return self._miss(inv, token, alg, kid)
            verified = self._verify(token, alg, key)
        self._apply(inv, verified)
        return None

    async def _miss(self, inv: Invocation, token: str, alg: str, kid: str) -> None:
        try:
            key = await self.issuer.key(kid)
        except KeysUnavailable as exc:
            raise self._invalid("unable to retrieve the issuer's signing keys", log=str(exc)) from None
        if key is None:
            raise self._invalid("the token's key id does not match a key of the issuer")
        self._apply(inv, self._verify(token, alg, key))

    def _token(self, inv: Invocation) -> str:
        token = self.token_of(inv)
        if token and token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise GatewayError("UNAUTHORIZED", log="JWT authorizer: the request has no token")
        return token

    def _header(self, token: str) -> tuple[str, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise self._invalid("the token is not a valid JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            shown = alg if isinstance(alg, str) and _SAFE_ALG.fullmatch(alg) else "in the token"
            raise self._invalid(f"signing method {shown} is invalid")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise self._invalid("the token has no key id")
        return alg, kid

    def _verify(self, token: str, alg: str, key: Any) -> VerifiedJwt:
        generation = self.issuer.generation
        try:
            claims = jwt.decode(token, key, algorithms=[alg], options=_DECODE_OPTIONS)  # type: ignore[arg-type]
        except jwt.InvalidSignatureError:
            raise self._invalid("the token's signature is invalid") from None
        except jwt.PyJWTError:
            raise self._invalid("the token is not a valid JWT") from None
        if claims.get("iss") != self.issuer_url:
            raise self._invalid("the token does not have a valid issuer")
        audience = claims.get("aud")
        if audience is None:
            audience = claims.get("client_id")  # AWS reads client_id only when the token has no aud
        listed = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(a, str) and a in self.audiences for a in listed):
            raise self._invalid("the token does not have a valid audience")
        try:
            times = _time_claim(claims, "exp"), _time_claim(claims, "nbf"), _time_claim(claims, "iat")
        except ValueError as exc:
            raise self._invalid(f"the token's {exc} claim is not a number") from None
        verified = VerifiedJwt({name: claim_text(value) for name, value in claims.items()}, token_scopes(claims),
                               *times, generation)
        memo = self._memo
        if len(memo) >= MEMO_ENTRIES:
            memo.clear()
        memo[token] = verified
        return verified

    def _apply(self, inv: Invocation, verified: VerifiedJwt) -> None:
        now = self._time()
        if verified.exp is not None and now >= verified.exp:
            raise self._invalid("the token has expired")
        if (verified.nbf is not None and verified.nbf > now) or (verified.iat is not None and verified.iat > now):
            raise self._invalid("the token is not valid yet")
        if self.route_scopes and not any(scope in verified.scopes for scope in self.route_scopes):
            raise BearerError("ACCESS_DENIED", "insufficient_scope",
                              "the token does not have the required scopes", self.scope_text)
        inv.authorizer = {"jwt": {"claims": dict(verified.claims),
                                  "scopes": list(verified.scopes) if self.route_scopes else None}}

    def _invalid(self, description: str, log: str | None = None) -> BearerError:
        return BearerError("UNAUTHORIZED", "invalid_token", description, self.scope_text, log)

"""The signing keys of the OpenID Connect issuers that HTTP APIs' JWT authorizers trust.

An issuer's `{issuer}/.well-known/openid-configuration` names its `jwks_uri`; the RSA keys found there are
kept by key id. Both documents are fetched off the event loop when a token first needs a key, and again when
a token names a key id the set lacks (a rotation), at most every REFRESH_SECONDS so that tokens with made-up
key ids cannot make the gateway hammer the issuer; after a failed fetch the next try waits RETRY_SECONDS.
Each fetch has AWS's limits: 1.5 s and 150,000 bytes.

AWS reaches issuers over https only. Plain http is accepted for loopback hosts (127.0.0.0/8, ::1,
`localhost`) so that a local identity provider can serve development.
"""

from __future__ import annotations

import asyncio
import ipaddress
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import jwt
import orjson
from jwt.algorithms import RSAAlgorithm

from apiway.core.clock import Clock

REFRESH_SECONDS = 30.0
RETRY_SECONDS = 1.0
FETCH_TIMEOUT_SECONDS = 1.5
MAX_DOCUMENT_BYTES = 150_000
DISCOVERY_PATH = "/.well-known/openid-configuration"
# Loopback fetches skip any configured proxy: a proxy would not reach the developer's own machine.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class KeysUnavailable(Exception):
    """The issuer's keys could not be had (unreachable, not JSON, no usable key): why, in log words."""


def url_problem(url: str) -> str | None:
    """Why `url` cannot be fetched as an issuer's document, or None: https, or http on a loopback host."""
    parts = urlsplit(url)
    if not parts.hostname:
        return f"{url!r} is not an absolute URL"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return None
    return f"{url!r} must use https (plain http only for a loopback host such as 127.0.0.1 or localhost)"


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + DISCOVERY_PATH


class Issuer:
    """One issuer's keys. `cached(kid)` answers at once; `key(kid)` fetches when it must."""

    __slots__ = ("_attempted_at", "_failure", "_keys", "_lock", "_now", "discovery", "generation", "issuer")

    def __init__(self, issuer: str, clock: Clock) -> None:
        self.issuer = issuer
        self.discovery = discovery_url(issuer)
        self._now = clock.monotonic
        self._keys: dict[str, Any] = {}  # kid → RSA public key
        self._attempted_at = float("-inf")
        self._failure: str | None = None  # why the last fetch failed
        self._lock = asyncio.Lock()
        self.generation = 0  # counts key sets fetched: what was verified with an older set is verified again

    def cached(self, kid: str) -> Any:
        return self._keys.get(kid)

    async def key(self, kid: str) -> Any:
        """The public key `kid`, or None when the issuer does not have it; KeysUnavailable when the issuer's
        keys cannot be fetched (or could not be, moments ago)."""
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:  # one fetch at a time; those waiting see its result
            key = self._keys.get(kid)
            if key is not None:
                return key
            wait = REFRESH_SECONDS if self._failure is None else RETRY_SECONDS
            if self._now() - self._attempted_at >= wait:
                self._attempted_at = self._now()
                try:
                    self._keys = await asyncio.to_thread(self.fetch)
                except KeysUnavailable as exc:
                    self._failure = str(exc)
                    raise
                self._failure = None
                self.generation += 1
                return self._keys.get(kid)
            if self._failure is not None:
                raise KeysUnavailable(self._failure)
        return None

    def fetch(self) -> dict[str, Any]:
        """The discovery document, then the key set it names (a blocking call: run it in a thread)."""
        discovery = _document(self.discovery)
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise KeysUnavailable(f"the discovery document {self.discovery} has no jwks_uri")
        problem = url_problem(jwks_uri)
        if problem is not None:
            raise KeysUnavailable(f"jwks_uri {problem}")
        keys = _rsa_keys(_document(jwks_uri))
        if not keys:
            raise KeysUnavailable(f"the JWKS at {jwks_uri} has no RSA signing key with a key id")
        return keys


def _document(url: str) -> dict[str, Any]:
    host = urlsplit(url).hostname or ""
    opener = _DIRECT if is_loopback(host) else urllib.request.build_opener()
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with opener.open(request, timeout=FETCH_TIMEOUT_SECONDS) as resp:
            body = resp.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise KeysUnavailable(f"cannot fetch {url}: {exc}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise KeysUnavailable(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise KeysUnavailable(f"{url} is not JSON") from None
    if not isinstance(document, dict):
        raise KeysUnavailable(f"{url} is not a JSON object")
    return document


def _rsa_keys(jwks: dict[str, Any]) -> dict[str, Any]:
    """The RSA signature keys of a key set by key id; other keys (EC, encryption keys, no kid) are skipped."""
    keys: dict[str, Any] = {}
    listed = jwks.get("keys")
    for jwk in listed if isinstance(listed, list) else ():
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        try:
            keys[kid] = RSAAlgorithm.from_jwk(jwk)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):  # a malformed key is skipped
            continue
    return keys


class Issuers:
    """Every issuer JWT authorizers name, shared by all deployments so that each key set is fetched once."""

    __slots__ = ("_issuers", "clock")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._issuers: dict[str, Issuer] = {}

    def issuer(self, url: str) -> Issuer:
        found = self._issuers.get(url)
        if found is None:
            found = self._issuers[url] = Issuer(url, self.clock)
        return found

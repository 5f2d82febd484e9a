"""The stage response cache (spec §6), wrapped around a method's integration at deploy time.

A stage caches when `cacheClusterEnabled`; the cluster size (`cacheClusterSize`, GB) bounds the bytes
its entries use, least recently used first out. Per method, from `methodSettings` (the method's own
entry over `*/*`): `cachingEnabled` — GET methods default to on and follow `*/*`, other verbs only cache
with their own entry saying so (AWS: "only GET methods have caching enabled by default", other methods
by overriding method settings) — and `cacheTtlInSeconds` (default 300; 0 turns caching off). A method
that does not cache keeps its integration untouched and pays nothing.

The key is the cache namespace (`cacheNamespace`, default the resource id), the request's verb and the
value of each of the integration's `cacheKeyParameters`, as a tuple: values never run together, so no
crafted path or query string can reach another entry. Nothing else is part of the key — not the
caller: AWS shares an entry between every caller that passed the method's checks (those run before the
cache), and an API that must not share lists `method.request.header.Authorization` as a key parameter.

Only 2xx integration responses of at most 1,048,576 bytes are stored. `Cache-Control: max-age=0` asks to
bypass the entry and refresh it; with `requireAuthorizationForCacheControl` (default true) only a caller
whose IAM policies allow `execute-api:InvalidateCache` on the method ARN may — an identity the AWS_IAM
check verified; every other caller is unauthorized — and `unauthorizedCacheControlHeaderStrategy` decides
for the others: FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER (served as if the header were absent, plus a
`Warning`; the default) or SUCCEED_WITHOUT_RESPONSE_HEADER.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apiway.auth.identities import Identities
from apiway.auth.policy import method_arn_prefix
from apiway.auth.resource_policy import RequestContext, method_arn
from apiway.core.clock import SYSTEM_CLOCK, Clock
from apiway.core.errors import AccessDenied, DeployError
from apiway.core.guard import GuardSite
from apiway.core.http import HttpResponse
from apiway.core.invocation import Integration, Invocation
from apiway.model.method_settings import settings_for

Key = tuple[Any, ...]

DEFAULT_CLUSTER_SIZE = "0.5"
DEFAULT_TTL = 300
MAX_ENTRY_BYTES = 1_048_576
FAIL_WITH_403 = "FAIL_WITH_403"
SUCCEED_WITH_RESPONSE_HEADER = "SUCCEED_WITH_RESPONSE_HEADER"
INVALIDATE = "execute-api:InvalidateCache"
WARNING = ("Warning", '199 - "Cache-Control: max-age=0 ignored: the caller may not invalidate the cache"')
_GB = 1 << 30
_ENTRY_OVERHEAD = 200  # bytes of Python objects around each entry's data, roughly


@dataclass(slots=True)
class CacheStats:
    hits: int = 0  # CacheHitCount
    misses: int = 0  # CacheMissCount: lookups that went to the integration, refreshes included


class _Entry:
    __slots__ = ("body", "expires", "headers", "size", "status")

    def __init__(self, response: HttpResponse, expires: float, size: int) -> None:
        self.status = response.status
        self.headers = tuple(response.headers)
        self.body = response.body
        self.expires = expires
        self.size = size


class StageCache:
    """One stage's entries; once their bytes would pass `capacity`, the least recently used go."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self.stats = CacheStats()
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key, now: float) -> HttpResponse | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= now:
            del self._entries[key]
            self.used -= entry.size
            return None
        self._entries.move_to_end(key)
        return HttpResponse(entry.status, list(entry.headers), entry.body)

    def put(self, key: Key, response: HttpResponse, ttl: float, now: float) -> None:
        size = _ENTRY_OVERHEAD + len(response.body) + _bytes_of(key) + sum(len(k) + len(v) for k, v in
                                                                            response.headers)
        old = self._entries.pop(key, None)
        if old is not None:
            self.used -= old.size
        if size > self.capacity:
            return
        self._entries[key] = _Entry(response, now + ttl, size)
        self.used += size
        while self.used > self.capacity:
            _, evicted = self._entries.popitem(last=False)
            self.used -= evicted.size

    def clear(self) -> None:
        self._entries.clear()
        self.used = 0


class ResponseCaches:
    """Every stage's cache by (api id, stage name), kept across recompiles: redeploying a stage keeps its
    entries, as on AWS; changing the cluster size or disabling the cluster drops them."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock.monotonic  # stored bound once: entries' TTLs are read per request
        self._stages: dict[tuple[str, str], StageCache] = {}

    def stage(self, api_id: str, stage_name: str, capacity: int) -> StageCache:
        found = self._stages.get((api_id, stage_name))
        if found is None or found.capacity != capacity:
            found = self._stages[(api_id, stage_name)] = StageCache(capacity)
        return found

    def discard(self, api_id: str, stage_name: str) -> None:
        self._stages.pop((api_id, stage_name), None)

    def flush(self, api_id: str, stage_name: str) -> None:
        """FlushStageCache: every entry of the stage goes; its counters stay."""
        found = self._stages.get((api_id, stage_name))
        if found is not None:
            found.clear()

    def stats(self, api_id: str, stage_name: str) -> CacheStats | None:
        found = self._stages.get((api_id, stage_name))
        return found.stats if found is not None else None


def cluster_bytes(size: str) -> int:
    """`cacheClusterSize` ("0.5", "1.6", …, GB) in bytes."""
    return int(float(size) * _GB)


def wrap(integration: Integration, site: GuardSite, caches: ResponseCaches | None,
         identities: Identities | None) -> Integration:
    """The integration behind the stage cache, or unchanged when this method does not cache."""
    if caches is None:
        return integration
    api_id, stage = site.definition["restApi"]["id"], site.stage
    if not stage.get("cacheClusterEnabled"):
        caches.discard(api_id, stage["stageName"])
        return integration
    settings = settings_for(stage, site.resource["path"], site.http_method)
    enabled = settings.get("cachingEnabled", True) if site.http_method == "GET" else settings.own.get(
        "cachingEnabled")
    ttl = int(settings.get("cacheTtlInSeconds", DEFAULT_TTL))
    if not enabled or ttl <= 0:
        return integration
    record = site.method.get("methodIntegration") or {}
    store = caches.stage(api_id, stage["stageName"], cluster_bytes(stage.get("cacheClusterSize")
                                                                   or DEFAULT_CLUSTER_SIZE))
    parts = tuple(_key_part(name, f"{site.where}.cacheKeyParameters") for name in
                  record.get("cacheKeyParameters") or ())
    return CachedIntegration(
        integration, store, caches.clock, ttl, record.get("cacheNamespace") or site.resource["id"], parts,
        require_authorization=settings.get("requireAuthorizationForCacheControl", True),
        strategy=settings.get("unauthorizedCacheControlHeaderStrategy", SUCCEED_WITH_RESPONSE_HEADER),
        arn_prefix=method_arn_prefix(api_id, stage["stageName"]), identities=identities,
    )


class CachedIntegration:
    __slots__ = ("arn_prefix", "clock", "identities", "integration", "namespace", "parts", "require_authorization",
                 "store", "strategy", "ttl")

    def __init__(self, integration: Integration, store: StageCache, clock: Callable[[], float], ttl: int,
                 namespace: str, parts: tuple[Callable[[Invocation], Any], ...], *, require_authorization: bool,
                 strategy: str, arn_prefix: str, identities: Identities | None) -> None:
        self.integration = integration
        self.store = store
        self.clock = clock
        self.ttl = ttl
        self.namespace = namespace
        self.parts = parts
        self.require_authorization = require_authorization
        self.strategy = strategy
        self.arn_prefix = arn_prefix
        self.identities = identities

    def key(self, inv: Invocation) -> Key:
        head = (self.namespace, inv.request.method)
        return head + tuple([part(inv) for part in self.parts]) if self.parts else head

    async def __call__(self, inv: Invocation) -> HttpResponse:
        key = self.key(inv)
        warn = False
        control = inv.request.header("cache-control")
        if control is not None and _asks_refresh(control):
            if self.may_invalidate(inv):
                return await self._fetch(inv, key)
            if self.strategy == FAIL_WITH_403:
                caller = (inv.identity or {}).get("userArn") or "anonymous"
                raise AccessDenied(f"User: {caller} is not authorized to perform: {INVALIDATE} on resource: "
                                   f"{method_arn(self.arn_prefix, inv)}")
            warn = self.strategy == SUCCEED_WITH_RESPONSE_HEADER
        response = self.store.get(key, self.clock())
        if response is None:
            response = await self._fetch(inv, key)
        else:
            self.store.stats.hits += 1
        if warn:
            response.headers.append(WARNING)
        return response

    def may_invalidate(self, inv: Invocation) -> bool:
        if not self.require_authorization:
            return True
        # `accessKey` is set only by the AWS_IAM check, once the request's signature is verified.
        access_key = (inv.identity or {}).get("accessKey")
        identity = self.identities.get(access_key) if self.identities is not None and access_key else None
        if identity is None or identity.policy is None:
            return False
        context = RequestContext(inv, identity.condition_keys)
        return identity.policy.evaluate(INVALIDATE, method_arn(self.arn_prefix, inv), context) == "Allow"

    async def _fetch(self, inv: Invocation, key: Key) -> HttpResponse:
        self.store.stats.misses += 1
        response = await self.integration(inv)
        if 200 <= response.status < 300 and len(response.body) <= MAX_ENTRY_BYTES:
            self.store.put(key, response, self.ttl, self.clock())
        return response


def _asks_refresh(cache_control: str) -> bool:
    return any(d.strip().lower() == "max-age=0" for d in cache_control.split(","))


def _bytes_of(key: Key) -> int:
    return sum(_bytes_of(v) if isinstance(v, tuple) else len(v) if v is not None else 0 for v in key)


def _key_part(name: str, where: str) -> Callable[[Invocation], Any]:
    """How to read one `method.request.{header|multivalueheader|querystring|multivaluequerystring|path}.X`."""
    source, _, param = name.removeprefix("method.request.").partition(".")
    lower = param.lower()
    readers: dict[str, Callable[[Invocation], Any]] = {
        "header": lambda inv: inv.request.header(lower),
        "multivalueheader": lambda inv: tuple(v for k, v in inv.request.headers if k.lower() == lower),
        "querystring": lambda inv: (inv.request.query_params()[0] or {}).get(param),
        "multivaluequerystring": lambda inv: tuple((inv.request.query_params()[1] or {}).get(param) or ()),
        "path": lambda inv: inv.path_params.get(param),
    }
    if not name.startswith("method.request.") or not param or source not in readers:
        raise DeployError(f"{where}: invalid cache key parameter {name!r} (expected method.request.header.X, "
                          f"multivalueheader.X, querystring.X, multivaluequerystring.X or path.X)")
    return readers[source]

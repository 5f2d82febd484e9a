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

import struct
from collections.abc import Callable, Mapping
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
from apiway.state.base import SharedState
from apiway.state.memory import MemoryState

Key = tuple[Any, ...]

DEFAULT_CLUSTER_SIZE = "0.5"
DEFAULT_TTL = 300
MAX_ENTRY_BYTES = 1_048_576
FAIL_WITH_403 = "FAIL_WITH_403"
SUCCEED_WITH_RESPONSE_HEADER = "SUCCEED_WITH_RESPONSE_HEADER"
INVALIDATE = "execute-api:InvalidateCache"
WARNING = ("Warning", '199 - "Cache-Control: max-age=0 ignored: the caller may not invalidate the cache"')
_GB = 1 << 30
MEMO_BYTES = 32 << 20  # decoded entries kept alive per process, counted twice (bytes and decoded body)


@dataclass(slots=True)
class CacheStats:
    hits: int = 0  # CacheHitCount
    misses: int = 0  # CacheMissCount: lookups that went to the integration, refreshes included


class StageCache:
    """One stage's entries in the shared state, as bytes (`encode`), in a namespace bounded by `capacity`
    bytes: once the entries would pass it, the least recently used go."""

    __slots__ = ("_state", "capacity", "namespace", "read", "stats")

    def __init__(self, capacity: int, state: SharedState | None = None, namespace: str = "responses") -> None:
        self._state = MemoryState() if state is None else state
        self.capacity = capacity
        self.namespace = namespace
        self.stats = CacheStats()
        self._state.cache_configure(namespace, max_bytes=capacity)
        self.read = self._state.cache_reader(namespace)  # resolved once; a hit is one call

    def __len__(self) -> int:
        return self._state.cache_usage(self.namespace)[0]

    @property
    def used(self) -> int:
        """Bytes the entries weigh, as the bound counts them."""
        return self._state.cache_usage(self.namespace)[1]

    def get(self, key: Key) -> HttpResponse | None:
        value = self.read(key)
        return None if value is None else decode(value)

    def put(self, key: Key, response: HttpResponse, ttl: float) -> None:
        self._state.cache_put(self.namespace, key, encode(response), ttl)

    def clear(self) -> None:
        self._state.cache_flush(self.namespace)


class ResponseCaches:
    """Every stage's cache by (api id, stage name), kept across recompiles: redeploying a stage keeps its
    entries, as on AWS; changing the cluster size or disabling the cluster drops them. `name` keeps apart
    the caches of canaries that do not share their stage's."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, state: SharedState | None = None, name: str = "responses") -> None:
        self.state = MemoryState(clock) if state is None else state
        self.name = name
        self.memo = Memo()  # what hits decode to, shared by every stage
        self._stages: dict[tuple[str, str], StageCache] = {}

    def stage(self, api_id: str, stage_name: str, capacity: int) -> StageCache:
        found = self._stages.get((api_id, stage_name))
        if found is None or found.capacity != capacity:  # a new size starts empty, with new counters
            found = self._stages[(api_id, stage_name)] = StageCache(capacity, self.state,
                                                                     f"{self.name} {api_id}/{stage_name}")
        return found

    def discard(self, api_id: str, stage_name: str) -> None:
        found = self._stages.pop((api_id, stage_name), None)
        if found is not None:
            found.clear()

    def flush(self, api_id: str, stage_name: str) -> None:
        """FlushStageCache: every entry of the stage goes; its counters stay."""
        found = self._stages.get((api_id, stage_name))
        if found is not None:
            found.clear()

    def stats(self, api_id: str, stage_name: str) -> CacheStats | None:
        found = self._stages.get((api_id, stage_name))
        return found.stats if found is not None else None


# -- the serialised form ------------------------------------------------------------------------------------
# status (2 bytes) and the length of the headers (4 bytes), the headers as UTF-8 names and values separated
# by NUL (which HTTP headers cannot contain), then the body as it is.

_HEAD = struct.Struct(">HI")


def encode(response: HttpResponse) -> bytes:
    headers = "\0".join([f"{name}\0{value}" for name, value in response.headers]).encode("utf-8", "surrogatepass")
    return _HEAD.pack(response.status, len(headers)) + headers + response.body


def decode(value: bytes) -> HttpResponse:
    status, length = _HEAD.unpack_from(value)
    end = _HEAD.size + length
    parts = value[_HEAD.size:end].decode("utf-8", "surrogatepass").split("\0") if length else []
    return HttpResponse(status, list(zip(parts[::2], parts[1::2], strict=True)), value[end:])


class Memo:
    """Decoded entries by their bytes, so a hit does not parse again: (status, headers, body). Bounded by
    the bytes it keeps alive; past MEMO_BYTES it starts over."""

    __slots__ = ("entries", "used")

    def __init__(self) -> None:
        self.entries: dict[bytes, tuple[int, tuple[tuple[str, str], ...], bytes]] = {}
        self.used = 0

    def decoded(self, value: bytes) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
        found = self.entries.get(value)
        if found is None:
            response = decode(value)
            found = (response.status, tuple(response.headers), response.body)
            if self.used + 2 * len(value) > MEMO_BYTES:
                self.entries.clear()
                self.used = 0
            self.entries[value] = found
            self.used += 2 * len(value)  # the value and its decoded body
        return found


def cluster_bytes(size: str) -> int:
    """`cacheClusterSize` ("0.5", "1.6", …, GB) in bytes."""
    return int(float(size) * _GB)


def wrap(integration: Integration, site: GuardSite, caches: ResponseCaches | None,
         identities: Identities | None) -> Integration:
    """The integration behind the stage cache, or unchanged when this method does not cache."""
    if caches is None:
        return integration
    api_id, stage = site.definition["restApi"]["id"], site.stage
    if not stage.get("cacheClusterEnabled"):  # its old entries are dropped when the stage is installed
        return integration
    settings = site.settings
    # GET caches unless told not to; another method only when its own entry says so.
    get = site.http_method == "GET"
    enabled = settings.caching_enabled is not False if get else bool(settings.own_caching_enabled)
    ttl = DEFAULT_TTL if settings.cache_ttl_in_seconds is None else settings.cache_ttl_in_seconds
    if not enabled or ttl <= 0:
        return integration
    record: Mapping[str, Any] = site.method.get("methodIntegration") or {}
    store = caches.stage(api_id, stage["stageName"], cluster_bytes(stage.get("cacheClusterSize")
                                                                   or DEFAULT_CLUSTER_SIZE))
    parts = tuple(_key_part(name, f"{site.where}.cacheKeyParameters") for name in
                  record.get("cacheKeyParameters") or ())
    kind = RemoteCachedIntegration if caches.state.remote_reads else CachedIntegration
    return kind(
        integration, store, caches.memo, ttl, record.get("cacheNamespace") or site.resource["id"], parts,
        require_authorization=settings.require_authorization_for_cache_control is not False,
        strategy=settings.unauthorized_cache_control_header_strategy or SUCCEED_WITH_RESPONSE_HEADER,
        arn_prefix=method_arn_prefix(api_id, stage["stageName"]), identities=identities,
    )


class CachedIntegration:
    __slots__ = ("_memo", "arn_prefix", "identities", "integration", "memo", "namespace", "parts", "read",
                 "require_authorization", "store", "strategy", "ttl")

    def __init__(self, integration: Integration, store: StageCache, memo: Memo, ttl: int,
                 namespace: str, parts: tuple[Callable[[Invocation], Any], ...], *, require_authorization: bool,
                 strategy: str, arn_prefix: str, identities: Identities | None) -> None:
        self.integration = integration
        self.store = store
        self.read = store.read
        self._memo = memo
        self.memo = memo.entries  # looked up inline on a hit
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
        refresh = self.refresh(inv)
        if refresh:
            return await self._fetch(inv, key)
        value = self.read(key)
        response = await self._fetch(inv, key) if value is None else self._hit(value, inv)
        if refresh is False:
            response.headers.append(WARNING)
        return response

    def _hit(self, value: bytes, inv: Invocation) -> HttpResponse:
        """The response a cached entry holds (decoded once per entry, then memoised)."""
        found = self.memo.get(value)
        if found is None:
            found = self._memo.decoded(value)
        self.store.stats.hits += 1
        if inv.notes is not None:
            inv.notes["cache"] = "hit"  # keys: telemetry/notes.py
        return HttpResponse(found[0], list(found[1]), found[2])

    def refresh(self, inv: Invocation) -> bool | None:
        """For `Cache-Control: max-age=0`: True to bypass the entry, False to serve it with the warning, None
        to serve it as is; AccessDenied under FAIL_WITH_403."""
        control = inv.request.header("cache-control")
        if control is None or not _asks_refresh(control):
            return None
        if self.may_invalidate(inv):
            return True
        if self.strategy == FAIL_WITH_403:
            caller = (inv.identity or {}).get("userArn") or "anonymous"
            raise AccessDenied(f"User: {caller} is not authorized to perform: {INVALIDATE} on resource: "
                               f"{method_arn(self.arn_prefix, inv)}")
        return False if self.strategy == SUCCEED_WITH_RESPONSE_HEADER else None

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
        if inv.notes is not None:
            inv.notes["cache"] = "miss"
        response = await self.integration(inv)
        if 200 <= response.status < 300 and response.length <= MAX_ENTRY_BYTES:
            await response.read_body()  # a streamed body short enough to be kept is taken whole
            self.store.put(key, response, self.ttl)
        return response


class RemoteCachedIntegration(CachedIntegration):
    """The stage cache in a remote state: the read is awaited."""

    __slots__ = ()

    async def __call__(self, inv: Invocation) -> HttpResponse:
        key = self.key(inv)
        refresh = self.refresh(inv)
        if refresh:
            return await self._fetch(inv, key)
        value = await self.read(key)  # type: ignore[misc]
        response = await self._fetch(inv, key) if value is None else self._hit(value, inv)
        if refresh is False:
            response.headers.append(WARNING)
        return response


def _asks_refresh(cache_control: str) -> bool:
    return any(d.strip().lower() == "max-age=0" for d in cache_control.split(","))


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

"""The stage response cache (spec §6): which methods cache, keys that cannot collide, LRU eviction by
bytes, TTL with an injected clock, `Cache-Control: max-age=0` under each strategy, flush and stats."""

from __future__ import annotations

import asyncio

import pytest

from apiway.checks import response_cache as cache
from apiway.checks.response_cache import (
    MAX_ENTRY_BYTES,
    WARNING,
    CachedIntegration,
    ResponseCaches,
    StageCache,
    cluster_bytes,
)
from apiway.core.clock import ManualClock
from apiway.core.errors import AccessDenied, DeployError
from apiway.core.guard import GuardSite
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Invocation
from apiway.model.method_settings import SettingsError, normalised_key, settings_for, stage_settings
from apiway.state.memory import MemoryState
from apiway.store.deployments import stage_record
from tests.support import BARE_STAGE


class Backend:
    """A counting integration: answers `status` with a body naming the call."""

    def __init__(self, status: int = 200, body: bytes | None = None) -> None:
        self.calls = 0
        self.status = status
        self.body = body

    async def __call__(self, inv: Invocation) -> HttpResponse:
        self.calls += 1
        body = self.body if self.body is not None else f'{{"call": {self.calls}}}'.encode()
        return HttpResponse(self.status, [("Content-Type", "application/json"), ("X-Call", str(self.calls))], body)


def site(caches: ResponseCaches | None, verb: str = "GET", settings: dict | None = None, size: str | None = "0.5",
         key_parameters: list[str] | None = None, namespace: str | None = None) -> GuardSite:
    integration: dict = {"type": "HTTP_PROXY", "cacheKeyParameters": key_parameters or []}
    if namespace:
        integration["cacheNamespace"] = namespace
    method = {"httpMethod": verb, "authorizationType": "NONE", "apiKeyRequired": False,
              "methodIntegration": integration}
    resource = {"id": "res1", "path": "/pets/{id}", "resourceMethods": {verb: method}}
    definition = {"restApi": {"id": "cacheapi", "name": "c"}, "resources": {"res1": resource}}
    stage = stage_record("cacheapi", "prod", "dep1", {}, method_settings=settings or {}, cache_size=size)
    return GuardSite(definition, stage, resource, verb, method, f"/pets/{{id}} {verb}",  # type: ignore[arg-type]
                     settings_for(stage, "/pets/{id}", verb))


def wrap(integration, caches: ResponseCaches | None, *args, **kwargs):
    """`integration` behind the cache as compiling a method with these settings would put it."""
    return cache.wrap(integration, site(caches, *args, **kwargs), caches, None)


def invocation(verb: str = "GET", query: str = "", headers: list[tuple[str, str]] | None = None,
               path_params: dict[str, str] | None = None, path: str = "/pets/1") -> Invocation:
    req = HttpRequest(verb, f"/prod{path}", query, headers or [], b"")
    return Invocation(req, BARE_STAGE, None, path_params or {"id": "1"}, path, f"/prod{path}", "rid")  # type: ignore[arg-type]


def call(integration, inv: Invocation | None = None) -> HttpResponse:
    return asyncio.run(integration(inv or invocation()))


# -- which methods cache ----------------------------------------------------------------------------------

def test_get_methods_cache_by_default_once_the_stage_cache_is_on():
    backend = Backend()
    wrapped = wrap(backend, ResponseCaches())
    assert isinstance(wrapped, CachedIntegration)
    assert call(wrapped).body == call(wrapped).body == b'{"call": 1}'
    assert backend.calls == 1


@pytest.mark.parametrize(("verb", "settings", "size"), [
    ("GET", {}, None),  # no cache cluster
    ("GET", {"*/*": {"cachingEnabled": False}}, "0.5"),
    ("GET", {"pets/{id}/GET": {"cachingEnabled": False}}, "0.5"),
    ("GET", {"*/*": {"cacheTtlInSeconds": 0}}, "0.5"),  # TTL 0 turns caching off
    ("POST", {}, "0.5"),  # only GET by default
    ("POST", {"*/*": {"cachingEnabled": True}}, "0.5"),  # stage-wide enabling covers GET methods only
])
def test_methods_that_do_not_cache_keep_their_integration_untouched(verb, settings, size):
    backend = Backend()
    assert wrap(backend, ResponseCaches(), verb, settings, size) is backend


def test_other_verbs_cache_when_their_own_entry_enables_it():
    backend = Backend()
    wrapped = wrap(backend, ResponseCaches(), "POST", {"pets/{id}/POST": {"cachingEnabled": True}})
    call(wrapped, invocation("POST"))
    call(wrapped, invocation("POST"))
    assert backend.calls == 1


def test_a_method_entry_overrides_the_stage_entry_field_by_field():
    backend = Backend()
    clock = ManualClock(500.0)
    wrapped = wrap(backend, ResponseCaches(clock), settings={
        "*/*": {"cachingEnabled": False, "cacheTtlInSeconds": 10}, "~1pets~1{id}/GET": {"cachingEnabled": True}})
    assert isinstance(wrapped, CachedIntegration) and wrapped.ttl == 10


# -- keys ---------------------------------------------------------------------------------------------------

PARAMS = ["method.request.querystring.type", "method.request.header.X-Tenant", "method.request.path.id",
          "method.request.multivaluequerystring.tag", "method.request.multivalueheader.X-Flag"]


def key_of(**kw) -> tuple:
    wrapped = wrap(Backend(), ResponseCaches(), key_parameters=PARAMS)
    return wrapped.key(invocation(**kw))


def test_the_key_holds_namespace_verb_and_each_key_parameter_in_its_own_place():
    key = key_of(query="type=admin&tag=a&tag=b&dept=A", headers=[("x-tenant", "t1"), ("X-Flag", "1"),
                                                                   ("X-FLAG", "2")])
    assert key == ("res1", "GET", "admin", "t1", "1", ("a", "b"), ("1", "2"))


def test_parameters_that_are_not_key_parameters_share_the_entry():
    """AWS: `?type=admin&department=A` and `&department=B` share an entry when only `type` is a key;
    the concrete path is not part of the key either, only declared path parameters are."""
    assert key_of(query="type=admin&dept=A") == key_of(query="type=admin&dept=B")
    assert key_of(path="/pets/1", headers=[("Authorization", "a")]) == key_of(path="/pets/1")


@pytest.mark.parametrize(("a", "b"), [
    ({"query": "type=a%26tag%3Db"}, {"query": "type=a&tag=b"}),  # a value that looks like two parameters
    ({"query": "type="}, {"query": ""}),  # empty is not absent
    ({"headers": [("X-Tenant", "1")]}, {"path_params": {"id": "1"}}),  # the same value in another parameter
    ({"query": "type=x", "headers": [("X-Tenant", "")]}, {"query": "type=", "headers": [("X-Tenant", "x")]}),
    ({"query": "tag=a,b"}, {"query": "tag=a&tag=b"}),  # a joined list is not a list
    ({"query": "type=admin", "path_params": {"id": "1|GET"}}, {"query": "type=admin|1", "path_params": {"id": "GET"}}),
])
def test_crafted_inputs_cannot_reach_another_entry(a, b):
    assert key_of(**a) != key_of(**b)


def test_the_cache_namespace_replaces_the_resource_id():
    shared = wrap(Backend(), ResponseCaches(), namespace="users")
    assert shared.key(invocation())[0] == "users"


def test_a_malformed_key_parameter_fails_at_deploy_time():
    with pytest.raises(DeployError, match="cacheKeyParameters"):
        wrap(Backend(), ResponseCaches(), key_parameters=["method.request.body.x"])


# -- what is stored, for how long ---------------------------------------------------------------------------

def test_entries_expire_after_the_ttl():
    backend, clock = Backend(), ManualClock(500.0)
    wrapped = wrap(backend, ResponseCaches(clock), settings={"*/*": {"cacheTtlInSeconds": 30}})
    call(wrapped)
    clock.now += 29.9
    assert call(wrapped).body == b'{"call": 1}'
    clock.now += 0.2
    assert call(wrapped).body == b'{"call": 2}'


@pytest.mark.parametrize(("status", "body"), [(404, None), (500, None), (302, None),
                                              (200, b"x" * (MAX_ENTRY_BYTES + 1))])
def test_only_2xx_responses_up_to_one_megabyte_are_stored(status, body):
    backend = Backend(status, body)
    wrapped = wrap(backend, ResponseCaches())
    call(wrapped)
    call(wrapped)
    assert backend.calls == 2


def test_a_hit_replays_status_headers_and_body_in_a_fresh_header_list():
    wrapped = wrap(Backend(201), ResponseCaches())
    first = call(wrapped)
    first.headers.append(("x-amzn-RequestId", "added by the pipeline"))
    hit = call(wrapped)
    assert (hit.status, hit.headers, hit.body) == (201, [("Content-Type", "application/json"), ("X-Call", "1")],
                                                    b'{"call": 1}')


def response(size: int) -> HttpResponse:
    return HttpResponse(200, [], b"x" * size)


def test_eviction_is_least_recently_used_by_bytes():
    store = StageCache(capacity=3000)
    for name in ("a", "b", "c"):
        store.put((name,), response(700), 60)
    assert len(store) == 3 and store.used <= 3000
    assert store.get(("a",)) is not None  # a is now the most recently used
    store.put(("d",), response(700), 60)  # 4 entries of ~900 bytes: one must go
    assert store.get(("b",)) is None
    assert all(store.get((k,)) is not None for k in ("a", "c", "d"))
    store.put(("big",), response(2500), 60)  # needs almost everything
    assert store.get(("big",)) is not None and len(store) == 1 and store.used <= 3000
    store.put(("huge",), response(4000), 60)  # larger than the whole cache: not stored
    assert store.get(("huge",)) is None and store.used <= 3000


def test_replacing_an_entry_accounts_its_bytes_once():
    store = StageCache(capacity=10_000)
    store.put(("k",), response(1000), 60)
    used = store.used
    store.put(("k",), response(1000), 60)
    assert store.used == used and len(store) == 1


def test_cluster_sizes_are_gigabytes():
    assert cluster_bytes("0.5") == 512 * 1024 * 1024
    assert cluster_bytes("237") == 237 * 1024 ** 3


# -- Cache-Control: max-age=0 ---------------------------------------------------------------------------------

REFRESH = [("Cache-Control", "no-transform, MAX-AGE=0")]


def primed(settings: dict) -> tuple[Backend, CachedIntegration]:
    backend = Backend()
    wrapped = wrap(backend, ResponseCaches(), settings={"*/*": settings})
    call(wrapped)
    return backend, wrapped


def test_an_authorized_invalidation_refreshes_the_entry():
    backend, wrapped = primed({"requireAuthorizationForCacheControl": False})
    assert call(wrapped, invocation(headers=REFRESH)).body == b'{"call": 2}'
    assert call(wrapped).body == b'{"call": 2}'
    assert backend.calls == 2


def test_unauthorized_invalidation_is_served_from_the_cache_with_a_warning_by_default():
    backend, wrapped = primed({})
    reply = call(wrapped, invocation(headers=REFRESH))
    assert reply.body == b'{"call": 1}' and WARNING in reply.headers
    assert backend.calls == 1


def test_unauthorized_invalidation_without_the_header():
    _, wrapped = primed({"unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITHOUT_RESPONSE_HEADER"})
    reply = call(wrapped, invocation(headers=REFRESH))
    assert reply.body == b'{"call": 1}' and WARNING not in reply.headers


def test_unauthorized_invalidation_fails_with_403():
    backend, wrapped = primed({"unauthorizedCacheControlHeaderStrategy": "FAIL_WITH_403"})
    with pytest.raises(AccessDenied) as caught:
        call(wrapped, invocation(headers=REFRESH, path="/pets/1"))
    assert caught.value.message == ("User: anonymous is not authorized to perform: execute-api:InvalidateCache on "
                                    "resource: arn:aws:execute-api:us-east-1:123456789012:cacheapi/prod/GET/pets/1")
    assert backend.calls == 1


@pytest.mark.parametrize("value", ["max-age=10", "no-cache"])
def test_other_cache_control_values_are_ignored(value):
    _, wrapped = primed({"unauthorizedCacheControlHeaderStrategy": "FAIL_WITH_403"})
    reply = call(wrapped, invocation(headers=[("Cache-Control", value)]))
    assert reply.body == b'{"call": 1}' and WARNING not in reply.headers


# -- registry: stats, flush, resize ---------------------------------------------------------------------------

def test_stats_count_hits_and_misses_per_stage_and_flush_empties_the_stage():
    caches = ResponseCaches()
    backend = Backend()
    wrapped = wrap(backend, caches)
    for _ in range(3):
        call(wrapped)
    stats = caches.stats("cacheapi", "prod")
    assert (stats.hits, stats.misses) == (2, 1)
    caches.flush("cacheapi", "prod")
    call(wrapped)
    assert backend.calls == 2 and (stats.hits, stats.misses) == (2, 2)
    assert caches.stats("cacheapi", "other") is None


def test_recompiling_keeps_the_entries_and_resizing_drops_them():
    caches = ResponseCaches()
    backend = Backend()
    call(wrap(backend, caches))
    call(wrap(backend, caches))  # a redeploy compiles the method again
    assert backend.calls == 1
    call(wrap(backend, caches, size="1.6"))  # AWS recreates a resized cache
    assert backend.calls == 2
    assert wrap(backend, caches, size=None) is backend
    # Compiling a stage without a cache cluster leaves the shared caches alone: the stage installer drops
    # its entries when it serves the stage (tests/unit/test_installers.py).
    assert caches.stats("cacheapi", "prod") is not None


# -- the project file's stage settings --------------------------------------------------------------------

def test_stage_settings_from_the_project_file():
    settings, size = stage_settings({
        "throttling": {"rateLimit": 10, "burstLimit": 5},
        "cache": {"size": 1.6},
        "method_settings": {"~1pets~1{id}/GET": {"cachingEnabled": True, "cacheTtlInSeconds": 60},
                            "/GET": {"throttlingBurstLimit": 1}},
    })
    assert settings == {"pets/{id}/GET": {"cachingEnabled": True, "cacheTtlInSeconds": 60},
                        "/GET": {"throttlingBurstLimit": 1},
                        "*/*": {"throttlingRateLimit": 10.0, "throttlingBurstLimit": 5}}
    assert size == "1.6"
    assert stage_settings({"cache": {}}) == ({}, "0.5")
    assert stage_settings({}) == ({}, None)


@pytest.mark.parametrize(("spec", "where"), [
    ({"cache": {"size": "2"}}, ("cache", "size")),
    ({"cache": {"ttl": 3}}, ("cache", "ttl")),
    ({"throttling": {"rate": 1}}, ("throttling", "rate")),
    ({"throttling": {"rateLimit": -1}}, ("throttling", "rateLimit")),
    ({"throttling": {"burstLimit": 1}, "method_settings": {"*/*": {"throttlingBurstLimit": 2}}},
     ("throttling", "burstLimit")),
    ({"method_settings": {"pets/FETCH": {}}}, ("method_settings", "pets/FETCH")),
    ({"method_settings": {"pets": {}}}, ("method_settings", "pets")),
    ({"method_settings": {"pets/GET": {"cacheTtlInSeconds": 3601}}}, ("method_settings", "pets/GET", "cacheTtlInSeconds")),
    ({"method_settings": {"pets/GET": {"cachingEnabled": "yes"}}}, ("method_settings", "pets/GET", "cachingEnabled")),
    ({"method_settings": {"pets/GET": {"throttlingBurstLimit": 1.5}}},
     ("method_settings", "pets/GET", "throttlingBurstLimit")),
    ({"method_settings": {"pets/GET": {"colour": 1}}}, ("method_settings", "pets/GET", "colour")),
    ({"method_settings": {"pets/GET": {}, "~1pets/GET": {}}}, ("method_settings", "~1pets/GET")),
])
def test_stage_settings_errors_name_the_field(spec, where):
    with pytest.raises(SettingsError) as caught:
        stage_settings(spec)
    assert caught.value.where == where


@pytest.mark.parametrize(("key", "normal"), [("*/*", "*/*"), ("~1/GET", "/GET"), ("/GET", "/GET"),
                                             ("~1pets~1{id}/GET", "pets/{id}/GET"), ("/pets/ANY", "pets/ANY"),
                                             ("pets/{id}/GET", "pets/{id}/GET")])
def test_method_setting_keys_normalise(key, normal):
    assert normalised_key(key) == normal


# -- the serialised form in the shared state --------------------------------------------------------------------

def test_entries_round_trip_through_bytes():
    original = HttpResponse(203, [("Content-Type", "text/plain; charset=utf-8"), ("Set-Cookie", "a=1"),
                                  ("Set-Cookie", "b=2"), ("X-Empty", ""), ("X-Name", "Zoë")], b"\x00\xffbinary\r\n")
    back = cache.decode(cache.encode(original))
    assert (back.status, back.headers, back.body) == (original.status, original.headers, original.body)
    bare = cache.decode(cache.encode(HttpResponse(200, [], b"")))
    assert (bare.status, bare.headers, bare.body) == (200, [], b"")


def test_a_stage_keeps_its_entries_as_bytes_in_the_shared_state_and_a_hit_decodes_once():
    state = MemoryState()
    caches = ResponseCaches(state=state)
    backend = Backend()
    wrapped = wrap(backend, caches)
    first = call(wrapped)
    assert state.cache_usage("responses cacheapi/prod")[0] == 1
    memo = caches.memo
    second, third = call(wrapped), call(wrapped)
    assert backend.calls == 1 and len(memo.entries) == 1
    assert (second.status, second.headers, second.body) == (first.status, first.headers, first.body)
    assert second.headers is not third.headers  # each hit gets headers of its own to add to
    other = ResponseCaches(state=state, name="canary responses")
    call(wrap(backend, other))
    assert backend.calls == 2  # a canary's own cache does not see its stage's entries

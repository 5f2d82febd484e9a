"""The metric store: latency buckets and percentiles, what a compiled stage's requests add to its minutes and its
live ring (on a manual clock), rings that forget what is older than they keep, and WebSocket events' counts."""

import asyncio
from types import SimpleNamespace

import orjson

from apiway.core.clock import ManualClock
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Completion
from apiway.openapi.importer import import_openapi
from apiway.runtime.compile import compile_stage
from apiway.runtime.deps import CompileDeps
from apiway.runtime.gateway import Gateway
from apiway.store.deployments import stage_record
from apiway.telemetry import metric_query as q
from apiway.telemetry.hub import Equipment, StageSettings, Telemetry
from apiway.telemetry.metrics import (
    MINUTES,
    SECONDS,
    MetricsPart,
    MetricStore,
    api_name_dimension,
    bucket,
    bucket_bounds,
    percentile,
)
from apiway.telemetry.prometheus import _EDGES, BOUNDS_MS
from tests.support import tell

API = "metricapi01"
T0 = 1_764_999_960.0  # on a minute boundary
DOC = {
    "openapi": "3.0.1",
    "info": {"title": "Zoo\u00e9", "version": "1"},
    "paths": {
        "/ok": {"get": {"x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200"}}}}},
    },
}


class NoFunctions:
    def has(self, name: str) -> bool:
        return False


def served(clock: ManualClock, store: MetricStore, method_settings: dict | None = None) -> Gateway:
    definition = import_openapi(DOC, orjson.dumps(DOC).decode(), "zoo.json", API)
    record = stage_record(API, "prod", "dep1", {})
    if method_settings:
        record["methodSettings"] = method_settings
    deps = CompileDeps(NoFunctions(), None, clock=clock, telemetry=Telemetry([MetricsPart(store)]))  # type: ignore[arg-type]
    gateway = Gateway()
    gateway.install([compile_stage(definition, record, deps)])
    return gateway


def call(gateway: Gateway, path: str) -> HttpResponse:
    return asyncio.run(gateway.handle(HttpRequest("GET", path, "", [("Host", f"{API}.execute-api.localhost")], b"")))


def test_buckets_are_contiguous_and_log_scale() -> None:
    previous_high = 0
    for idx in range(83):
        low, high = bucket_bounds(idx)
        assert low == previous_high and bucket(low) == idx and bucket(high - 1) == idx
        assert high - low <= max(1, low // 4)  # within 25 % of its low edge, 12.5 % of its midpoint
        previous_high = high
    assert bucket(-3) == 0 and bucket(10**12) == 83
    for edge, bound in zip(_EDGES, BOUNDS_MS, strict=True):  # Prometheus's bounds are bucket edges: exact counts
        assert bucket_bounds(edge)[0] == bound


def test_percentiles_from_a_histogram() -> None:
    hist = [0] * 84
    for ms in [1] * 50 + [100] * 49 + [1000]:
        hist[bucket(ms)] += 1
    assert percentile(hist, 100, 50, 1, 1000) == 1
    assert 88 <= percentile(hist, 100, 90, 1, 1000) <= 112
    assert percentile(hist, 100, 100, 1, 1000) == 1000


def test_api_name_dimension_drops_non_ascii() -> None:
    assert api_name_dimension("Zoo\u00e9", "abc") == "Zoo"
    assert api_name_dimension("\u00e9\u00e9", "abc") == "abc"


def test_a_stage_counts_its_requests_by_minute_and_second() -> None:
    clock = ManualClock(now=0.0, epoch=T0)
    store = MetricStore(clock.wall_ms)
    gateway = served(clock, store, {"ok/GET": {"metricsEnabled": True}})
    for _ in range(3):
        assert call(gateway, "/prod/ok").status == 200
    assert call(gateway, "/prod/missing").status == 403
    clock.advance(1)
    call(gateway, "/prod/ok")
    assert store.stages() == [{"apiId": API, "apiName": "Zoo\u00e9", "stage": "prod", "kind": "REST"}]
    live = store.live(API, "prod", seconds=3)
    assert live["t"] == [int(T0) - 1, int(T0), int(T0) + 1]
    assert live["requests"] == [0, 4, 1] and live["4xx"] == [0, 1, 0] and live["p50"][0] is None
    assert store.live("other", None)["requests"] == [0] * SECONDS
    stage = {"ApiName": "Zoo", "Stage": "prod"}
    [(at, values)] = q.periods(store, "AWS/ApiGateway", "Count", stage, T0 - 600, T0 + 60, 3600)
    assert at == int(T0) // 3600 * 3600 and values.n == values.total == 5
    [(_, errors)] = q.periods(store, "AWS/ApiGateway", "4XXError", stage, T0 - 600, T0 + 60, 3600)
    assert q.statistic(errors, "Sum") == 1 and q.statistic(errors, "Average") == 0.2
    method = {**stage, "Method": "GET", "Resource": "/ok"}
    [(_, ok)] = q.periods(store, "AWS/ApiGateway", "Count", method, T0 - 600, T0 + 60, 60)
    assert ok.total == 4
    assert q.periods(store, "AWS/ApiGateway", "Count", stage, T0 + 60, T0 + 120, 60) == []  # outside the window


def test_without_metrics_enabled_no_method_dimensions() -> None:
    clock = ManualClock(now=0.0, epoch=T0)
    store = MetricStore(clock.wall_ms)
    call(served(clock, store), "/prod/ok")
    method = {"ApiName": "Zoo", "Stage": "prod", "Method": "GET", "Resource": "/ok"}
    assert q.periods(store, "AWS/ApiGateway", "Count", method, T0 - 60, T0 + 60, 60) == []
    listed = q.list_metrics(store, "AWS/ApiGateway", "Count", [])
    assert {tuple(d) for _, _, d in listed} == {(("ApiName", "Zoo"),), (("ApiName", "Zoo"), ("Stage", "prod"))}


def test_rings_keep_a_bounded_past() -> None:
    clock = ManualClock(now=0.0, epoch=T0)
    store = MetricStore(clock.wall_ms)
    gateway = served(clock, store)
    call(gateway, "/prod/ok")
    clock.advance(MINUTES * 60)
    call(gateway, "/prod/ok")
    found = q.periods(store, "AWS/ApiGateway", "Count", {"ApiName": "Zoo"}, T0 - 60, T0 + MINUTES * 60 + 60, 60)
    assert [values.total for _, values in found] == [1]  # the first minute's slot was reused
    leaf = next(store.leaves())
    assert sum(1 for s in leaf.minutes.slots if s is not None) <= MINUTES


def test_websocket_events_count_by_kind_and_origin_of_errors() -> None:
    clock = ManualClock(now=0.0, epoch=T0)
    store = MetricStore(clock.wall_ms)
    stage = SimpleNamespace(plans=[], wall_ms=clock.wall_ms)
    out = Equipment()
    MetricsPart(store).equip(stage, StageSettings("WEBSOCKET", "wsapi", "chat", "prod"), out)  # type: ignore[arg-type]
    [observe] = out.observers
    request = HttpRequest("GET", "/prod", "", [], b"")

    def event(kind: str, status: int, error: str | None = None, integration_ms: int | None = 3) -> None:
        inv = SimpleNamespace(plan=None, epoch_ms=clock.wall_ms(), integration_latency_ms=integration_ms,
                              event_type=kind, notes={})
        tell(observe, Completion(request, HttpResponse(status, [], b""), stage, inv, error, 5))  # type: ignore[arg-type]

    event("CONNECT", 200)
    event("MESSAGE", 200)
    event("MESSAGE", 403, "ACCESS_DENIED", None)
    event("MESSAGE", 500, "INTEGRATION_FAILURE")
    event("MESSAGE", 502)
    event("DISCONNECT", 200)
    dims = {"ApiId": "wsapi", "Stage": "prod"}

    def total(metric: str) -> float:
        return sum(v.total for _, v in q.periods(store, "AWS/ApiGateway", metric, dims, T0 - 60, T0 + 60, 60))

    assert total("ConnectCount") == 1 and total("MessageCount") == 4
    assert total("ClientError") == 1 and total("ExecutionError") == 1 and total("IntegrationError") == 1
    [(_, latency)] = q.periods(store, "AWS/ApiGateway", "IntegrationLatency", dims, T0 - 60, T0 + 60, 60)
    assert latency.n == 5 and q.statistic(latency, "Average") == 3


def test_a_canary_counts_under_its_own_stage_and_the_stage() -> None:
    clock = ManualClock(now=0.0, epoch=T0)
    store = MetricStore(clock.wall_ms)
    request = HttpRequest("GET", "/prod/ok", "", [], b"")
    for is_canary, n in ((False, 3), (True, 2)):
        stage = SimpleNamespace(plans=[], wall_ms=clock.wall_ms)
        out = Equipment()
        MetricsPart(store).equip(stage, StageSettings("REST", API, "Zoo", "prod", is_canary=is_canary), out)  # type: ignore[arg-type]
        for _ in range(n):
            tell(out.observers[0], Completion(request, HttpResponse(200, [], b""), stage, None, None, 1))  # type: ignore[arg-type]

    def count(stage: str) -> float:
        return sum(v.total for _, v in q.periods(store, "AWS/ApiGateway", "Count", {"ApiName": "Zoo", "Stage": stage},
                                                 T0 - 60, T0 + 60, 60))

    assert count("prod") == 5 and count("prod/Canary") == 2
    assert {s["stage"] for s in store.stages()} == {"prod", "prod/Canary"}


def test_requests_by_api_key_only_when_asked() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from apiway.telemetry.prometheus import render

    clock = ManualClock(now=0.0, epoch=T0)
    for per_key in (False, True):
        store = MetricStore(clock.wall_ms)
        store.per_key = {} if per_key else None
        stage = SimpleNamespace(plans=[], wall_ms=clock.wall_ms)
        out = Equipment()
        MetricsPart(store).equip(stage, StageSettings("REST", API, "Zoo", "prod"), out)  # type: ignore[arg-type]
        request = HttpRequest("GET", "/prod/ok", "", [], b"")
        for key_id, status in (("k1", 200), ("k1", 429), ("k2", 200)):
            inv = SimpleNamespace(plan=None, epoch_ms=clock.wall_ms(), integration_latency_ms=None, notes={},
                                  identity={"apiKeyId": key_id})
            tell(out.observers[0], Completion(request, HttpResponse(status, [], b""), stage, inv, None, 1))  # type: ignore[arg-type]
        families = {f.name: f for f in text_string_to_metric_families(render(store))}
        if not per_key:
            assert "apiway_api_key_requests" not in families
            continue
        samples = {(s.labels["api_key_id"], s.labels["status_class"]): s.value
                   for s in families["apiway_api_key_requests"].samples}
        assert samples == {("k1", "2xx"): 1, ("k1", "4xx"): 1, ("k2", "2xx"): 1}

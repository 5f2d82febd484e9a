"""The dashboard service (telemetry/dashboard.py): its JSON read from a real store and from small stand-ins for the
metrics, logs and traces sources; the page's files; what it refuses. The page itself runs in a browser in
tests/e2e/test_dashboard.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from apiway.core.http import HttpRequest, HttpResponse
from apiway.store import http_deployments, usage
from apiway.store.kinds import API_KEY, USAGE_PLAN, USAGE_PLAN_KEY
from apiway.store.sqlite import SqliteStore
from apiway.telemetry.dashboard import Dashboard
from tests.support import mock_api_definition

KEY_VALUE = "a-secret-key-value-0123456789"


def today() -> str:
    """The UTC day the dashboard counts usage in, read when the usage is recorded (not at import: a run crossing
    midnight would record on the day before)."""
    return datetime.now(UTC).date().isoformat()


class Metrics:
    def __init__(self) -> None:
        self.asked: list[tuple[str | None, str | None, int]] = []

    def live(self, api_id: str | None, stage: str | None, seconds: int = 300) -> dict[str, Any]:
        self.asked.append((api_id, stage, seconds))
        return {"t": [1, 2], "requests": [3, 4]}

    def stages(self) -> list[dict[str, Any]]:
        return [{"apiId": "abc", "apiName": "Store", "stage": "prod", "kind": "REST"}]


class Logs:
    def group_names(self) -> list[str]:
        return ["/aws/lambda/f"]

    def tail(self, group: str, since_ms: int, limit: int = 200) -> list[dict[str, Any]]:
        return [{"timestamp": since_ms + 1, "stream": "s", "message": f"{group} {limit}"}]


class Traces:
    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        return [{"traceId": "1-abc", "spans": []}][:limit]


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "state.db")
    store.put_api(mock_api_definition("abc"))
    store.put_stage({"stageName": "prod", "restApiId": "abc", "deploymentId": "d1", "createdDate": 0,
                     "lastUpdatedDate": 0, "methodSettings": {}, "cacheClusterEnabled": True, "tracingEnabled": True})
    http_deployments.put_api(store, {
        "api": {"apiId": "h1", "name": "Pets", "protocolType": "HTTP", "routeSelectionExpression": "",
                "apiEndpoint": "", "createdDate": ""},
        "routes": {"r1": {"routeId": "r1", "routeKey": "GET /pets", "authorizationType": "JWT",
                          "authorizerId": "a1", "target": "integrations/i1"},
                   "r2": {"routeId": "r2", "routeKey": "$default", "authorizationType": "NONE"}},
        "integrations": {"i1": {"integrationId": "i1", "integrationType": "AWS_PROXY", "payloadFormatVersion": "2.0",
                                "timeoutInMillis": 30000, "integrationUri": "arn:aws:lambda:us-east-1:1:function:pets"}},
        "authorizers": {"a1": {"authorizerId": "a1", "name": "jwt", "authorizerType": "JWT", "identitySource": []}}})
    http_deployments.put_stage(store, http_deployments.new_stage("h1", "$default", auto_deploy=True))
    store.put_record(API_KEY, "k1", {"id": "k1", "name": "partner", "value": KEY_VALUE, "enabled": True})
    store.put_record(USAGE_PLAN, "p1", {"id": "p1", "name": "gold", "apiStages": [{"apiId": "abc", "stage": "prod"}],
                                        "quota": {"limit": 100, "period": "DAY"},
                                        "throttle": {"rateLimit": 10, "burstLimit": 5}})
    store.put_record(USAGE_PLAN_KEY, "p1/k1", {"usagePlanId": "p1", "keyId": "k1"})
    usage.record_use(store, "p1", "k1", today(), 7)
    return store


def get(dashboard: Dashboard, path: str, query: str = "", method: str = "GET",
        host: str = "127.0.0.1:8080") -> HttpResponse:
    return asyncio.run(dashboard.handle(HttpRequest(method, path, query, [("Host", host)], b"")))


def body(response: HttpResponse) -> Any:
    return orjson.loads(response.body)


def test_overview_lists_every_api_with_routes_and_the_keys_usage_without_their_values(store: SqliteStore) -> None:
    dashboard = Dashboard(store, Metrics())
    response = get(dashboard, "/_apiway/api/overview")
    assert response.status == 200 and ("Cache-Control", "no-store") in response.headers
    found = body(response)
    assert KEY_VALUE.encode() not in response.body
    rest, http = found["apis"]
    assert (rest["name"], rest["kind"], [s["name"] for s in rest["stages"]]) == ("Store", "REST", ["prod"])
    assert rest["stages"][0]["tracing"] and rest["stages"][0]["cache"]
    assert rest["routes"] == [{"method": "GET", "path": "/a", "integration": {"type": "MOCK", "target": ""},
                               "authorization": "NONE", "authorizer": None, "apiKeyRequired": False}]
    assert (http["name"], http["kind"], http["stages"][0]["name"]) == ("Pets", "HTTP", "$default")
    assert http["routes"][0] == {"method": "", "path": "$default", "integration": None, "authorization": "NONE",
                                 "authorizer": None, "apiKeyRequired": False}
    assert http["routes"][1]["integration"] == {"type": "AWS_PROXY", "target": "λ pets"}
    assert (http["routes"][1]["method"], http["routes"][1]["authorizer"]) == ("GET", "jwt")
    [key] = found["keys"]
    assert (key["name"], key["enabled"]) == ("partner", True)
    assert key["plans"] == [{"id": "p1", "name": "gold", "usedToday": 7,
                             "quota": {"limit": 100, "period": "DAY", "remaining": 93},
                             "throttle": {"rateLimit": 10, "burstLimit": 5}, "stages": ["abc/prod"]}]
    assert found["keysTotal"] == 1
    assert found["enabled"] == {"metrics": True, "logs": False, "traces": False}
    assert found["stages"] == Metrics().stages()
    dashboard.close()


def test_live_logs_and_traces_come_from_their_sources(store: SqliteStore) -> None:
    metrics = Metrics()
    dashboard = Dashboard(store, metrics, Logs(), Traces())
    assert body(get(dashboard, "/_apiway/api/live", "api=abc&stage=prod&seconds=60")) == {"t": [1, 2],
                                                                                       "requests": [3, 4]}
    get(dashboard, "/_apiway/api/live", "seconds=100000")
    assert metrics.asked == [("abc", "prod", 60), (None, None, 300)]  # at most five minutes
    assert body(get(dashboard, "/_apiway/api/logs")) == {"groups": ["/aws/lambda/f"]}
    assert body(get(dashboard, "/_apiway/api/logs/tail", "group=%2Faws%2Flambda%2Ff&since=10&limit=9999")) == {
        "group": "/aws/lambda/f", "events": [{"timestamp": 11, "stream": "s", "message": "/aws/lambda/f 500"}]}
    assert body(get(dashboard, "/_apiway/api/traces", "limit=1")) == {"traces": [{"traceId": "1-abc", "spans": []}]}
    assert get(dashboard, "/_apiway/api/logs/tail").status == 400  # no group
    assert get(dashboard, "/_apiway/api/live", "seconds=soon").status == 400
    dashboard.close()


def test_sources_not_enabled_say_so(store: SqliteStore) -> None:
    dashboard = Dashboard(store)
    for path in ("live", "logs", "logs/tail", "traces"):
        response = get(dashboard, f"/_apiway/api/{path}")
        assert response.status == 404 and body(response)["enabled"] is False
    dashboard.close()


def test_the_page_and_its_files(store: SqliteStore) -> None:
    dashboard = Dashboard(store)
    assert dashboard.matches(HttpRequest("GET", "/_apiway/", "", [], b""))
    assert not dashboard.matches(HttpRequest("GET", "/restapis", "", [], b""))
    redirect = get(dashboard, "/_apiway")
    assert (redirect.status, redirect.headers) == (308, [("Location", "/_apiway/")])
    page = get(dashboard, "/_apiway/")
    assert page.status == 200 and b"<title>apiway dashboard</title>" in page.body
    assert ("Content-Type", "text/html; charset=utf-8") in page.headers
    assert any(k == "Content-Security-Policy" and "default-src 'self'" in v for k, v in page.headers)
    script = get(dashboard, "/_apiway/app.js")
    assert script.status == 200 and dict(script.headers)["Content-Type"].endswith("javascript; charset=utf-8")
    for outside in ("/_apiway/../dashboard.py", "/_apiway/%2e%2e/dashboard.py", "/_apiway/nothing.js"):
        assert get(dashboard, outside).status == 404
    assert get(dashboard, "/_apiway/api/overview", method="POST").status == 405
    assert get(dashboard, "/_apiway/api/unknown").status == 404
    dashboard.close()


def test_a_missing_chart_library_says_how_to_get_it(store: SqliteStore, tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<html></html>")
    dashboard = Dashboard(store, static=static)
    missing = get(dashboard, "/_apiway/vendor/uPlot.iife.min.js")
    assert missing.status == 404 and "make" in body(missing)["message"]
    dashboard.close()


def test_only_loopback_names_unless_signed(store: SqliteStore) -> None:
    """A page whose name was rebound to 127.0.0.1 reads nothing: its Host is its own name."""
    dashboard = Dashboard(store)
    for host in ("localhost:8080", "127.0.0.1", "[::1]:9000", "LOCALHOST"):
        assert get(dashboard, "/_apiway/api/overview", host=host).status == 200
    for host in ("evil.example:8080", "127.0.0.1.evil.example", ""):
        assert get(dashboard, "/_apiway/api/overview", host=host).status == 403
    signed = HttpRequest("GET", "/_apiway/api/overview", "", [("Host", "gw.internal"), ("Authorization", "AWS4…")],
                         b"")  # the admin policy has checked the signature before
    assert asyncio.run(dashboard.handle(signed)).status == 200
    dashboard.close()


def test_the_catalog_is_read_again_only_after_a_change(store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = Dashboard(store).catalog
    first = catalog.apis()
    assert catalog.apis() is first  # kept
    usage.record_use(store, "p1", "k1", today(), 1)  # counts change nothing listed but usage
    assert catalog.apis() is first and catalog.keys()["keys"][0]["plans"][0]["usedToday"] == 8
    store.put_api(mock_api_definition("def"))
    assert [api["id"] for api in catalog.apis()] == ["abc", "def", "h1"]
    store.put_record(API_KEY, "k0", {"id": "k0", "name": "another", "value": "v" * 30, "enabled": False})
    assert [key["name"] for key in catalog.keys()["keys"]] == ["another", "partner"]
    monkeypatch.setattr("apiway.telemetry.dashboard_catalog.MAX_KEYS", 1)
    assert catalog.keys() == {"keys": [{"id": "k0", "name": "another", "enabled": False, "plans": []}], "total": 2}

"""The dashboard in a real browser against `apiway serve`: the page loads with no console error, lists the APIs
with their methods and the API keys with their quota usage (never a key's value), and its live charts follow
the traffic the test sends. It leaves a screenshot at .apiway/screenshots/dashboard.png."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import orjson
import pytest

from tests.e2e.browser import chromium
from tests.support import REPO, Server, apigateway_client, request

SHOP = "dashshop1"
SHOP_API = {
    "openapi": "3.0.1",
    "info": {"title": "Shop"},
    "components": {"securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}},
    "paths": {"/items": {"get": {
        "security": [{"api_key": []}], "responses": {"200": {"description": "OK"}},
        "x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200"}}}}}},
}
SCREENSHOT = REPO / ".apiway" / "screenshots" / "dashboard.png"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("dashboard")
    (work / "state").mkdir()
    (work / "shop.json").write_bytes(orjson.dumps(SHOP_API))
    (work / "apiway.yaml").write_bytes(orjson.dumps({"apis": [{"openapi": "shop.json", "id": SHOP,
                                                               "stages": {"prod": {}}}]}))
    server = Server(work / "apiway.yaml", work / "state" / "state.db")
    yield server
    server.stop()


def test_the_dashboard_shows_apis_keys_and_live_traffic(gateway: Server) -> None:
    assert f"dashboard: http://localhost:{gateway.port}/_apiway/" in gateway.output
    apigw = apigateway_client(gateway.port)
    value = uuid.uuid4().hex + "V"
    key = apigw.create_api_key(name="partner-key", value=value, enabled=True)
    plan = apigw.create_usage_plan(name="gold-plan", apiStages=[{"apiId": SHOP, "stage": "prod"}],
                                   quota={"limit": 1000, "period": "DAY"})
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    enabled = request(gateway.port, "GET", "/_apiway/api/overview").json()["enabled"]
    if enabled["logs"]:  # a log group of our own, written through the CloudWatch Logs API
        logs = boto3.client("logs", endpoint_url=f"http://127.0.0.1:{gateway.port}", region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")
        logs.create_log_group(logGroupName="/dashboard/test")
        logs.create_log_stream(logGroupName="/dashboard/test", logStreamName="s1")
        logs.put_log_events(logGroupName="/dashboard/test", logStreamName="s1",
                            logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello from the test"}])
    if enabled["traces"]:  # X-Ray tracing on for the stage: its first request each second is sampled
        apigw.update_stage(restApiId=SHOP, stageName="prod",
                           patchOperations=[{"op": "replace", "path": "/tracingEnabled", "value": "true"}])
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"http://127.0.0.1:{gateway.port}/_apiway/")
        api = page.locator(f"details[data-api={SHOP}]")
        api.wait_for()
        assert "Shop" in api.inner_text() and "prod" in api.inner_text()
        api.locator("summary").click()
        assert "/items" in api.locator("table").inner_text() and "MOCK" in api.locator("table").inner_text()
        keys = page.locator("#key-table")
        assert "partner-key" in keys.inner_text() and "gold-plan" in keys.inner_text()

        def send(n: int) -> None:
            for _ in range(n):
                assert gateway.call("GET", SHOP, "prod", "/items", headers={"x-api-key": value}).status == 200
            assert gateway.call("GET", SHOP, "prod", "/nothing").status == 403  # a 4XX too

        send(5)
        page.wait_for_function("() => document.querySelector('#key-table').innerText.includes('995 / 1000')",
                               timeout=15_000)  # usage against the quota, read back from the store
        if enabled["metrics"]:
            page.wait_for_function("() => Number(document.getElementById('live-requests').textContent) >= 6",
                                   timeout=15_000)
            drawn = page.evaluate("window.apiwayDashboard.charts.length")
            assert drawn == 4 and page.locator("#charts canvas").count() == 4
            before = page.evaluate("window.apiwayDashboard.live.requests.reduce((a, b) => a + (b || 0), 0)")
            send(5)  # the charts move with the traffic
            page.wait_for_function(f"() => window.apiwayDashboard.live.requests.reduce((a, b) => a + (b || 0), 0)"
                                   f" >= {before + 6}", timeout=15_000)
            page.select_option("#live-stage", f"{SHOP}/prod")  # one stage's own figures: all of them are its
            page.wait_for_function("() => Number(document.getElementById('live-requests').textContent) >= 12",
                                   timeout=15_000)
        else:
            assert page.locator("#live-off").is_visible()
        if enabled["logs"]:
            page.wait_for_function("() => [...document.querySelectorAll('#log-group option')]"
                                   ".some((o) => o.value === '/dashboard/test')", timeout=15_000)
            page.select_option("#log-group", "/dashboard/test")
            page.wait_for_function("() => document.getElementById('log-tail').textContent"
                                   ".includes('hello from the test')", timeout=15_000)
        if enabled["traces"]:
            page.locator("#trace-list li").first.wait_for(timeout=15_000)
            page.locator("#trace-list li").first.click()
            page.locator("#waterfall .span-row").first.wait_for()
            assert "/items" in page.locator("#waterfall").inner_text()
        assert value not in page.content()  # a key's value never reaches the page
        time.sleep(1.5)  # one more round of every poll: none of them may fail
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert problems == []


def test_the_dashboard_follows_the_admin_policy(tmp_path: Path) -> None:
    """Behind a listener that is not loopback and has no admin credentials, the page is refused like the control
    plane (the browser could not sign its requests)."""
    (tmp_path / "state").mkdir()
    server = Server(None, tmp_path / "state" / "state.db", extra_args=["--host", "0.0.0.0"])
    try:
        assert request(server.port, "GET", "/_apiway/").status == 403
    finally:
        server.stop()

"""HTTP API CORS (spec §9.2): which origins are allowed, what a preflight and an actual response carry, the
backend's own CORS headers replaced — the policy alone, then through the real gateway in process."""

from __future__ import annotations

import asyncio

from apiway.checks.cors import compile_cors
from apiway.core.http import HttpRequest, HttpResponse
from apiway.functions.runners import Functions
from apiway.integrations.upstream import UpstreamPool
from apiway.runtime.deps import CompileDeps
from apiway.runtime.gateway import Gateway
from apiway.runtime.http_compile import compile_http_stage
from apiway.store import http_deployments
from tests.http_apis import http_api, http_proxy

CONFIG = {"allowOrigins": ["https://app.example.com", "https://*.example.org"], "allowMethods": ["GET", "POST"],
          "allowHeaders": ["authorization", "x-custom"], "exposeHeaders": ["x-total"], "maxAge": 300,
          "allowCredentials": True}


def request(method: str, headers: list[tuple[str, str]]) -> HttpRequest:
    return HttpRequest(method, "/pets", "", [("Host", "cors000001.execute-api.localhost"), *headers], b"")


def test_exact_and_wildcard_origins_are_echoed_others_get_nothing():
    policy = compile_cors(CONFIG)  # type: ignore[arg-type]
    assert policy is not None
    assert policy.allowed_origin("https://app.example.com") == "https://app.example.com"
    assert policy.allowed_origin("HTTPS://APP.example.com") == "HTTPS://APP.example.com"
    assert policy.allowed_origin("https://a.b.example.org") == "https://a.b.example.org"
    for refused in ("https://example.org", "http://app.example.com", "https://app.example.com.evil", None, ""):
        assert policy.allowed_origin(refused) is None
    assert compile_cors({"allowOrigins": ["*"]}).allowed_origin("https://any.where") == "*"  # type: ignore[union-attr,typeddict-item]
    assert compile_cors({}) is None  # type: ignore[typeddict-item]


def test_a_preflight_gets_the_configured_lists_and_an_actual_request_the_origin_credentials_and_exposed():
    policy = compile_cors(CONFIG)  # type: ignore[arg-type]
    assert policy is not None
    preflight = request("OPTIONS", [("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST")])
    assert policy.is_preflight(preflight)
    assert policy.preflight_headers(preflight) == [
        ("Access-Control-Allow-Origin", "https://app.example.com"), ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "GET,POST"), ("Access-Control-Allow-Headers", "authorization,x-custom"),
        ("Access-Control-Max-Age", "300")]
    assert not policy.is_preflight(request("OPTIONS", [("Origin", "https://app.example.com")]))
    actual = request("GET", [("Origin", "https://app.example.com")])
    backend = [("Content-Type", "text/plain"), ("Access-Control-Allow-Origin", "*"), ("access-control-max-age", "9")]
    assert policy.apply(actual, backend) == [
        ("Content-Type", "text/plain"), ("Access-Control-Allow-Origin", "https://app.example.com"),
        ("Access-Control-Allow-Credentials", "true"), ("Access-Control-Expose-Headers", "x-total")]
    # An origin not allowed: the backend's CORS headers are still dropped, none are added.
    assert policy.apply(request("GET", [("Origin", "https://other.test")]), backend) == [("Content-Type", "text/plain")]


def call(gateway: Gateway, method: str, headers: list[tuple[str, str]]) -> HttpResponse:
    return asyncio.run(gateway.handle(request(method, headers)))


def test_the_gateway_answers_preflight_before_routing_and_adds_cors_to_its_errors():
    """The OPTIONS route's integration (an unreachable backend) is never called for a preflight; a failing
    request still carries the CORS headers so that a browser can read its error."""
    definition = http_api("cors000001", {"OPTIONS /pets": http_proxy("http://127.0.0.1:9/"),
                                         "GET /pets": http_proxy("http://127.0.0.1:9/")}, corsConfiguration=CONFIG)
    record = http_deployments.new_stage("cors000001", "$default", deploymentId="dep001")
    gateway = Gateway()
    gateway.install([compile_http_stage(definition, record, CompileDeps(invoker=Functions(), pool=UpstreamPool()))])
    origin = ("Origin", "https://x.example.org")
    preflight = call(gateway, "OPTIONS", [origin, ("Access-Control-Request-Method", "GET")])
    assert (preflight.status, preflight.body) == (204, b"")
    assert ("Access-Control-Allow-Origin", "https://x.example.org") in preflight.headers
    assert any(k == "apigw-requestid" for k, _ in preflight.headers)
    refused = call(gateway, "OPTIONS", [("Origin", "https://evil.test"), ("Access-Control-Request-Method", "GET")])
    assert refused.status == 204 and not any(k.lower().startswith("access-control-") for k, _ in refused.headers)
    failed = call(gateway, "GET", [origin])
    assert failed.status == 503
    assert ("Access-Control-Allow-Origin", "https://x.example.org") in failed.headers
    assert ("Access-Control-Expose-Headers", "x-total") in failed.headers
    plain_options = call(gateway, "OPTIONS", [origin])  # not a preflight: routed to the OPTIONS route
    assert plain_options.status == 503

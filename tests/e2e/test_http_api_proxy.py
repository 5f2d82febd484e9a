"""HTTP APIs end to end over HTTP_PROXY: a real `apiway serve` whose state file holds HTTP APIs (stored as the
apigatewayv2 control plane stores them) in front of a real echo backend — route precedence and stage selection
over real sockets, what the backend receives, parameter mapping, timeouts, CORS and route throttling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.echo_backend import EchoServer, echoed, header_values
from tests.http_apis import http_api, http_proxy, invoke, store_http_api
from tests.support import Reply, Server, request

API = "httpapi001"
BARE = "httpapi002"
ORIGIN = "https://app.example.com"
CORS = {"allowOrigins": [ORIGIN], "allowMethods": ["GET", "POST"], "allowHeaders": ["x-custom"],
        "exposeHeaders": ["x-total"], "maxAge": 600}


def backend_uri(path: str) -> str:
    return "http://${stageVariables.backend}" + path


@pytest.fixture(scope="module")
def gateway(backend: EchoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    state = tmp_path_factory.mktemp("http_api_proxy") / "state.db"
    routes = {
        "GET /pets/dog/1": http_proxy(backend_uri("/r0")),
        "GET /pets/dog/{id}": http_proxy(backend_uri("/r1/{id}")),
        "GET /pets/{proxy+}": http_proxy(backend_uri("/r2/{proxy}")),
        "ANY /{proxy+}": http_proxy(backend_uri("/r3/{proxy}")),
        "$default": http_proxy(backend_uri("/base")),
        "ANY /posted": http_proxy(backend_uri("/posted"), "POST"),
        "GET /slow": http_proxy(backend_uri("/slow"), timeoutInMillis=300),
        "GET /limited": http_proxy(backend_uri("/limited")),
        "GET /mapped/{id}": http_proxy(backend_uri("/unused"), requestParameters={
            "overwrite:path": "/renamed/${request.path.id}",
            "append:header.X-Route": "$context.routeKey",
            "remove:header.X-Secret": "''",
            "append:querystring.stage": "$context.stage",
        }, responseParameters={"200": {"overwrite:statuscode": "202", "append:header.X-Mapped": "$request.path.id"}}),
    }
    variables = {"backend": backend.address}
    limited = {"GET /limited": {"throttlingBurstLimit": 1, "throttlingRateLimit": 0.001}}
    store_http_api(state, http_api(API, routes, name="Routes", corsConfiguration=CORS),
                   {"$default": {"stageVariables": variables, "routeSettings": limited},
                    "prod": {"stageVariables": variables}})
    store_http_api(state, http_api(BARE, {"GET /only": http_proxy(f"http://{backend.address}/only")}, name="Bare"),
                   {"v1": {}})
    server = Server(None, state)
    yield server
    server.stop()


def call(gateway: Server, method: str, path: str, api: str = API, **kw) -> Reply:
    return invoke(gateway.port, api, method, path, **kw)


# -- routing ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "backend_path"), [
    ("GET", "/pets/dog/1", "/r0"),
    ("GET", "/pets/dog/2", "/r1/2"),
    ("GET", "/pets/cat/1", "/r2/cat/1"),
    ("POST", "/test/5", "/r3/test/5"),
    ("DELETE", "/pets/dog/1", "/r3/pets/dog/1"),
    ("GET", "/", "/base/"),  # only the $default route takes the root; it appends the path as sent
])
def test_the_documented_route_precedence_on_the_default_stage(gateway, method, path, backend_path):
    assert echoed(call(gateway, method, path))["path"] == backend_path


def test_a_named_stage_is_selected_by_its_segment_which_the_default_route_passes_on(gateway):
    assert echoed(call(gateway, "GET", "/prod/pets/dog/2"))["path"] == "/r1/2"
    assert echoed(call(gateway, "GET", "/prod"))["path"] == "/base/prod"  # the stage segment included
    assert echoed(call(gateway, "GET", "/prod/"))["path"] == "/base/prod/"  # as sent, as in the event's rawPath


def test_the_path_style_invoke_url_names_the_default_stage(gateway):
    reply = request(gateway.port, "GET", f"/restapis/{API}/$default/_user_request_/pets/dog/1")
    assert echoed(reply)["path"] == "/r0"


def test_no_route_and_no_stage_are_404_not_found(gateway):
    for path in ("/v1/other", "/other"):  # a route the stage lacks; no stage named and no $default stage
        reply = call(gateway, "GET", path, api=BARE)
        assert (reply.status, reply.json()) == (404, {"message": "Not Found"})
        assert reply.header("Content-Type") == "application/json"
        assert reply.header("apigw-requestid") and reply.header("x-amzn-RequestId") is None
    assert echoed(call(gateway, "GET", "/v1/only", api=BARE))["path"] == "/only"


def test_start_up_lists_the_invoke_urls_of_http_api_stages(gateway):
    assert gateway.api_ids["Routes"] == API
    base = f"http://{API}.execute-api.localhost:{gateway.port}"
    assert f"    {base}\n" in gateway.output  # the $default stage has no stage segment
    assert f"{base}/pets/dog/{{id}}" in gateway.output
    assert f"{base}/prod/pets/dog/1" in gateway.output


# -- what the backend gets and what comes back ----------------------------------------------------------------


def test_the_request_passes_through_with_the_gateways_forwarding_headers(gateway, backend):
    reply = call(gateway, "GET", "/pets/dog/3?a=1&a=2&b=%2F", headers=[("X-Custom", "kept"), ("Connection", "keep-alive"),
                                                                   ("X-Forwarded-For", "10.0.0.1")])
    record = echoed(reply)
    assert record["path"] == "/r1/3" and record["query"] == "a=1&a=2&b=%2F"
    assert header_values(record, "host") == [backend.address]
    assert header_values(record, "x-custom") == ["kept"]
    assert header_values(record, "x-forwarded-for") == ["10.0.0.1, 127.0.0.1"]
    assert header_values(record, "x-forwarded-proto") == ["http"]
    assert header_values(record, "forwarded") == [f"for=127.0.0.1;host={API}.execute-api.localhost:{gateway.port};"
                                                  f"proto=http"]
    assert header_values(record, "x-amzn-trace-id")[0].startswith("Root=1-")
    request_id = reply.header("apigw-requestid")
    assert request_id and len(request_id) == 16
    assert reply.header("x-amzn-RequestId") is None and reply.header("x-amz-apigw-id") is None
    assert reply.header("X-Echo-Method") == "GET"  # the backend's own headers come back


def test_the_integration_method_replaces_the_clients(gateway):
    record = echoed(call(gateway, "PUT", "/posted", body="{}"))
    assert (record["method"], record["body"]) == ("POST", "{}")


def test_a_backend_slower_than_the_integration_timeout_is_503(gateway):
    reply = call(gateway, "GET", "/slow?echo_sleep=1.5")
    assert (reply.status, reply.json()) == (503, {"message": "Service Unavailable"})


def test_a_backend_status_passes_through(gateway):
    reply = call(gateway, "GET", "/pets/dog/4?echo_status=418")
    assert reply.status == 418


def test_parameter_mapping_changes_the_request_and_the_response(gateway):
    reply = call(gateway, "GET", "/mapped/7?x=1", headers=[("X-Secret", "s")])
    assert reply.status == 202  # responseParameters for 200: overwrite:statuscode
    assert reply.header("X-Mapped") == "7"
    record = reply.json()
    assert record["path"] == "/renamed/7" and record["query"] == "x=1&stage=%24default"
    assert header_values(record, "x-route") == ["GET /mapped/{id}"]
    assert header_values(record, "x-secret") == []


# -- CORS ------------------------------------------------------------------------------------------------------


def test_a_preflight_is_answered_by_the_gateway_without_calling_the_backend(gateway, backend):
    before = len(backend.requests)
    reply = call(gateway, "OPTIONS", "/pets/dog/1",
                 headers=[("Origin", ORIGIN), ("Access-Control-Request-Method", "POST")])
    assert (reply.status, reply.body) == (204, b"")
    assert reply.header("Access-Control-Allow-Origin") == ORIGIN
    assert reply.header("Access-Control-Allow-Methods") == "GET,POST"
    assert reply.header("Access-Control-Allow-Headers") == "x-custom"
    assert reply.header("Access-Control-Max-Age") == "600"
    assert len(backend.requests) == before


def test_actual_requests_get_the_configured_cors_headers_instead_of_the_backends(gateway):
    reply = call(gateway, "GET", "/pets/dog/5?echo_header=Access-Control-Allow-Origin:*",
                 headers=[("Origin", ORIGIN)])
    assert reply.status == 200
    assert [v for k, v in reply.headers if k.lower() == "access-control-allow-origin"] == [ORIGIN]
    assert reply.header("Access-Control-Expose-Headers") == "x-total"
    other = call(gateway, "GET", "/pets/dog/5?echo_header=Access-Control-Allow-Origin:*",
                 headers=[("Origin", "https://elsewhere.test")])
    assert other.header("Access-Control-Allow-Origin") is None
    failed = call(gateway, "GET", "/slow?echo_sleep=1.5", headers=[("Origin", ORIGIN)])
    assert failed.status == 503 and failed.header("Access-Control-Allow-Origin") == ORIGIN


# -- throttling ------------------------------------------------------------------------------------------------


def test_a_route_throttled_by_its_route_settings_is_429_and_others_are_not(gateway):
    assert call(gateway, "GET", "/limited").status == 200
    throttled = call(gateway, "GET", "/limited")
    assert (throttled.status, throttled.json()) == (429, {"message": "Too Many Requests"})
    assert call(gateway, "GET", "/pets/dog/1").status == 200
    assert call(gateway, "GET", "/prod/limited").status == 200  # the prod stage sets no limit

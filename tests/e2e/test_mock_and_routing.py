"""MOCK integrations, request routing and gateway responses end to end against `apiway serve`.

AWS behaviour checked against the spec (§1.2, §1.4.3, §1.5, §1.8, §2.2, §4.8) and the recorded AWS
responses (INDEX rows 1, 2, 3)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.echo_backend import start_gateway
from tests.support import Reply, Server, request

BASIC = "routebasic1"
SIBLINGS = "routesib1"
MOCK = "mockapi1"
CUSTOM = "customgr1"
STAGE = "s"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    apis = [
        {"openapi": "routing_basic.yaml", "id": BASIC, "stages": {STAGE: {}}},
        {"openapi": "routing_siblings.yaml", "id": SIBLINGS, "stages": {STAGE: {}}},
        {"openapi": "mock.yaml", "id": MOCK, "stages": {
            STAGE: {"variables": {"mockStatus": "200"}},
            "ok": {"variables": {"mockStatus": "200"}},
            "missing": {"variables": {"mockStatus": "404"}},
            "broken": {"variables": {"mockStatus": "500"}},
            "created": {"variables": {"mockStatus": "201"}},
        }},
        {"openapi": "gateway_responses.yaml", "id": CUSTOM, "stages": {STAGE: {"variables": {"flavor": "mint"}}}},
    ]
    server = start_gateway(tmp_path_factory.mktemp("mock_routing"), apis)
    yield server
    server.stop()


def assert_gateway_error(reply: Reply, status: int, message: str, error_type: str | None) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.json() == {"message": message}
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("x-amzn-ErrorType") == error_type
    assert uuid.UUID(reply.header("x-amzn-RequestId"))
    assert len(reply.header("x-amz-apigw-id")) == 16


def assert_missing_token(reply: Reply) -> None:
    assert_gateway_error(reply, 403, "Missing Authentication Token", "MissingAuthenticationTokenException")


# -- MOCK ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "status", "selected"),
    [("ok", 200, "default"), ("created", 200, "default"), ("missing", 404, "4xx"), ("broken", 503, "5xx")],
)
def test_mock_status_code_selects_the_integration_response(gateway, stage, status, selected):
    """§4.8/§1.5: the request template's `statusCode` (here from a stage variable) is matched as a
    string against each selectionPattern (`4\\d{2}`, `5\\d{2}`); no match → the default response."""
    reply = gateway.call("GET", MOCK, stage, "/status")
    assert reply.status == status
    assert reply.json()["selected"] == selected
    assert reply.header("Content-Type") == "application/json"
    if selected == "4xx":
        assert reply.json()["stage"] == "missing"
        assert reply.header("X-Selected") == "4xx"
    assert reply.header("x-amzn-ErrorType") is None


def test_mock_response_carries_the_default_headers(gateway):
    """§2.2 / recorded row 11: a MOCK response has x-amzn-RequestId (a UUID) and x-amz-apigw-id
    (16 characters ending in '='), but no X-Amzn-Trace-Id."""
    reply = gateway.call("GET", MOCK, STAGE, "/status")
    assert reply.status == 200
    assert uuid.UUID(reply.header("x-amzn-RequestId"))
    apigw_id = reply.header("x-amz-apigw-id")
    assert len(apigw_id) == 16 and apigw_id.endswith("=")
    assert reply.header("X-Amzn-Trace-Id") is None


def test_mock_without_request_template_answers_200(gateway):
    """§4.8: a MOCK with no request template selects status 200."""
    reply = gateway.call("GET", MOCK, STAGE, "/no-template")
    assert reply.status == 200
    assert reply.json() == {"status": "no request template"}


def test_mock_no_match_and_no_default_is_500(gateway):
    """§1.5: statusCode 500 matches no selectionPattern and there is no default integration response →
    500 `Internal server error` (API_CONFIGURATION_ERROR, InternalServerErrorException)."""
    assert_gateway_error(gateway.call("GET", MOCK, STAGE, "/no-default"), 500, "Internal server error",
                         "InternalServerErrorException")


def test_mock_template_that_is_not_json_is_500(gateway):
    """§4.8: a request template whose output has no integer statusCode → 500 `Internal server error`."""
    assert_gateway_error(gateway.call("GET", MOCK, STAGE, "/bad-template"), 500, "Internal server error",
                         "InternalServerErrorException")


# -- passthrough behaviour ---------------------------------------------------------------------------


def post(gateway: Server, path: str, content_type: str | None, api: str = MOCK) -> Reply:
    headers = {"Content-Type": content_type} if content_type else {}
    return gateway.call("POST", api, STAGE, path, headers=headers, body='{"a": 1}')


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_never_with_unmatched_content_type_is_415(gateway, content_type):
    """§1.4.3: passthroughBehavior NEVER and no template for the request's Content-Type → 415
    `{"message":"Unsupported Media Type"}`."""
    reply = post(gateway, "/never", content_type)
    assert reply.status == 415
    assert reply.json() == {"message": "Unsupported Media Type"}
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("x-amzn-ErrorType")


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON", None])
def test_never_with_matching_content_type_applies_the_template(gateway, content_type):
    """§1.4.3: NEVER with a template for the Content-Type (parameters ignored; application/json assumed
    when absent) applies it (recorded row 3: all behaviours agree when a JSON template matches)."""
    reply = post(gateway, "/never", content_type)
    assert reply.status == 200
    assert reply.json() == {"passed": "never"}


def test_never_without_templates_is_415(gateway):
    """§1.4.3: NEVER and no templates at all → 415, even for application/json."""
    reply = post(gateway, "/never-no-templates", "application/json")
    assert reply.status == 415
    assert reply.json() == {"message": "Unsupported Media Type"}


def test_when_no_templates_with_templates_but_no_match_is_415(gateway):
    """§1.4.3: WHEN_NO_TEMPLATES, templates defined, Content-Type unmatched → 415; matched → applied."""
    reply = post(gateway, "/when-no-templates", "text/plain")
    assert reply.status == 415
    assert reply.json() == {"message": "Unsupported Media Type"}
    ok = post(gateway, "/when-no-templates", "application/json")
    assert ok.status == 200
    assert ok.json() == {"passed": "when_no_templates"}


def test_when_no_templates_without_templates_passes(gateway):
    """§1.4.3: WHEN_NO_TEMPLATES with no templates passes any Content-Type through."""
    reply = post(gateway, "/when-no-templates-none", "text/plain")
    assert reply.status == 200
    assert reply.json() == {"passed": "no templates"}


def test_when_no_match_passes_unmatched_and_templates_matched(gateway):
    """§1.4.3: WHEN_NO_MATCH applies the template for a matching Content-Type (statusCode 201 selects
    the 201 response) and passes anything else through (MOCK status 200, default response)."""
    applied = post(gateway, "/when-no-match", "application/json")
    assert applied.status == 201
    assert applied.json() == {"template": "applied"}
    passed = post(gateway, "/when-no-match", "text/plain")
    assert passed.status == 200
    assert passed.json() == {"template": "passed through"}


# -- routing -----------------------------------------------------------------------------------------


def test_existing_route_answers(gateway):
    """Recorded row 1 (`working-route`): GET /existing → 200 `{"message":"exists","statusCode":200}`."""
    reply = gateway.call("GET", BASIC, STAGE, "/existing")
    assert reply.status == 200
    assert reply.json() == {"message": "exists", "statusCode": 200}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/random-non-existing"),
        ("POST", "/existing"),
        ("DELETE", "/existing"),
        ("GET", "/existing/child"),
        ("GET", "/"),
        ("GET", ""),
    ],
)
def test_unknown_route_or_method_is_missing_authentication_token(gateway, method, path):
    """Recorded row 1 (`not-found`, `wrong-method`): an unknown path, or a known path without the
    method, → 403 `{"message":"Missing Authentication Token"}` with x-amzn-ErrorType
    MissingAuthenticationTokenException (never 404/405)."""
    assert_missing_token(gateway.call(method, BASIC, STAGE, path))


def test_trailing_slash_is_ignored(gateway):
    """§1.2: a trailing slash is ignored for matching (`/existing/` routes like `/existing`)."""
    reply = gateway.call("GET", BASIC, STAGE, "/existing/")
    assert reply.status == 200
    assert reply.json() == {"message": "exists", "statusCode": 200}
    assert siblings(gateway, "POST", "/test/") == {"message": "static request", "resource": "/test", "method": "POST"}


def test_path_style_url_routes_the_same(gateway):
    """The path-style invoke URL routes like the host-style one."""
    reply = request(gateway.port, "GET", gateway.path_url(BASIC, STAGE, "/existing"))
    assert reply.status == 200 and reply.json()["message"] == "exists"
    assert_missing_token(request(gateway.port, "GET", gateway.path_url(BASIC, STAGE, "/missing")))


def siblings(gateway: Server, method: str, path: str) -> dict:
    reply = gateway.call(method, SIBLINGS, STAGE, path)
    assert reply.status == 200, (method, path, reply.status, reply.body)
    return reply.json()


@pytest.mark.parametrize(
    ("method", "path", "kind", "resource"),
    [
        # Recorded row 2, first API.
        ("OPTIONS", "/test", "proxy", "/{proxy+}"),
        ("POST", "/test", "static", "/test"),
        ("GET", "/test", "proxy", "/{proxy+}"),
        ("OPTIONS", "/test/any", "any", "/test/any"),
        ("GET", "/test/any", "any", "/test/any"),
        # Recorded row 2, second API.
        ("GET", "/part1", "part1", "/part1"),
        ("GET", "/part1/hardcoded-value", "hardcoded", "/part1/hardcoded-value"),
        ("GET", "/part1/random-value", "proxy", "/{proxy+}"),
        # Literal beats {param} beats {proxy+}.
        ("GET", "/items/special", "literal", "/items/special"),
        ("GET", "/items/42", "param", "/items/{id}"),
        ("GET", "/items/special/detail", "param-detail", "/items/{id}/detail"),
        ("GET", "/items/42/detail", "param-detail", "/items/{id}/detail"),
        ("GET", "/items/42/other", "proxy", "/{proxy+}"),
        ("GET", "/items", "proxy", "/{proxy+}"),
        ("GET", "/a/b/c/d", "proxy", "/{proxy+}"),
        ("OPTIONS", "/items/42", "proxy", "/{proxy+}"),
    ],
)
def test_route_precedence_and_method_fall_through(gateway, method, path, kind, resource):
    """Recorded row 2 and §1.2: a literal segment beats `{param}`, which beats `{proxy+}`; a resource
    without the request's method (and no ANY) falls through to the sibling greedy resource; ANY on a
    child catches OPTIONS and GET."""
    data = siblings(gateway, method, path)
    assert data == {"message": f"{kind} request", "resource": resource, "method": method}


@pytest.mark.parametrize("method", ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"])
def test_any_covers_every_method(gateway, method):
    """§1.2: ANY covers DELETE, GET, HEAD, OPTIONS, PATCH, POST and PUT."""
    reply = gateway.call(method, SIBLINGS, STAGE, "/test/any")
    assert reply.status == 200
    if method != "HEAD":
        assert reply.json() == {"message": "any request", "resource": "/test/any", "method": method}


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_greedy_root_proxy_does_not_match_the_root(gateway, method):
    """§1.2: `/{proxy+}` doesn't match the bare root `/` (which has no method here)."""
    assert_missing_token(gateway.call(method, SIBLINGS, STAGE, "/"))


def test_greedy_proxy_without_the_method_is_missing_authentication_token(gateway):
    """A path only the greedy resource could serve, with a method it doesn't have → 403."""
    assert_missing_token(gateway.call("DELETE", SIBLINGS, STAGE, "/items/42"))


# -- stages, request ids, gateway responses ------------------------------------------------------------


@pytest.mark.parametrize("api", [BASIC, CUSTOM])
def test_unknown_stage_is_forbidden(gateway, api):
    """An invoke URL naming a stage that doesn't exist → 403 `{"message":"Forbidden"}`
    (ForbiddenException)."""
    assert_gateway_error(gateway.call("GET", api, "nostage", "/existing"), 403, "Forbidden", "ForbiddenException")


def test_client_request_id_uuid_is_used_and_echoed(gateway):
    """§2.2: a client-supplied UUID in x-amzn-RequestId becomes `$context.requestId` and is echoed."""
    rid = str(uuid.uuid4())
    reply = gateway.call("GET", MOCK, STAGE, "/request-id", headers={"x-amzn-RequestId": rid})
    assert reply.header("x-amzn-RequestId") == rid
    assert reply.json() == {"requestId": rid}


def test_client_request_id_that_is_not_a_uuid_is_replaced(gateway):
    """§2.2: a non-UUID x-amzn-RequestId is not used; the gateway makes its own."""
    reply = gateway.call("GET", MOCK, STAGE, "/request-id", headers={"x-amzn-RequestId": "not-a-uuid"})
    rid = reply.header("x-amzn-RequestId")
    assert rid != "not-a-uuid" and uuid.UUID(rid)
    assert reply.json() == {"requestId": rid}


def test_request_ids_differ_per_request(gateway):
    """Each request gets its own x-amzn-RequestId and x-amz-apigw-id."""
    a = gateway.call("GET", MOCK, STAGE, "/request-id")
    b = gateway.call("GET", MOCK, STAGE, "/request-id")
    assert a.header("x-amzn-RequestId") != b.header("x-amzn-RequestId")
    assert a.header("x-amz-apigw-id") != b.header("x-amz-apigw-id")


def test_client_request_id_is_echoed_on_gateway_errors(gateway):
    """The client's request id is also the id of a gateway error response."""
    rid = str(uuid.uuid4())
    reply = gateway.call("GET", BASIC, STAGE, "/nowhere", headers={"x-amzn-RequestId": rid})
    assert_missing_token(reply)
    assert reply.header("x-amzn-RequestId") == rid


def test_customised_gateway_response(gateway):
    """§1.8: a customised MISSING_AUTHENTICATION_TOKEN uses its status (404), its static and mapped
    headers (`'*'`, stageVariables.x, method.request.header.x) and its template, where
    `$context.requestId`, `$context.error.responseType` and `$context.stage` are substituted; the
    x-amzn-ErrorType stays."""
    rid = str(uuid.uuid4())
    reply = gateway.call("GET", CUSTOM, STAGE, "/nothing-here", headers={"X-Echo": "echoed", "x-amzn-RequestId": rid})
    assert reply.status == 404
    assert reply.json() == {"message": "No such route", "requestId": rid, "type": "MISSING_AUTHENTICATION_TOKEN",
                            "stage": STAGE}
    assert reply.header("Access-Control-Allow-Origin") == "*"
    assert reply.header("X-Flavor") == "mint"
    assert reply.header("X-Echo") == "echoed"
    assert reply.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert reply.header("x-amzn-RequestId") == rid
    assert reply.header("Content-Type") == "application/json"


def test_default_4xx_is_inherited_by_uncustomised_4xx_types(gateway):
    """§1.8: a 4xx type without its own customisation (UNSUPPORTED_MEDIA_TYPE) takes DEFAULT_4XX's
    headers and template, keeping its own status (415) and message."""
    reply = post(gateway, "/never", "text/plain", api=CUSTOM)
    assert reply.status == 415
    assert reply.json() == {"family": "4xx", "message": "Unsupported Media Type", "flavor": "mint"}
    assert reply.header("X-Family") == "4xx"
    assert reply.header("Content-Type") == "application/json"


def test_default_4xx_does_not_touch_5xx_types(gateway):
    """§1.8: DEFAULT_4XX customisations don't apply to 5xx responses, which keep AWS's defaults."""
    reply = gateway.call("GET", CUSTOM, STAGE, "/no-default")
    assert_gateway_error(reply, 500, "Internal server error", "InternalServerErrorException")
    assert reply.header("X-Family") is None


def test_uncustomised_api_keeps_default_gateway_responses(gateway):
    """Customisations belong to their API: another API's 415 keeps the default body and headers."""
    reply = post(gateway, "/never", "text/plain")
    assert reply.status == 415
    assert reply.json() == {"message": "Unsupported Media Type"}
    assert reply.header("X-Family") is None

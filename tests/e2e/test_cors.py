"""CORS on a REST API (spec §9.1) needs nothing of its own: it is configuration that the ordinary
pipeline serves. This runs examples/cors as it is: OPTIONS methods answered by MOCK integrations with
`'…'` literal header mappings, Access-Control-Allow-Origin mapped onto the actual responses, and the
DEFAULT_4XX / DEFAULT_5XX gateway responses carrying the CORS headers so API Gateway's own errors
are readable cross-origin; a Lambda proxy integration sets its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import REPO, Reply, Server

EXAMPLE = REPO / "examples" / "cors" / "apiway.yaml"
ALLOW_HEADERS = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token"
PREFLIGHT = {"Origin": "https://app.example.org", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type"}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(EXAMPLE, tmp_path_factory.mktemp("cors") / "state.db")
    yield server
    server.stop()


def call(gateway: Server, method: str, path: str, **kw) -> Reply:
    return gateway.call(method, gateway.api_ids["CorsExample"], "dev", path, **kw)


def assert_cors(reply: Reply, methods: str = "GET,POST,OPTIONS") -> None:
    assert reply.header("Access-Control-Allow-Origin") == "*"
    assert reply.header("Access-Control-Allow-Methods") == methods
    assert reply.header("Access-Control-Allow-Headers") == ALLOW_HEADERS


@pytest.mark.parametrize(("path", "methods"), [("/pets", "GET,POST,OPTIONS"), ("/pets/42", "GET,OPTIONS"),
                                               ("/hello", "GET,OPTIONS")])
def test_preflight_is_answered_by_the_options_mock(gateway, path, methods):
    reply = call(gateway, "OPTIONS", path, headers=PREFLIGHT)
    assert reply.status == 200
    assert_cors(reply, methods)
    assert reply.body == b""


def test_actual_requests_carry_allow_origin(gateway):
    listed = call(gateway, "GET", "/pets", headers={"Origin": "https://app.example.org"})
    assert listed.status == 200 and listed.json()[0]["name"] == "Rex"
    assert listed.header("Access-Control-Allow-Origin") == "*"
    one = call(gateway, "GET", "/pets/7")
    assert one.json() == {"id": "7", "name": "Rex"} and one.header("Access-Control-Allow-Origin") == "*"
    created = call(gateway, "POST", "/pets", headers={"Content-Type": "application/json"}, body='{"name": "Kit"}')
    assert created.status == 201 and created.header("Access-Control-Allow-Origin") == "*"


def test_proxy_integration_returns_its_own_headers(gateway):
    reply = call(gateway, "GET", "/hello?name=cors")
    assert reply.json() == {"hello": "cors"} and reply.header("Access-Control-Allow-Origin") == "*"
    assert reply.header("Access-Control-Allow-Methods") is None  # nothing added by the gateway


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("DELETE", "/pets"), ("OPTIONS", "/nowhere")])
def test_missing_authentication_token_carries_cors_via_default_4xx(gateway, method, path):
    """No route (or no such verb, or a preflight for a resource without OPTIONS): 403 Missing
    Authentication Token, with DEFAULT_4XX's headers."""
    reply = call(gateway, method, path, headers=PREFLIGHT)
    assert reply.status == 403
    assert reply.json() == {"message": "Missing Authentication Token"}
    assert reply.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert_cors(reply)


def test_request_validation_error_carries_cors_via_default_4xx(gateway):
    reply = call(gateway, "POST", "/pets", headers={"Content-Type": "application/json"}, body='{"nickname": 1}')
    assert reply.status == 400
    assert reply.json() == {"message": "Invalid request body"}
    assert_cors(reply)

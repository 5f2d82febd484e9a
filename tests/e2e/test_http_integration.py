"""HTTP (non-proxy) integrations end to end: a real `apiway serve` in front of a real echo backend.

AWS behaviour checked against the spec (§1.4.2, §1.4.3, §1.5, §2.3, §2.4) and the recorded AWS
responses (INDEX rows 14, 16, 17, 19)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs

import orjson
import pytest

from tests.e2e.echo_backend import EchoServer, echoed, header_names, header_values, start_gateway
from tests.support import Reply, Server

API = "httpinteg1"
STAGE = "s"
# What AWS sends an HTTP backend when nothing is mapped: its defaults and its own headers.
GATEWAY_HEADERS = {"host", "accept", "user-agent", "content-type", "content-length", "x-amzn-apigateway-api-id",
                   "x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}


@pytest.fixture(scope="module")
def gateway(backend: EchoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    variables = {"backend": backend.address, "flavor": "vanilla"}
    server = start_gateway(tmp_path_factory.mktemp("http_integration"),
                           [{"openapi": "http_integration.yaml", "id": API,
                             "stages": {STAGE: {"variables": variables}}}])
    yield server
    server.stop()


def call(gateway: Server, method: str, path: str, **kw) -> Reply:
    return gateway.call(method, API, STAGE, path, **kw)


CLIENT_HEADERS = {
    "Accept": "application/xml",
    "User-Agent": "test/integration",
    "Authorization": "Bearer token",
    "X-Custom": "custom",
    "Content-Type": "application/json",
}


# -- what reaches the backend --------------------------------------------------------------------


def test_the_client_gets_back_the_trace_id_the_backend_was_sent(gateway):
    """Spec §12 (trace header): one trace id per request, forwarded to the integration and returned to the
    client on a non-proxy success."""
    reply = call(gateway, "GET", "/plain")
    [sent] = header_values(echoed(reply), "X-Amzn-Trace-Id")
    assert reply.header("X-Amzn-Trace-Id") == sent


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_only_default_headers_reach_the_backend(gateway, backend, method):
    """Recorded rows 17/19 (HTTP): with no mappings the backend sees the integration method (POST for a
    GET/POST/PUT client), `Accept: application/json`, `User-Agent: AmazonAPIGateway_{apiId}`, the
    client's Content-Type and the body; no other client header and not the client's query string."""
    body = '{"message": "hello world"}'
    record = echoed(call(gateway, method, "/plain?client=query", headers=CLIENT_HEADERS, body=body))
    assert record["method"] == "POST"
    assert record["path"] == "/plain"
    assert record["query"] == ""
    assert header_names(record) <= GATEWAY_HEADERS, header_names(record) - GATEWAY_HEADERS
    assert header_values(record, "Accept") == ["application/json"]
    assert header_values(record, "User-Agent") == [f"AmazonAPIGateway_{API}"]
    assert header_values(record, "Content-Type") == ["application/json"]
    assert header_values(record, "Host") == [backend.address]
    assert header_values(record, "X-Amzn-Apigateway-Api-Id") == [API]
    assert len(header_values(record, "X-Amzn-Trace-Id")) == 1
    assert record["body"] == body


def test_get_integration_sends_no_content_type(gateway):
    """Recorded row 14 (`no-param-integration`, HTTP): a GET integration request carries Accept,
    User-Agent and the gateway's headers, but not the client's Content-Type."""
    record = echoed(call(gateway, "GET", "/get-target", headers=CLIENT_HEADERS))
    assert record["method"] == "GET"
    assert header_names(record) <= GATEWAY_HEADERS - {"content-type"}
    assert header_values(record, "Accept") == ["application/json"]
    assert header_values(record, "User-Agent") == [f"AmazonAPIGateway_{API}"]


def test_mapped_parameters_reach_the_backend(gateway):
    """§1.4.2: path, querystring and header mappings from method request values, literals, stage
    variables and `context.requestId`; a mapping whose source is missing sends nothing; a mapped
    User-Agent replaces the default; unmapped client query parameters and headers stay behind; mapped
    Expect and TE are still not sent while a mapped Max-Forwards is (recorded row 14, `full-integration`)."""
    reply = call(gateway, "GET", "/mapped/42?search=hello%20world&other=1",
                 headers={"X-In": "in-value", "X-Other": "not forwarded"})
    record = echoed(reply)
    assert record["path"] == "/items/42"
    assert parse_qs(record["query"], keep_blank_values=True) == {"q": ["hello world"]}
    assert header_values(record, "X-Mapped") == ["in-value"]
    assert header_values(record, "X-Static") == ["literal value"]
    assert header_values(record, "X-Flavor") == ["vanilla"]
    assert header_values(record, "X-Request-Id") == [reply.header("x-amzn-RequestId")]
    assert header_values(record, "User-Agent") == ["custom-agent/1.0"]
    assert header_values(record, "Max-Forwards") == ["3"]
    names = header_names(record)
    for absent in ("x-empty", "x-other", "x-in", "expect", "te"):
        assert absent not in names, absent


def test_mapped_path_value_is_encoded_into_the_uri(gateway):
    """A path parameter is decoded for mapping and percent-encoded again in the integration URI."""
    record = echoed(call(gateway, "GET", "/mapped/a%20b%3Fc%23d%25"))
    assert record["path"] == "/items/a%20b%3Fc%23d%25"


def test_request_template_shapes_the_backend_body(gateway):
    """§1.4.3: with a template for the request's Content-Type (application/json when absent) the
    rendered template is the integration body."""
    expected = {"api": API, "stage": STAGE, "flavor": "vanilla"}
    for headers in ({"Content-Type": "application/json"}, {"Content-Type": "application/json; charset=utf-8"}, {}):
        record = echoed(call(gateway, "POST", "/request-template", headers=headers, body='{"ignored": true}'))
        assert orjson.loads(record["body"]) == expected


def test_passthrough_never_rejects_an_unmatched_content_type(gateway, backend):
    """§1.4.3: passthroughBehavior NEVER and no template for `text/plain` → 415
    `{"message":"Unsupported Media Type"}`; the backend is not called."""
    before = len(backend.requests)
    reply = call(gateway, "POST", "/request-template", headers={"Content-Type": "text/plain"}, body="hi")
    assert reply.status == 415
    assert reply.json() == {"message": "Unsupported Media Type"}
    assert len(backend.requests) == before


# -- integration responses -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 400, 404, 500])
def test_default_integration_response_hides_the_backend_status(gateway, status):
    """Recorded row 16 (HTTP): with only a default 200 integration response a backend 400 (or any
    status) reaches the client as 200, the backend body passed through."""
    reply = call(gateway, "GET", f"/status/{status}")
    assert reply.status == 200
    assert reply.json()["path"] == f"/status/{status}"
    assert reply.header("x-amzn-ErrorType") is None


@pytest.mark.parametrize(
    ("backend_status", "client_status", "body"),
    [
        (200, 200, None),
        (201, 200, None),
        (400, 400, {"error": "client"}),
        (404, 400, {"error": "client"}),
        (500, 502, {"error": "backend"}),
        (503, 502, {"error": "backend"}),
    ],
)
def test_selection_pattern_matches_the_backend_status(gateway, backend_status, client_status, body):
    """§1.5: the backend status code, as a string, is fully matched against each selectionPattern
    (`4\\d{2}`, `5\\d{2}`); no match falls to the default response."""
    reply = call(gateway, "GET", f"/selected/{backend_status}")
    assert reply.status == client_status
    data = reply.json()
    if body is None:
        assert data["path"] == f"/status/{backend_status}"
    else:
        assert {k: v for k, v in data.items() if k != "requestId"} == body
        if client_status == 400:
            assert data["requestId"] == reply.header("x-amzn-RequestId")
    assert reply.header("Content-Type") == "application/json"


def test_no_matching_integration_response_and_no_default_is_a_500(gateway):
    """§1.5: no selectionPattern matches and there is no default → 500 `Internal server error`
    (API_CONFIGURATION_ERROR)."""
    ok = call(gateway, "GET", "/no-default/204")
    assert ok.status == 200
    reply = call(gateway, "GET", "/no-default/404")
    assert reply.status == 500
    assert reply.json() == {"message": "Internal server error"}
    assert reply.header("x-amzn-ErrorType") == "InternalServerErrorException"


def test_response_parameters_and_static_template(gateway):
    """§1.4.2/§1.5: `'literal'` and `integration.response.header.X` response parameters set client
    headers (a missing source header sets nothing); the response template is rendered with
    `$context` and `$stageVariables`; reserved names set by mapping come back as x-amzn-Remapped-*
    (recorded row 14, `full-integration`: User-Agent, Content-MD5); backend headers that are not
    mapped don't reach the client; X-Amzn-Trace-Id is on the response."""
    reply = call(gateway, "GET", "/templated")
    assert reply.status == 201
    assert reply.json() == {"stage": STAGE, "flavor": "vanilla", "requestId": reply.header("x-amzn-RequestId"),
                            "resourcePath": "/templated"}
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("X-Literal") == "literal-value"
    assert reply.header("X-From-Backend") == "from-backend"
    assert reply.header("X-Missing") is None
    # sources from the backend's JSON body, $context and stage variables
    assert reply.header("X-Body-Method") == "GET"
    assert reply.header("X-First-Header") == "Accept"  # a JSONPath with indexes into the backend's answer
    assert reply.header("X-Stage") == STAGE
    assert reply.header("X-Flavor") == "vanilla"
    assert reply.header("x-amzn-Remapped-User-Agent") == "ua-literal"
    assert reply.header("User-Agent") is None
    assert reply.header("x-amzn-Remapped-Content-MD5") == "md5-literal"
    assert reply.header("Content-MD5") is None
    assert reply.header("X-Backend-Header") is None
    assert reply.header("X-Echo-Method") is None
    assert not [k for k, _ in reply.headers if k.lower().startswith("x-amzn-remapped-") and
                k.lower() not in ("x-amzn-remapped-user-agent", "x-amzn-remapped-content-md5")]
    assert reply.header("X-Amzn-Trace-Id").startswith("Root=1-")
    assert uuid.UUID(reply.header("x-amzn-RequestId"))
    assert len(reply.header("x-amz-apigw-id")) == 16


def test_backend_response_headers_do_not_leak_without_mapping(gateway):
    """Recorded row 14 (`no-param-integration`, HTTP): the client gets the gateway's headers only —
    the backend's Server, Date and custom headers are neither passed nor remapped."""
    reply = call(gateway, "GET", "/plain")
    assert reply.status == 200
    names = {k.lower() for k, _ in reply.headers}
    assert "x-echo-method" not in names and "server" not in names
    assert not [n for n in names if n.startswith("x-amzn-remapped-")]
    assert {"content-type", "date", "x-amzn-requestid", "x-amz-apigw-id", "x-amzn-trace-id"} <= names


def test_timeout_gives_504(gateway):
    """timeoutInMillis 300 on a backend that sleeps 2 s: 504 `Endpoint request timed out` in well under
    a second; the next request is served."""
    started = time.monotonic()
    reply = call(gateway, "GET", "/timeout")
    assert time.monotonic() - started < 1.2
    assert reply.status == 504
    assert reply.json() == {"message": "Endpoint request timed out"}
    assert reply.header("x-amzn-ErrorType") == "InternalServerErrorException"
    assert echoed(call(gateway, "GET", "/plain"))["path"] == "/plain"

"""HTTP_PROXY end to end: a real `apiway serve` in front of a real echo backend.

AWS behaviour checked against the spec (§1.4, §2.2 to §2.4) and the recorded AWS responses (INDEX rows
14, 16, 17, 18, 19)."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, quote

import pytest

from tests.e2e.echo_backend import EchoServer, echoed, header_names, header_values, start_gateway
from tests.support import Reply, Server, free_port, request

API = "httpproxy1"
STAGE = "s"


@pytest.fixture(scope="module")
def gateway(backend: EchoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    variables = {"backend": backend.address, "deadport": str(free_port())}
    server = start_gateway(tmp_path_factory.mktemp("http_proxy"),
                           [{"openapi": "http_proxy.yaml", "id": API, "stages": {STAGE: {"variables": variables}}}])
    yield server
    server.stop()


def call(gateway: Server, method: str, path: str, **kw) -> Reply:
    return gateway.call(method, API, STAGE, path, **kw)


def assert_gateway_error(reply: Reply, status: int, message: str, error_type: str) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.json() == {"message": message}
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("x-amzn-ErrorType") == error_type
    assert uuid.UUID(reply.header("x-amzn-RequestId"))
    assert reply.header("x-amz-apigw-id")


# -- method --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_any_method_with_integration_any_passes_the_client_method(gateway, method):
    """HTTP_PROXY with integration method ANY sends the client's own method to the backend."""
    record = echoed(call(gateway, method, "/proxy/method", body="{}" if method in ("POST", "PUT", "PATCH") else None))
    assert record["method"] == method
    assert record["path"] == "/method"


def test_head_passes_through_without_a_body(gateway):
    """HEAD reaches the backend as HEAD; the client gets the backend's headers and no body."""
    reply = call(gateway, "HEAD", "/proxy/head")
    assert reply.status == 200
    assert reply.header("X-Echo-Method") == "HEAD"
    assert reply.body == b""


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_integration_method_overrides_the_client_method(gateway, method):
    """Method ANY with integration method POST: the backend sees POST whatever the client used
    (recorded row 17, `http-invocation-lambda-url-{get,post,put}` all show POST)."""
    record = echoed(call(gateway, method, "/fixed-method", headers={"Content-Type": "application/json"},
                         body='{"message": "hello world"}'))
    assert record["method"] == "POST"
    assert record["path"] == "/fixed"
    assert record["body"] == '{"message": "hello world"}'


# -- path and query -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_path", "backend_path"),
    [
        ("/proxy/a", "/a"),
        ("/proxy/a/b/c", "/a/b/c"),
        ("/proxy/deep/er/and/deeper/file.json", "/deep/er/and/deeper/file.json"),
        ("/proxy/with%20space/caf%C3%A9", "/with%20space/caf%C3%A9"),
        ("/proxy/percent/100%25", "/percent/100%25"),
        ("/proxy/dir/", "/dir"),
    ],
)
def test_greedy_path_is_substituted_into_the_uri(gateway, request_path, backend_path):
    """`{proxy+}` captures the rest of the path (nested segments included) and fills `{proxy}` in the
    integration URI; decoded path values are percent-encoded again for the backend request, and a
    trailing slash is ignored for matching."""
    record = echoed(call(gateway, "GET", request_path))
    assert record["path"] == backend_path


@pytest.mark.parametrize(
    ("request_path", "backend_path"),
    [
        ("/jail/%2e%2e/%2e%2e/secret", "/base/secret"),  # encoded dot-segments
        ("/jail/%2E%2E/%2e%2E/secret", "/base/secret"),  # in mixed case
        ("/jail/../../secret", "/base/secret"),  # sent as is
        ("/jail/a/b/../../../secret", "/base/secret"),
        ("/jail/./a/./b", "/base/a/b"),
        ("/jail/..%2F..%2Fsecret", "/base/secret"),  # encoded slashes beside dot-segments
        ("/jail/%2e%2e%2f%2e%2e%2fsecret", "/base/secret"),
        ("/jail/a%2Fb", "/base/a%2Fb"),  # an encoded slash alone stays data, inside its segment
        ("/jail/%252e%252e/secret", "/base/%252e%252e/secret"),  # double-encoded: data, sent encoded again
        ("/jail/a/..", "/base/"),
        ("/cell/%2e%2e", "/base//end"),
        ("/cell/..%2Fsecret", "/base/secret/end"),
        ("/cell/a%2Fb", "/base/a%2Fb/end"),
    ],
)
def test_path_values_never_climb_above_the_integration_base_path(gateway, request_path, backend_path):
    """Dot-segments in a path value, however encoded, resolve within the value: the backend never gets a
    path above the integration URI's base path. An encoded slash is data (as AWS keeps a path parameter's
    encoding), unless it sits beside a dot-segment, where it is resolved as a separator too."""
    record = echoed(call(gateway, "GET", request_path))
    assert record["path"] == backend_path


def test_client_query_string_is_passed_through(gateway):
    """HTTP_PROXY forwards the client's query string: repeated names, encoded values, blank values."""
    record = echoed(call(gateway, "GET", "/proxy/q?a=1&b=x%20y&a=2&empty=&sym=%26%3D"))
    assert parse_qs(record["query"], keep_blank_values=True) == {
        "a": ["1", "2"], "b": ["x y"], "empty": [""], "sym": ["&="],
    }


def test_mapped_query_and_headers_merge_into_the_proxied_request(gateway):
    """Recorded row 18: path variables fill placeholders in the URI's query, client query values follow
    (`testVar: "foobar,bar"`), mapped query values are appended (`testQs: "bar,foo"`), a mapping whose
    source is missing is dropped (`testEmptyQs`), and a mapped header replaces the same-named client
    header (`headerVar: mapped-value`)."""
    record = echoed(call(
        gateway, "POST", "/mapped/foobar?testQueryString=foo&testVar=bar",
        headers={"Content-Type": "application/json", "foobar": "mapped-value", "headerVar": "request-value",
                 "User-Agent": "test/integration"},
        body='{"message": "hello world"}',
    ))
    assert record["path"] == "/mapped"
    args = {k: ",".join(v) for k, v in parse_qs(record["query"], keep_blank_values=True).items()}
    assert args == {"queryString": "foo", "testQs": "bar,foo", "testQueryString": "foo", "testVar": "foobar,bar"}
    assert header_values(record, "headerVar") == ["mapped-value"]
    assert header_values(record, "foobar") == ["mapped-value"]
    assert header_values(record, "User-Agent") == ["test/integration"]
    assert header_values(record, "X-Static") == ["static-value"]
    # A mapped header whose value is empty or whose source is absent is not sent at all.
    assert "x-empty-literal" not in header_names(record)
    assert "x-not-sent" not in header_names(record)
    assert record["body"] == '{"message": "hello world"}'


# -- request headers -------------------------------------------------------------------------------


def test_request_headers_host_hop_by_hop_and_added_headers(gateway, backend):
    """§2.3/2.4 for HTTP_PROXY: Host is rewritten to the backend; Connection, TE, Upgrade, Expect,
    Max-Forwards, Content-MD5, Trailer, Proxy-Authenticate, WWW-Authenticate, Via and Content-Encoding
    are not forwarded; end-to-end headers pass in order with repeats kept; X-Forwarded-For (the client
    address), X-Forwarded-Port/Proto (the gateway's, not the client's), X-Amzn-Apigateway-Api-Id and
    X-Amzn-Trace-Id (reusing the caller's Root) are added."""
    root = "Root=1-67891233-abcdef012345678912345678"
    headers = [
        ("Accept", "application/xml"),
        ("X-First", "1"),
        ("Authorization", "Bearer not-sigv4"),
        ("X-Multi", "one"),
        ("X-Multi", "two"),
        ("User-Agent", "test/integration"),
        ("Connection", "close"),
        ("TE", "trailers"),
        ("Upgrade", "HTTP/2.0"),
        ("Expect", "100-continue"),
        ("Max-Forwards", "2"),
        ("Content-MD5", "Q2hlY2sgSW50ZWdyaXR5IQ=="),
        ("Trailer", "x-checksum"),
        ("Proxy-Authenticate", "Basic"),
        ("WWW-Authenticate", "Basic realm=x"),
        ("Via", "1.1 some-proxy"),
        ("Content-Encoding", "identity"),
        ("X-Forwarded-Port", "8443"),
        ("X-Amzn-Trace-Id", root),
        ("X-Amzn-Apigateway-Api-Id", "spoofed"),
        ("X-Last", "z"),
    ]
    record = echoed(call(gateway, "GET", "/proxy/headers", headers=headers))
    names = header_names(record)
    assert header_values(record, "Host") == [backend.address]
    for dropped in ("te", "upgrade", "expect", "max-forwards", "content-md5", "trailer", "proxy-authenticate",
                    "www-authenticate", "via", "content-encoding"):
        assert dropped not in names, dropped
    assert "close" not in header_values(record, "Connection")
    # End-to-end headers pass unchanged, in the client's order, repeated names kept.
    passed = [(k, v) for k, v in record["headers"] if k.lower() in
              ("accept", "x-first", "authorization", "x-multi", "user-agent", "x-last")]
    assert passed == [("Accept", "application/xml"), ("X-First", "1"), ("Authorization", "Bearer not-sigv4"),
                      ("X-Multi", "one"), ("X-Multi", "two"), ("User-Agent", "test/integration"), ("X-Last", "z")]
    assert header_values(record, "X-Forwarded-For") == ["127.0.0.1"]
    assert header_values(record, "X-Forwarded-Port") == [str(gateway.port)]
    assert header_values(record, "X-Forwarded-Proto") == ["http"]
    assert header_values(record, "X-Amzn-Apigateway-Api-Id") == [API]
    [trace] = header_values(record, "X-Amzn-Trace-Id")
    assert trace.startswith(root)


def test_trace_id_is_generated_when_the_client_sends_none(gateway):
    """Without an incoming X-Amzn-Trace-Id the gateway starts a new trace (Root=1-{8 hex}-{24 hex})."""
    record = echoed(call(gateway, "GET", "/proxy/trace"))
    [trace] = header_values(record, "X-Amzn-Trace-Id")
    root = trace.split(";")[0]
    assert root.startswith("Root=1-") and len(root) == len("Root=1-") + 8 + 1 + 24
    assert header_values(record, "X-Forwarded-For") == ["127.0.0.1"]


def test_mapped_host_header_replaces_the_backend_host(gateway):
    """Host is rewritten to the integration host unless a parameter mapping sets it (recorded row 14,
    `full-integration`: the backend saw the mapped Host)."""
    record = echoed(call(gateway, "GET", "/host-mapped"))
    assert header_values(record, "Host") == ["custom.example"]


# -- request body ----------------------------------------------------------------------------------


def test_json_body_passes_through(gateway):
    """The request body reaches the backend unchanged, with the client's Content-Type."""
    body = '{"message": "hello world", "n": [1, 2, 3]}'
    record = echoed(call(gateway, "POST", "/proxy/body", headers={"Content-Type": "application/json"}, body=body))
    assert record["body"] == body
    assert header_values(record, "Content-Type") == ["application/json"]
    assert header_values(record, "Content-Length") == [str(len(body))]


def test_one_megabyte_binary_body_passes_through(gateway):
    """A 1 MB binary body (every byte value) reaches the backend byte for byte."""
    body = os.urandom(1024 * 1024) + bytes(range(256))
    record = echoed(call(gateway, "PUT", "/proxy/upload", headers={"Content-Type": "application/octet-stream"},
                         body=body))
    assert record["body_length"] == len(body)
    assert record["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert header_values(record, "Content-Length") == [str(len(body))]


# -- response ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [201, 204, 400, 404, 500, 503])
def test_backend_status_is_passed_through(gateway, status):
    """HTTP_PROXY returns the backend's status and body as they are (recorded row 16: a backend 400
    stays 400); a backend 5xx is not turned into a gateway error."""
    reply = call(gateway, "GET", f"/proxy/status/{status}")
    assert reply.status == status
    assert reply.header("x-amzn-ErrorType") is None
    if status != 204:
        assert reply.json()["path"] == f"/status/{status}"


def test_response_headers_are_remapped_or_passed(gateway):
    """Recorded rows 14/19 for HTTP_PROXY: the backend's Connection, Content-Length, Date, Server and
    x-amzn-RequestId come back as x-amzn-Remapped-*; other headers (Content-Type, Content-MD5, custom
    ones) pass; Via is dropped; the gateway adds its own x-amzn-RequestId and x-amz-apigw-id."""
    query = "&".join(f"echo_header={quote(h)}" for h in (
        "Connection:keep-alive", "x-amzn-RequestId:backend-request-id", "Content-MD5:Q2hlY2s=",
        "X-Custom-Resp:custom", "Cache-Control:no-store", "Via:1.1 cache", "Server:echo-server/9",
    ))
    reply = call(gateway, "GET", f"/proxy/resp?{query}")
    assert reply.status == 200
    assert reply.header("x-amzn-Remapped-Server") == "echo-server/9"
    assert reply.header("x-amzn-Remapped-Connection") == "keep-alive"
    assert reply.header("x-amzn-Remapped-Content-Length") == str(len(reply.body))
    assert reply.header("x-amzn-Remapped-Date")
    assert reply.header("x-amzn-Remapped-x-amzn-RequestId") == "backend-request-id"
    assert reply.header("Server") is None
    assert reply.header("Date")
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("Content-MD5") == "Q2hlY2s="
    assert reply.header("X-Custom-Resp") == "custom"
    assert reply.header("Cache-Control") == "no-store"
    assert reply.header("X-Echo-Method") == "GET"
    assert reply.header("Via") is None
    request_ids = [v for k, v in reply.headers if k.lower() == "x-amzn-requestid"]
    assert len(request_ids) == 1 and uuid.UUID(request_ids[0])
    assert len(reply.header("x-amz-apigw-id")) == 16
    assert reply.header("X-Amzn-Trace-Id") is None  # not added for HTTP_PROXY (row 14)


def test_client_request_id_uuid_is_echoed(gateway):
    """A client-supplied UUID x-amzn-RequestId becomes the request id (§2.2)."""
    rid = str(uuid.uuid4())
    reply = call(gateway, "GET", "/proxy/rid", headers={"x-amzn-RequestId": rid})
    assert reply.header("x-amzn-RequestId") == rid


# -- failures ----------------------------------------------------------------------------------------


def test_timeout_gives_504_and_the_gateway_stays_healthy(gateway):
    """timeoutInMillis 300 against a backend that sleeps 2 s: 504 `Endpoint request timed out` well
    before the backend answers (INTEGRATION_TIMEOUT); later requests are served normally."""
    started = time.monotonic()
    reply = call(gateway, "GET", "/timeout")
    elapsed = time.monotonic() - started
    assert_gateway_error(reply, 504, "Endpoint request timed out", "InternalServerErrorException")
    assert elapsed < 1.2
    for _ in range(3):
        assert echoed(call(gateway, "GET", "/proxy/after-timeout"))["path"] == "/after-timeout"


def test_nothing_listening_gives_500_internal_server_error(gateway):
    """A refused connection is an endpoint configuration error: 500 `Internal server error`
    (API_CONFIGURATION_ERROR, x-amzn-ErrorType InternalServerErrorException)."""
    assert_gateway_error(call(gateway, "GET", "/unreachable"), 500, "Internal server error",
                         "InternalServerErrorException")


def test_dropped_connection_gives_a_5xx_and_the_gateway_stays_healthy(gateway, backend):
    """A backend that closes the connection without answering gives a gateway 5xx `Internal server
    error`; the request is not replayed more than once."""
    before = backend.dropped
    reply = call(gateway, "GET", "/proxy/drop?echo_drop=1")
    assert reply.status in (500, 502)
    assert reply.json() == {"message": "Internal server error"}
    assert reply.header("x-amzn-ErrorType") == "InternalServerErrorException"
    assert 1 <= backend.dropped - before <= 2
    assert echoed(call(gateway, "GET", "/proxy/after-drop"))["path"] == "/after-drop"


@pytest.mark.parametrize("path", ["/content-length", "/transfer-encoding"])
def test_mapping_a_framing_header_is_a_500(gateway, backend, path):
    """Recorded row 14 (`content-length`, `transfer-encoding`): mapping Content-Length or
    Transfer-Encoding gives 500 Internal server error, x-amzn-ErrorType InternalServerErrorException,
    and nothing reaches the backend."""
    before = len(backend.requests)
    assert_gateway_error(call(gateway, "GET", path), 500, "Internal server error", "InternalServerErrorException")
    assert all(r["path"] != path for r in backend.requests[before:])


# -- connection reuse --------------------------------------------------------------------------------


def test_keep_alive_pool_reuses_backend_connections(gateway, backend):
    """20 sequential requests through the gateway use at most 2 TCP connections to the backend."""
    before = backend.connections
    for i in range(20):
        assert echoed(call(gateway, "GET", f"/proxy/pool/{i}"))["path"] == f"/pool/{i}"
    assert backend.connections - before <= 2


def test_unknown_stage_is_forbidden(gateway):
    """A stage that doesn't exist: 403 `Forbidden` (ForbiddenException)."""
    reply = gateway.call("GET", API, "nostage", "/proxy/a")
    assert_gateway_error(reply, 403, "Forbidden", "ForbiddenException")


def test_path_style_url_reaches_the_same_route(gateway):
    """`/restapis/{id}/{stage}/_user_request_/…` routes like the host-style invoke URL."""
    reply = request(gateway.port, "GET", gateway.path_url(API, STAGE, "/proxy/path-style"))
    assert echoed(reply)["path"] == "/path-style"

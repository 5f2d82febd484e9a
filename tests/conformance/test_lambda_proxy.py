"""Lambda proxy (AWS_PROXY) conformance against what AWS recorded.

Ground truth: `test_apigateway_lambda.snapshot.json` in the shared AWS recordings, keys
`test_lambda_aws_proxy_integration` (the 1.0 event a function receives),
`test_aws_proxy_response_payload_format_validation` (how the function's answer is validated) and
`test_lambda_aws_proxy_integration_non_post_method`. The recordings were made on an EDGE API, so
CloudFront's headers (`CloudFront-*`, `Via`, `X-Amz-Cf-*`, `X-Cache`) are ignored, and placeholder values
(`<uuid:1>`, `<host:1>` …) are checked for shape and consistency rather than equality.

One server runs for the whole module, with the project in fixtures/lambda_proxy/.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from apiway.core.media import BinaryTypes
from apiway.events.rest_v1 import parse_proxy_response
from tests.support import SPEC, Reply, Server, request

PROJECT = Path(__file__).parent / "fixtures" / "lambda_proxy" / "apiway.yaml"
ECHO, RESPOND, BINARY, GET_METHOD = "lpecho0001", "lpresp0001", "lpbin00001", "lpget00001"

_SNAPSHOT = json.loads((SPEC / "test_apigateway_lambda.snapshot.json").read_text())


def _recorded(test_name: str) -> dict[str, Any]:
    (key,) = [k for k in _SNAPSHOT if k.endswith("::" + test_name)]
    return _SNAPSHOT[key]["recorded-content"]


EVENTS = _recorded("test_lambda_aws_proxy_integration")
RESPONSES = _recorded("test_aws_proxy_response_payload_format_validation")
NON_POST = _recorded("test_lambda_aws_proxy_integration_non_post_method")

# Headers only an EDGE (CloudFront-fronted) API has; apiway serves like a REGIONAL endpoint.
EDGE_REQUEST_HEADERS = re.compile(r"^(CloudFront-.*|Via|X-Amz-Cf-Id)$")
EDGE_RESPONSE_HEADERS = frozenset(("via", "x-amz-cf-id", "x-amz-cf-pop", "x-cache"))
# Written by the HTTP server itself, not part of what API Gateway decides.
TRANSPORT_RESPONSE_HEADERS = frozenset(("connection", "date", "server"))
# requestContext keys only an EDGE endpoint would add (none appear in these recordings).
EDGE_CONTEXT_KEYS: frozenset[str] = frozenset()
PLACEHOLDER = re.compile(r"^<([A-Za-z-]+)(?::(\d+))?>$")
# Placeholders LocalStack wrote as fixed text (no reference to one value): nothing to bind.
UNBOUND = frozenset(("request-time", "request-time-epoch", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto"))
CLF_TIME = re.compile(r"^\d{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TRACE_ID = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}(;.*)?$")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    state = tmp_path_factory.mktemp("lambda_proxy") / "state.db"
    srv = Server(PROJECT, state)
    yield srv
    srv.stop()


def call(server: Server, api_id: str, method: str, raw_path: str, headers: list[tuple[str, str]] | None = None,
         body: bytes | str | None = None, timeout: float = 10) -> Reply:
    """Send `raw_path` exactly as written (`//stage/x` included), host-style for `api_id`."""
    host = [("Host", f"{api_id}.execute-api.localhost:{server.port}")]
    return request(server.port, method, raw_path, host + list(headers or []), body, timeout=timeout)


# ---------------------------------------------------------------------------------------------------
# 1. The event
# ---------------------------------------------------------------------------------------------------

# What the `requests` client the recording used sends by itself.
REQUESTS_DEFAULTS = [("User-Agent", "python-requests/testing"), ("Accept-Encoding", "gzip, deflate"),
                     ("Accept", "*/*"), ("Connection", "keep-alive")]
GET_HEADERS = [*REQUESTS_DEFAULTS, ("tEsT-HEADeR", "aValUE"), ("authorization", "random-value")]
MULTI_HEADERS = [*REQUESTS_DEFAULTS, ("Content-Type", "application/json;charset=utf-8"),
                 ("aUThorization", "Bearer token123;API key456")]
ENCODED_PARAMS = "&".join([
    "dateTimeOffset=2023-06-12T18:05:10.123456+00:00",
    "email=test%2Balias@gmail.com",
    "plus=test+alias@gmail.com",
    "url=https://www.google.com/",
    "whitespace=foo%20bar",
    "zhash=abort/",  # the client wrote `abort/#ignored=...`: everything after '#' never leaves it
])

# Recorded case → (method, raw path, headers, body), rebuilt from the recorded `requestContext.path`,
# query parameters, headers and body.
EVENT_REQUESTS: dict[str, tuple[str, str, list[tuple[str, str]], str | None]] = {
    "invocation-payload-without-trailing-slash": ("GET", "/stage/proxy-value", GET_HEADERS, None),
    "invocation-payload-with-trailing-slash": ("GET", "/stage/proxy-value/", GET_HEADERS, None),
    "invocation-payload-with-double-slash": ("GET", "/stage/proxy-value//double-slash", GET_HEADERS, None),
    "invocation-payload-with-prepended-slash-to-stage": ("GET", "//stage/proxy-value", GET_HEADERS, None),
    "invocation-payload-with-prepended-slash": ("GET", "/stage//proxy-value", GET_HEADERS, None),
    "invocation-payload-without-trailing-slash-and-query-params": (
        "GET", "/stage/proxy-value?urlparam=test", GET_HEADERS, None),
    "invocation-payload-with-trailing-slash-and-query-params": (
        "GET", "/stage/proxy-value/?urlparam=test", GET_HEADERS, None),
    "invocation-payload-with-path-encoded-email": (
        "GET", "/stage/proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com", GET_HEADERS, None),
    "invocation-payload-with-params-encoding": ("GET", f"/stage/proxy-value/api?{ENCODED_PARAMS}", GET_HEADERS, None),
    "invocation-payload-with-params-encoding-multi": (
        "POST", "/stage/proxy-value?category=electronics&category=books&price=10&price=20&price=30",
        MULTI_HEADERS, json.dumps({"message": "hello world"})),
    "invocation-hardcoded": ("GET", "/stage//hardcoded", GET_HEADERS, None),
}


class Sent:
    """One echo invocation: the reply, the event the function received, and the wall-clock window."""

    def __init__(self, reply: Reply, before_ms: int, after_ms: int) -> None:
        self.reply = reply
        self.event = reply.json()
        self.before_ms = before_ms
        self.after_ms = after_ms


def send(server: Server, api_id: str, method: str, raw_path: str, headers: list[tuple[str, str]],
         body: str | bytes | None = None) -> Sent:
    before = int(time.time() * 1000)
    reply = call(server, api_id, method, raw_path, headers, body)
    after = int(time.time() * 1000)
    assert reply.status == 200, (raw_path, reply.status, reply.body)
    return Sent(reply, before, after)


@pytest.fixture(scope="module")
def recorded_cases(server: Server) -> dict[str, Sent]:
    """Each recorded request, sent once in the recorded order."""
    return {name: send(server, ECHO, *EVENT_REQUESTS[name]) for name in EVENTS}


class Placeholders:
    """Recorded `<kind:N>` values: one placeholder is one value, two placeholders of a kind are two values."""

    def __init__(self) -> None:
        self.bound: dict[str, Any] = {}

    def check(self, recorded: Any, actual: Any, where: str) -> bool:
        """True if `recorded` is a placeholder (now bound or checked); False if it is a literal."""
        if not isinstance(recorded, str):
            return False
        m = PLACEHOLDER.match(recorded)
        if m is None:
            return False
        kind = m.group(1)
        if kind in UNBOUND:
            return True
        assert actual not in (None, ""), f"{where}: {recorded} stands for a value, got {actual!r}"
        if recorded in self.bound:
            assert self.bound[recorded] == actual, f"{where}: {recorded} was {self.bound[recorded]!r}, now {actual!r}"
        else:
            for other, value in self.bound.items():
                if other != recorded and PLACEHOLDER.match(other).group(1) == kind:  # type: ignore[union-attr]
                    assert value != actual, f"{where}: {recorded} and {other} are distinct but both {actual!r}"
            self.bound[recorded] = actual
        return True


def sent_name(headers: list[tuple[str, str]], recorded_name: str) -> str | None:
    return next((n for n, _ in headers if n.lower() == recorded_name.lower()), None)


def compare_event(name: str, sent: Sent, binder: Placeholders) -> None:
    recorded = EVENTS[name]
    event = sent.event
    headers = EVENT_REQUESTS[name][2]

    assert set(event) == set(recorded), "top-level keys"
    for key in ("path", "resource", "httpMethod", "pathParameters", "queryStringParameters",
                "multiValueQueryStringParameters", "isBase64Encoded", "stageVariables"):
        assert event[key] == recorded[key], key
    if isinstance(recorded["body"], dict):  # the recording stored the JSON body parsed
        assert isinstance(event["body"], str) and json.loads(event["body"]) == recorded["body"], "body"
    else:
        assert event["body"] == recorded["body"]

    # requestContext
    ctx, rctx = event["requestContext"], recorded["requestContext"]
    assert set(ctx) == set(rctx) - EDGE_CONTEXT_KEYS, "requestContext keys"
    for key in ("path", "resourcePath", "httpMethod", "stage", "protocol"):
        assert ctx[key] == rctx[key], f"requestContext.{key}"
    assert re.fullmatch(r"\d{12}", ctx["accountId"]), "accountId is a 12-digit account"
    assert ctx["apiId"] == ECHO, "requestContext.apiId"
    for key in ("apiId", "domainPrefix", "deploymentId", "domainName", "extendedRequestId", "requestId", "resourceId"):
        assert binder.check(rctx[key], ctx[key], f"requestContext.{key}")
    identity, ridentity = ctx["identity"], rctx["identity"]
    assert set(identity) == set(ridentity), "identity keys"
    for key, value in ridentity.items():
        assert (identity[key] is None) == (value is None), f"identity.{key} null-ness"
        if not binder.check(value, identity[key], f"identity.{key}"):
            assert identity[key] == value, f"identity.{key}"

    # headers / multiValueHeaders
    for field in ("headers", "multiValueHeaders"):
        got = event[field]
        expected = {k: v for k, v in recorded[field].items() if not EDGE_REQUEST_HEADERS.match(k)}
        assert {k.lower() for k in got} == {k.lower() for k in expected}, f"{field} names"
        by_lower = {k.lower(): k for k in got}
        for rname, rvalue in expected.items():
            gname = by_lower[rname.lower()]
            client_name = sent_name(headers, rname)
            if client_name is not None and rname.lower() != "host":
                # AWS kept the client's casing; only the EDGE front Pascal-cases `authorization`
                # (spec 1.14), so for that one header the client's own casing is accepted too.
                allowed = {rname, client_name} if rname.lower() == "authorization" else {rname}
                assert gname in allowed, f"{field}: {gname!r} should be spelt {rname!r}"
            gvalue = got[gname]
            if field == "multiValueHeaders" and isinstance(rvalue, list):
                assert isinstance(gvalue, list) and len(gvalue) == len(rvalue), f"{field}.{rname}"
                for rv, gv in zip(rvalue, gvalue, strict=True):
                    if not binder.check(rv, gv, f"{field}.{rname}"):
                        assert gv == rv, f"{field}.{rname}"
            elif not binder.check(rvalue, gvalue, f"{field}.{rname}"):
                assert gvalue == rvalue, f"{field}.{rname}"
    assert TRACE_ID.match(event["headers"]["X-Amzn-Trace-Id"])
    assert event["headers"]["Host"] == ctx["domainName"]  # both <host:1> in the recording


@pytest.mark.parametrize("name", list(EVENT_REQUESTS))
def test_event_matches_recording(name: str, recorded_cases: dict[str, Sent]) -> None:
    """AWS (row 20) hands the function the 1.0 proxy event recorded for this request: the same top-level
    and requestContext/identity keys; `path` without the stage (leading '//' collapsed, inner '//' and
    trailing '/' kept, percent-escapes kept); `requestContext.path` with the stage and the path as sent;
    `resource`/`resourcePath` the matched template; `pathParameters.proxy` without trailing slash;
    URL-decoded single/multi query maps or null; null stageVariables; the client's header-name casing;
    Connection and Content-Length dropped; X-Forwarded-* and X-Amzn-Trace-Id added."""
    assert set(EVENTS) == set(EVENT_REQUESTS), "every recorded invocation is reproduced"
    compare_event(name, recorded_cases[name], Placeholders())


def test_placeholders_consistent_across_invocations(recorded_cases: dict[str, Sent]) -> None:
    """Across the 11 recorded invocations AWS used one deployment, one resource id per resource
    (`{proxy+}` vs `/hardcoded`), one domain and source IP, and a fresh requestId/extendedRequestId
    each time — the recording's placeholder indexes say which values are shared."""
    binder = Placeholders()
    for name, sent in recorded_cases.items():
        compare_event(name, sent, binder)


@pytest.mark.parametrize("name", ["invocation-payload-without-trailing-slash",
                                  "invocation-payload-with-params-encoding-multi"])
def test_request_ids_and_time(name: str, recorded_cases: dict[str, Sent]) -> None:
    """requestContext.requestId is the response's x-amzn-RequestId and extendedRequestId its
    x-amz-apigw-id; requestTimeEpoch is epoch milliseconds and requestTime the same instant as
    `dd/Mon/yyyy:HH:MM:SS +0000`."""
    sent = recorded_cases[name]
    ctx = sent.event["requestContext"]
    assert UUID.match(ctx["requestId"])
    assert ctx["requestId"] == sent.reply.header("x-amzn-RequestId")
    assert ctx["extendedRequestId"] == sent.reply.header("x-amz-apigw-id")
    epoch = ctx["requestTimeEpoch"]
    assert isinstance(epoch, int) and sent.before_ms - 1000 <= epoch <= sent.after_ms + 1000
    assert CLF_TIME.match(ctx["requestTime"])
    assert datetime.strptime(ctx["requestTime"], "%d/%b/%Y:%H:%M:%S %z") == \
        datetime.fromtimestamp(epoch // 1000, UTC)


def test_stage_variables_map(server: Server) -> None:
    """stageVariables is null on a stage without variables (recorded) and the variables map on a stage
    with some; requestContext.stage/path name that stage."""
    sent = send(server, ECHO, "GET", "/withvars/proxy-value", REQUESTS_DEFAULTS)
    assert sent.event["stageVariables"] == {"color": "blue", "mode": "conformance"}
    assert sent.event["requestContext"]["stage"] == "withvars"
    assert sent.event["requestContext"]["path"] == "/withvars/proxy-value"
    assert sent.event["path"] == "/proxy-value"


def test_path_style_url_gives_same_event_paths(server: Server) -> None:
    """The path-style invoke URL (/restapis/{id}/{stage}/_user_request_/...) reaches the same resource
    with the same `path`, `resource`, `pathParameters` and `requestContext.path` as host-style."""
    reply = request(server.port, "GET", server.path_url(ECHO, "stage", "/proxy-value/x"), REQUESTS_DEFAULTS)
    assert reply.status == 200
    event = reply.json()
    assert event["path"] == "/proxy-value/x"
    assert event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "proxy-value/x"}
    assert event["requestContext"]["path"] == "/stage/proxy-value/x"



def test_trace_id_passed_to_function_and_returned(server: Server) -> None:
    """AWS_PROXY reuses the client's X-Amzn-Trace-Id Root (and Parent) in the event, adding `Sampled`,
    and returns that trace id on the response (row 11: AWS_PROXY responses carry X-Amzn-Trace-Id)."""
    root = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8"
    sent = send(server, ECHO, "GET", "/stage/traced", [("X-Amzn-Trace-Id", root)])
    passed = sent.event["headers"]["X-Amzn-Trace-Id"]
    assert passed.startswith(root + ";") and "Sampled=" in passed
    assert sent.reply.header("X-Amzn-Trace-Id") == passed
    untraced = send(server, ECHO, "GET", "/stage/untraced", [])
    assert untraced.reply.header("X-Amzn-Trace-Id") == untraced.event["headers"]["X-Amzn-Trace-Id"]

# ---------------------------------------------------------------------------------------------------
# 2. Validation of the function's answer
# ---------------------------------------------------------------------------------------------------

NO_BODY = object()  # the recording sent no body: the function's json.loads(None) raises
B64 = base64.b64encode(b"test-data").decode()  # "dGVzdC1kYXRh"

# Recorded case → what the function returned (the request body, parsed back by the function).
RETURNS: dict[str, Any] = {
    "invoke-api-no-body": {"statusCode": 200},
    "invoke-api-with-headers": {"statusCode": 200, "headers": {"test-header": "value", "header-bool": True}},
    "invoke-api-with-headers-null": {"statusCode": 200, "headers": None},
    "invoke-api-wrong-format": {"statusCode": 200, "wrongValue": "value"},
    "invoke-api-empty-response": NO_BODY,
    "invoke-api-b64-encoded-true": {"statusCode": 200, "body": B64, "isBase64Encoded": True},
    "invoke-api-b64-encoded-false": {"statusCode": 200, "body": B64},
    "invoke-api-multi-headers-valid": {"statusCode": 200, "multiValueHeaders": {"test-multi": ["value1", "value2"]}},
    "invoke-api-multi-headers-overwrite": {"statusCode": 200, "multiValueHeaders": {"test-multi": ["value-multi"]},
                                           "headers": {"test-multi": "value-solo"}},
    "invoke-api-multi-headers-overwrite-casing": {"statusCode": 200,
                                                  "multiValueHeaders": {"tesT-Multi": ["value-multi"]},
                                                  "headers": {"test-multi": "value-solo"}},
    "invoke-api-multi-headers-invalid": {"statusCode": 200, "multiValueHeaders": {"test-multi-invalid": "value1"}},
    "invoke-api-invalid-status-code": {"statusCode": "test"},
    "invoke-api-status-code-str": {"statusCode": "201"},
    "invoke-api-just-string": "justAString",
    "invoke-api-only-headers": {"headers": {"test-header": "value"}},
}
STATUS = {"invoke-api-status-code-str": 201, **{
    k: 502 for k in ("invoke-api-wrong-format", "invoke-api-empty-response", "invoke-api-multi-headers-invalid",
                     "invoke-api-invalid-status-code", "invoke-api-just-string")}}


def invoke_returning(server: Server, api_id: str, value: Any, accept: str = "*/*") -> Reply:
    headers = [("User-Agent", "python/test"), ("Accept-Encoding", "gzip, deflate"), ("Accept", accept)]
    if value is NO_BODY:
        return call(server, api_id, "POST", "/stage/test", headers)
    headers.append(("Content-Type", "application/json"))
    return call(server, api_id, "POST", "/stage/test", headers, json.dumps(value))


@pytest.mark.parametrize("name", list(RETURNS))
def test_response_matches_recording(name: str, server: Server) -> None:
    """AWS (row 21) validates the proxy answer: every key optional but no others; statusCode an int or a
    numeric string; header values stringified (`true`); multiValueHeaders lists, merged before `headers`
    as `value-multi, value-solo`; isBase64Encoded without a binary Accept returns the base64 text; any
    malformed answer (extra key, non-object, bad status, non-list multi value, function error) is 502
    `{"message": "Internal server error"}`. Successful answers carry Content-Type (default
    application/json), Content-Length, x-amzn-RequestId, x-amz-apigw-id and X-Amzn-Trace-Id."""
    assert set(RESPONSES) == set(RETURNS), "every recorded response case is reproduced"
    recorded = RESPONSES[name]
    reply = invoke_returning(server, RESPOND, RETURNS[name])
    assert reply.status == STATUS.get(name, 200), reply.body
    if isinstance(recorded["content"], dict):
        assert reply.json() == recorded["content"]
    else:
        assert reply.body == recorded["content"].encode()
    if "headers" not in recorded:
        return
    expected = {k: v for k, v in recorded["headers"].items()
                if k.lower() not in EDGE_RESPONSE_HEADERS | TRANSPORT_RESPONSE_HEADERS}
    got = {k.lower() for k, _ in reply.headers} - TRANSPORT_RESPONSE_HEADERS
    assert got == {k.lower() for k in expected}, "response header names"
    for key, value in expected.items():
        if not PLACEHOLDER.match(value):
            assert reply.header(key) == value, key
    assert UUID.match(reply.header("x-amzn-RequestId") or "")
    assert re.fullmatch(r"[A-Za-z0-9_=+/-]{15}=", reply.header("x-amz-apigw-id") or "")
    assert TRACE_ID.match(reply.header("X-Amzn-Trace-Id") or "")


def test_response_header_casing_kept_by_parser() -> None:
    """AWS answers `tesT-Multi: value-multi, value-solo` when multiValueHeaders spells `tesT-Multi` and
    headers `test-multi`: the merge is case-insensitive and keeps multiValueHeaders' casing
    (recorded invoke-api-multi-headers-overwrite-casing). Checked on the parsed response, since header
    names on the wire are checked separately below."""
    inv = SimpleNamespace(stage=SimpleNamespace(binary_types=BinaryTypes([])),
                          request=SimpleNamespace(header=lambda name: None))
    payload = json.dumps(RETURNS["invoke-api-multi-headers-overwrite-casing"]).encode()
    response = parse_proxy_response(payload, inv)  # type: ignore[arg-type]
    assert ("tesT-Multi", "value-multi, value-solo") in response.headers


@pytest.mark.xfail(os.environ.get("APIWAY_TEST_SERVER") == "uvicorn", strict=True,
                   reason="uvicorn writes every response header name in lower case")
def test_response_header_casing_on_the_wire(server: Server) -> None:
    """AWS sends the function's header names with their casing (`tesT-Multi`) and its own as
    `x-amzn-RequestId` / `x-amz-apigw-id` (recorded response headers)."""
    reply = invoke_returning(server, RESPOND, RETURNS["invoke-api-multi-headers-overwrite-casing"])
    names = [k for k, _ in reply.headers]
    assert "tesT-Multi" in names and "x-amzn-RequestId" in names


@pytest.mark.parametrize("headers", [
    {"headers": {"x-nul": "a\u0000b"}},
    {"headers": {"x-nul\u0000name": "value"}},
    {"multiValueHeaders": {"x-nul": ["fine", "trailing\u0000"]}},
    {"headers": {"x-split": "a\r\nSet-Cookie: injected=1"}},
    {"headers": {"x-lf": "a\nb"}},
], ids=["nul-value", "nul-name", "nul-multi-value", "crlf-value", "lf-value"])
def test_control_characters_in_headers_are_malformed(server: Server, headers: dict[str, Any]) -> None:
    """A NUL, CR or LF in a header name or value cannot be written as an HTTP header: the function's
    answer is malformed, 502 `{"message": "Internal server error"}`, and nothing of it reaches the client."""
    reply = invoke_returning(server, RESPOND, {"statusCode": 200, "body": "leaked", **headers})
    assert reply.status == 502 and reply.json() == INTERNAL_ERROR
    assert not any("\0" in k + v or k.lower() in ("x-nul", "set-cookie") for k, v in reply.headers)
    after = invoke_returning(server, RESPOND, {"statusCode": 200, "headers": {"x-fine": "yes"}, "body": "ok"})
    assert after.status == 200 and after.header("x-fine") == "yes"


# ---------------------------------------------------------------------------------------------------
# 3. Function failures
# ---------------------------------------------------------------------------------------------------

INTERNAL_ERROR = {"message": "Internal server error"}


def test_raising_function_is_502_at_once(server: Server) -> None:
    """A function that raises is an Unhandled function error; API Gateway answers 502
    `{"message": "Internal server error"}` as soon as Lambda reports it."""
    start = time.monotonic()
    reply = call(server, RESPOND, "GET", "/stage/raising")
    assert time.monotonic() - start < 1
    assert reply.status == 502
    assert reply.json() == INTERNAL_ERROR


def test_function_timeout_is_502_and_server_keeps_serving(server: Server) -> None:
    """A function running past its own timeout (1 s here, well inside the 29 s integration timeout) fails
    with Lambda's `Task timed out after 1.00 seconds` function error, which API Gateway turns into 502
    Internal server error; other requests are served normally afterwards."""
    start = time.monotonic()
    reply = call(server, RESPOND, "GET", "/stage/sleeping")
    elapsed = time.monotonic() - start
    assert reply.status == 502
    assert reply.json() == INTERNAL_ERROR
    assert 0.9 <= elapsed < 1.5
    deadline = time.monotonic() + 2
    logged = ""
    while "Task timed out after 1.00 seconds" not in logged and time.monotonic() < deadline:
        logged += server.stderr() + server.output
        time.sleep(0.05)
    assert "Task timed out after 1.00 seconds" in logged
    after = invoke_returning(server, RESPOND, {"statusCode": 200, "body": "still here"})
    assert after.status == 200 and after.body == b"still here"


def test_unserialisable_return_is_502(server: Server) -> None:
    """A function whose return value cannot be serialised to JSON fails in the Lambda runtime
    (Runtime.MarshalError, a function error): 502 Internal server error."""
    reply = call(server, RESPOND, "GET", "/stage/unserialisable")
    assert reply.status == 502
    assert reply.json() == INTERNAL_ERROR


# ---------------------------------------------------------------------------------------------------
# 4. Integration method other than POST
# ---------------------------------------------------------------------------------------------------


def test_non_post_integration_method_is_500(server: Server) -> None:
    """An AWS_PROXY integration that calls Lambda with httpMethod GET fails every call with 500
    `{"message": "Internal server error"}` (row 22: Lambda must be invoked with POST)."""
    reply = call(server, GET_METHOD, "GET", "/stage/test-path", [("User-Agent", "python-requests/testing")])
    assert reply.status == 500
    assert reply.json() == NON_POST["invocation-payload-with-get-proxy-method"]


# ---------------------------------------------------------------------------------------------------
# 5. Binary payloads
# ---------------------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00"


def test_binary_request_body_arrives_base64(server: Server) -> None:
    """When the request Content-Type matches binaryMediaTypes (image/png) the event carries the body
    base64-encoded with isBase64Encoded true; a text type arrives as text with isBase64Encoded false."""
    binary = send(server, ECHO, "POST", "/stage/upload", [("Content-Type", "image/png")], PNG)
    assert binary.event["isBase64Encoded"] is True
    assert base64.b64decode(binary.event["body"]) == PNG
    text = send(server, ECHO, "POST", "/stage/upload", [("Content-Type", "text/plain")], "plain text")
    assert text.event["isBase64Encoded"] is False
    assert text.event["body"] == "plain text"


def test_base64_answer_decoded_for_binary_accept(server: Server) -> None:
    """A function answer with isBase64Encoded true is decoded to bytes when the request's Accept matches
    binaryMediaTypes."""
    value = {"statusCode": 200, "headers": {"Content-Type": "image/png"},
             "body": base64.b64encode(PNG).decode(), "isBase64Encoded": True}
    reply = invoke_returning(server, BINARY, value, accept="image/png")
    assert reply.status == 200
    assert reply.body == PNG
    assert reply.header("Content-Type") == "image/png"


def test_base64_answer_verbatim_without_binary_accept(server: Server) -> None:
    """Without a binary Accept (and no binary response Content-Type) the base64 text is returned as it
    is, even on an API with binaryMediaTypes (recorded invoke-api-b64-encoded-true, API without them)."""
    value = {"statusCode": 200, "body": B64, "isBase64Encoded": True}
    reply = invoke_returning(server, BINARY, value, accept="application/json")
    assert reply.status == 200
    assert reply.body == RESPONSES["invoke-api-b64-encoded-true"]["content"].encode()


def test_undecodable_base64_answer_is_500(server: Server) -> None:
    """A base64 body that does not decode, in binary mode, is a configuration error: 500
    `{"message": "Internal server error"}` (spec 1.4.4)."""
    value = {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True}
    reply = invoke_returning(server, BINARY, value, accept="image/png")
    assert reply.status == 500
    assert reply.json() == INTERNAL_ERROR


# ---------------------------------------------------------------------------------------------------
# 6. Repeated headers and query parameters
# ---------------------------------------------------------------------------------------------------


def test_repeated_headers_and_query_parameters(server: Server) -> None:
    """A repeated request header appears once in `headers` with its last value and with all values, in
    order, in `multiValueHeaders`; repeated query parameters likewise in `queryStringParameters` (last)
    and `multiValueQueryStringParameters` (all)."""
    headers = [("X-Repeated", "first"), ("X-Repeated", "second"), ("X-Repeated", "third")]
    sent = send(server, ECHO, "GET", "/stage/repeat?a=1&b=x&a=2&a=3", headers)
    assert sent.event["headers"]["X-Repeated"] == "third"
    assert sent.event["multiValueHeaders"]["X-Repeated"] == ["first", "second", "third"]
    assert sent.event["queryStringParameters"] == {"a": "3", "b": "x"}
    assert sent.event["multiValueQueryStringParameters"] == {"a": ["1", "2", "3"], "b": ["x"]}

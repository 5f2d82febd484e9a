"""HTTP APIs' Lambda formats (events/http_v2.py) against AWS's documented and recorded events, field by field.

Each request is built as the gateway builds it: a real `StageRuntime(kind="HTTP")`, a `MethodPlan` whose
`resource_path` is the route key, and an `Invocation`, with the stage's clock fixed at the sample's
`timeEpoch` so that the times compare exactly. Ids made per request (`requestId`, `X-Amzn-Trace-Id`) are
checked for their format, everything else for equality with the sample.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import orjson
import pytest

from apiway.core.errors import GatewayError
from apiway.core.invocation import Invocation
from apiway.events import http_v2
from tests.http_apis import route_invocation

REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{15}=$")  # e.g. LV7fzho-PHcEJPw=
TRACE = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$")


def invocation(method: str, sent_path: str, *, epoch_ms: int = 1583348638390, **fields: Any) -> Invocation:
    """The Invocation of `method sent_path` on an HTTP API stage, its clock at `epoch_ms`."""
    return route_invocation(method, sent_path, wall_ms=lambda: epoch_ms, **fields)


def _per_request_ids(event: dict[str, Any], headers: dict[str, Any]) -> None:
    """Check and drop what differs on every request: the request id and the trace header."""
    assert REQUEST_ID.match(event["requestContext"].pop("requestId"))
    trace = headers.pop("x-amzn-trace-id", None) or headers.pop("X-Amzn-Trace-Id")
    assert TRACE.match(trace)


# aws-lambda-go events/testdata/apigw-v2-request-no-authorizer.json: `curl https://aaaaaaaaaa.execute-api…/`
# on the $default stage and route (its mTLS-only `authentication` key left out: no client certificates here).
NO_AUTHORIZER_V2 = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/",
    "rawQueryString": "",
    "headers": {
        "accept": "*/*",
        "content-length": "0",
        "host": "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
        "user-agent": "curl/7.58.0",
        "x-forwarded-for": "1.2.3.4",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    },
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "aaaaaaaaaa",
        "domainName": "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
        "domainPrefix": "aaaaaaaaaa",
        "http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4",
                 "userAgent": "curl/7.58.0"},
        "routeKey": "$default",
        "stage": "$default",
        "time": "21/Apr/2020:15:08:21 +0000",
        "timeEpoch": 1587481701067,
    },
    "isBase64Encoded": False,
}


def test_v2_event_without_authorizer_is_aws_recorded_one() -> None:
    inv = invocation("GET", "/", api_id="aaaaaaaaaa", client_ip="1.2.3.4", epoch_ms=1587481701067, headers=[
        ("Host", "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com"), ("User-Agent", "curl/7.58.0"), ("Accept", "*/*"),
    ])
    event = http_v2.request_event_v2(inv)
    _per_request_ids(event, event["headers"])
    assert event == NO_AUTHORIZER_V2


# The developer guide's payload 2.0 example and aws-lambda-go's apigw-v2-request-{jwt-authorizer,
# lambda-authorizer,iam}.json: one request, three authorizers. Header names are lowercase (the guide:
# "All header names are lowercase"; the older samples still show `Header1`).
def _documented_v2(authorizer: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/my/path",
        "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
        "cookies": ["cookie1", "cookie2"],
        "headers": {
            "header1": "value1",
            "header2": "value1,value2",
            "content-type": "application/json",
            "content-length": "14",
            "host": "id.execute-api.us-east-1.amazonaws.com",
            "user-agent": "agent",
            "x-forwarded-for": "IP",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
        "pathParameters": {"proxy": "hello/world"},
        "requestContext": {
            "routeKey": "$default",
            "accountId": "123456789012",
            "stage": "$default",
            "authorizer": authorizer,
            "apiId": "api-id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "id",
            # The samples print 12/Mar for this epoch, which is 04/Mar/2020 19:03:58 UTC.
            "time": "04/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390,
            "http": {"method": "GET", "path": "/my/path", "protocol": "HTTP/1.1", "sourceIp": "IP",
                     "userAgent": "agent"},
        },
        "stageVariables": {"stageVariable1": "value1", "stageVariable2": "value2"},
        "body": '{\r\n\t"a": 1\r\n}',
        "isBase64Encoded": False,
    }


JWT = {"jwt": {"claims": {"claim1": "value1", "claim2": "value2"}, "scopes": ["scope1", "scope2"]}}
LAMBDA = {"lambda": {"key": "value"}}
IAM = {"iam": {
    "accessKey": "ARIA2ZJZYVUEREEIHAKY",
    "accountId": "1234567890",
    "callerId": "AROA7ZJZYVRE7C3DUXHH6:CognitoIdentityCredentials",
    "cognitoIdentity": {"amr": ["foo"], "identityId": "us-east-1:3f291106-8703-466b-8f2b-3ecee1ca56ce",
                        "identityPoolId": "us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce"},
    "principalOrgId": "AwsOrgId",
    "userArn": "arn:aws:iam::1234567890:user/Admin",
    "userId": "AROA2ZJZYVRE7Y3TUXHH6",
}}


def _documented_request(authorizer: dict[str, Any] | None = None, method: str = "GET") -> Invocation:
    return invocation(
        method, "/my/path", query="parameter1=value1&parameter1=value2&parameter2=value",
        headers=[("Header1", "value1"), ("Header2", "value1"), ("Cookie", "cookie1; cookie2"), ("Header2", "value2"),
                 ("Content-Type", "application/json"), ("Content-Length", "14"),
                 ("Host", "id.execute-api.us-east-1.amazonaws.com"), ("User-Agent", "agent")],
        body=b'{\r\n\t"a": 1\r\n}', client_ip="IP", path_params={"proxy": "hello/world"},
        variables={"stageVariable1": "value1", "stageVariable2": "value2"}, authorizer=authorizer,
    )


@pytest.mark.parametrize("authorizer", [JWT, LAMBDA, IAM], ids=["jwt", "lambda", "iam"])
def test_v2_event_is_documented_one(authorizer: dict[str, Any]) -> None:
    event = http_v2.request_event_v2(_documented_request(authorizer))
    _per_request_ids(event, event["headers"])
    assert event == _documented_v2(authorizer)


def test_v2_request_id_is_the_short_id() -> None:
    inv = _documented_request(JWT)
    assert http_v2.request_event_v2(inv)["requestContext"]["requestId"] == inv.extended_request_id


def test_v2_named_stage_keeps_its_segment_in_raw_path() -> None:
    # A recorded event (serverless-wsgi issue 191): stage `dev`, route `ANY /agents/{proxy+}`.
    inv = invocation("GET", "/dev/agents/1234", stage="dev", route_key="ANY /agents/{proxy+}",
                     path_params={"proxy": "1234"})
    event = http_v2.request_event_v2(inv)
    assert event["rawPath"] == "/dev/agents/1234"
    assert event["requestContext"]["http"]["path"] == "/dev/agents/1234"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "ANY /agents/{proxy+}"
    assert event["requestContext"]["stage"] == "dev"
    assert event["pathParameters"] == {"proxy": "1234"}


@pytest.mark.parametrize(("sent", "path", "raw"), [
    ("/prod", "/", "/prod"),
    ("/prod/", "/", "/prod/"),
    ("/prod/a%20b", "/a%20b", "/prod/a%20b"),
    ("/orders/pets", "/pets", "/pets"),  # a custom domain's base path is not in rawPath (developer guide)
])
def test_raw_path_forms(sent: str, path: str, raw: str) -> None:
    inv = invocation("GET", sent, stage="prod")
    inv.path = path
    assert http_v2.raw_path(inv) == raw


def test_v2_optional_keys_are_absent_not_null() -> None:
    inv = invocation("GET", "/x", route_key="GET /x", headers=[("Host", "h")])
    event = http_v2.request_event_v2(inv)
    for key in ("cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"):
        assert key not in event
    assert "authorizer" not in event["requestContext"]
    assert event["isBase64Encoded"] is False


def test_v2_query_raw_and_decoded() -> None:
    inv = invocation("GET", "/x", query="q=a%20b&q=c+d&e&x%3Dy=1")
    event = http_v2.request_event_v2(inv)
    assert event["rawQueryString"] == "q=a%20b&q=c+d&e&x%3Dy=1"
    assert event["queryStringParameters"] == {"q": "a b,c d", "e": "", "x=y": "1"}


def test_v2_headers_lowercased_and_joined_hop_by_hop_dropped() -> None:
    inv = invocation("POST", "/x", body=b"abc", headers=[
        ("X-Multi", "a"), ("x-multi", "b, c"), ("Connection", "keep-alive"), ("Transfer-Encoding", "chunked"),
        ("Cookie", "a=1;b=2"), ("cookie", "c=3"), ("X-Forwarded-For", "10.0.0.1"), ("Content-Type", "text/plain"),
    ])
    event = http_v2.request_event_v2(inv)
    headers = event["headers"]
    assert headers["x-multi"] == "a,b, c"
    assert "connection" not in headers and "transfer-encoding" not in headers and "cookie" not in headers
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert headers["x-forwarded-for"] == "10.0.0.1, 192.0.2.1"
    assert headers["content-length"] == "3"
    assert event["body"] == "abc"


@pytest.mark.parametrize(("content_type", "binary"), [
    ("text/plain", False),
    ("text/html; charset=utf-8", False),
    ("application/json", False),
    ("Application/JSON; charset=UTF-8", False),
    ("application/xml", False),
    ("application/javascript", False),
    (None, True),
    ("application/x-www-form-urlencoded", True),
    ("application/octet-stream", True),
    ("image/png", True),
    ("application/vnd.api+json", True),
])
def test_body_base64_unless_text(content_type: str | None, binary: bool) -> None:
    raw = b"\x00\xffhello"
    headers = [("Content-Type", content_type)] if content_type else []
    for build in (http_v2.request_event_v2, http_v2.request_event_v1):
        event = build(invocation("POST", "/x", headers=headers, body=raw))
        assert event["isBase64Encoded"] is binary
        if binary:
            assert base64.b64decode(event["body"]) == raw
        else:
            assert event["body"] == raw.decode("utf-8", "replace")


# A payload 1.0 event an HTTP API sent for `curl -X POST https://emcdxu5ijj.execute-api…/question` on its
# $default stage and route (recorded in spring-cloud-function's tests; header casing as AWS delivered it).
RECORDED_V1 = {
    "version": "1.0",
    "resource": "$default",
    "path": "/question",
    "httpMethod": "POST",
    "headers": {
        "Content-Length": "40",
        "Content-Type": "application/json",
        "Host": "emcdxu5ijj.execute-api.us-east-2.amazonaws.com",
        "User-Agent": "curl/7.88.1",
        "X-Forwarded-For": "109.210.252.44",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        "accept": "*/*",
    },
    "multiValueHeaders": {
        "Content-Length": ["40"],
        "Content-Type": ["application/json"],
        "Host": ["emcdxu5ijj.execute-api.us-east-2.amazonaws.com"],
        "User-Agent": ["curl/7.88.1"],
        "X-Forwarded-For": ["109.210.252.44"],
        "X-Forwarded-Port": ["443"],
        "X-Forwarded-Proto": ["https"],
        "accept": ["*/*"],
    },
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "emcdxu5ijj",
        "domainName": "emcdxu5ijj.execute-api.us-east-2.amazonaws.com",
        "domainPrefix": "emcdxu5ijj",
        "httpMethod": "POST",
        "identity": {
            "accessKey": None, "accountId": None, "caller": None, "cognitoAmr": None,
            "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None, "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None, "principalOrgId": None, "sourceIp": "109.210.252.44", "user": None,
            "userAgent": "curl/7.88.1", "userArn": None,
        },
        "path": "/question",
        "protocol": "HTTP/1.1",
        "requestTime": "11/Jul/2023:17:55:19 +0000",
        "requestTimeEpoch": 1689098119662,
        "resourceId": "$default",
        "resourcePath": "$default",
        "stage": "$default",
    },
    "pathParameters": None,
    "stageVariables": None,
    "body": '[{"latitude": 41.34, "longitude": 2.78},{"latitude": 43.24, "longitude": 3.78}]',
    "isBase64Encoded": False,
}


def test_v1_event_is_aws_recorded_one() -> None:
    body = b'[{"latitude": 41.34, "longitude": 2.78},{"latitude": 43.24, "longitude": 3.78}]'
    inv = invocation("POST", "/question", api_id="emcdxu5ijj", client_ip="109.210.252.44", epoch_ms=1689098119662,
                     body=body, headers=[
                         ("Host", "emcdxu5ijj.execute-api.us-east-2.amazonaws.com"), ("User-Agent", "curl/7.88.1"),
                         ("accept", "*/*"), ("Content-Type", "application/json"), ("Content-Length", "40"),
                     ])
    event = http_v2.request_event_v1(inv)
    context = event["requestContext"]
    # AWS gives both ids one value (H6SdPgXtiYcEP1w= in the recording).
    assert context.pop("extendedRequestId") == context["requestId"]
    _per_request_ids(event, event["headers"])
    assert TRACE.match(event["multiValueHeaders"].pop("X-Amzn-Trace-Id")[0])
    assert event == RECORDED_V1


def test_v1_event_on_named_route_and_stage() -> None:
    inv = invocation("GET", "/dev/pets/7", stage="dev", route_key="GET /pets/{id}", query="a=1&a=2",
                     path_params={"id": "7"}, variables={"k": "v"}, headers=[("Cookie", "c=1")])
    event = http_v2.request_event_v1(inv)
    assert event["resource"] == event["requestContext"]["resourcePath"] == "/pets/{id}"
    assert event["requestContext"]["resourceId"] == "GET /pets/{id}"
    assert event["path"] == event["requestContext"]["path"] == "/dev/pets/7"
    assert event["requestContext"]["stage"] == "dev"
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["pathParameters"] == {"id": "7"}
    assert event["stageVariables"] == {"k": "v"}
    assert event["headers"]["Cookie"] == "c=1"  # 1.0 keeps the Cookie header
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert "authorizer" not in event["requestContext"] and "deploymentId" not in event["requestContext"]


@pytest.mark.parametrize(("authorizer", "expected"), [
    (JWT, {"claims": {"claim1": "value1", "claim2": "value2"}, "scopes": ["scope1", "scope2"]}),
    ({"jwt": {"claims": {"sub": "u"}, "scopes": None}}, {"claims": {"sub": "u"}, "scopes": None}),
    (LAMBDA, {"key": "value"}),
])
def test_v1_authorizer_shapes(authorizer: dict[str, Any], expected: dict[str, Any]) -> None:
    event = http_v2.request_event_v1(_documented_request(authorizer))
    assert event["requestContext"]["authorizer"] == expected


def test_v1_iam_caller_fills_identity() -> None:
    event = http_v2.request_event_v1(_documented_request(IAM))
    identity = event["requestContext"]["identity"]
    assert "authorizer" not in event["requestContext"]
    assert identity["accessKey"] == "ARIA2ZJZYVUEREEIHAKY"
    assert identity["caller"] == "AROA7ZJZYVRE7C3DUXHH6:CognitoIdentityCredentials"
    assert identity["user"] == "AROA2ZJZYVRE7Y3TUXHH6"
    assert identity["userArn"] == "arn:aws:iam::1234567890:user/Admin"
    assert identity["cognitoIdentityPoolId"] == "us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce"
    assert identity["cognitoAmr"] == ["foo"]


# ---- authorizer events: the developer guide's (and aws-lambda-go's) 2.0 and 1.0 REQUEST events ----


def test_authorizer_event_v2_is_documented_one() -> None:
    inv = invocation(
        "POST", "/my/path", query="parameter1=value1&parameter1=value2&parameter2=value",
        headers=[("Header1", "value1"), ("Header2", "value2"), ("Cookie", "cookie1; cookie2"),
                 ("Host", "id.execute-api.us-east-1.amazonaws.com"), ("User-Agent", "agent")],
        body=b"ignored", client_ip="IP", path_params={"parameter1": "value1"},
        variables={"stageVariable1": "value1", "stageVariable2": "value2"},
    )
    event = http_v2.authorizer_event_v2(inv, ["user1", "123"])
    _per_request_ids(event, event["headers"])
    assert event == {
        "version": "2.0",
        "type": "REQUEST",
        # The guide's sample names another API, stage and path here than in the rest of its event; the ARN is
        # the request's own, in the form AWS documents.
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api-id/$default/POST/my/path",
        "identitySource": ["user1", "123"],
        "routeKey": "$default",
        "rawPath": "/my/path",
        "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
        "cookies": ["cookie1", "cookie2"],
        "headers": {"header1": "value1", "header2": "value2", "host": "id.execute-api.us-east-1.amazonaws.com",
                    "user-agent": "agent", "content-length": "7", "x-forwarded-for": "IP", "x-forwarded-port": "443",
                    "x-forwarded-proto": "https"},
        "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "id",
            "http": {"method": "POST", "path": "/my/path", "protocol": "HTTP/1.1", "sourceIp": "IP",
                     "userAgent": "agent"},
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390,
        },
        "pathParameters": {"parameter1": "value1"},
        "stageVariables": {"stageVariable1": "value1", "stageVariable2": "value2"},
    }


def test_authorizer_event_v1_is_documented_one() -> None:
    # The guide's 1.0 sample: GET /request on stage `test` of API abcdef123.
    inv = invocation("GET", "/test/request", api_id="abcdef123", stage="test", route_key="GET /request",
                     query="QueryString1=queryValue1", headers=[("HeaderAuth1", "headerValue1"), ("Accept", "*/*")],
                     variables={"StageVar1": "stageValue1"})
    event = http_v2.authorizer_event_v1(inv, ["user1", "123"])
    assert event["version"] == "1.0" and event["type"] == "REQUEST"
    assert event["methodArn"] == "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request"
    assert event["identitySource"] == event["authorizationToken"] == "user1,123"
    assert event["resource"] == "/request" and event["httpMethod"] == "GET"
    assert event["headers"]["HeaderAuth1"] == "headerValue1"
    assert event["queryStringParameters"] == {"QueryString1": "queryValue1"}
    assert event["stageVariables"] == {"StageVar1": "stageValue1"}
    context = event["requestContext"]
    assert (context["accountId"], context["apiId"], context["stage"]) == ("123456789012", "abcdef123", "test")
    assert (context["resourcePath"], context["httpMethod"]) == ("/request", "GET")
    assert context["identity"]["sourceIp"] == "192.0.2.1"
    assert "body" not in event and "isBase64Encoded" not in event
    # Otherwise the 1.0 request event itself.
    request = http_v2.request_event_v1(inv)
    for key in ("version", "body", "isBase64Encoded"):
        del request[key]
    rest = {k: v for k, v in event.items()
            if k not in ("version", "type", "methodArn", "identitySource", "authorizationToken")}
    assert rest.keys() == request.keys()
    for e in (rest, request):
        e["headers"].pop("X-Amzn-Trace-Id"), e["multiValueHeaders"].pop("X-Amzn-Trace-Id")
    assert rest == request


def test_route_arn_uses_request_verb_and_path() -> None:
    inv = invocation("DELETE", "/prod/pets/1", stage="prod", route_key="ANY /pets/{id}", api_id="a1")
    assert http_v2.route_arn(inv) == "arn:aws:execute-api:us-east-1:123456789012:a1/prod/DELETE/pets/1"


# ---- $context variables ----


@pytest.mark.parametrize(("name", "authorizer", "expected"), [
    ("requestId", None, "<id>"),
    ("extendedRequestId", None, "<id>"),
    ("routeKey", None, "GET /pets/{id}"),
    ("stage", None, "prod"),
    ("apiId", None, "api-id"),
    ("accountId", None, "123456789012"),
    ("domainName", None, "api-id.execute-api.localhost"),
    ("domainPrefix", None, "api-id"),
    ("httpMethod", None, "GET"),
    ("path", None, "/prod/pets/1"),
    ("protocol", None, "HTTP/1.1"),
    ("requestTime", None, "04/Mar/2020:19:03:58 +0000"),
    ("requestTimeEpoch", None, "1583348638390"),
    ("identity.sourceIp", None, "192.0.2.1"),
    ("identity.userAgent", None, "curl/8"),
    ("identity.caller", None, None),
    ("authorizer.claims.sub", {"jwt": {"claims": {"sub": "u-1", "n": 5}, "scopes": ["a"]}}, "u-1"),
    ("authorizer.claims.n", {"jwt": {"claims": {"sub": "u-1", "n": 5}, "scopes": ["a"]}}, "5"),
    ("authorizer.claims.missing", {"jwt": {"claims": {}, "scopes": None}}, None),
    ("authorizer.user", {"lambda": {"user": "ann", "admin": True}}, "ann"),
    ("authorizer.admin", {"lambda": {"user": "ann", "admin": True}}, "true"),
    ("authorizer.principalId", {"lambda": {"principalId": "p1"}}, "p1"),
    ("authorizer.claims.sub", None, None),
    ("identity.userArn", IAM, "arn:aws:iam::1234567890:user/Admin"),
    ("identity.caller", IAM, "AROA7ZJZYVRE7C3DUXHH6:CognitoIdentityCredentials"),
    ("identity.cognitoIdentityId", IAM, "us-east-1:3f291106-8703-466b-8f2b-3ecee1ca56ce"),
    ("nonsense", None, None),
])
def test_context_variables(name: str, authorizer: dict[str, Any] | None, expected: str | None) -> None:
    inv = invocation("GET", "/prod/pets/1", stage="prod", route_key="GET /pets/{id}", authorizer=authorizer,
                     path_params={"id": "1"}, headers=[("Host", "api-id.execute-api.localhost"),
                                                       ("User-Agent", "curl/8")])
    if expected == "<id>":
        expected = inv.extended_request_id
    assert http_v2.context_variable(inv, name) == expected


# ---- responses ----

JSON = ("content-type", "application/json")
TEXT = ("content-type", "text/plain; charset=utf-8")

V2_RESPONSES = [
    # The developer guide's inference table.
    ('"Hello from Lambda!"', 200, [JSON], b"Hello from Lambda!"),
    ('{ "message": "Hello from Lambda!" }', 200, [JSON], b'{ "message": "Hello from Lambda!" }'),
    # Any other JSON without statusCode: its text is the body.
    ("42", 200, [JSON], b"42"),
    ('[1, "a"]', 200, [JSON], b'[1, "a"]'),
    ("null", 200, [JSON], b"null"),
    ('{"body": "x", "headers": {"a": "b"}}', 200, [JSON], b'{"body": "x", "headers": {"a": "b"}}'),
    # With statusCode: the documented shape.
    ('{"statusCode": 201, "body": "made", "headers": {"Content-Type": "text/html", "X-A": "1,2"}}', 201,
     [("Content-Type", "text/html"), ("X-A", "1,2")], b"made"),
    ('{"statusCode": 200, "cookies": ["a=1; Path=/", "b=2"], "body": "ok"}', 200,
     [("set-cookie", "a=1; Path=/"), ("set-cookie", "b=2"), TEXT], b"ok"),
    ('{"statusCode": 204}', 204, [TEXT], b""),
    ('{"statusCode": 200, "headers": {"n": 1, "t": true, "none": null}, "body": ""}', 200,
     [("n", "1"), ("t", "true"), TEXT], b""),
    ('{"statusCode": 200, "headers": null, "cookies": null, "body": null}', 200, [TEXT], b""),
    ('{"statusCode": 200, "body": "AP8=", "isBase64Encoded": true, "headers": {"content-type": "image/png"}}', 200,
     [("content-type", "image/png")], b"\x00\xff"),
    ('{"statusCode": 200, "body": "AP8=", "isBase64Encoded": false}', 200, [TEXT], b"AP8="),
    # multiValueHeaders are not part of 2.0: ignored (the default content type shows it).
    ('{"statusCode": 200, "multiValueHeaders": {"Content-Type": ["application/json"]}, "extra": 1}', 200,
     [TEXT], b""),
]


@pytest.mark.parametrize(("payload", "status", "headers", "body"), V2_RESPONSES)
def test_response_v2(payload: str, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    response = http_v2.response_v2(payload.encode())
    assert (response.status, response.headers, response.body) == (status, headers, body)


@pytest.mark.parametrize("payload", [
    "not json",
    '{"statusCode": "200"}',
    '{"statusCode": 200.5}',
    '{"statusCode": true}',
    '{"statusCode": 99}',
    '{"statusCode": 600}',
    '{"statusCode": null}',
    '{"statusCode": 200, "body": {"a": 1}}',
    '{"statusCode": 200, "headers": ["a"]}',
    '{"statusCode": 200, "headers": {"a": {"b": 1}}}',
    '{"statusCode": 200, "headers": {"a": "x\\r\\nInjected: 1"}}',
    '{"statusCode": 200, "cookies": "a=1"}',
    '{"statusCode": 200, "cookies": [1]}',
    '{"statusCode": 200, "body": "not base64!", "isBase64Encoded": true}',
])
def test_response_v2_malformed_is_integration_failure(payload: str) -> None:
    with pytest.raises(GatewayError) as caught:
        http_v2.response_v2(payload.encode())
    assert caught.value.response_type == "INTEGRATION_FAILURE"
    assert caught.value.status is None  # the HTTP API renderer's 500 Internal Server Error


V1_RESPONSES = [
    ('{"statusCode": 200}', 200, [TEXT], b""),
    ('{"statusCode": "201", "body": "x"}', 201, [TEXT], b"x"),
    ('{"statusCode": 200, "headers": {"Content-Type": "text/html", "h": true}, "body": "<p>"}', 200,
     [("Content-Type", "text/html"), ("h", "true")], b"<p>"),
    ('{"statusCode": 200, "multiValueHeaders": {"tesT-Multi": ["multi"]}, "headers": {"test-multi": "solo"}}', 200,
     [("tesT-Multi", "multi, solo"), TEXT], b""),
    ('{"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}}', 200,
     [("Set-Cookie", "a=1, b=2"), TEXT], b""),
    ('{"statusCode": 200, "headers": null, "multiValueHeaders": null, "body": null}', 200, [TEXT], b""),
    ('{"statusCode": 200, "body": "AP8=", "isBase64Encoded": true}', 200, [TEXT], b"\x00\xff"),
]


@pytest.mark.parametrize(("payload", "status", "headers", "body"), V1_RESPONSES)
def test_response_v1(payload: str, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    response = http_v2.response_v1(payload.encode())
    assert (response.status, response.headers, response.body) == (status, headers, body)


@pytest.mark.parametrize("payload", [
    '"justAString"',
    "null",
    "not json",
    "{}",  # no statusCode
    '{"body": "x"}',
    '{"statusCode": 200, "wrongValue": 1}',
    '{"statusCode": "test"}',
    '{"statusCode": 200, "multiValueHeaders": {"a": "not-a-list"}}',
    '{"statusCode": 200, "body": {"a": 1}}',
    '{"statusCode": 200, "body": "%%", "isBase64Encoded": true}',
])
def test_response_v1_malformed_is_integration_failure(payload: str) -> None:
    with pytest.raises(GatewayError) as caught:
        http_v2.response_v1(payload.encode())
    assert caught.value.response_type == "INTEGRATION_FAILURE"
    assert caught.value.status is None


def test_payload_formats_pair_event_and_response() -> None:
    inv = _documented_request()
    for version, build, parse in (("2.0", http_v2.request_event_v2, http_v2.response_v2),
                                  ("1.0", http_v2.request_event_v1, http_v2.response_v1)):
        fmt = http_v2.FORMATS[version]
        assert fmt.version == version
        built = fmt.build_event(inv)
        assert built["version"] == version and built.keys() == build(inv).keys()
        answer = orjson.dumps({"statusCode": 202, "body": "b"})
        parsed = fmt.parse_response(answer, inv)
        expected = parse(answer)
        assert (parsed.status, parsed.headers, parsed.body) == (expected.status, expected.headers, expected.body)

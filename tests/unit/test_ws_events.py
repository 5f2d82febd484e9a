"""WebSocket Lambda events (events/websocket.py, spec §3.5), field by field, against the shapes AWS recorded:
CONNECT, MESSAGE (text and binary), DISCONNECT, the `$connect` REQUEST authorizer event, and reading a
function's answer."""

from __future__ import annotations

import base64

import pytest

from apiway.core.clock import ManualClock
from apiway.core.errors import IntegrationFailure
from apiway.core.http import HttpRequest
from apiway.core.ws_invocation import CONNECT, DISCONNECT, MESSAGE, Connection, WsInvocation, WsStageRuntime
from apiway.events.websocket import authorizer_event, build_event, parse_response
from apiway.functions.runners import Functions
from apiway.integrations.upstream import UpstreamPool
from apiway.runtime.deps import CompileDeps
from apiway.runtime.ws_compile import compile_ws_stage
from tests.websocket_apis import API, HOST, connection, mock, stage, ws_api

CLOCK = ManualClock(now=0.0, epoch=1_705_751_700.453)  # 20/Jan/2024:11:55:00 +0000


def runtime(variables: dict[str, str] | None = None) -> WsStageRuntime:
    definition = ws_api({"$connect": {"integration": mock()}, "$default": {"integration": mock()},
                         "$disconnect": {"integration": mock()}})
    record = stage(stageVariables=variables) if variables else stage()
    return compile_ws_stage(definition, record, CompileDeps(invoker=Functions(), pool=UpstreamPool(), clock=CLOCK))


def invocation(event_type: str, conn: Connection, route_key: str, body: bytes = b"", binary: bool = False,
               variables: dict[str, str] | None = None) -> WsInvocation:
    stage_runtime = runtime(variables)
    route = stage_runtime.routes.get(route_key) or stage_runtime.routes["$default"]
    request = conn.request if event_type != MESSAGE else HttpRequest("POST", "/prod", "", [], body, conn.source_ip)
    return WsInvocation(request, stage_runtime, route.plan, conn, event_type, route_key, "R1knPH17NjMFftw=",
                        "R1knPc2ntjMCFIA=" if event_type == MESSAGE else None, binary=binary)


CONTEXT_KEYS = ["routeKey", "eventType", "extendedRequestId", "requestTime", "messageDirection", "stage",
                "connectedAt", "requestTimeEpoch", "identity", "requestId", "domainName", "connectionId", "apiId"]


def test_connect_event() -> None:
    conn = connection("token=abc&token=def", [("X-Forwarded-For", "198.51.100.1")], connected_at=1705751697419)
    event = build_event(invocation(CONNECT, conn, "$connect"))
    assert list(event) == ["headers", "multiValueHeaders", "queryStringParameters",
                           "multiValueQueryStringParameters", "requestContext", "isBase64Encoded"]
    headers = event["headers"]
    assert headers["Host"] == HOST
    assert headers["Sec-WebSocket-Key"] == "dGhlIHNhbXBsZSBub25jZQ=="
    assert headers["Sec-WebSocket-Version"] == "13"
    assert headers["X-Forwarded-For"] == "198.51.100.1, 203.0.113.9"
    assert headers["X-Forwarded-Port"] == "443" and headers["X-Forwarded-Proto"] == "https"
    assert headers["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert "Connection" not in headers and "Upgrade" not in headers
    assert event["multiValueHeaders"]["Host"] == [HOST]
    assert event["queryStringParameters"] == {"token": "def"}
    assert event["multiValueQueryStringParameters"] == {"token": ["abc", "def"]}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert list(context) == CONTEXT_KEYS
    assert context["routeKey"] == "$connect" and context["eventType"] == "CONNECT"
    assert context["extendedRequestId"] == context["requestId"] == "R1knPH17NjMFftw="
    assert context["requestTime"] == "20/Jan/2024:11:55:00 +0000"
    assert context["requestTimeEpoch"] == 1705751700453
    assert context["messageDirection"] == "IN"
    assert context["stage"] == "prod"
    assert context["connectedAt"] == 1705751697419
    assert context["identity"] == {"userAgent": "test-client/1.0", "sourceIp": "203.0.113.9"}
    assert context["domainName"] == HOST
    assert context["connectionId"] == "Conn1234abcd="
    assert context["apiId"] == API


def test_connect_without_a_query_string_has_no_query_keys() -> None:
    event = build_event(invocation(CONNECT, connection(), "$connect"))
    assert "queryStringParameters" not in event and "multiValueQueryStringParameters" not in event


def test_authorizer_context_reaches_every_later_event() -> None:
    conn = connection()
    conn.authorizer = {"principalId": "user-1", "team": "blue"}
    for event_type, route_key in ((CONNECT, "$connect"), (MESSAGE, "$default"), (DISCONNECT, "$disconnect")):
        event = build_event(invocation(event_type, conn, route_key, b"{}"))
        assert event["requestContext"]["authorizer"] == {"principalId": "user-1", "team": "blue"}


def test_message_event_text() -> None:
    event = build_event(invocation(MESSAGE, connection(), "$default", b'{"a": 1}'))
    assert list(event) == ["requestContext", "body", "isBase64Encoded"]
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert list(context) == ["routeKey", "messageId", *CONTEXT_KEYS[1:]]
    assert context["eventType"] == "MESSAGE" and context["routeKey"] == "$default"
    assert context["messageId"] == "R1knPc2ntjMCFIA="


def test_message_event_binary_is_base64() -> None:
    event = build_event(invocation(MESSAGE, connection(), "$default", b"\x00\xff", binary=True))
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\xff"


def test_disconnect_event() -> None:
    inv = invocation(DISCONNECT, connection("token=abc"), "$disconnect")
    inv.disconnect_code = 1001
    inv.disconnect_reason = ""
    event = build_event(inv)
    assert list(event) == ["headers", "multiValueHeaders", "requestContext", "isBase64Encoded"]
    context = event["requestContext"]
    assert list(context) == ["routeKey", "disconnectStatusCode", "eventType", "extendedRequestId", "requestTime",
                             "messageDirection", "disconnectReason", "stage", "connectedAt", "requestTimeEpoch",
                             "identity", "requestId", "domainName", "connectionId", "apiId"]
    assert context["disconnectStatusCode"] == 1001 and context["disconnectReason"] == ""
    assert context["eventType"] == "DISCONNECT" and context["routeKey"] == "$disconnect"
    assert event["headers"]["Host"] == HOST


def test_request_authorizer_event() -> None:
    inv = invocation(CONNECT, connection("token=abc", [("Auth", "secret")]), "$connect", variables={"v": "1"})
    event = authorizer_event(inv)
    assert list(event) == ["type", "methodArn", "headers", "multiValueHeaders", "queryStringParameters",
                           "multiValueQueryStringParameters", "stageVariables", "requestContext"]
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == f"arn:aws:execute-api:us-east-1:123456789012:{API}/prod/$connect"
    assert event["headers"]["Auth"] == "secret" and event["multiValueHeaders"]["Auth"] == ["secret"]
    assert event["queryStringParameters"] == {"token": "abc"}
    assert event["stageVariables"] == {"v": "1"}
    assert event["requestContext"]["eventType"] == "CONNECT"
    assert "authorizer" not in event["requestContext"]


@pytest.mark.parametrize(("payload", "status", "headers", "body"), [
    (b'{"statusCode": 200, "body": "hi"}', 200, [], b"hi"),
    (b'{"statusCode": 401}', 401, [], b""),
    (b'{"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "chat"}}', 200, [("Sec-WebSocket-Protocol", "chat")],
     b""),
    (b'{"body": "aGk=", "isBase64Encoded": true}', 200, [], b"hi"),
    (b'"just text"', 200, [], b"just text"),
    (b'{"message": "hi"}', 200, [], b'{"message":"hi"}'),
    (b"[1, 2]", 200, [], b"[1,2]"),
    (b"null", 200, [], b""),
])
def test_reading_a_functions_answer(payload: bytes, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    inv = invocation(MESSAGE, connection(), "$default", b"{}")
    response = parse_response(payload, inv)
    assert (response.status, response.headers, response.body) == (status, headers, body)


def test_a_malformed_answer_fails() -> None:
    inv = invocation(MESSAGE, connection(), "$default", b"{}")
    with pytest.raises(IntegrationFailure):
        parse_response(b"not json", inv)
    with pytest.raises(IntegrationFailure):
        parse_response(b'{"statusCode": "abc"}', inv)

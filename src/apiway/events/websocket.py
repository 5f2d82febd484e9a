"""WebSocket APIs' Lambda events (spec §3.5): what an AWS_PROXY integration is sent on CONNECT, MESSAGE and
DISCONNECT, the REQUEST authorizer event of `$connect`, and how a function's answer is read.

Shapes follow the events AWS recorded (aws-lambda-go's testdata): `requestContext` with the connection's
fields, `requestId` == `extendedRequestId`, no `accountId`; CONNECT and DISCONNECT carry the upgrade request's
headers (REST's `headers`/`multiValueHeaders`, the gateway's X-Forwarded-* and trace headers included, the
connection's own Connection/Upgrade left out); CONNECT adds the query string when there is one (absent, not
null, without); MESSAGE carries no headers, only the message as `body` (base64 for a binary frame).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from apiway.core.errors import IntegrationFailure
from apiway.core.http import DROPPED_REQUEST_HEADERS, HttpResponse
from apiway.core.invocation import Invocation, clf_time
from apiway.core.ws_invocation import CONNECT, DISCONNECT, WsInvocation
from apiway.events import PayloadFormat
from apiway.events.rest_v1 import PROXY_RESPONSE_KEYS, check_header_fields, event_headers, proxy_headers, proxy_status
from apiway.model.aws import ACCOUNT_ID, REGION

# The upgrade's own headers and those the gateway sets itself (added back by `event_headers`).
_SKIPPED = DROPPED_REQUEST_HEADERS | {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id"}
VERSION = "websocket"


def _ws(inv: Invocation) -> WsInvocation:
    assert isinstance(inv, WsInvocation)
    return inv


def request_context(inv: WsInvocation) -> dict[str, Any]:
    """`requestContext` in the order AWS writes it; `messageId` on MESSAGE, the close on DISCONNECT, the
    `$connect` authorizer's answer when one ran."""
    conn = inv.connection
    stage = inv.stage
    context: dict[str, Any] = {"routeKey": inv.route_key}
    if inv.message_id is not None:
        context["messageId"] = inv.message_id
    if inv.disconnect_code is not None:
        context["disconnectStatusCode"] = inv.disconnect_code
    context["eventType"] = inv.event_type
    context["extendedRequestId"] = inv.request_id
    context["requestTime"] = clf_time(inv.epoch_ms // 1000)
    context["messageDirection"] = "IN"
    if inv.disconnect_code is not None:
        context["disconnectReason"] = inv.disconnect_reason
    context["stage"] = stage.stage_name
    context["connectedAt"] = conn.connected_at
    context["requestTimeEpoch"] = inv.epoch_ms
    context["identity"] = {"userAgent": conn.user_agent, "sourceIp": conn.source_ip, **(inv.identity or {})}
    context["requestId"] = inv.request_id
    context["domainName"] = conn.domain_name
    context["connectionId"] = conn.connection_id
    context["apiId"] = stage.api_id
    if inv.authorizer is not None:
        context["authorizer"] = dict(inv.authorizer)
    return context


def _query(inv: Invocation, event: dict[str, Any]) -> None:
    single, multi = inv.request.query_params()
    if single:
        event["queryStringParameters"] = dict(single)
        event["multiValueQueryStringParameters"] = {k: list(v) for k, v in (multi or {}).items()}


def build_event(inv: Invocation) -> dict[str, Any]:
    """The AWS_PROXY event of one WebSocket event."""
    ws = _ws(inv)
    event: dict[str, Any] = {}
    if ws.event_type in (CONNECT, DISCONNECT):
        event["headers"], event["multiValueHeaders"] = event_headers(ws, _SKIPPED)
        if ws.event_type == CONNECT:
            _query(ws, event)
        event["requestContext"] = request_context(ws)
        event["isBase64Encoded"] = False
        return event
    event["requestContext"] = request_context(ws)
    body = ws.request.body
    if ws.binary:
        event["body"] = base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = True
    else:
        event["body"] = body.decode("utf-8", "replace")
        event["isBase64Encoded"] = False
    return event


def connect_arn(api_id: str, stage_name: str) -> str:
    """The `methodArn` of `$connect`, which a Lambda authorizer's policy must allow."""
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/{stage_name}/$connect"


def authorizer_event(inv: WsInvocation) -> dict[str, Any]:
    """A REQUEST authorizer's event on `$connect` (the documented WebSocket example's keys and order)."""
    headers, multi = event_headers(inv, _SKIPPED)
    event: dict[str, Any] = {"type": "REQUEST", "methodArn": connect_arn(inv.stage.api_id, inv.stage.stage_name),
                             "headers": headers, "multiValueHeaders": multi}
    _query(inv, event)
    event["stageVariables"] = dict(inv.stage.variables or {})
    event["requestContext"] = request_context(inv)
    return event


def parse_response(payload: bytes, inv: Invocation) -> HttpResponse:
    """A function's answer: a proxy-shaped object gives its status, headers and body (base64-decoded when
    `isBase64Encoded`); any other JSON value is a 200 whose body is the value — a string's text, anything else
    its JSON text — as HTTP APIs infer."""
    try:
        doc = orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        raise IntegrationFailure("Malformed Lambda proxy response: not JSON") from None
    if not isinstance(doc, dict) or not doc or not doc.keys() <= PROXY_RESPONSE_KEYS:
        if doc is None:
            return HttpResponse(200, [], b"")
        return HttpResponse(200, [], doc.encode() if isinstance(doc, str) else orjson.dumps(doc))
    try:
        status = proxy_status(doc.get("statusCode", 200))
        headers = [(casing, ", ".join(values)) for casing, values in proxy_headers(doc).values()]
        if headers:
            check_header_fields(headers)
    except ValueError as exc:
        raise IntegrationFailure(f"Malformed Lambda proxy response: {exc}") from None
    value = doc.get("body")
    if value is None:
        return HttpResponse(status, headers, b"")
    if not isinstance(value, str):
        value = orjson.dumps(value).decode()  # a body that is no string: its JSON text (a guess, as for 2.0)
    if doc.get("isBase64Encoded") is True:
        try:
            return HttpResponse(status, headers, base64.b64decode(value, validate=True))
        except binascii.Error:
            raise IntegrationFailure("Malformed Lambda proxy response: body is not valid base64") from None
    return HttpResponse(status, headers, value.encode())


FORMAT = PayloadFormat(VERSION, build_event, parse_response)

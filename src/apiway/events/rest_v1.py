"""Payload format 1.0: the REST proxy event a Lambda function is sent, and the proxy response it must
answer, validated as AWS does.

Shapes follow the responses AWS recorded: `path` drops the stage and leading slashes, while
`requestContext.path` keeps the stage and the path as sent; null (not absent) for empty
query/path/stage-variable maps; `requestContext.isCanaryRequest` only on stages with a canary; any
malformed function answer is a 502 Internal server error.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from apiway.core.errors import ConfigurationError, IntegrationFailure
from apiway.core.http import DROPPED_REQUEST_HEADERS, HttpResponse
from apiway.core.invocation import Invocation, clf_time
from apiway.events import PayloadFormat

# Never in a REST API's event: the connection's own headers and those the gateway sets itself.
_SKIPPED = DROPPED_REQUEST_HEADERS | {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id"}
PROXY_RESPONSE_KEYS = frozenset(("statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"))
_IDENTITY_NULLS = ("accessKey", "accountId", "caller", "cognitoAuthenticationProvider",
                   "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId",
                   "principalOrgId")


def event_headers(inv: Invocation, skipped: frozenset[str] = _SKIPPED) -> tuple[dict[str, str], dict[str, list[str]]]:
    """`headers` (last value wins) and `multiValueHeaders`, client casing kept, without the `skipped` ones
    (lower-case names), plus the X-Forwarded-* and X-Amzn-Trace-Id headers API Gateway adds."""
    req = inv.request
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in req.headers:
        if name.lower() in skipped:
            continue
        single[name] = value
        if name in multi:
            multi[name].append(value)
        else:
            multi[name] = [value]
    for name, value in inv.forwarding_headers():
        single[name] = value
        multi[name] = [value]
    return single, multi


def build_event(inv: Invocation) -> dict[str, Any]:
    req = inv.request
    stage = inv.stage
    plan = inv.plan
    headers, multi_headers = event_headers(inv)
    single_q, multi_q = req.query_params()
    if single_q is not None:  # the handler owns its event: give it copies of the request's parsed query
        single_q = dict(single_q)
        multi_q = {k: list(v) for k, v in (multi_q or {}).items()}
    body: str | None = None
    is_b64 = False
    if req.body:
        if stage.binary_types.matches(req.header("content-type")):
            body = base64.b64encode(req.body).decode("ascii")
            is_b64 = True
        else:
            body = req.body.decode("utf-8", "replace")
    host = req.header("host") or ""
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_NULLS)
    identity["sourceIp"] = req.client_ip
    identity["user"] = None
    identity["userAgent"] = req.header("user-agent")
    identity["userArn"] = None
    if inv.identity:
        identity.update(inv.identity)
    epoch_ms = inv.epoch_ms
    event: dict[str, Any] = {
        "resource": plan.resource_path,
        "path": inv.path,
        "httpMethod": req.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_q,
        "multiValueQueryStringParameters": multi_q,
        "pathParameters": inv.path_params or None,
        "stageVariables": stage.variables or None,
        "requestContext": {
            "resourceId": plan.resource_id,
            "resourcePath": plan.resource_path,
            "httpMethod": req.method,
            "extendedRequestId": inv.extended_request_id,
            "requestTime": clf_time(epoch_ms // 1000),
            "path": inv.context_path,
            "accountId": stage.account_id,
            "protocol": "HTTP/" + req.http_version,
            "stage": stage.stage_name,
            "domainPrefix": host.split(".", 1)[0],
            "requestTimeEpoch": epoch_ms,
            "requestId": inv.request_id,
            "identity": identity,
            "domainName": host,
            "deploymentId": stage.deployment_id,
            "apiId": stage.api_id,
        },
        "body": body,
        "isBase64Encoded": is_b64,
    }
    if stage.canary_release:  # only stages with a canary: AWS's other recorded events have no such key
        event["requestContext"]["isCanaryRequest"] = stage.is_canary
    if inv.authorizer is not None:
        event["requestContext"]["authorizer"] = inv.authorizer
    return event


def header_text(value: Any) -> str | None:
    """A header value of a function's answer as text (numbers and booleans as JSON writes them); None
    leaves the header out; ValueError for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return None
    raise ValueError("header value must be a string")


def proxy_status(value: Any) -> int:
    """A proxy response's statusCode (an integer, or its digits as a string); ValueError if it is not one."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ValueError("invalid statusCode")
    return value


def proxy_headers(doc: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """A proxy response's `multiValueHeaders` and then `headers`, merged: lower-case name → (the casing
    first given, its values); ValueError naming what is malformed."""
    multi = doc.get("multiValueHeaders") or {}
    single = doc.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise ValueError("headers must be objects")
    merged: dict[str, tuple[str, list[str]]] = {}
    for name, values in multi.items():
        if not isinstance(values, list):
            raise ValueError("multiValueHeaders values must be lists")
        merged[name.lower()] = (name, [v for v in map(header_text, values) if v is not None])
    for name, value in single.items():
        text = header_text(value)
        if text is None:
            continue
        entry = merged.get(name.lower())
        if entry is None:
            merged[name.lower()] = (name, [text])
        else:
            entry[1].append(text)
    return merged


def check_header_fields(headers: list[tuple[str, str]]) -> None:
    """CR or LF would let the function write headers of its own or a second response, and NUL breaks clients
    that read C strings: one scan over every name and value, ValueError if any holds one."""
    fields = "".join(map("".join, headers))
    if "\r" in fields or "\n" in fields or "\0" in fields:
        raise ValueError("control character in a header")


def parse_proxy_response(payload: bytes, inv: Invocation) -> HttpResponse:
    """Validate a Lambda proxy response as AWS does; raise IntegrationFailure (502) if malformed."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise IntegrationFailure("Malformed Lambda proxy response: not JSON") from None
    if not isinstance(doc, dict) or not doc.keys() <= PROXY_RESPONSE_KEYS:
        raise IntegrationFailure("Malformed Lambda proxy response")
    try:
        status = proxy_status(doc.get("statusCode", 200))
        merged = proxy_headers(doc)
        headers = [(casing, ", ".join(values)) for casing, values in merged.values()]
        if headers:
            check_header_fields(headers)
    except ValueError as exc:
        raise IntegrationFailure(f"Malformed Lambda proxy response: {exc}") from None
    body_value = doc.get("body")
    if body_value is None:
        body = b""
    elif isinstance(body_value, str):
        body = body_value.encode()
    else:
        raise IntegrationFailure("Malformed Lambda proxy response: body must be a string")
    if doc.get("isBase64Encoded") is True and body:
        content_type = merged.get("content-type")
        binary = inv.stage.binary_types
        if binary.matches(inv.request.header("accept")) or (
            content_type and binary.matches(content_type[1][-1])
        ):
            try:
                body = base64.b64decode(body, validate=True)
            except binascii.Error:
                raise ConfigurationError("Unable to base64 decode the body") from None
    return HttpResponse(status, headers, body)


FORMAT: PayloadFormat = PayloadFormat("1.0", build_event, parse_proxy_response)

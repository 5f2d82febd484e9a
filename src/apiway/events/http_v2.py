"""HTTP APIs' Lambda formats: the payload 2.0 and 1.0 events an AWS_PROXY integration sends, the REQUEST
authorizer events of both versions, the `requestContext` (and its flat `$context.*` variables) they share,
and how a function's answer becomes the client's response.

Shapes follow AWS's documented and recorded events: header names lowercased and repeats comma-joined in
2.0 (client casing in 1.0); `cookies` taken out of the Cookie header; optional 2.0 keys absent rather than
null; `rawPath` and `requestContext.http.path` carry a named stage's segment (`/prod/pets`), the `$default`
stage none; the body is base64 unless its Content-Type is text (HTTP APIs have no binaryMediaTypes);
`requestId` is the short base64 id (`JKJaXmPLvHcESHA=`) that `apigw-requestid` carries. A malformed
answer is INTEGRATION_FAILURE, which HTTP APIs render 500 `{"message":"Internal Server Error"}`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from apiway.core.errors import GatewayError
from apiway.core.http import HttpResponse, ensure_content_type
from apiway.core.invocation import Invocation, clf_time
from apiway.core.media import base_type
from apiway.events import PayloadFormat
from apiway.events.rest_v1 import (
    PROXY_RESPONSE_KEYS,
    check_header_fields,
    event_headers,
    header_text,
    proxy_headers,
    proxy_status,
)
from apiway.model.aws import ACCOUNT_ID, REGION
from apiway.model.http import DEFAULT_STAGE

# Connection-level headers a function never sees; the forwarding headers are the gateway's own (added below).
_SKIPPED = frozenset(("connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                      "upgrade", "expect", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto",
                      "x-amzn-trace-id"))
# Bodies of these types reach the function as text; any other type, or none, as base64.
_TEXT_TYPES = frozenset(("application/json", "application/xml", "application/javascript"))
# Payload 1.0's `requestContext.identity` as HTTP APIs send it: every field null but the caller's address.
_IDENTITY_NULLS = ("accessKey", "accountId", "caller", "cognitoAmr", "cognitoAuthenticationProvider",
                   "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId")
# Content-Type HTTP APIs give a function's response that names none.
DEFAULT_CONTENT_TYPE = "text/plain; charset=utf-8"


def _failure(log: str) -> GatewayError:
    return GatewayError("INTEGRATION_FAILURE", log=f"Malformed Lambda proxy response: {log}")


# ---- the request side -------------------------------------------------------------------------------------


def request_id(inv: Invocation) -> str:
    """HTTP APIs' `$context.requestId`: the short base64 id, also sent back as `apigw-requestid`."""
    return inv.extended_request_id


def raw_path(inv: Invocation) -> str:
    """The path as sent from the stage segment on: `/prod/pets/1` on a named stage, `/pets/1` on `$default`,
    and without the base path on a custom domain (where no stage segment is sent)."""
    path = inv.path
    stage = inv.stage.stage_name
    if stage == DEFAULT_STAGE:
        return path
    sent = inv.request.path
    staged = f"/{stage}{path}"
    if sent.endswith(staged):
        return staged
    if path == "/" and sent.endswith(f"/{stage}"):  # `/prod` names the stage's root without a slash
        return f"/{stage}"
    return path


def route_path(inv: Invocation) -> str:
    """The route key's path (`/pets/{id}`), or `$default` for the default route."""
    route_key = inv.plan.resource_path
    return route_key.partition(" ")[2] or route_key


def is_text(content_type: str | None) -> bool:
    media = base_type(content_type)
    return media.startswith("text/") or media in _TEXT_TYPES


def _body(inv: Invocation) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): None for an empty body; base64 unless the Content-Type is text."""
    req = inv.request
    if not req.body:
        return None, False
    if is_text(req.header("content-type")):
        return req.body.decode("utf-8", "replace"), False
    return base64.b64encode(req.body).decode("ascii"), True


def headers_v2(inv: Invocation) -> tuple[dict[str, str], list[str]]:
    """(headers, cookies): lower-case names, repeated values joined by ','; the Cookie header(s) split into
    `cookies` and left out of the headers."""
    req = inv.request
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in req.headers:
        lower = name.lower()
        if lower in _SKIPPED:
            continue
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        previous = headers.get(lower)
        headers[lower] = value if previous is None else f"{previous},{value}"
    if "content-length" not in headers:  # AWS states the length it received, 0 for no body
        headers["content-length"] = str(len(req.body))
    for name, value in inv.forwarding_headers():
        headers[name.lower()] = value
    return headers, cookies


def headers_v1(inv: Invocation) -> tuple[dict[str, str], dict[str, list[str]]]:
    """REST's `headers` and `multiValueHeaders` (the client's casing kept, Cookie included) with the length
    AWS received stated, 0 for no body."""
    single, multi = event_headers(inv, _SKIPPED)
    if not any(name.lower() == "content-length" for name in single):
        length = str(len(inv.request.body))
        single["Content-Length"] = length
        multi["Content-Length"] = [length]
    return single, multi


def _where(inv: Invocation) -> dict[str, Any]:
    """The `requestContext` keys both versions start with: the account, the API and the host it was called on."""
    host = inv.request.header("host") or ""
    return {"accountId": inv.stage.account_id, "apiId": inv.stage.api_id, "domainName": host,
            "domainPrefix": host.split(".", 1)[0]}


def _context(inv: Invocation, path: str) -> dict[str, Any]:
    req = inv.request
    stage = inv.stage
    epoch_ms = inv.epoch_ms
    context: dict[str, Any] = {
        **_where(inv),
        "http": {
            "method": req.method,
            "path": path,
            "protocol": "HTTP/" + req.http_version,
            "sourceIp": req.client_ip,
            "userAgent": req.header("user-agent") or "",
        },
        "requestId": request_id(inv),
        "routeKey": inv.plan.resource_path,
        "stage": stage.stage_name,
        "time": clf_time(epoch_ms // 1000),
        "timeEpoch": epoch_ms,
    }
    if inv.authorizer is not None:
        context["authorizer"] = inv.authorizer
    return context


def _common_v2(inv: Invocation) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keys 2.0's integration and authorizer events share, and the `requestContext` to add last."""
    req = inv.request
    path = raw_path(inv)
    headers, cookies = headers_v2(inv)
    event: dict[str, Any] = {
        "routeKey": inv.plan.resource_path,
        "rawPath": path,
        "rawQueryString": req.query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    multi_q = req.query_params()[1]
    if multi_q:
        event["queryStringParameters"] = {name: ",".join(values) for name, values in multi_q.items()}
    return event, _context(inv, path)


def request_event_v2(inv: Invocation) -> dict[str, Any]:
    """The payload 2.0 event of a Lambda proxy integration."""
    event, context = _common_v2(inv)
    event = {"version": "2.0", **event, "requestContext": context}
    if inv.path_params:
        event["pathParameters"] = dict(inv.path_params)
    body, is_b64 = _body(inv)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = is_b64
    if inv.stage.variables:
        event["stageVariables"] = dict(inv.stage.variables)
    return event


def _authorizer_v1(authorizer: dict[str, Any]) -> dict[str, Any] | None:
    """Payload 1.0's `requestContext.authorizer`, REST's shapes: JWT claims as a Cognito authorizer's, a
    Lambda authorizer's context flat; IAM callers go to `identity` instead."""
    if "jwt" in authorizer:
        jwt = authorizer["jwt"]
        return {"claims": jwt.get("claims"), "scopes": jwt.get("scopes")}
    if "lambda" in authorizer:
        return dict(authorizer["lambda"] or {})
    if "iam" in authorizer:
        return None
    return dict(authorizer)


def _identity_v1(inv: Invocation) -> dict[str, Any]:
    req = inv.request
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_NULLS)
    identity["sourceIp"] = req.client_ip
    identity["user"] = None
    identity["userAgent"] = req.header("user-agent")
    identity["userArn"] = None
    iam = (inv.authorizer or {}).get("iam")
    if iam:
        cognito = iam.get("cognitoIdentity") or {}
        identity.update(
            accessKey=iam.get("accessKey"), accountId=iam.get("accountId"), caller=iam.get("callerId"),
            principalOrgId=iam.get("principalOrgId"), user=iam.get("userId"), userArn=iam.get("userArn"),
            cognitoAmr=cognito.get("amr"), cognitoIdentityId=cognito.get("identityId"),
            cognitoIdentityPoolId=cognito.get("identityPoolId"),
        )
    if inv.identity:
        identity.update(inv.identity)
    return identity


def request_event_v1(inv: Invocation) -> dict[str, Any]:
    """The payload 1.0 event of an HTTP API: REST's proxy event with `version`, the route's path as
    `resource`/`resourcePath` (`$default` for the default route), the route key as `resourceId`, `path` as
    sent from the stage segment on, and no `deploymentId`."""
    req = inv.request
    stage = inv.stage
    path = raw_path(inv)
    resource = route_path(inv)
    headers, multi_headers = headers_v1(inv)
    single_q, multi_q = req.query_params()
    if single_q is not None:  # the handler owns its event: copies of the request's parsed query
        single_q = dict(single_q)
        multi_q = {name: list(values) for name, values in (multi_q or {}).items()}
    epoch_ms = inv.epoch_ms
    context: dict[str, Any] = {
        **_where(inv),
        "extendedRequestId": inv.extended_request_id,
        "httpMethod": req.method,
        "identity": _identity_v1(inv),
        "path": path,
        "protocol": "HTTP/" + req.http_version,
        "requestId": request_id(inv),
        "requestTime": clf_time(epoch_ms // 1000),
        "requestTimeEpoch": epoch_ms,
        "resourceId": inv.plan.resource_path,
        "resourcePath": resource,
        "stage": stage.stage_name,
    }
    if inv.authorizer is not None and (authorizer := _authorizer_v1(inv.authorizer)) is not None:
        context["authorizer"] = authorizer
    body, is_b64 = _body(inv)
    return {
        "version": "1.0",
        "resource": resource,
        "path": path,
        "httpMethod": req.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_q,
        "multiValueQueryStringParameters": multi_q,
        "requestContext": context,
        "pathParameters": dict(inv.path_params) if inv.path_params else None,
        "stageVariables": dict(stage.variables) if stage.variables else None,
        "body": body,
        "isBase64Encoded": is_b64,
    }


# ---- authorizer events ------------------------------------------------------------------------------------


def route_arn(inv: Invocation) -> str:
    """`arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}{path}`: the request's own verb and
    path (without the stage), as REST's methodArn."""
    stage = inv.stage
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{stage.api_id}/{stage.stage_name}/{inv.request.method}{inv.path}"


def authorizer_event_v2(inv: Invocation, identity_source: list[str]) -> dict[str, Any]:
    """A Lambda REQUEST authorizer's 2.0 event; `identity_source` holds the identity sources' values."""
    event, context = _common_v2(inv)
    event = {"version": "2.0", "type": "REQUEST", "routeArn": route_arn(inv),
             "identitySource": list(identity_source), **event, "requestContext": context}
    if inv.path_params:
        event["pathParameters"] = dict(inv.path_params)
    if inv.stage.variables:
        event["stageVariables"] = dict(inv.stage.variables)
    return event


def authorizer_event_v1(inv: Invocation, identity_source: list[str]) -> dict[str, Any]:
    """A Lambda REQUEST authorizer's 1.0 event: the 1.0 request event without its body, plus `methodArn` and
    the identity sources' values joined by ',' as `identitySource` and `authorizationToken`."""
    request = request_event_v1(inv)
    del request["version"], request["body"], request["isBase64Encoded"]
    joined = ",".join(identity_source)
    return {"version": "1.0", "type": "REQUEST", "methodArn": route_arn(inv), "identitySource": joined,
            "authorizationToken": joined, **request}


# ---- $context variables -----------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


_IAM_IDENTITY = {"accessKey": "accessKey", "accountId": "accountId", "caller": "callerId",
                 "principalOrgId": "principalOrgId", "user": "userId", "userArn": "userArn"}
_COGNITO_IDENTITY = {"cognitoIdentityId": "identityId", "cognitoIdentityPoolId": "identityPoolId",
                     "cognitoAmr": "amr"}


def _identity_variable(inv: Invocation, name: str) -> str | None:
    if name == "sourceIp":
        return inv.request.client_ip
    if name == "userAgent":
        return inv.request.header("user-agent")
    iam = (inv.authorizer or {}).get("iam")
    if iam:
        if name in _IAM_IDENTITY:
            return _text(iam.get(_IAM_IDENTITY[name]))
        if name in _COGNITO_IDENTITY:
            return _text((iam.get("cognitoIdentity") or {}).get(_COGNITO_IDENTITY[name]))
    return _text((inv.identity or {}).get(name))


def _authorizer_variable(inv: Invocation, name: str) -> str | None:
    authorizer = inv.authorizer
    if not authorizer:
        return None
    if "jwt" in authorizer:
        jwt = authorizer["jwt"] or {}
        if name.startswith("claims."):
            return _text((jwt.get("claims") or {}).get(name[7:]))
        if name == "scopes":
            return _text(jwt.get("scopes"))
        return None
    if "lambda" in authorizer:
        return _text((authorizer["lambda"] or {}).get(name))
    return None


def context_variable(inv: Invocation, name: str) -> str | None:
    """`$context.{name}` of an HTTP API request as parameter mapping and access logs read it (`requestId`,
    `routeKey`, `identity.sourceIp`, `authorizer.claims.sub`, `authorizer.{key}`, …); None when unset."""
    simple = _SIMPLE.get(name)
    if simple is not None:
        return simple(inv)
    head, _, rest = name.partition(".")
    if head == "identity":
        return _identity_variable(inv, rest)
    if head == "authorizer":
        return _authorizer_variable(inv, rest)
    return None


def _host(inv: Invocation) -> str:
    return inv.request.header("host") or ""


_SIMPLE = {
    "accountId": lambda inv: inv.stage.account_id,
    "apiId": lambda inv: inv.stage.api_id,
    "domainName": _host,
    "domainPrefix": lambda inv: _host(inv).split(".", 1)[0],
    "extendedRequestId": lambda inv: inv.extended_request_id,
    "httpMethod": lambda inv: inv.request.method,
    "path": raw_path,
    "protocol": lambda inv: "HTTP/" + inv.request.http_version,
    "requestId": request_id,
    "requestTime": lambda inv: clf_time(inv.epoch_ms // 1000),
    "requestTimeEpoch": lambda inv: str(inv.epoch_ms),
    "routeKey": lambda inv: inv.plan.resource_path,
    "stage": lambda inv: inv.stage.stage_name,
    "status": lambda inv: str(inv.status) if inv.status else None,
    "integrationLatency": lambda inv: _text(inv.integration_latency_ms),
    "error.responseType": lambda inv: inv.error_type,
}


# ---- the response side ------------------------------------------------------------------------------------


def _decoded_body(doc: dict[str, Any]) -> bytes:
    value = doc.get("body")
    if value is None:
        return b""
    if not isinstance(value, str):
        raise _failure("body must be a string")
    if doc.get("isBase64Encoded") is True:  # no binaryMediaTypes on HTTP APIs: always decoded
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise _failure("body is not valid base64") from None
    return value.encode()


def _with_content_type(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    ensure_content_type(headers, DEFAULT_CONTENT_TYPE, "content-type")
    return headers


def response_v2(payload: bytes) -> HttpResponse:
    """A function's 2.0 answer as the client's response. An object with `statusCode` is read as
    {statusCode, headers, cookies, body, isBase64Encoded}; any other JSON is the body of a 200
    `application/json` response (a JSON string: its text); anything unreadable is INTEGRATION_FAILURE."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise _failure("not JSON") from None
    if not isinstance(doc, dict) or "statusCode" not in doc:
        body = doc.encode() if isinstance(doc, str) else payload
        return HttpResponse(200, [("content-type", "application/json")], body)
    status = doc["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise _failure("invalid statusCode")  # unlike 1.0, not its digits as a string
    try:
        headers = _headers_v2(doc)
    except ValueError as exc:
        raise _failure(str(exc)) from None
    return HttpResponse(status, _with_content_type(headers), _decoded_body(doc))


def _headers_v2(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """A 2.0 answer's `headers` (one value each) and `cookies` (a Set-Cookie each); ValueError if malformed."""
    raw_headers = doc.get("headers") or {}
    raw_cookies = doc.get("cookies") or []
    if not isinstance(raw_headers, dict) or not isinstance(raw_cookies, list):
        raise ValueError("headers must be an object and cookies a list")
    headers = [(name, text) for name, value in raw_headers.items() if (text := header_text(value)) is not None]
    for cookie in raw_cookies:
        if not isinstance(cookie, str):
            raise ValueError("cookies must be strings")
        headers.append(("set-cookie", cookie))
    if headers:
        check_header_fields(headers)
    return headers


def response_v1(payload: bytes) -> HttpResponse:
    """A function's 1.0 answer as the client's response: REST's proxy response {statusCode, headers,
    multiValueHeaders, body, isBase64Encoded} and nothing else; a missing or invalid statusCode, an unknown
    key or any other malformation is INTEGRATION_FAILURE."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise _failure("not JSON") from None
    if not isinstance(doc, dict) or not doc.keys() <= PROXY_RESPONSE_KEYS:
        raise _failure("not a proxy response object")
    try:
        status = proxy_status(doc.get("statusCode"))
        headers = [(casing, ", ".join(values)) for casing, values in proxy_headers(doc).values()]
        if headers:
            check_header_fields(headers)
    except ValueError as exc:
        raise _failure(str(exc)) from None
    return HttpResponse(status, _with_content_type(headers), _decoded_body(doc))


# What an HTTP API's Lambda proxy integration is compiled with, by its payloadFormatVersion.
FORMATS = {"2.0": PayloadFormat("2.0", request_event_v2, lambda payload, _inv: response_v2(payload)),
           "1.0": PayloadFormat("1.0", request_event_v1, lambda payload, _inv: response_v1(payload))}

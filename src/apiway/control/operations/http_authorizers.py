"""apigatewayv2 authorizers: create, list, get, update, delete, and ResetAuthorizersCache. HTTP APIs take
JWT authorizers (issuer, audiences, one identity source) and Lambda REQUEST authorizers (function URI,
payload format 1.0 or 2.0, simple responses only with 2.0, result TTL 0-3600 s). WebSocket APIs take
Lambda REQUEST authorizers only, with identity sources such as `route.request.querystring.token`."""

from __future__ import annotations

import re
from typing import Any

from apiway.control.errors import bad_request
from apiway.control.operations.http_apis import is_http
from apiway.control.operations.http_common import check_limit, check_unused, enum, in_range, listed, members, wire
from apiway.control.operations.http_routes import check_route
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.model import ids, websocket
from apiway.model.http import PAYLOAD_FORMATS, Authorizer, HttpApiDefinition

AUTHORIZER_TYPES = ("REQUEST", "JWT")
MAX_AUTHORIZERS = 10
MAX_AUDIENCES = 50
MAX_TTL = 3600
_IDENTITY_SOURCE = re.compile(r"^\$(request\.(header|querystring)|context|stageVariables)\.[^\s,]+$")
_JWT_SOURCE = re.compile(r"^\$request\.(header|querystring)\.[^\s,]+$")
_FIELDS = ("AuthorizerCredentialsArn", "AuthorizerPayloadFormatVersion", "AuthorizerResultTtlInSeconds",
           "AuthorizerType", "AuthorizerUri", "EnableSimpleResponses", "IdentitySource",
           "IdentityValidationExpression", "JwtConfiguration", "Name")


def authorizer(cp: ControlPlane, definition: HttpApiDefinition, authorizer_id: str) -> Authorizer:
    found: Authorizer = cp.http_part(definition["authorizers"], authorizer_id, "Authorizer")
    return found


def checked(definition: HttpApiDefinition, raw: dict[str, Any], input_name: str) -> Authorizer:
    result: dict[str, Any] = dict(raw)
    kind = enum(raw.get("authorizerType"), AUTHORIZER_TYPES, f"{input_name}.authorizerType")
    sources = [str(s) for s in raw.get("identitySource") or []]
    result["identitySource"] = sources
    if not is_http(definition):
        _check_websocket(result, kind)
        return result  # type: ignore[return-value]
    for source in sources:
        if not _IDENTITY_SOURCE.match(source):
            raise bad_request(f"Invalid identity source: {source}. An identity source must be "
                              "$request.header.{name}, $request.querystring.{name}, $context.{name} or "
                              "$stageVariables.{name}.")
    if kind == "JWT":
        _check_jwt(definition, result)
    else:
        _check_request(definition, result)
    return result  # type: ignore[return-value]


def _check_jwt(definition: HttpApiDefinition, result: dict[str, Any]) -> None:
    if not is_http(definition):
        raise bad_request("JWT authorizers are supported only for HTTP APIs.")
    config = result.get("jwtConfiguration") or {}
    if not config.get("issuer") or not config.get("audience"):
        raise bad_request("JwtConfiguration with an issuer and at least one audience is required for JWT "
                          "authorizers.")
    if len(config["audience"]) > MAX_AUDIENCES:
        raise bad_request(f"A JWT authorizer can have at most {MAX_AUDIENCES} audiences.")
    sources = result["identitySource"]
    if len(sources) != 1 or not _JWT_SOURCE.match(sources[0]):
        raise bad_request("A JWT authorizer takes exactly one identity source, a header or query string "
                          "parameter such as $request.header.Authorization.")
    for key in ("authorizerUri", "authorizerPayloadFormatVersion", "enableSimpleResponses"):
        if result.get(key):
            raise bad_request(f"{key[:1].upper()}{key[1:]} is supported only for REQUEST authorizers.")
    result["jwtConfiguration"] = {"audience": [str(a) for a in config["audience"]], "issuer": config["issuer"]}


def _check_websocket(result: dict[str, Any], kind: str) -> None:
    """A WebSocket API's authorizer: a Lambda REQUEST authorizer on `$connect`, its identity sources in the
    WebSocket form, without the HTTP API's payload format and simple responses."""
    if kind != "REQUEST":
        raise bad_request("JWT authorizers are supported only for HTTP APIs.")
    error = websocket.identity_source_error(result["identitySource"])
    if error:
        raise bad_request(error)
    for key in ("authorizerPayloadFormatVersion", "enableSimpleResponses", "jwtConfiguration"):
        if result.get(key) is not None:
            raise bad_request(f"{key[:1].upper()}{key[1:]} is supported only for HTTP APIs.")
    if not result.get("authorizerUri"):
        raise bad_request("AuthorizerUri is required for REQUEST authorizers.")
    ttl = result.get("authorizerResultTtlInSeconds")
    if ttl is not None:
        in_range(ttl, 0, MAX_TTL, "authorizerResultTtlInSeconds")
    if (ttl or 0) > 0 and not result["identitySource"]:
        raise bad_request("Authorizer caching requires at least one identity source; set "
                          "authorizerResultTtlInSeconds to 0 to authorize without one.")


def _check_request(definition: HttpApiDefinition, result: dict[str, Any]) -> None:
    if not result.get("authorizerUri"):
        raise bad_request("AuthorizerUri is required for REQUEST authorizers.")
    if result.get("jwtConfiguration") is not None:
        raise bad_request("JwtConfiguration is supported only for JWT authorizers.")
    ttl = result.get("authorizerResultTtlInSeconds")
    if ttl is not None:
        in_range(ttl, 0, MAX_TTL, "authorizerResultTtlInSeconds")
    if not is_http(definition):
        return
    version = result.get("authorizerPayloadFormatVersion")
    if version is None:
        raise bad_request("AuthorizerPayloadFormatVersion is required for REQUEST authorizers of HTTP APIs. "
                          f"Supported values: {', '.join(PAYLOAD_FORMATS)}.")
    if version not in PAYLOAD_FORMATS:
        raise bad_request(f"Unsupported authorizer payload format version {version}. Supported values: "
                          f"{', '.join(PAYLOAD_FORMATS)}.")
    if result.get("enableSimpleResponses") and version != "2.0":
        raise bad_request("EnableSimpleResponses is supported only with authorizer payload format version 2.0.")
    result.setdefault("authorizerResultTtlInSeconds", 0)
    if result["authorizerResultTtlInSeconds"] > 0 and not result["identitySource"]:
        raise bad_request("Authorizer caching requires at least one identity source; set "
                          "authorizerResultTtlInSeconds to 0 to authorize without one.")


def _routes_using(definition: HttpApiDefinition, authorizer_id: str) -> list[str]:
    return sorted(r["routeId"] for r in definition["routes"].values() if r.get("authorizerId") == authorizer_id)


@operation("CreateAuthorizer", service=V2)
def create_authorizer(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    check_limit(len(definition["authorizers"]), MAX_AUTHORIZERS, "Authorizers")
    new = checked(definition, wire(p, _FIELDS), "createAuthorizerInput")
    new["authorizerId"] = ids.new_id(6, definition["authorizers"])
    definition["authorizers"][new["authorizerId"]] = new
    cp.save_http_api(definition)
    return members(new)


@operation("GetAuthorizers", service=V2)
def get_authorizers(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return listed(cp.http_api(p["ApiId"])["authorizers"].values(), lambda a: (a["name"], a["authorizerId"]), p)


@operation("GetAuthorizer", service=V2)
def get_authorizer(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    return members(authorizer(cp, definition, p["AuthorizerId"]))


@operation("UpdateAuthorizer", service=V2)
def update_authorizer(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    current = authorizer(cp, definition, p["AuthorizerId"])
    changes = wire(p, _FIELDS)
    if changes.get("authorizerType", current["authorizerType"]) != current["authorizerType"]:
        for stale in ("jwtConfiguration", "authorizerUri", "authorizerPayloadFormatVersion", "enableSimpleResponses",
                      "authorizerResultTtlInSeconds"):
            current.pop(stale, None)  # type: ignore[misc]
    updated = checked(definition, {**current, **changes}, "updateAuthorizerInput")
    definition["authorizers"][current["authorizerId"]] = updated
    for route_id in _routes_using(definition, current["authorizerId"]):
        check_route(definition, definition["routes"][route_id])  # the routes must still fit its type
    cp.save_http_api(definition)
    return members(updated)


@operation("DeleteAuthorizer", service=V2)
def delete_authorizer(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition = cp.http_api(p["ApiId"])
    authorizer_id = authorizer(cp, definition, p["AuthorizerId"])["authorizerId"]
    check_unused("Authorizer", _routes_using(definition, authorizer_id))
    del definition["authorizers"][authorizer_id]
    cp.save_http_api(definition)


@operation("ResetAuthorizersCache", service=V2)
def reset_authorizers_cache(cp: ControlPlane, p: dict[str, Any]) -> None:
    api_id = cp.http_api(p["ApiId"])["api"]["apiId"]
    stage = cp.http_stage(api_id, p["StageName"])
    cp.runtime.flush_authorizer_cache(api_id, stage["stageName"])

"""Gateway responses: the error responses API Gateway itself sends, one per response type. Only
customised ones are stored; reads show every type, an untouched one as AWS's default or as what its
family (DEFAULT_4XX / DEFAULT_5XX) customisation gives it, flagged `defaultResponse: true`."""

from __future__ import annotations

import re
from typing import Any

from apiway.control.errors import bad_request, enum_violation, not_found, validation
from apiway.control.operations.methods import NO_PARAMETER, checked_status
from apiway.control.paging import page
from apiway.control.patch import Patch, patches, unsupported
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model.gateway_responses import DEFAULT_TEMPLATE, DEFAULTS
from apiway.model.rest import ApiDefinition

# The enum as AWS lists it in its validation message (recorded order).
_ENUM_ORDER = ("REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND", "AUTHORIZER_CONFIGURATION_ERROR",
               "MISSING_AUTHENTICATION_TOKEN", "BAD_REQUEST_BODY", "INVALID_SIGNATURE", "INVALID_API_KEY",
               "BAD_REQUEST_PARAMETERS", "AUTHORIZER_FAILURE", "UNAUTHORIZED", "INTEGRATION_TIMEOUT", "ACCESS_DENIED",
               "DEFAULT_4XX", "DEFAULT_5XX", "WAF_FILTERED", "QUOTA_EXCEEDED", "THROTTLED", "API_CONFIGURATION_ERROR",
               "UNSUPPORTED_MEDIA_TYPE", "INTEGRATION_FAILURE", "EXPIRED_TOKEN")
MAPS = ("responseParameters", "responseTemplates")
HEADER_TARGET_RE = re.compile(r"^gatewayresponse\.header\.[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
SOURCE_RE = re.compile(r"^(?:'.*'|method\.request\.(?:header|querystring|path|multivalueheader|multivaluequerystring)"
                       r"\.\S+|stageVariables\.\S+|context\.\S+)$", re.S)


def _response_type(p: dict[str, Any]) -> str:
    rtype = p["responseType"]
    if rtype not in DEFAULTS:
        raise validation([enum_violation(rtype, "responseType", _ENUM_ORDER)])
    return rtype


def _family(rtype: str) -> str | None:
    status = DEFAULTS[rtype][0]
    if status is None:
        return None
    return "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"


def _completed(rtype: str, layer: dict[str, Any], default: bool) -> dict[str, Any]:
    """A full GatewayResponse: what `layer` sets, the type's own defaults for the rest (recorded)."""
    response: dict[str, Any] = {"responseType": rtype, "defaultResponse": default,
                                "responseParameters": dict(layer.get("responseParameters") or {}),
                                "responseTemplates": dict(layer.get("responseTemplates")
                                                          or {"application/json": DEFAULT_TEMPLATE})}
    own_status = DEFAULTS[rtype][0]
    status = layer.get("statusCode") or (str(own_status) if own_status else None)
    if status:
        response["statusCode"] = status
    return response


def view(definition: ApiDefinition, rtype: str) -> dict[str, Any]:
    """What GetGatewayResponse shows: the customisation, else the family's, else AWS's default."""
    custom = definition["gatewayResponses"]
    if rtype in custom:
        return _completed(rtype, dict(custom[rtype]), False)
    family = _family(rtype)
    return _completed(rtype, dict(custom.get(family) or {}) if family else {}, True)


def _check_parameter(target: str, source: Any) -> None:
    """Header targets and their sources; the wording is AWS's for mapping expressions (a guess here)."""
    for expression, pattern in ((target, HEADER_TARGET_RE), (source, SOURCE_RE)):
        if not isinstance(expression, str) or not pattern.match(expression):
            raise bad_request(f"Invalid mapping expression specified: Validation Result: warnings : [], errors : "
                              f"[Invalid mapping expression specified: {expression}]")


@operation("PutGatewayResponse")
def put_gateway_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    rtype = _response_type(p)
    definition = cp.api(p["restApiId"])
    layer: dict[str, Any] = {}
    if p.get("statusCode") is not None:
        layer["statusCode"] = checked_status(p["statusCode"])
    for target, source in (p.get("responseParameters") or {}).items():
        _check_parameter(target, source)
    for key in MAPS:
        layer[key] = p.get(key)
    # A put replaces the whole customisation; what it leaves out takes the type's own default, not the
    # family's (recorded).
    response = _completed(rtype, layer, False)
    definition["gatewayResponses"][rtype] = response  # type: ignore[assignment]
    cp.save_api(definition)
    return response


@operation("GetGatewayResponse")
def get_gateway_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    rtype = _response_type(p)
    return view(cp.api(p["restApiId"]), rtype)


@operation("GetGatewayResponses")
def get_gateway_responses(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.api(p["restApiId"])
    return page([view(definition, rtype) for rtype in sorted(DEFAULTS)], p)


@operation("UpdateGatewayResponse")
def update_gateway_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    rtype = _response_type(p)
    definition = cp.api(p["restApiId"])
    # Updating an untouched type customises it, starting from the type's own defaults (recorded).
    response = _completed(rtype, dict(definition["gatewayResponses"].get(rtype) or {}), False)
    for patch in patches(p, "UpdateGatewayResponse"):
        _patch(response, patch)
    definition["gatewayResponses"][rtype] = response  # type: ignore[assignment]
    cp.save_api(definition)
    return response


def _patch(response: dict[str, Any], patch: Patch) -> None:
    parts = patch.parts
    if patch.path == "/statusCode":
        if patch.op != "replace":
            raise unsupported(patch)  # recorded for add and remove
        if patch.value:
            response["statusCode"] = checked_status(patch.value)
        else:
            response.pop("statusCode", None)
        return
    if len(parts) != 2 or parts[0] not in MAPS or patch.op not in ("add", "replace", "remove"):
        raise unsupported(patch)
    field, key = parts
    entries: dict[str, str] = response[field]
    if patch.op == "remove":
        entries.pop(key, None)
        return
    if patch.op == "replace" and key not in entries:
        raise not_found(NO_PARAMETER)
    if not patch.value:
        raise bad_request(f"Invalid null or empty value in {field}")
    if field == "responseParameters":
        _check_parameter(key, patch.value)
    entries[key] = patch.value


@operation("DeleteGatewayResponse")
def delete_gateway_response(cp: ControlPlane, p: dict[str, Any]) -> None:
    rtype = _response_type(p)
    definition = cp.api(p["restApiId"])
    if definition["gatewayResponses"].pop(rtype, None) is None:  # type: ignore[misc]
        raise not_found("Gateway response type not defined on api")
    cp.save_api(definition)


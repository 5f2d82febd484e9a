"""Authorizers: Lambda (TOKEN, REQUEST) and Cognito user-pool authorizers a method can name.
Create, list, get, update (patch) and delete; TestInvokeAuthorizer is in test_invoke_authorizer.py."""

from __future__ import annotations

import re
from typing import Any

from apiway.control.errors import ControlError, bad_request, conflict, enum_violation, validation
from apiway.control.paging import page
from apiway.control.patch import Patch, as_int, op_not_supported, patch_list, patches, replace_field, set_or_clear
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model import ids
from apiway.model.rest import ApiDefinition

TYPES = ("TOKEN", "REQUEST", "COGNITO_USER_POOLS", "JWT")  # the model's enum; JWT is not implemented
LAMBDA_TYPES = ("TOKEN", "REQUEST")
LAMBDA_URI_RE = re.compile(r"^arn:aws[a-z-]*:apigateway:[a-z0-9-]+:lambda:path/\S+$")
DEFAULT_IDENTITY_SOURCE = "method.request.header.Authorization"
DEFAULT_TTL = 300
MAX_TTL = 3600
MISSING = "Invalid Authorizer identifier specified"
OPTIONAL = ("authType", "authorizerUri", "authorizerCredentials", "identitySource", "identityValidationExpression")
REPLACEABLE = ("/name", "/type", *(f"/{f}" for f in OPTIONAL), "/authorizerResultTtlInSeconds")


def _checked(authorizer: dict[str, Any]) -> None:
    """Defaults filled in and each type's required fields checked (messages other than the
    Authorizer URI one are guesses)."""
    kind = authorizer["type"]
    if kind == "JWT":
        raise ControlError("NotImplementedException", "apiway does not implement JWT authorizers yet")
    if kind in LAMBDA_TYPES and not LAMBDA_URI_RE.match(authorizer.get("authorizerUri") or ""):
        raise bad_request(f"Invalid Authorizer URI: {authorizer.get('authorizerUri') or 'null'}. Authorizer URI "
                          f"should be a valid API Gateway ARN that represents a Lambda function invocation.")
    if kind == "COGNITO_USER_POOLS" and not authorizer.get("providerARNs"):
        raise bad_request("ProviderARNs must be specified for a COGNITO_USER_POOLS authorizer")
    ttl = authorizer.setdefault("authorizerResultTtlInSeconds", DEFAULT_TTL)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TTL:
        raise bad_request(f"Invalid authorizer result TTL: {ttl}. Must be between 0 and {MAX_TTL}")
    if kind != "REQUEST":
        authorizer.setdefault("identitySource", DEFAULT_IDENTITY_SOURCE)
    elif ttl and not authorizer.get("identitySource"):
        # the identity sources are the cache key, so caching needs them
        raise bad_request("Identity source must be specified when authorizer caching is enabled")


def _type_error(kind: Any, input_name: str) -> ControlError:
    return validation([enum_violation(kind, f"{input_name}.type", TYPES)])


@operation("CreateAuthorizer")
def create_authorizer(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    if p["type"] not in TYPES:
        raise _type_error(p["type"], "createAuthorizerInput")
    authorizer: dict[str, Any] = {"id": ids.new_id(6), "name": p["name"], "type": p["type"]}
    for field in (*OPTIONAL, "providerARNs", "authorizerResultTtlInSeconds"):
        if p.get(field) not in (None, "", []):
            authorizer[field] = p[field]
    _checked(authorizer)  # AWS checks the request before looking the API up (recorded)
    # An unknown API: AWS's recorded answer, odd as it is.
    definition = cp.api_or(p["restApiId"], conflict(
        "Unable to complete operation due to concurrent modification. Please try again later."))
    definition["authorizers"][authorizer["id"]] = authorizer
    cp.save_api(definition)
    return dict(authorizer)


def _authorizer(cp: ControlPlane, api_id: str, authorizer_id: str) -> tuple[ApiDefinition, dict[str, Any]]:
    definition = cp.api(api_id)
    return definition, cp.part(definition["authorizers"], authorizer_id, MISSING)


@operation("GetAuthorizers")
def get_authorizers(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return page(list(cp.api(p["restApiId"])["authorizers"].values()), p)


@operation("GetAuthorizer")
def get_authorizer(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return dict(_authorizer(cp, p["restApiId"], p["authorizerId"])[1])


@operation("UpdateAuthorizer")
def update_authorizer(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, authorizer = _authorizer(cp, p["restApiId"], p["authorizerId"])
    for patch in patches(p, "UpdateAuthorizer"):
        _patch(authorizer, patch)
    _checked(authorizer)
    cp.save_api(definition)  # deployed stages keep their snapshot: a redeployment picks the change up
    return dict(authorizer)


def _patch(authorizer: dict[str, Any], patch: Patch) -> None:
    parts = patch.parts
    if len(parts) == 2 and parts[0] == "providerARNs":
        if patch.op not in ("add", "remove"):
            raise op_not_supported(patch)
        patch_list(authorizer.setdefault("providerARNs", []), parts[1], patch)
        if not authorizer["providerARNs"]:
            del authorizer["providerARNs"]
        return
    field = replace_field(patch, REPLACEABLE)
    if field == "authorizerResultTtlInSeconds":
        authorizer[field] = as_int(patch)
    elif field == "type":
        if patch.value not in TYPES:
            raise _type_error(patch.value, "updateAuthorizerInput")
        authorizer["type"] = patch.value
    elif field == "name":
        authorizer["name"] = patch.value
    else:
        set_or_clear(authorizer, field, patch.value)


@operation("DeleteAuthorizer")
def delete_authorizer(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition, authorizer = _authorizer(cp, p["restApiId"], p["authorizerId"])
    del definition["authorizers"][authorizer["id"]]
    cp.save_api(definition)

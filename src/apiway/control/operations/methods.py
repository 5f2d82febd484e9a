"""Method and method-response operations, and the checks integrations (and gateway responses) share
with them: status-code pattern, AWS's deserialisation errors for wrongly typed map values,
mapping-expression errors, references to models, authorizers and request validators."""

from __future__ import annotations

import re
from typing import Any

from apiway.control.errors import ControlError, bad_request, conflict, not_found, validation
from apiway.control.operations.models import find_model
from apiway.control.operations.resources import load_resource
from apiway.control.patch import Patch, lenient_bool, patch_list, patches, require_ops, set_or_clear, unsupported
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model.rest import STATUS_CODE_RE, ApiDefinition, Method, MethodResponse, Resource

HTTP_METHOD_OPTIONS = ("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "ANY")
AUTHORIZATION_TYPES = ("NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS")
NEEDS_AUTHORIZER = ("CUSTOM", "COGNITO_USER_POOLS")
INVALID_HTTP_METHOD = f"Invalid HttpMethod specified. Valid options are {','.join(HTTP_METHOD_OPTIONS)}"
INVALID_STATUS = "Invalid Response status code specified"
INVALID_AUTHORIZER = ("Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
                      "COGNITO_USER_POOLS requires a valid authorizer.")
INVALID_VALIDATOR = "Invalid Request Validator identifier specified"
NO_PARAMETER = "Invalid parameter name specified"
NO_CONTENT_TYPE = "Content-Type specified was not found"
PARAMETER_LOCATIONS = "(path|querystring|header|multivaluequerystring|multivalueheader)"
METHOD_PARAMETER_RE = re.compile(rf"^method\.request\.{PARAMETER_LOCATIONS}\.(\S+)$")
RESPONSE_HEADER_RE = re.compile(r"^method\.response\.header\.(\S+)$")
CONTENT_TYPE_RE = re.compile(r"^[\w.+*-]+/[\w.+*-]+(\s*;.*)?$")
_JAVA_CLASSES = ((bool, "java.lang.Boolean"), (str, "java.lang.String"), (dict, "java.util.LinkedHashMap"),
                 (list, "java.util.ArrayList"),
                 ((int, float), "com.amazon.coral.value.json.numbers.TruncatingBigNumber"))


# -- checks shared with integrations ---------------------------------------------------------------------

def status_errors(code: Any) -> list[str]:
    """The input-validation error for a status code outside `[1-5]\\d\\d` (reported with patch-op errors)."""
    if isinstance(code, str) and STATUS_CODE_RE.match(code):
        return []
    return [f"Value '{code}' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression "
            f"pattern: [1-5]\\d\\d"]


def checked_status(code: Any) -> str:
    errors = status_errors(code)
    if errors:
        raise validation(errors)
    return code


def typed_map(value: Any, kind: type, nullable: bool = False) -> dict[str, Any] | None:
    """A map member's values as the model types them; AWS fails deserialisation on any other type."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _not_convertible(value, "Map")
    for item in value.values():
        if item is None and nullable:
            continue
        if not isinstance(item, kind) or (kind is not bool and isinstance(item, bool)):
            raise _not_convertible(item, "Boolean" if kind is bool else "String")
    return dict(value)


def _not_convertible(value: Any, target: str) -> ControlError:
    java = next((name for t, name in _JAVA_CLASSES if isinstance(value, t)), "java.lang.Object")
    return ControlError("SerializationException", f"class {java} can not be converted to an {target}")


def mapping_error(error: str) -> ControlError:
    return bad_request(f"Invalid mapping expression specified: Validation Result: warnings : [], errors : [{error}]")


def invalid_expression(expression: str) -> ControlError:
    return mapping_error(f"Invalid mapping expression specified: {expression}")


def check_content_types(templates: dict[str, Any] | None) -> None:
    for content_type in templates or {}:
        if not CONTENT_TYPE_RE.match(content_type):
            raise bad_request(f"Validation Result: warnings : [], errors : [Invalid content type specified: "
                              f"{content_type}]")


def templates(value: dict[str, Any] | None) -> dict[str, str | None] | None:
    """Mapping templates as AWS stores them: an empty template is no template (null)."""
    mapped = typed_map(value, str, nullable=True)
    check_content_types(mapped)
    return None if mapped is None else {k: v or None for k, v in mapped.items()}


def has_id(records: dict[str, dict[str, Any]], record_id: str | None) -> bool:
    return bool(record_id) and record_id in records


def check_model(definition: ApiDefinition, name: str | None) -> str:
    if not name or find_model(definition, name) is None:
        raise bad_request(f"Invalid model identifier specified: {name}")
    return name


def load_method(cp: ControlPlane, p: dict[str, Any]) -> tuple[ApiDefinition, Resource, Method]:
    definition, resource = load_resource(cp, p["restApiId"], p["resourceId"])
    return definition, resource, cp.method(resource, p["httpMethod"])


def method_response(method: Method, status: str) -> MethodResponse:
    found = (method.get("methodResponses") or {}).get(status)
    if found is None:
        raise not_found(INVALID_STATUS)
    return found


def drop_empty(record: Any, *fields: str) -> None:
    for field in fields:
        if field in record and not record[field]:
            del record[field]


# -- methods ----------------------------------------------------------------------------------------------

def _check_request_parameters(parameters: dict[str, bool] | None) -> None:
    names = []
    for key in parameters or {}:
        match = METHOD_PARAMETER_RE.match(key)
        if match is None:
            raise invalid_expression(key)
        names.append(match.group(2))
    if len(set(names)) != len(names):
        raise bad_request("Parameter names must be unique across querystring, header and path")


def _check_authorization(definition: ApiDefinition, method: Method) -> None:
    """A CUSTOM or Cognito method needs an existing authorizer; any other type keeps none. AWS takes the
    type in any case (clients long sent `none`); it is kept upper case, the form the data plane reads."""
    method["authorizationType"] = method["authorizationType"].upper()
    if method["authorizationType"] not in AUTHORIZATION_TYPES:
        raise bad_request(f"Invalid authorization type specified. Valid options are {','.join(AUTHORIZATION_TYPES)}")
    if method["authorizationType"] in NEEDS_AUTHORIZER:
        if not has_id(definition["authorizers"], method.get("authorizerId")):
            raise bad_request(INVALID_AUTHORIZER)
    else:
        method.pop("authorizerId", None)


def _check_validator(definition: ApiDefinition, validator_id: str | None) -> None:
    if validator_id and not has_id(definition["requestValidators"], validator_id):
        raise bad_request(INVALID_VALIDATOR)


@operation("PutMethod")
def put_method(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    parameters = typed_map(p.get("requestParameters"), bool)
    models = typed_map(p.get("requestModels"), str)
    definition, resource = load_resource(cp, p["restApiId"], p["resourceId"])
    verb = p["httpMethod"]
    if verb not in HTTP_METHOD_OPTIONS:
        raise bad_request(INVALID_HTTP_METHOD)
    if verb in (resource.get("resourceMethods") or {}):
        raise conflict("Method already exists for this resource")
    _check_request_parameters(parameters)
    method: Method = {"httpMethod": verb, "authorizationType": p["authorizationType"],
                      "apiKeyRequired": bool(p.get("apiKeyRequired"))}
    if p.get("authorizerId"):
        method["authorizerId"] = p["authorizerId"]
    _check_authorization(definition, method)
    _check_validator(definition, p.get("requestValidatorId"))
    for name in (models or {}).values():
        check_model(definition, name)
    if p.get("operationName") is not None:
        method["operationName"] = p["operationName"]
    if parameters is not None:
        method["requestParameters"] = parameters
    if models is not None:
        method["requestModels"] = models
    if p.get("requestValidatorId"):
        method["requestValidatorId"] = p["requestValidatorId"]
    if p.get("authorizationScopes"):
        method["authorizationScopes"] = list(p["authorizationScopes"])
    resource.setdefault("resourceMethods", {})[verb] = method
    cp.save_api(definition)
    return dict(method)


@operation("GetMethod")
def get_method(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return dict(load_method(cp, p)[2])


@operation("DeleteMethod")
def delete_method(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition, resource, _ = load_method(cp, p)
    methods = resource["resourceMethods"]
    del methods[p["httpMethod"]]
    drop_empty(resource, "resourceMethods")
    cp.save_api(definition)


_REPLACE_ONLY = ("authorizationType", "authorizerId", "apiKeyRequired", "operationName", "requestValidatorId")


@operation("UpdateMethod")
def update_method(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    operations = patches(p, "UpdateMethod")
    definition, _, method = load_method(cp, p)
    for patch in operations:
        _patch_method(definition, method, patch)
    drop_empty(method, "requestParameters", "requestModels", "authorizationScopes")
    _check_authorization(definition, method)
    cp.save_api(definition)
    return dict(method)


def _patch_method(definition: ApiDefinition, method: Method, patch: Patch) -> None:
    parts = patch.parts
    field = parts[0] if parts else ""
    if field in _REPLACE_ONLY and len(parts) == 1:
        require_ops(patch, ("replace",))
        _replace_method_field(definition, method, field, patch)
    elif field in ("requestParameters", "requestModels") and len(parts) == 2:
        require_ops(patch, ("add", "remove", "replace"))
        target: dict[str, Any] = method.setdefault(field, {})  # type: ignore[misc]
        if patch.op == "remove":
            target.pop(parts[1], None)
        elif field == "requestParameters":
            _check_request_parameters({parts[1]: True})
            target[parts[1]] = lenient_bool(patch)
        else:
            target[parts[1]] = check_model(definition, patch.value)
    elif field == "authorizationScopes" and len(parts) == 1:
        require_ops(patch, ("add", "remove"))
        if patch.value:
            patch_list(method.setdefault("authorizationScopes", []), patch.value, patch)
    else:
        raise unsupported(patch)


def _replace_method_field(definition: ApiDefinition, method: Method, field: str, patch: Patch) -> None:
    if field == "apiKeyRequired":
        method["apiKeyRequired"] = lenient_bool(patch)
    elif field == "authorizationType":
        method["authorizationType"] = patch.value or ""  # checked once all patches are applied
    else:
        if field == "requestValidatorId":
            _check_validator(definition, patch.value)
        set_or_clear(method, field, patch.value)


# -- method responses -------------------------------------------------------------------------------------

def _check_response_parameters(parameters: dict[str, bool] | None) -> None:
    for key in parameters or {}:
        if not RESPONSE_HEADER_RE.match(key):
            raise invalid_expression(key)


@operation("PutMethodResponse")
def put_method_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    checked_status(p["statusCode"])
    parameters = typed_map(p.get("responseParameters"), bool)
    models = typed_map(p.get("responseModels"), str)
    definition, _, method = load_method(cp, p)
    _check_response_parameters(parameters)
    for name in (models or {}).values():
        check_model(definition, name)
    response: MethodResponse = {"statusCode": p["statusCode"]}
    if parameters is not None:
        response["responseParameters"] = parameters
    if models is not None:
        response["responseModels"] = models
    method.setdefault("methodResponses", {})[p["statusCode"]] = response
    cp.save_api(definition)
    return dict(response)


@operation("GetMethodResponse")
def get_method_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    checked_status(p["statusCode"])
    return dict(method_response(load_method(cp, p)[2], p["statusCode"]))


@operation("DeleteMethodResponse")
def delete_method_response(cp: ControlPlane, p: dict[str, Any]) -> None:
    checked_status(p["statusCode"])
    definition, _, method = load_method(cp, p)
    method_response(method, p["statusCode"])
    del method["methodResponses"][p["statusCode"]]
    drop_empty(method, "methodResponses")
    cp.save_api(definition)


@operation("UpdateMethodResponse")
def update_method_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    operations = patches(p, "UpdateMethodResponse", status_errors(p["statusCode"]))
    definition, _, method = load_method(cp, p)
    response = method_response(method, p["statusCode"])
    for patch in operations:
        _patch_method_response(definition, response, patch)
    drop_empty(response, "responseParameters", "responseModels")
    cp.save_api(definition)
    return dict(response)


_MISSING = {"responseParameters": NO_PARAMETER, "responseModels": NO_CONTENT_TYPE}


def _patch_method_response(definition: ApiDefinition, response: MethodResponse, patch: Patch) -> None:
    parts = patch.parts
    if len(parts) != 2 or parts[0] not in _MISSING:
        raise unsupported(patch)
    require_ops(patch, ("add", "remove", "replace"))
    field, key = parts
    target: dict[str, Any] = response.setdefault(field, {})  # type: ignore[misc]
    if patch.op != "add" and key not in target:
        raise not_found(_MISSING[field])
    if patch.op == "remove":
        del target[key]
    elif field == "responseParameters":
        _check_response_parameters({key: True})
        target[key] = lenient_bool(patch)
    else:
        target[key] = check_model(definition, patch.value)

"""Integration and integration-response operations. An integration is checked as a whole (type,
backend method, URI, timeout, connection, parameter mappings) the same way whether it comes from
PutIntegration or from the result of an UpdateIntegration patch."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from apiway.control.errors import ControlError, bad_request, enum_violation, not_found, validation
from apiway.control.operations.methods import (
    HTTP_METHOD_OPTIONS,
    INVALID_HTTP_METHOD,
    INVALID_STATUS,
    METHOD_PARAMETER_RE,
    NO_CONTENT_TYPE,
    NO_PARAMETER,
    PARAMETER_LOCATIONS,
    check_content_types,
    checked_status,
    drop_empty,
    invalid_expression,
    load_method,
    mapping_error,
    status_errors,
    templates,
    typed_map,
)
from apiway.control.operations.resources import load_resource
from apiway.control.patch import Patch, as_bool, as_int, patch_list, patches, require_ops, set_or_clear, unsupported
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model.aws import ACCOUNT_ID
from apiway.model.rest import (
    CONTENT_HANDLINGS,
    DEFAULT_TIMEOUT_MS,
    PASSTHROUGH_BEHAVIORS,
    ApiDefinition,
    Integration,
    IntegrationResponse,
    Method,
)

INTEGRATION_TYPES = ("HTTP", "MOCK", "AWS_PROXY", "HTTP_PROXY", "AWS")  # in the order AWS lists them
CONNECTION_TYPES = ("INTERNET", "VPC_LINK")
HTTP_TYPES = ("HTTP", "HTTP_PROXY")
MIN_TIMEOUT_MS = 50
INVALID_INTEGRATION = "Invalid Integration identifier specified"
INVALID_CONTENT_HANDLING = f"Invalid content handling specified. Valid options are {','.join(CONTENT_HANDLINGS)}"
INVALID_PASSTHROUGH = f"Invalid passthrough behavior specified. Valid options are {','.join(PASSTHROUGH_BEHAVIORS)}"
REQUEST_TARGET_RE = re.compile(rf"^integration\.request\.{PARAMETER_LOCATIONS}\.\S+$")
REQUEST_SOURCE_RE = re.compile(r"^(method\.request\.body(\.\S+)?|context\.\S+|stageVariables\.\S+|'[^']*')$")
RESPONSE_SOURCE_RE = re.compile(r"^(integration\.response\.(header|multivalueheader)\.\S+|"
                                r"integration\.response\.body(\.\S+)?|context\.\S+|stageVariables\.\S+|'[^']*')$")
RESPONSE_TARGET_RE = re.compile(r"^method\.response\.header\.(\S+)$")
_ROLE_ACCOUNT_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/")
_SINGLE_VALUED = {"multivaluequerystring": "querystring", "multivalueheader": "header"}


def load_integration(cp: ControlPlane, p: dict[str, Any]) -> tuple[ApiDefinition, Method, Integration]:
    """For updates and deletes AWS reports a missing method as a missing integration."""
    definition, resource = load_resource(cp, p["restApiId"], p["resourceId"])
    method = (resource.get("resourceMethods") or {}).get(p["httpMethod"])
    if method is None or "methodIntegration" not in method:
        raise not_found(INVALID_INTEGRATION)
    return definition, method, method["methodIntegration"]


def method_integration(method: Method) -> Integration:
    integration = method.get("methodIntegration")
    if integration is None:
        raise not_found(INVALID_INTEGRATION)
    return integration


# -- checks ---------------------------------------------------------------------------------------------

def _enum_error(input_name: str, member: str, value: Any, allowed: tuple[str, ...]) -> list[str]:
    if value is None or value in allowed:
        return []
    return [enum_violation(value, f"{input_name}.{member}", allowed)]


def check_integration(integration: Integration, method: Method) -> None:
    kind = integration["type"]
    if kind not in INTEGRATION_TYPES:
        raise bad_request(f"Invalid integration type specified. Valid options are {','.join(INTEGRATION_TYPES)}")
    verb = integration.get("httpMethod")
    if kind != "MOCK" and not verb:
        raise bad_request("Enumeration value for HttpMethod must be non-empty")
    if verb and verb not in HTTP_METHOD_OPTIONS:
        raise bad_request(INVALID_HTTP_METHOD)
    if kind in HTTP_TYPES:
        _check_http_uri(integration.get("uri"))
    elif kind != "MOCK":
        _check_aws_uri(kind, integration.get("uri"))
    timeout = integration.get("timeoutInMillis")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not MIN_TIMEOUT_MS <= timeout <= DEFAULT_TIMEOUT_MS:
        raise bad_request(f"Timeout should be between {MIN_TIMEOUT_MS} ms and {DEFAULT_TIMEOUT_MS} ms")
    if integration.get("passthroughBehavior") not in PASSTHROUGH_BEHAVIORS:
        raise bad_request(INVALID_PASSTHROUGH)
    if integration.get("contentHandling") not in (None, *CONTENT_HANDLINGS):
        raise bad_request(INVALID_CONTENT_HANDLING)
    if integration.get("connectionType") not in (None, *CONNECTION_TYPES):
        raise bad_request(f"Invalid connection type specified. Valid options are {','.join(CONNECTION_TYPES)}")
    if integration.get("connectionType") == "VPC_LINK" and not integration.get("connectionId"):
        raise bad_request("ConnectionId must be set for connection type VPC_LINK")
    _check_request_mappings(integration.get("requestParameters"), method)
    _check_credentials(integration.get("credentials"))


def _check_credentials(credentials: str | None) -> None:
    """A role of another account may not be passed to API Gateway (AWS's IAM PassRole rule); the caller's own
    credentials (`arn:aws:iam::*:user/*`) and this account's roles are fine."""
    match = _ROLE_ACCOUNT_RE.match(credentials or "")
    if match is not None and match.group(1) != ACCOUNT_ID:
        raise ControlError("AccessDeniedException", "Cross-account pass role is not allowed.")


def _check_http_uri(uri: str | None) -> None:
    parts = urlsplit(uri or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in uri or ""):
        raise bad_request("Invalid HTTP endpoint specified for URI")


def _check_aws_uri(kind: str, uri: str | None) -> None:
    """`arn:{partition}:apigateway:{region}:{service}:{path|action}/...`."""
    fields = (uri or "").split(":", 5)
    if len(fields) != 6 or fields[0] != "arn":
        raise bad_request("Invalid ARN specified in the request")
    service, target = fields[4], fields[5]
    if not target.startswith(("path", "action")):
        raise bad_request("AWS ARN for integration must contain path or action")
    lambda_function = service == "lambda" and target.startswith("path/2015-03-31/functions/")
    if kind == "AWS_PROXY" and not (lambda_function or service == "firehose"):
        raise bad_request("Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose "
                          "stream invocations.")


def _check_request_mappings(mappings: dict[str, str] | None, method: Method) -> None:
    declared = {_single_valued(k) for k in method.get("requestParameters") or {}}
    for target, source in (mappings or {}).items():
        if not REQUEST_TARGET_RE.match(target):
            raise invalid_expression(target)
        source = source or ""
        if METHOD_PARAMETER_RE.match(source):
            if _single_valued(source) not in declared:
                raise mapping_error(f"Invalid mapping expression parameter specified: {source}")
        elif not REQUEST_SOURCE_RE.match(source):
            raise invalid_expression(source)


def _single_valued(parameter: str) -> str:
    """`method.request.multivaluequerystring.q` reads the parameter declared as `...querystring.q`."""
    match = METHOD_PARAMETER_RE.match(parameter)
    if match is None:
        return parameter
    return f"method.request.{_SINGLE_VALUED.get(match.group(1), match.group(1))}.{match.group(2)}"


def _check_response_mappings(mappings: dict[str, str] | None, method: Method, status: str) -> None:
    if not mappings:
        return
    method_response = (method.get("methodResponses") or {}).get(status)
    if method_response is None:
        raise mapping_error("No method response exists for method.")
    declared = method_response.get("responseParameters") or {}
    for target, source in mappings.items():
        if not RESPONSE_TARGET_RE.match(target):
            raise invalid_expression(target)
        if target not in declared:
            raise mapping_error(f"Invalid mapping expression parameter specified: {target}")
        if not RESPONSE_SOURCE_RE.match(source or ""):
            raise invalid_expression(source)


# -- integrations ---------------------------------------------------------------------------------------

_OPTIONAL = ("connectionId", "credentials", "contentHandling", "tlsConfig", "responseTransferMode",
             "integrationTarget")


@operation("PutIntegration")
def put_integration(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    parameters = typed_map(p.get("requestParameters"), str)
    request_templates = templates(p.get("requestTemplates"))
    errors = (_enum_error("putIntegrationInput", "type", p["type"], INTEGRATION_TYPES)
              + _enum_error("putIntegrationInput", "connectionType", p.get("connectionType"), CONNECTION_TYPES)
              + _enum_error("putIntegrationInput", "contentHandling", p.get("contentHandling"), CONTENT_HANDLINGS))
    if errors:
        raise validation(errors)
    definition, resource, method = load_method(cp, p)
    kind = p["type"]
    integration: Integration = {"type": kind}
    if p.get("integrationHttpMethod"):
        integration["httpMethod"] = p["integrationHttpMethod"]
    if kind != "MOCK" and p.get("uri") is not None:
        integration["uri"] = p["uri"]  # a MOCK integration has no backend, so AWS drops any URI
    if p.get("connectionType") or kind in HTTP_TYPES:
        integration["connectionType"] = p.get("connectionType") or "INTERNET"
    for key in _OPTIONAL:
        if p.get(key) is not None:
            integration[key] = p[key]  # type: ignore[literal-required]
    if parameters is not None:
        integration["requestParameters"] = parameters
    if request_templates is not None:
        integration["requestTemplates"] = request_templates
    integration["passthroughBehavior"] = p.get("passthroughBehavior") or "WHEN_NO_MATCH"
    timeout = p.get("timeoutInMillis")
    integration["timeoutInMillis"] = DEFAULT_TIMEOUT_MS if timeout is None else timeout
    integration["cacheNamespace"] = p.get("cacheNamespace") or resource["id"]
    integration["cacheKeyParameters"] = list(p.get("cacheKeyParameters") or [])
    check_integration(integration, method)
    method["methodIntegration"] = integration
    cp.save_api(definition)
    return dict(integration)


@operation("GetIntegration")
def get_integration(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return dict(method_integration(load_method(cp, p)[2]))


@operation("DeleteIntegration")
def delete_integration(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition, method, _ = load_integration(cp, p)
    del method["methodIntegration"]
    cp.save_api(definition)


_INTEGRATION_FIELDS = ("uri", "httpMethod", "type", "credentials", "passthroughBehavior", "contentHandling",
                       "timeoutInMillis", "connectionType", "connectionId", "cacheNamespace")
_INTEGRATION_MAPS = ("requestParameters", "requestTemplates")


@operation("UpdateIntegration")
def update_integration(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    operations = patches(p, "UpdateIntegration")
    definition, method, integration = load_integration(cp, p)
    for patch in operations:
        _patch_integration(integration, patch)
    drop_empty(integration, *_INTEGRATION_MAPS)
    if integration["type"] == "MOCK":
        integration.pop("uri", None)
    elif integration["type"] in HTTP_TYPES:
        integration.setdefault("connectionType", "INTERNET")
    check_content_types(integration.get("requestTemplates"))
    check_integration(integration, method)
    cp.save_api(definition)
    return dict(integration)


def _patch_integration(integration: Integration, patch: Patch) -> None:
    parts = patch.parts
    field = parts[0] if parts else ""
    if field in _INTEGRATION_FIELDS and len(parts) == 1:
        require_ops(patch, ("replace",))
        if field == "timeoutInMillis":
            integration["timeoutInMillis"] = as_int(patch)
        elif field == "type":
            integration["type"] = patch.value or ""  # checked with the whole integration
        else:
            set_or_clear(integration, field, patch.value)
    elif parts == ["tlsConfig", "insecureSkipVerification"]:
        require_ops(patch, ("replace",))
        integration["tlsConfig"] = {"insecureSkipVerification": as_bool(patch)}
    elif field in _INTEGRATION_MAPS and len(parts) == 2:
        require_ops(patch, ("add", "remove", "replace"))
        target: dict[str, Any] = integration.setdefault(field, {})  # type: ignore[misc]
        if patch.op == "remove":
            target.pop(parts[1], None)
        else:
            target[parts[1]] = patch.value if field == "requestParameters" else patch.value or None
    elif field == "cacheKeyParameters" and len(parts) == 2:
        require_ops(patch, ("add", "remove"))
        patch_list(integration.setdefault("cacheKeyParameters", []), parts[1], patch)
    else:
        raise unsupported(patch)


# -- integration responses ------------------------------------------------------------------------------

def integration_response(integration: Integration, status: str) -> IntegrationResponse:
    found = (integration.get("integrationResponses") or {}).get(status)
    if found is None:
        raise not_found(INVALID_STATUS)
    return found


@operation("PutIntegrationResponse")
def put_integration_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    checked_status(p["statusCode"])
    parameters = typed_map(p.get("responseParameters"), str)
    response_templates = templates(p.get("responseTemplates"))
    errors = _enum_error("putIntegrationResponseInput", "contentHandling", p.get("contentHandling"),
                         CONTENT_HANDLINGS)
    if errors:
        raise validation(errors)
    definition, _, method = load_method(cp, p)
    integration = method_integration(method)
    status = p["statusCode"]
    _check_response_mappings(parameters, method, status)
    response: IntegrationResponse = {"statusCode": status}
    if p.get("selectionPattern") is not None:
        response["selectionPattern"] = p["selectionPattern"]
    if parameters is not None:
        response["responseParameters"] = parameters
    if response_templates is not None:
        response["responseTemplates"] = response_templates
    if p.get("contentHandling"):
        response["contentHandling"] = p["contentHandling"]
    integration.setdefault("integrationResponses", {})[status] = response
    cp.save_api(definition)
    return dict(response)


@operation("GetIntegrationResponse")
def get_integration_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    checked_status(p["statusCode"])
    integration = method_integration(load_method(cp, p)[2])
    return dict(integration_response(integration, p["statusCode"]))


@operation("DeleteIntegrationResponse")
def delete_integration_response(cp: ControlPlane, p: dict[str, Any]) -> None:
    checked_status(p["statusCode"])
    definition, _, integration = load_integration(cp, p)
    integration_response(integration, p["statusCode"])
    del integration["integrationResponses"][p["statusCode"]]
    drop_empty(integration, "integrationResponses")
    cp.save_api(definition)


_RESPONSE_MAPS = {"responseParameters": NO_PARAMETER, "responseTemplates": NO_CONTENT_TYPE}


@operation("UpdateIntegrationResponse")
def update_integration_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    operations = patches(p, "UpdateIntegrationResponse", status_errors(p["statusCode"]))
    definition, method, integration = load_integration(cp, p)
    response = integration_response(integration, p["statusCode"])
    for patch in operations:
        _patch_integration_response(response, patch)
    drop_empty(response, *_RESPONSE_MAPS)
    check_content_types(response.get("responseTemplates"))
    _check_response_mappings(response.get("responseParameters"), method, p["statusCode"])
    cp.save_api(definition)
    return dict(response)


def _patch_integration_response(response: IntegrationResponse, patch: Patch) -> None:
    parts = patch.parts
    field = parts[0] if parts else ""
    if parts == ["selectionPattern"]:
        require_ops(patch, ("replace",))
        response["selectionPattern"] = patch.value or ""
    elif parts == ["contentHandling"]:
        require_ops(patch, ("replace",))
        if patch.value and patch.value not in CONTENT_HANDLINGS:
            raise bad_request(INVALID_CONTENT_HANDLING)
        set_or_clear(response, "contentHandling", patch.value)
    elif field in _RESPONSE_MAPS and len(parts) == 2:
        require_ops(patch, ("add", "remove", "replace"))
        target: dict[str, Any] = response.setdefault(field, {})  # type: ignore[misc]
        key = parts[1]
        if patch.op != "add" and key not in target:
            raise not_found(_RESPONSE_MAPS[field])
        if patch.op == "remove":
            del target[key]
        else:
            target[key] = patch.value if field == "responseParameters" else patch.value or None
    else:
        raise unsupported(patch)

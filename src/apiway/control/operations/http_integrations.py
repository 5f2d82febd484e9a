"""apigatewayv2 integrations: create, list, get, update, delete. HTTP APIs take the two proxy types:
AWS_PROXY (a Lambda function, payload format 1.0 or 2.0, or an AWS service action with
`integrationSubtype`) and HTTP_PROXY (a URL, payload format 1.0). WebSocket APIs take every type (AWS,
HTTP and MOCK with request templates too), payload format 1.0; their integration responses are in
http_integration_responses.py."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request
from apiway.control.operations.http_apis import is_http
from apiway.control.operations.http_common import check_limit, check_unused, enum, in_range, listed, members, wire
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.model import ids, websocket
from apiway.model.http import (
    DEFAULT_TIMEOUT_MS,
    HTTP_INTEGRATION_TYPES,
    MIN_TIMEOUT_MS,
    PAYLOAD_FORMATS,
    HttpApiDefinition,
    Integration,
    integration_id_of,
)

INTEGRATION_TYPES = ("AWS", "HTTP", "MOCK", "HTTP_PROXY", "AWS_PROXY")
CONNECTION_TYPES = ("INTERNET", "VPC_LINK")
PASSTHROUGH_BEHAVIORS = ("WHEN_NO_MATCH", "NEVER", "WHEN_NO_TEMPLATES")
CONTENT_HANDLING = ("CONVERT_TO_BINARY", "CONVERT_TO_TEXT")
MAX_INTEGRATIONS = 300
MAX_WEBSOCKET_TIMEOUT_MS = 29000
# recorded from AWS
PROXY_ONLY = ("Currently, an API with a protocol type of HTTP may only be associated with proxy integrations "
              "(AWS_PROXY, HTTP_PROXY)")
WEBSOCKET_RESPONSE_SELECTION = "${integration.response.statuscode}"
_FIELDS = ("ConnectionId", "ConnectionType", "ContentHandlingStrategy", "CredentialsArn", "Description",
           "IntegrationMethod", "IntegrationSubtype", "IntegrationType", "IntegrationUri", "PassthroughBehavior",
           "PayloadFormatVersion", "RequestParameters", "RequestTemplates", "ResponseParameters",
           "TemplateSelectionExpression", "TimeoutInMillis", "TlsConfig")


def integration(cp: ControlPlane, definition: HttpApiDefinition, integration_id: str) -> Integration:
    found: Integration = cp.http_part(definition["integrations"], integration_id, "Integration")
    return found


def checked(definition: HttpApiDefinition, raw: dict[str, Any], input_name: str) -> Integration:
    """An integration as AWS stores it: enums, the type's required members and the defaults filled in."""
    kind = enum(raw.get("integrationType"), INTEGRATION_TYPES, f"{input_name}.integrationType")
    http = is_http(definition)
    if http and kind not in HTTP_INTEGRATION_TYPES:
        raise bad_request(PROXY_ONLY)
    result: dict[str, Any] = dict(raw)
    result["connectionType"] = enum(raw.get("connectionType") or "INTERNET", CONNECTION_TYPES, "connectionType")
    if result["connectionType"] == "VPC_LINK" and not raw.get("connectionId"):
        raise bad_request("ConnectionId must be provided when connectionType is VPC_LINK.")
    for key, allowed in (("passthroughBehavior", PASSTHROUGH_BEHAVIORS), ("contentHandlingStrategy", CONTENT_HANDLING)):
        if raw.get(key) is not None:
            result[key] = enum(raw[key], allowed, key)
    top = DEFAULT_TIMEOUT_MS if http else MAX_WEBSOCKET_TIMEOUT_MS
    timeout = raw.get("timeoutInMillis")
    result["timeoutInMillis"] = top if timeout is None else in_range(timeout, MIN_TIMEOUT_MS, top, "timeoutInMillis")
    if http:
        _check_http(result, kind)
    else:
        _check_websocket(result, kind)
    return result  # type: ignore[return-value]


def _check_websocket(result: dict[str, Any], kind: str) -> None:
    """A WebSocket integration: a URI for every type but MOCK, payload format 1.0 only, request parameters
    in the WebSocket form; non-proxy types pass unmatched bodies through unless told otherwise."""
    if kind != "MOCK" and not result.get("integrationUri"):
        raise bad_request(f"IntegrationUri is required for {kind} integrations.")
    if kind in ("HTTP", "HTTP_PROXY") and not result.get("integrationMethod"):
        raise bad_request(f"IntegrationMethod is required for {kind} integrations.")
    if kind in ("AWS", "AWS_PROXY"):
        result.setdefault("integrationMethod", "POST")
    version = result.setdefault("payloadFormatVersion", "1.0")
    if version != "1.0":
        raise bad_request(f"Unsupported payload format version {version}. 1.0 is the only supported value for "
                          "WebSocket APIs.")
    if result.get("integrationSubtype"):
        raise bad_request("IntegrationSubtype is supported only for HTTP APIs.")
    if result.get("responseParameters"):
        raise bad_request("ResponseParameters are supported only for HTTP APIs; a WebSocket integration maps "
                          "responses with integration responses.")
    error = websocket.integration_parameters_error(result.get("requestParameters") or {})
    if error:
        raise bad_request(error)
    if kind not in websocket.PROXY_TYPES:
        result.setdefault("passthroughBehavior", "WHEN_NO_MATCH")
    result.setdefault("integrationResponseSelectionExpression", WEBSOCKET_RESPONSE_SELECTION)


def _check_http(result: dict[str, Any], kind: str) -> None:
    version = result.get("payloadFormatVersion")
    subtype = result.get("integrationSubtype")
    if kind == "AWS_PROXY" and not subtype:
        if not result.get("integrationUri"):
            raise bad_request("IntegrationUri is required for AWS_PROXY integrations without an integrationSubtype.")
        if version is None:
            raise bad_request("PayloadFormatVersion is required for AWS_PROXY integrations of HTTP APIs. "
                              f"Supported values: {', '.join(PAYLOAD_FORMATS)}.")
        if version not in PAYLOAD_FORMATS:
            raise bad_request(f"Unsupported payload format version {version}. Supported values for Lambda proxy "
                              f"integrations: {', '.join(PAYLOAD_FORMATS)}.")
        result.setdefault("integrationMethod", "POST")
        return
    if kind == "AWS_PROXY" and not result.get("credentialsArn"):
        raise bad_request(f"CredentialsArn is required for integrations of subtype {subtype}.")
    if kind == "HTTP_PROXY":
        if not result.get("integrationUri"):
            raise bad_request("IntegrationUri is required for HTTP_PROXY integrations.")
        if not result.get("integrationMethod"):
            raise bad_request("IntegrationMethod is required for HTTP_PROXY integrations.")
    if version is None:
        result["payloadFormatVersion"] = "1.0"
    elif version != "1.0":
        raise bad_request(f"Unsupported payload format version {version}. 1.0 is the only supported value for "
                          f"{kind} integrations{' with an integrationSubtype' if subtype else ''}.")


@operation("CreateIntegration", service=V2)
def create_integration(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    check_limit(len(definition["integrations"]), MAX_INTEGRATIONS, "Integrations")  # AWS's words, recorded
    new = checked(definition, wire(p, _FIELDS), "createIntegrationInput")
    new["integrationId"] = ids.new_id(7, definition["integrations"])
    definition["integrations"][new["integrationId"]] = new
    cp.save_http_api(definition)
    return members(new)


@operation("GetIntegrations", service=V2)
def get_integrations(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return listed(cp.http_api(p["ApiId"])["integrations"].values(), lambda i: i["integrationId"], p)


@operation("GetIntegration", service=V2)
def get_integration(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    return members(integration(cp, definition, p["IntegrationId"]))


@operation("UpdateIntegration", service=V2)
def update_integration(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    current = integration(cp, definition, p["IntegrationId"])
    updated = checked(definition, {**current, **wire(p, _FIELDS)}, "updateIntegrationInput")
    definition["integrations"][current["integrationId"]] = updated
    cp.save_http_api(definition)
    return members(updated)


@operation("DeleteIntegration", service=V2)
def delete_integration(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition = cp.http_api(p["ApiId"])
    integration_id = integration(cp, definition, p["IntegrationId"])["integrationId"]
    check_unused("Integration", (r["routeId"] for r in definition["routes"].values()
                                 if integration_id_of(r) == integration_id))  # AWS's words, recorded
    del definition["integrations"][integration_id]
    (definition.get("integrationResponses") or {}).pop(integration_id, None)
    cp.save_http_api(definition)

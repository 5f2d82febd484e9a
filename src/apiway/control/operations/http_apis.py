"""apigatewayv2 APIs: create (quick create included), list, get, update, delete, and the API's CORS
configuration. A WebSocket API has a route selection expression of its own (model/websocket.py) and
neither CORS nor quick create."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request
from apiway.control.operations.http_common import enum, in_range, members, page, view
from apiway.control.operations.http_route_keys import check_new_route_key, check_route_key
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.model import ids, websocket
from apiway.model.http import (
    API_KEY_SELECTION,
    CREDENTIALS_WITH_ORIGIN_STAR,
    DEFAULT_ROUTE,
    DEFAULT_STAGE,
    DEFAULT_TIMEOUT_MS,
    HTTP_ROUTE_SELECTION,
    PROTOCOL_HTTP,
    PROTOCOL_WEBSOCKET,
    Api,
    Cors,
    HttpApiDefinition,
    Integration,
    Route,
    api_endpoint,
)
from apiway.store import http_deployments as v2store
from apiway.store.kinds import V2_API, V2_DEPLOYMENT, V2_STAGE

PROTOCOLS = (PROTOCOL_WEBSOCKET, PROTOCOL_HTTP)
IP_ADDRESS_TYPES = ("ipv4", "dualstack")
_HTTP_ROUTE_SELECTIONS = (HTTP_ROUTE_SELECTION, "${request.method} ${request.path}")
_CORS_LISTS = ("allowHeaders", "allowMethods", "allowOrigins", "exposeHeaders")


def is_http(definition: HttpApiDefinition) -> bool:
    return definition["api"]["protocolType"] == PROTOCOL_HTTP


def cors_configuration(raw: dict[str, Any], input_name: str) -> Cors:
    """A checked CORS configuration, as AWS stores it (only the members given)."""
    cors: Cors = {}
    for key in _CORS_LISTS:
        if raw.get(key) is not None:
            cors[key] = [str(v) for v in raw[key]]  # type: ignore[literal-required]
    if raw.get("allowCredentials") is not None:
        cors["allowCredentials"] = bool(raw["allowCredentials"])
    if raw.get("maxAge") is not None:
        cors["maxAge"] = in_range(raw["maxAge"], -1, 86400, f"{input_name}.corsConfiguration.maxAge")
    if cors.get("allowCredentials") and "*" in cors.get("allowOrigins", ()):
        raise bad_request(CREDENTIALS_WITH_ORIGIN_STAR)
    return cors


def _route_selection(protocol: str, given: str | None) -> str:
    if protocol == PROTOCOL_HTTP:
        if given is not None and given not in _HTTP_ROUTE_SELECTIONS:
            raise bad_request("Unsupported route selection expression for HTTP API: "
                              f"{given}. Only '${{request.method}} ${{request.path}}' is supported.")
        return HTTP_ROUTE_SELECTION
    error = websocket.route_selection_error(given)
    if error:
        raise bad_request(error)
    return str(given)


def _api_key_selection(given: str | None) -> str:
    given = given or API_KEY_SELECTION
    error = websocket.api_key_selection_error(given)
    if error:
        raise bad_request(error)
    return str(given)


# -- quick create ------------------------------------------------------------------------------------

def target_integration(target: str, integration_id: str, credentials: str | None) -> Integration:
    """The integration quick create makes of a target: a Lambda function (ARN or its invocation URI)
    becomes AWS_PROXY with payload 2.0, a URL becomes HTTP_PROXY."""
    if target.startswith(("http://", "https://")):
        integration: Integration = {"integrationId": integration_id, "integrationType": "HTTP_PROXY",
                                    "integrationMethod": "ANY", "payloadFormatVersion": "1.0"}  # type: ignore[typeddict-item]
    elif target.startswith("arn:") and (":lambda:" in target):
        integration = {"integrationId": integration_id, "integrationType": "AWS_PROXY",  # type: ignore[typeddict-item]
                       "integrationMethod": "POST", "payloadFormatVersion": "2.0"}
    else:
        raise bad_request(f"Invalid target specified: {target}. A target must be a Lambda function ARN or an "
                          "HTTP URL.")
    integration.update({"integrationUri": target, "connectionType": "INTERNET", "timeoutInMillis": DEFAULT_TIMEOUT_MS,
                        "apiGatewayManaged": True})
    if credentials:
        integration["credentialsArn"] = credentials
    return integration


def _quick_create(cp: ControlPlane, definition: HttpApiDefinition, p: dict[str, Any]) -> None:
    """The integration, route and auto-deploying `$default` stage of CreateApi's `Target`, all managed by
    API Gateway; the stage's first deployment follows when the definition is saved."""
    integration_id = ids.new_id(7)
    definition["integrations"][integration_id] = target_integration(p["Target"], integration_id,
                                                                    p.get("CredentialsArn"))
    route_key = p.get("RouteKey") or DEFAULT_ROUTE
    check_route_key(route_key, PROTOCOL_HTTP)
    route_id = ids.new_id(7)
    route: Route = {"routeId": route_id, "routeKey": route_key, "authorizationType": "NONE",
                    "apiKeyRequired": False, "target": f"integrations/{integration_id}", "apiGatewayManaged": True}
    definition["routes"][route_id] = route
    api_id = definition["api"]["apiId"]
    v2store.put_stage(cp.store, v2store.new_stage(api_id, DEFAULT_STAGE, auto_deploy=True, apiGatewayManaged=True))


def _managed(collection: dict[str, Any]) -> Any:
    return next((part for part in collection.values() if part.get("apiGatewayManaged")), None)


# -- operations ----------------------------------------------------------------------------------------

@operation("CreateApi", service=V2)
def create_api(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    protocol = enum(p["ProtocolType"], PROTOCOLS, "protocolType")
    quick = p.get("Target")
    if protocol == PROTOCOL_WEBSOCKET and (quick or p.get("CorsConfiguration") is not None):
        raise bad_request("Target and CorsConfiguration are supported only for HTTP APIs.")
    if not quick and (p.get("RouteKey") or p.get("CredentialsArn")):
        raise bad_request("RouteKey and CredentialsArn are supported only with Target (quick create).")
    api_id = cp.new_api_id()
    api: Api = {"apiId": api_id, "name": p["Name"], "protocolType": protocol,
                "routeSelectionExpression": _route_selection(protocol, p.get("RouteSelectionExpression")),
                "apiEndpoint": api_endpoint(api_id, protocol), "createdDate": v2store.iso_now(),
                "apiKeySelectionExpression": _api_key_selection(p.get("ApiKeySelectionExpression")),
                "disableExecuteApiEndpoint": bool(p.get("DisableExecuteApiEndpoint")),
                "ipAddressType": enum(p.get("IpAddressType") or "ipv4", IP_ADDRESS_TYPES, "ipAddressType"),
                "tags": dict(p.get("Tags") or {})}
    for key in ("Description", "Version"):
        if p.get(key) is not None:
            api[key.lower()] = p[key]  # type: ignore[literal-required]
    if p.get("DisableSchemaValidation") is not None:
        api["disableSchemaValidation"] = bool(p["DisableSchemaValidation"])
    if p.get("CorsConfiguration") is not None:
        api["corsConfiguration"] = cors_configuration(p["CorsConfiguration"], "createApiInput")
    definition: HttpApiDefinition = {"api": api, "routes": {}, "integrations": {}, "authorizers": {}}
    with cp.store.transaction():
        if quick:
            _quick_create(cp, definition, p)
        cp.save_http_api(definition)
    return members(api)


@operation("GetApis", service=V2)
def get_apis(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    apis = sorted((d["api"] for d in cp.store.list_records(V2_API)), key=lambda a: (a["createdDate"], a["apiId"]))
    return page([view(api) for api in apis], p)


@operation("GetApi", service=V2)
def get_api(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return members(cp.http_api(p["ApiId"])["api"])


@operation("UpdateApi", service=V2)
def update_api(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    api = definition["api"]
    protocol = api["protocolType"]
    if p.get("Name") is not None:
        api["name"] = p["Name"]
    for key in ("Description", "Version"):
        if p.get(key) is not None:
            api[key.lower()] = p[key]  # type: ignore[literal-required]
    if p.get("ApiKeySelectionExpression") is not None:
        api["apiKeySelectionExpression"] = _api_key_selection(p["ApiKeySelectionExpression"])
    for key in ("DisableExecuteApiEndpoint", "DisableSchemaValidation"):
        if p.get(key) is not None:
            api[key[:1].lower() + key[1:]] = bool(p[key])  # type: ignore[literal-required]
    if p.get("IpAddressType") is not None:
        api["ipAddressType"] = enum(p["IpAddressType"], IP_ADDRESS_TYPES, "ipAddressType")
    if p.get("RouteSelectionExpression") is not None:
        api["routeSelectionExpression"] = _route_selection(protocol, p["RouteSelectionExpression"])
    if p.get("CorsConfiguration") is not None:
        if protocol != PROTOCOL_HTTP:
            raise bad_request("CorsConfiguration is supported only for HTTP APIs.")
        api["corsConfiguration"] = cors_configuration(p["CorsConfiguration"], "updateApiInput")
    _update_quick_create(definition, p)
    cp.save_http_api(definition)
    return members(api)


def _update_quick_create(definition: HttpApiDefinition, p: dict[str, Any]) -> None:
    """UpdateApi's `Target`, `RouteKey` and `CredentialsArn` change what quick create made."""
    if p.get("Target") is None and p.get("RouteKey") is None and p.get("CredentialsArn") is None:
        return
    integration = _managed(definition["integrations"])
    route = _managed(definition["routes"])
    if integration is None or route is None:
        raise bad_request("Target, RouteKey and CredentialsArn can only be updated on an API made by quick create.")
    if p.get("Target") is not None:
        changed = target_integration(p["Target"], integration["integrationId"],
                                     p.get("CredentialsArn") or integration.get("credentialsArn"))
        integration.clear()
        integration.update(changed)
    elif p.get("CredentialsArn") is not None:
        integration["credentialsArn"] = p["CredentialsArn"]
    if p.get("RouteKey") is not None and p["RouteKey"] != route["routeKey"]:
        check_new_route_key(definition, p["RouteKey"], route["routeId"])
        route["routeKey"] = p["RouteKey"]


@operation("DeleteApi", service=V2)
def delete_api(cp: ControlPlane, p: dict[str, Any]) -> None:
    api_id = cp.http_api(p["ApiId"])["api"]["apiId"]
    with cp.store.transaction():  # its stages stop serving at once (on their change events)
        for stage in v2store.list_stages(cp.store, api_id):
            cp.store.delete_record(V2_STAGE, f"{api_id}/{stage['stageName']}")
        for found in cp.store.list_records(V2_DEPLOYMENT):
            if found["snapshot"]["api"]["apiId"] == api_id:
                cp.store.delete_record(V2_DEPLOYMENT, f"{api_id}/{found['deployment']['deploymentId']}")
        cp.store.delete_record(V2_API, api_id)


@operation("DeleteCorsConfiguration", service=V2)
def delete_cors_configuration(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition = cp.http_api(p["ApiId"])
    definition["api"].pop("corsConfiguration", None)
    cp.save_http_api(definition)

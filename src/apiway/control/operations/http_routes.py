"""apigatewayv2 routes: create, list, get, update, delete, and their request parameters. Every change
deploys the API to its auto-deploying stages. WebSocket routes follow model/websocket.py; their route
responses are in http_route_responses.py."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apiway.control.errors import ControlError, bad_request, not_found
from apiway.control.operations.http_apis import is_http
from apiway.control.operations.http_common import enum, listed, members, wire
from apiway.control.operations.http_route_keys import check_new_route_key
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.model import ids, websocket
from apiway.model.http import MAX_ROUTES, HttpApiDefinition, Route, integration_id_of

AUTHORIZATION_TYPES = ("NONE", "AWS_IAM", "CUSTOM", "JWT")
MAX_SCOPES = 10
# authorizationType → the authorizer type it needs (HTTP APIs)
_AUTHORIZER_OF = {"JWT": "JWT", "CUSTOM": "REQUEST"}
_OPTIONAL = ("AuthorizationScopes", "ModelSelectionExpression", "OperationName", "RequestModels",
             "RequestParameters", "RouteResponseSelectionExpression", "Target", "AuthorizerId")


def route(cp: ControlPlane, definition: HttpApiDefinition, route_id: str) -> Route:
    found: Route = cp.http_part(definition["routes"], route_id, "Route")
    return found


def check_route(definition: HttpApiDefinition, route: Route) -> None:
    """What a route refers to exists and fits its authorization type (and, on a WebSocket API, its key)."""
    integration_id = integration_id_of(route)
    target = route.get("target")
    if target is not None and (integration_id is None or integration_id not in definition["integrations"]):
        raise bad_request(f"Invalid target specified: {target}. A target must name an existing integration "
                          "as integrations/{integrationId}.")
    kind = route["authorizationType"]
    if not is_http(definition):
        _check_websocket(definition, route)
    authorizer_id = route.get("authorizerId")
    needed = _AUTHORIZER_OF.get(kind)
    if authorizer_id is not None:
        authorizer = definition["authorizers"].get(authorizer_id)
        if authorizer is None:
            raise bad_request(f"Invalid Authorizer identifier specified {authorizer_id}")
        if needed is None:
            raise bad_request(f"An authorizer may only be attached to a route with authorizationType "
                              f"{' or '.join(_AUTHORIZER_OF)}; this route has {kind}.")
        if authorizer["authorizerType"] != needed:
            raise bad_request(f"Authorization type {kind} requires an authorizer of type {needed}; authorizer "
                              f"{authorizer_id} is of type {authorizer['authorizerType']}.")
    elif needed is not None:
        raise bad_request(f"An authorizerId is required for authorizationType {kind}.")
    scopes = route.get("authorizationScopes")
    if scopes:
        if kind != "JWT":
            raise bad_request("Authorization scopes are supported only for routes with authorizationType JWT.")
        if len(scopes) > MAX_SCOPES:
            raise bad_request(f"A route can have at most {MAX_SCOPES} authorization scopes.")
    if is_http(definition) and route.get("apiKeyRequired"):
        raise bad_request("API keys are not supported for HTTP APIs.")


def _check_websocket(definition: HttpApiDefinition, route: Route) -> None:
    """A WebSocket route: authorization and request parameters on `$connect` only, two-way with
    `$default` as its route response selection expression, request models that exist."""
    key = route["routeKey"]
    error = (websocket.route_authorization_error(key, route["authorizationType"])
             or websocket.route_parameters_error(key, route.get("requestParameters") or {}))
    if error is None and route.get("routeResponseSelectionExpression") is not None:
        error = websocket.route_response_selection_error(route["routeResponseSelectionExpression"])
    if error:
        raise bad_request(error)
    check_model_names(definition, (route.get("requestModels") or {}).values())


def check_model_names(definition: HttpApiDefinition, names: Iterable[str]) -> None:
    known = {m["name"] for m in (definition.get("models") or {}).values()}
    for name in names:
        if name not in known:
            raise bad_request(f"Invalid model specified: {name}. No model of this API has that name.")


@operation("CreateRoute", service=V2)
def create_route(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    if len(definition["routes"]) >= MAX_ROUTES:
        raise ControlError("LimitExceededException", f"Maximum number of Routes for this API has been reached "
                                                     f"({MAX_ROUTES})")
    check_new_route_key(definition, p["RouteKey"])
    new: Route = {"routeId": ids.new_id(7, definition["routes"]), "routeKey": p["RouteKey"],
                  "apiKeyRequired": bool(p.get("ApiKeyRequired")),
                  "authorizationType": enum(p.get("AuthorizationType") or "NONE", AUTHORIZATION_TYPES,
                                            "authorizationType")}
    new.update(wire(p, _OPTIONAL))  # type: ignore[typeddict-item]
    check_route(definition, new)
    definition["routes"][new["routeId"]] = new
    cp.save_http_api(definition)
    return members(new)


@operation("GetRoutes", service=V2)
def get_routes(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return listed(cp.http_api(p["ApiId"])["routes"].values(), lambda r: (r["routeKey"], r["routeId"]), p)


@operation("GetRoute", service=V2)
def get_route(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    return members(route(cp, definition, p["RouteId"]))


@operation("UpdateRoute", service=V2)
def update_route(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    current = route(cp, definition, p["RouteId"])
    if p.get("RouteKey") is not None and p["RouteKey"] != current["routeKey"]:
        check_new_route_key(definition, p["RouteKey"], current["routeId"])
        current["routeKey"] = p["RouteKey"]
    if p.get("AuthorizationType") is not None:
        current["authorizationType"] = enum(p["AuthorizationType"], AUTHORIZATION_TYPES, "authorizationType")
        if current["authorizationType"] not in _AUTHORIZER_OF and p.get("AuthorizerId") is None:
            current.pop("authorizerId", None)  # leaving JWT or CUSTOM drops the authorizer and its scopes
            current.pop("authorizationScopes", None)
    if p.get("ApiKeyRequired") is not None:
        current["apiKeyRequired"] = bool(p["ApiKeyRequired"])
    current.update(wire(p, _OPTIONAL))  # type: ignore[typeddict-item]
    check_route(definition, current)
    cp.save_http_api(definition)
    return members(current)


@operation("DeleteRoute", service=V2)
def delete_route(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition = cp.http_api(p["ApiId"])
    route_id = route(cp, definition, p["RouteId"])["routeId"]
    del definition["routes"][route_id]
    (definition.get("routeResponses") or {}).pop(route_id, None)
    cp.save_http_api(definition)


@operation("DeleteRouteRequestParameter", service=V2)
def delete_route_request_parameter(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition = cp.http_api(p["ApiId"])
    parameters = route(cp, definition, p["RouteId"]).get("requestParameters") or {}
    if parameters.pop(p["RequestParameterKey"], None) is None:
        raise not_found(f"Invalid request parameter key specified {p['RequestParameterKey']}")
    cp.save_http_api(definition)

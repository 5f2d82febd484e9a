"""apigatewayv2 route responses (WebSocket APIs only): create, list, get, update, delete. A route answers
its client (two-way) when it has a `$default` route response and `$default` as its route response selection
expression; the response's models and parameters are checked here and stored in the definition's
`routeResponses` (routeId → routeResponseId → record), deployed like any other change."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request, conflict
from apiway.control.operations.http_apis import is_http
from apiway.control.operations.http_common import listed, members, wire
from apiway.control.operations.http_routes import check_model_names, route
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.model import ids, websocket
from apiway.model.http import HttpApiDefinition

_FIELDS = ("ModelSelectionExpression", "ResponseModels", "ResponseParameters", "RouteResponseKey")
WEBSOCKET_ONLY = "Route responses are supported only for WebSocket APIs."


def _responses(cp: ControlPlane, definition: HttpApiDefinition, route_id: str) -> dict[str, dict[str, Any]]:
    """The route's responses (created empty), for a route of a WebSocket API."""
    route_id = route(cp, definition, route_id)["routeId"]
    if is_http(definition):
        raise bad_request(WEBSOCKET_ONLY)
    return definition.setdefault("routeResponses", {}).setdefault(route_id, {})


def _checked(definition: HttpApiDefinition, record: dict[str, Any], others: dict[str, dict[str, Any]]) -> None:
    error = websocket.route_response_key_error(record.get("routeResponseKey"))
    if error:
        raise bad_request(error)
    if any(r["routeResponseKey"] == record["routeResponseKey"] and r["routeResponseId"] != record["routeResponseId"]
           for r in others.values()):
        raise conflict(f"Route response with key {record['routeResponseKey']} already exists for this route")
    check_model_names(definition, (record.get("responseModels") or {}).values())
    parameters = record.get("responseParameters") or {}
    for key, constraint in parameters.items():
        if not isinstance(constraint, dict) or set(constraint) - {"required"}:
            raise bad_request(f"Invalid constraints for response parameter {key}: expected "
                              '{"required": true|false}')


def _response(cp: ControlPlane, p: dict[str, Any]) -> tuple[HttpApiDefinition, dict[str, Any], dict[str, Any]]:
    definition = cp.http_api(p["ApiId"])
    responses = _responses(cp, definition, p["RouteId"])
    found = cp.http_part(responses, p["RouteResponseId"], "RouteResponse")
    return definition, responses, found


@operation("CreateRouteResponse", service=V2)
def create_route_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    responses = _responses(cp, definition, p["RouteId"])
    record: dict[str, Any] = {"routeResponseId": ids.new_id(6, responses), **wire(p, _FIELDS)}
    _checked(definition, record, responses)
    responses[record["routeResponseId"]] = record
    cp.save_http_api(definition)
    return members(record)


@operation("GetRouteResponses", service=V2)
def get_route_responses(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    responses = _responses(cp, definition, p["RouteId"])
    return listed(responses.values(), lambda r: (r["routeResponseKey"], r["routeResponseId"]), p)


@operation("GetRouteResponse", service=V2)
def get_route_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return members(_response(cp, p)[2])


@operation("UpdateRouteResponse", service=V2)
def update_route_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, responses, record = _response(cp, p)
    record.update(wire(p, _FIELDS))
    _checked(definition, record, responses)
    cp.save_http_api(definition)
    return members(record)


@operation("DeleteRouteResponse", service=V2)
def delete_route_response(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition, responses, record = _response(cp, p)
    del responses[record["routeResponseId"]]
    cp.save_http_api(definition)

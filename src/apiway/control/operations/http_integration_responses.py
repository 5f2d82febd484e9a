"""apigatewayv2 integration responses (WebSocket APIs only): create, list, get, update, delete. Each is
chosen by its key (`$default`, an exact status code, or `/regex/`) against the value of the integration's
integration response selection expression, and maps the answer with its templates; stored in the
definition's `integrationResponses` (integrationId → integrationResponseId → record)."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request, conflict
from apiway.control.operations.http_apis import is_http
from apiway.control.operations.http_common import enum, listed, members, wire
from apiway.control.operations.http_integrations import CONTENT_HANDLING, integration
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.model import ids, websocket
from apiway.model.http import HttpApiDefinition

_FIELDS = ("ContentHandlingStrategy", "IntegrationResponseKey", "ResponseParameters", "ResponseTemplates",
           "TemplateSelectionExpression")
WEBSOCKET_ONLY = "Integration responses are supported only for WebSocket APIs."


def _responses(cp: ControlPlane, definition: HttpApiDefinition, integration_id: str) -> dict[str, dict[str, Any]]:
    integration_id = integration(cp, definition, integration_id)["integrationId"]
    if is_http(definition):
        raise bad_request(WEBSOCKET_ONLY)
    return definition.setdefault("integrationResponses", {}).setdefault(integration_id, {})


def _checked(record: dict[str, Any], others: dict[str, dict[str, Any]]) -> None:
    key = record.get("integrationResponseKey")
    error = websocket.integration_response_key_error(key)
    if error:
        raise bad_request(error)
    if any(r["integrationResponseKey"] == key and r["integrationResponseId"] != record["integrationResponseId"]
           for r in others.values()):
        raise conflict(f"Integration response with key {key} already exists for this integration")
    if record.get("contentHandlingStrategy") is not None:
        enum(record["contentHandlingStrategy"], CONTENT_HANDLING, "contentHandlingStrategy")
    for name, value in (record.get("responseParameters") or {}).items():
        if not isinstance(value, str):
            raise bad_request(f"Invalid mapping expression specified: {name}")


def _response(cp: ControlPlane, p: dict[str, Any]) -> tuple[HttpApiDefinition, dict[str, Any], dict[str, Any]]:
    definition = cp.http_api(p["ApiId"])
    responses = _responses(cp, definition, p["IntegrationId"])
    found = cp.http_part(responses, p["IntegrationResponseId"], "IntegrationResponse")
    return definition, responses, found


@operation("CreateIntegrationResponse", service=V2)
def create_integration_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    responses = _responses(cp, definition, p["IntegrationId"])
    record: dict[str, Any] = {"integrationResponseId": ids.new_id(6, responses), **wire(p, _FIELDS)}
    _checked(record, responses)
    responses[record["integrationResponseId"]] = record
    cp.save_http_api(definition)
    return members(record)


@operation("GetIntegrationResponses", service=V2)
def get_integration_responses(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    responses = _responses(cp, definition, p["IntegrationId"])
    return listed(responses.values(), lambda r: (r["integrationResponseKey"], r["integrationResponseId"]), p)


@operation("GetIntegrationResponse", service=V2)
def get_integration_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return members(_response(cp, p)[2])


@operation("UpdateIntegrationResponse", service=V2)
def update_integration_response(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, responses, record = _response(cp, p)
    record.update(wire(p, _FIELDS))
    _checked(record, responses)
    cp.save_http_api(definition)
    return members(record)


@operation("DeleteIntegrationResponse", service=V2)
def delete_integration_response(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition, responses, record = _response(cp, p)
    del responses[record["integrationResponseId"]]
    cp.save_http_api(definition)

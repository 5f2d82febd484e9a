"""apigatewayv2 models (WebSocket APIs only): JSON Schema (draft 4) records that routes validate requests
against (`requestModels` chosen by `modelSelectionExpression`) and route responses name. Create, list, get,
update, delete (refused while a route or route response names the model) and GetModelTemplate, the
mapping template derived from the schema as for REST models; stored in the definition's `models`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import orjson

from apiway.control.errors import bad_request, conflict
from apiway.control.operations.http_apis import is_http
from apiway.control.operations.http_common import length, listed, members, wire
from apiway.control.operations.models import EMPTY_SCHEMA, INVALID_SCHEMA, JSON, TemplateWriter
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.model import ids, websocket
from apiway.model.document_limits import DocumentTooLarge, check_depth
from apiway.model.http import HttpApiDefinition

_FIELDS = ("ContentType", "Description", "Name", "Schema")
WEBSOCKET_ONLY = "Models are supported only for WebSocket APIs."


def _models(cp: ControlPlane, api_id: str) -> tuple[HttpApiDefinition, dict[str, dict[str, Any]]]:
    definition = cp.http_api(api_id)
    if is_http(definition):
        raise bad_request(WEBSOCKET_ONLY)
    return definition, definition.setdefault("models", {})


def checked_schema(schema: Any, content_type: str) -> str:
    """The schema text: present, within AWS's 32 KB, a JSON object for a JSON content type."""
    if not schema:
        raise bad_request(EMPTY_SCHEMA)
    text = length(schema, 1, websocket.MAX_SCHEMA, "schema")
    if "json" in content_type.lower():
        try:
            parsed = orjson.loads(text)
            check_depth(parsed)
        except (orjson.JSONDecodeError, DocumentTooLarge):
            raise bad_request(INVALID_SCHEMA) from None
        if not isinstance(parsed, dict):
            raise bad_request(INVALID_SCHEMA)
    return text


def _checked(record: dict[str, Any], others: dict[str, dict[str, Any]]) -> None:
    error = websocket.model_name_error(record.get("name"))
    if error:
        raise bad_request(error)
    if any(m["name"] == record["name"] and m["modelId"] != record["modelId"] for m in others.values()):
        raise conflict(f"Model name already exists for this API: {record['name']}")
    record["contentType"] = length(record.get("contentType") or JSON, 1, 256, "contentType")
    record["schema"] = checked_schema(record.get("schema"), record["contentType"])


def _model(cp: ControlPlane, p: dict[str, Any]) -> tuple[HttpApiDefinition, dict[str, Any], dict[str, Any]]:
    definition, models = _models(cp, p["ApiId"])
    return definition, models, cp.http_part(models, p["ModelId"], "Model")


def _references(definition: HttpApiDefinition, name: str) -> Iterator[str]:
    """The ids of routes whose request models, or whose route responses' models, name the model."""
    for route in definition["routes"].values():
        responses = (definition.get("routeResponses") or {}).get(route["routeId"], {}).values()
        if name in (route.get("requestModels") or {}).values() or any(
                name in (r.get("responseModels") or {}).values() for r in responses):
            yield route["routeId"]


@operation("CreateModel", service=V2)
def create_model(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, models = _models(cp, p["ApiId"])
    record: dict[str, Any] = {"modelId": ids.new_id(6, models), **wire(p, _FIELDS)}
    _checked(record, models)
    models[record["modelId"]] = record
    cp.save_http_api(definition)
    return members(record)


@operation("GetModels", service=V2)
def get_models(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return listed(_models(cp, p["ApiId"])[1].values(), lambda m: (m["name"], m["modelId"]), p)


@operation("GetModel", service=V2)
def get_model(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return members(_model(cp, p)[2])


@operation("UpdateModel", service=V2)
def update_model(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, models, record = _model(cp, p)
    renamed = p.get("Name") is not None and p["Name"] != record["name"]
    if renamed and next(_references(definition, record["name"]), None) is not None:
        raise conflict(f"Cannot rename model {record['name']}: routes of this API use it")
    record.update(wire(p, _FIELDS))
    _checked(record, models)
    cp.save_http_api(definition)
    return members(record)


@operation("DeleteModel", service=V2)
def delete_model(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition, models, record = _model(cp, p)
    users = sorted(_references(definition, record["name"]))
    if users:
        raise conflict(f"Cannot delete model because it is referenced by the following Routes with Ids: "
                       f"[{', '.join(users)}]")
    del models[record["modelId"]]
    cp.save_http_api(definition)


@operation("GetModelTemplate", service=V2)
def get_model_template(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, _, record = _model(cp, p)
    try:
        schema = orjson.loads(record["schema"])
    except orjson.JSONDecodeError:
        schema = None  # a non-JSON model: the template only copies the body
    return {"Value": TemplateWriter(cast(Any, definition)).write(schema)}

"""apigatewayv2 ImportApi, ReimportApi and ExportApi: HTTP APIs from and to OpenAPI 3.0."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request, enum_violation, validation
from apiway.control.operations.http_common import members
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.model.documents import DocumentError, parse_text
from apiway.model.http import PROTOCOL_HTTP, HttpApiDefinition
from apiway.openapi.http_exporter import EXPORT_VERSION, OUTPUT_TYPES, export_http_api
from apiway.openapi.http_importer import BASE_PATH_MODES, import_http_api
from apiway.store import http_deployments

SPECIFICATIONS = ("OAS30",)


def _import(p: dict[str, Any], api_id: str) -> HttpApiDefinition:
    """The document in `Body`, imported; AWS's errors for a bad one, and for its warnings when the caller
    asks to `FailOnWarnings`."""
    mode = p.get("Basepath") or "ignore"
    if mode not in BASE_PATH_MODES:
        raise bad_request(f"Invalid basepath value '{mode}'. Valid values are {', '.join(BASE_PATH_MODES)}")
    text = p["Body"]
    try:
        definition, warnings = import_http_api(parse_text(text, "body"), text, "body", api_id, mode)
    except DocumentError as exc:
        raise bad_request(f"Errors found during import:\n\t{exc}") from None
    if warnings and p.get("FailOnWarnings"):
        raise bad_request("Warnings found during import:\n\t" + "\n\t".join(warnings))
    if warnings:
        definition["api"]["warnings"] = warnings
    return definition


@operation("ImportApi", service=V2)
def import_api(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = _import(p, cp.new_api_id())
    cp.save_http_api(definition)  # a new API has no stages to deploy to
    return members(definition["api"])


@operation("ReimportApi", service=V2)
def reimport_api(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    """The document replaces the API's routes, integrations, authorizers and CORS configuration; the API
    keeps its id, creation date and tags (the document's tags are added). Stages that deploy automatically
    get the new API at once."""
    current = cp.http_api(p["ApiId"])
    if current["api"]["protocolType"] != PROTOCOL_HTTP:
        raise bad_request("ReimportApi is supported only for HTTP APIs")
    definition = _import(p, current["api"]["apiId"])
    api, kept = definition["api"], current["api"]
    api["createdDate"] = kept["createdDate"]
    api["tags"] = {**(kept.get("tags") or {}), **(api.get("tags") or {})}
    cp.save_http_api(definition)
    return members(api)


@operation("ExportApi", service=V2)
def export_api(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    errors = []
    if p["Specification"] not in SPECIFICATIONS:
        errors.append(enum_violation(p["Specification"], "specification", SPECIFICATIONS))
    if p["OutputType"] not in OUTPUT_TYPES:
        errors.append(enum_violation(p["OutputType"], "outputType", OUTPUT_TYPES))
    if errors:
        raise validation(errors)
    version = p.get("ExportVersion")
    if version is not None and version != EXPORT_VERSION:
        raise bad_request(f"Unsupported export version '{version}'. The supported version is {EXPORT_VERSION}")
    definition = cp.http_api(p["ApiId"])
    if definition["api"]["protocolType"] != PROTOCOL_HTTP:
        raise bad_request("ExportApi is supported only for HTTP APIs")
    stage = None
    if p.get("StageName"):
        stage = cp.http_stage(p["ApiId"], p["StageName"])
        found = http_deployments.get_deployment(cp.store, p["ApiId"], stage.get("deploymentId") or "")
        if found is None:
            raise bad_request(f"Stage {p['StageName']} has no deployment to export")
        definition = found[1]
    body = export_http_api(definition, stage, p.get("IncludeExtensions", True), p["OutputType"],
                           host=f"{p['ApiId']}.execute-api.{cp.host}")
    return {"body": body}


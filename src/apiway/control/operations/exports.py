"""GetExport: the deployed stage as an OpenAPI 3.0 or Swagger 2.0 document, JSON or YAML."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.openapi.exporter import EXPORT_TYPES, EXTENSIONS, export_filename, export_openapi, render_export


@operation("GetExport")
def get_export(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.api_id(p["restApiId"])
    stage = cp.stage(api_id, p["stageName"])
    export_type = p["exportType"]
    if export_type not in EXPORT_TYPES:
        raise bad_request(f"Invalid export type specified: {export_type}. Valid options are oas30,swagger")
    requested = {e.strip() for e in (p.get("parameters") or {}).get("extensions", "").split(",") if e.strip()}
    unknown = requested - set(EXTENSIONS)
    if unknown:
        raise bad_request(f"Invalid extensions specified: {','.join(sorted(unknown))}")
    deployment, snapshot = cp.deployment(api_id, stage["deploymentId"])
    # Server URLs point at this gateway's host-style invoke URL, so the export is usable as is.
    doc = export_openapi(snapshot, stage, export_type, requested, host=f"{api_id}.execute-api.{cp.host}",
                         deployed_at=deployment["createdDate"])
    accept = p.get("accepts")
    body, content_type = render_export(doc, accept)
    return {"contentType": content_type, "body": body,
            "contentDisposition": f'attachment; filename="{export_filename(doc, export_type, accept)}"'}

"""apigatewayv2 deployments: snapshot the API as it is now (immutable from then on) and, with `StageName`,
point that stage at it; list, get, describe and delete them."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request
from apiway.control.operations.http_common import members, page, view
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.model.http import Deployment
from apiway.store import http_deployments as v2store
from apiway.store.kinds import V2_DEPLOYMENT

NO_ROUTES = "Unable to deploy API because no routes exist in this API"
STAGES_POINT_HERE = "Active stages pointing to this deployment must be moved or deleted"


def _deployments(cp: ControlPlane, api_id: str) -> list[Deployment]:
    found = [r["deployment"] for r in cp.store.list_records(V2_DEPLOYMENT) if r["snapshot"]["api"]["apiId"] == api_id]
    return sorted(found, key=lambda d: (d["createdDate"], d["deploymentId"]))


@operation("CreateDeployment", service=V2)
def create_deployment(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    api_id = definition["api"]["apiId"]
    stages = [cp.http_stage(api_id, p["StageName"])] if p.get("StageName") else []
    if not definition["routes"]:
        raise bad_request(NO_ROUTES)
    deployment, snapshot = v2store.new_deployment(definition, p.get("Description"))
    for stage in stages:
        stage.pop("lastDeploymentStatusMessage", None)
        cp.prepare_http_stage(snapshot, {**stage, "deploymentId": deployment["deploymentId"]})
    v2store.deploy(cp.store, api_id, deployment, snapshot, stages)  # the stage serves it at once
    return members(deployment)


@operation("GetDeployments", service=V2)
def get_deployments(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.http_api(p["ApiId"])["api"]["apiId"]
    return page([view(d) for d in _deployments(cp, api_id)], p)


@operation("GetDeployment", service=V2)
def get_deployment(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.http_api(p["ApiId"])["api"]["apiId"]
    return members(cp.http_deployment(api_id, p["DeploymentId"])[0])


@operation("UpdateDeployment", service=V2)
def update_deployment(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.http_api(p["ApiId"])["api"]["apiId"]
    deployment, snapshot = cp.http_deployment(api_id, p["DeploymentId"])
    if p.get("Description") is not None:
        deployment["description"] = p["Description"]
    cp.store.put_record(V2_DEPLOYMENT, f"{api_id}/{deployment['deploymentId']}",
                        {"deployment": deployment, "snapshot": snapshot})
    return members(deployment)


@operation("DeleteDeployment", service=V2)
def delete_deployment(cp: ControlPlane, p: dict[str, Any]) -> None:
    api_id = cp.http_api(p["ApiId"])["api"]["apiId"]
    deployment_id = cp.http_deployment(api_id, p["DeploymentId"])[0]["deploymentId"]
    if any(s.get("deploymentId") == deployment_id for s in v2store.list_stages(cp.store, api_id)):
        raise bad_request(STAGES_POINT_HERE)
    cp.store.delete_record(V2_DEPLOYMENT, f"{api_id}/{deployment_id}")

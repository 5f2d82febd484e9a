"""Deployment operations: snapshot the API as it is now (immutable from then on) and point a stage or
its canary at it; list, get, describe and delete deployments."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request
from apiway.control.operations.stages import (
    apply_stage_options,
    canary_settings,
    check_compiles,
    check_stage_name,
    checked_variables,
)
from apiway.control.paging import page
from apiway.control.patch import patches, require_ops, set_or_clear, unsupported
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.core.errors import DeployError
from apiway.model.rest import ApiDefinition, Deployment, Stage, now
from apiway.store.deployments import deploy, new_deployment, stage_record

CANARY_CONTENT = "Invalid deployment content specified."


def deployment_view(deployment: Deployment, with_summary: bool = False) -> dict[str, Any]:
    """Deployments come back without their apiSummary unless it is asked for (`embed=apisummary`)."""
    view = {k: v for k, v in deployment.items() if k != "apiSummary"}
    if with_summary:
        view["apiSummary"] = deployment["apiSummary"]
    return view


@operation("CreateDeployment")
def create_deployment(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.api(p["restApiId"])
    api_id = definition["restApi"]["id"]
    name = p.get("stageName")
    existing = cp.store.get_stage(api_id, name) if name else None
    if p.get("canarySettings") is not None:
        _check_canary_target(name, existing)
    elif name:
        check_stage_name(name)
    variables = checked_variables(p.get("variables"))
    try:
        deployment, snapshot = new_deployment(definition, p.get("description"), owned=True)
    except DeployError as exc:
        raise bad_request(str(exc)) from None
    stage = _deployed_stage(p, api_id, deployment["id"], existing, variables) if name else None
    _check_deployable(cp, snapshot, stage or stage_record(api_id, "deployment", deployment["id"], variables))
    deploy(cp.store, deployment, snapshot, [stage] if stage else [])  # a stage serves it at once
    return deployment_view(deployment)


def _check_canary_target(name: str | None, existing: Stage | None) -> None:
    if not name:
        raise bad_request(f"{CANARY_CONTENT}Non null and non empty stageName must be provided for canary deployment. "
                          f"Provided value is {'null' if name is None else name}")
    if existing is None:
        raise bad_request(f"{CANARY_CONTENT}Stage {name} must already be created before making a canary release "
                          "deployment")


def _deployed_stage(p: dict[str, Any], api_id: str, deployment_id: str, existing: Stage | None,
                    variables: dict[str, str]) -> Stage:
    """The stage as this deployment leaves it: its canary pointed at the deployment, an existing stage
    re-pointed (variables given here added to its own), or a new stage."""
    if p.get("canarySettings") is not None:
        assert existing is not None
        stage: Stage = dict(existing)  # type: ignore[assignment]
        stage["canarySettings"] = canary_settings(p["canarySettings"], deployment_id)
    elif existing is not None:
        stage = dict(existing, deploymentId=deployment_id)  # type: ignore[assignment]
        if variables:
            stage["variables"] = {**(existing.get("variables") or {}), **variables}
    else:
        stage = stage_record(api_id, p["stageName"], deployment_id, variables, p.get("stageDescription"))
    apply_stage_options(stage, p)
    stage["lastUpdatedDate"] = now()
    return stage


def _check_deployable(cp: ControlPlane, snapshot: ApiDefinition, stage: Stage) -> None:
    """A canary deployment is checked with the variables its requests will see."""
    canary = stage.get("canarySettings")
    if canary and canary.get("stageVariableOverrides"):
        variables = {**(stage.get("variables") or {}), **canary["stageVariableOverrides"]}
        stage = dict(stage, variables=variables)  # type: ignore[assignment]
    check_compiles(cp, snapshot, stage)


@operation("GetDeployments")
def get_deployments(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.api_id(p["restApiId"])
    deployments = sorted(cp.store.list_deployments(api_id), key=lambda d: d["createdDate"])
    return page([deployment_view(d) for d in deployments], p)


@operation("GetDeployment")
def get_deployment(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.api_id(p["restApiId"])
    deployment = cp.deployment(api_id, p["deploymentId"])[0]
    embed = {e.lower() for e in p.get("embed") or ()}
    return deployment_view(deployment, with_summary="apisummary" in embed)


@operation("UpdateDeployment")
def update_deployment(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.api_id(p["restApiId"])
    deployment = cp.deployment(api_id, p["deploymentId"])[0]
    for patch in patches(p, "UpdateDeployment"):
        if patch.path != "/description":
            raise unsupported(patch)
        require_ops(patch, ("replace",))
        set_or_clear(deployment, "description", patch.value)
    cp.store.put_deployment_record(deployment)
    return deployment_view(deployment)


@operation("DeleteDeployment")
def delete_deployment(cp: ControlPlane, p: dict[str, Any]) -> None:
    api_id = cp.api_id(p["restApiId"])
    deployment_id = cp.deployment(api_id, p["deploymentId"])[0]["id"]
    for stage in cp.store.list_stages():
        canary = stage.get("canarySettings") or {}
        if stage["restApiId"] == api_id and deployment_id in (stage["deploymentId"], canary.get("deploymentId")):
            raise bad_request("Active stages pointing to this deployment must be moved or deleted")
    cp.store.delete_deployment(api_id, deployment_id)

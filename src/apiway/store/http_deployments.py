"""HTTP API (apigatewayv2) definitions, deployments and stages in the store (model/http.py has the
layout): read and write them whole, snapshot a definition into a deployment, and point stages at it —
what the control plane, the project deployer and auto-deploy share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import orjson

from apiway.model import ids
from apiway.model.http import Deployment, HttpApiDefinition, Stage
from apiway.store.base import Store
from apiway.store.kinds import V2_API, V2_DEPLOYMENT, V2_STAGE

AUTO_DEPLOY_DESCRIPTION = "Automatic deployment triggered by changes to the Api configuration"


def iso_now() -> str:
    """The v2 wire format's timestamps: ISO-8601 in UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_api(store: Store, api_id: str) -> HttpApiDefinition | None:
    return cast("HttpApiDefinition | None", store.get_record(V2_API, api_id))


def put_api(store: Store, definition: HttpApiDefinition) -> None:
    store.put_record(V2_API, definition["api"]["apiId"], definition)


def get_stage(store: Store, api_id: str, stage_name: str) -> Stage | None:
    return cast("Stage | None", store.get_record(V2_STAGE, f"{api_id}/{stage_name}"))


def put_stage(store: Store, stage: Stage) -> None:
    store.put_record(V2_STAGE, f"{stage['apiId']}/{stage['stageName']}", stage)


def list_stages(store: Store, api_id: str | None = None) -> list[Stage]:
    """The stages of one API, or of every HTTP and WebSocket API."""
    stages = cast("list[Stage]", store.list_records(V2_STAGE))
    return stages if api_id is None else [s for s in stages if s["apiId"] == api_id]


def get_deployment(store: Store, api_id: str, deployment_id: str) -> tuple[Deployment, HttpApiDefinition] | None:
    found: dict[str, Any] | None = store.get_record(V2_DEPLOYMENT, f"{api_id}/{deployment_id}")
    return None if found is None else (found["deployment"], found["snapshot"])


def new_deployment(definition: HttpApiDefinition, description: str | None = None,
                   auto: bool = False) -> tuple[Deployment, HttpApiDefinition]:
    """A deployment of the definition as it is now; the snapshot is a copy the caller may not change."""
    deployment: Deployment = {"deploymentId": ids.new_deployment_id(), "createdDate": iso_now(),
                              "deploymentStatus": "DEPLOYED", "autoDeployed": auto}
    if description:
        deployment["description"] = description
    return deployment, orjson.loads(orjson.dumps(definition))


def deploy(store: Store, api_id: str, deployment: Deployment, snapshot: HttpApiDefinition,
           stages: list[Stage]) -> None:
    """Write a deployment and point `stages` at it, in one transaction."""
    with store.transaction():
        store.put_record(V2_DEPLOYMENT, f"{api_id}/{deployment['deploymentId']}",
                         {"deployment": deployment, "snapshot": snapshot})
        for stage in stages:
            stage["deploymentId"] = deployment["deploymentId"]
            stage["lastUpdatedDate"] = iso_now()
            put_stage(store, stage)


def new_stage(api_id: str, name: str, auto_deploy: bool = False, **fields: Any) -> Stage:
    """A stage record as CreateStage makes it (no deployment until one is made or given)."""
    stamp = iso_now()
    stage: Stage = {"apiId": api_id, "stageName": name, "createdDate": stamp, "lastUpdatedDate": stamp,
                    "autoDeploy": auto_deploy, "defaultRouteSettings": {"detailedMetricsEnabled": False},
                    "routeSettings": {}, "stageVariables": {}, "tags": {}}
    stage.update(fields)  # type: ignore[typeddict-item]
    return stage


def auto_deploy(store: Store, definition: HttpApiDefinition,
                prepare: Callable[[HttpApiDefinition, Stage], object] | None = None) -> Deployment | None:
    """After a change to an API: deploy it to every stage with `autoDeploy`, in the caller's transaction;
    the deployment made, or None when no stage deploys automatically. `prepare` is shown each stage as it
    will be written before anything is (the control plane compiles it there, and may refuse it)."""
    api_id = definition["api"]["apiId"]
    stages = [s for s in list_stages(store, api_id) if s.get("autoDeploy")]
    if not stages:
        return None
    deployment, snapshot = new_deployment(definition, AUTO_DEPLOY_DESCRIPTION, auto=True)
    for stage in stages:
        stage["lastDeploymentStatusMessage"] = deployed_message(deployment)
        if prepare is not None:
            prepare(snapshot, {**stage, "deploymentId": deployment["deploymentId"]})
    deploy(store, api_id, deployment, snapshot, stages)
    return deployment


def deployed_message(deployment: Deployment) -> str:
    """A stage's `lastDeploymentStatusMessage` once an automatic deployment reached it."""
    return f"Successfully deployed stage with deployment ID '{deployment['deploymentId']}'"

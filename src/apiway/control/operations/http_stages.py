"""apigatewayv2 stages: create, list, get, update, delete, and their access log and route settings. A stage
with `autoDeploy` is deployed at once when it is created or switched on, and after every change to its API
(ControlPlane.save_http_api)."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request, conflict, not_found
from apiway.control.operations.http_apis import is_http
from apiway.control.operations.http_common import check_limit, length, members, page, view
from apiway.control.operations.stages import NO_DEPLOYMENT, checked_variables
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.model.http import DEFAULT_STAGE, MAX_STAGES, STAGE_NAME_RE, HttpApiDefinition, RouteSettings, Stage
from apiway.store import http_deployments as v2store
from apiway.store.kinds import V2_STAGE

LOGGING_LEVELS = ("ERROR", "INFO", "OFF")
DEFAULT_STAGE_HTTP_ONLY = "The $default stage is supported only for HTTP APIs."
NO_EXECUTION_LOGS = "Execution logs are not supported on protocolType HTTP"
_SETTINGS = {"throttlingBurstLimit": int, "throttlingRateLimit": (int, float), "detailedMetricsEnabled": bool,
             "loggingLevel": str, "dataTraceEnabled": bool}
_WEBSOCKET_ONLY_SETTINGS = ("loggingLevel", "dataTraceEnabled")


def route_settings(definition: HttpApiDefinition, raw: dict[str, Any]) -> RouteSettings:
    """One route's (or the stage default's) settings, checked for the API's protocol."""
    settings: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None or key not in _SETTINGS:
            continue
        if is_http(definition) and key in _WEBSOCKET_ONLY_SETTINGS:
            raise bad_request(NO_EXECUTION_LOGS)
        if key == "loggingLevel" and value not in LOGGING_LEVELS:
            raise bad_request(f"Invalid logging level {value}. Valid options are {', '.join(LOGGING_LEVELS)}")
        if key in ("throttlingBurstLimit", "throttlingRateLimit") and value < 0:
            raise bad_request(f"{key[:1].upper()}{key[1:]} must be a non-negative number")
        settings[key] = float(value) if key == "throttlingRateLimit" else value
    return settings  # type: ignore[return-value]


def _route_settings_map(definition: HttpApiDefinition, raw: dict[str, Any]) -> dict[str, RouteSettings]:
    keys = {r["routeKey"] for r in definition["routes"].values()}
    result = {}
    for route_key, settings in raw.items():
        if route_key not in keys:
            raise not_found(f"Unable to find Route by key {route_key} within the provided RouteSettings")  # recorded
        result[route_key] = route_settings(definition, settings or {})
    return result


def _access_log_settings(raw: dict[str, Any]) -> dict[str, str]:
    destination, fmt = raw.get("destinationArn"), raw.get("format")
    if not destination or not fmt:
        raise bad_request("Access log settings need both a destinationArn and a format.")
    length(fmt, 1, 3072, "accessLogSettings.format")
    if "$context.requestId" not in fmt and "$context.extendedRequestId" not in fmt:
        raise bad_request("The access log format must include $context.requestId or $context.extendedRequestId.")
    return {"destinationArn": destination, "format": fmt}


def _variables(current: dict[str, str], given: dict[str, str]) -> dict[str, str]:
    """Stage variables after an update: given ones added or replaced, an empty value removes one."""
    merged = {**current, **given}
    return checked_variables({k: v for k, v in merged.items() if v != ""})


def _check_deployment(cp: ControlPlane, api_id: str, deployment_id: str) -> str:
    if v2store.get_deployment(cp.store, api_id, deployment_id) is None:
        raise bad_request(NO_DEPLOYMENT)
    return deployment_id


def _write(cp: ControlPlane, stage: Stage) -> None:
    """Write a stage that keeps (or is given) a deployment, once the gateway has compiled it."""
    deployment_id = stage.get("deploymentId")
    if deployment_id:
        found = v2store.get_deployment(cp.store, stage["apiId"], deployment_id)
        if found is not None:
            cp.prepare_http_stage(found[1], stage)
    v2store.put_stage(cp.store, stage)


def deploy_now(cp: ControlPlane, definition: HttpApiDefinition, stage: Stage) -> None:
    """The automatic deployment a stage gets when auto-deploy is switched on: the API as it is now."""
    deployment, snapshot = v2store.new_deployment(definition, v2store.AUTO_DEPLOY_DESCRIPTION, auto=True)
    stage["lastDeploymentStatusMessage"] = v2store.deployed_message(deployment)
    cp.prepare_http_stage(snapshot, {**stage, "deploymentId": deployment["deploymentId"]})
    v2store.deploy(cp.store, definition["api"]["apiId"], deployment, snapshot, [stage])


def stage_members(stage: Stage) -> dict[str, Any]:
    return members(stage_view(stage))


def stage_view(stage: Stage) -> dict[str, Any]:
    """A stage as AWS shows it: without its API's id, `autoDeploy` only when on."""
    shown = view(stage, ("apiId",))
    if not shown.get("autoDeploy"):
        shown.pop("autoDeploy", None)
    return shown


def _apply(cp: ControlPlane, definition: HttpApiDefinition, stage: Stage, p: dict[str, Any]) -> None:
    """CreateStage's and UpdateStage's optional members, onto `stage`."""
    api_id = definition["api"]["apiId"]
    for key in ("Description", "ClientCertificateId"):
        if p.get(key) is not None:
            stage[key[:1].lower() + key[1:]] = p[key]  # type: ignore[literal-required]
    if p.get("DeploymentId") is not None:
        stage["deploymentId"] = _check_deployment(cp, api_id, p["DeploymentId"])
    if p.get("AutoDeploy") is not None:
        stage["autoDeploy"] = bool(p["AutoDeploy"])
    if p.get("DefaultRouteSettings") is not None:
        stage["defaultRouteSettings"] = {"detailedMetricsEnabled": False,
                                         **route_settings(definition, p["DefaultRouteSettings"])}
    if p.get("RouteSettings") is not None:
        stage["routeSettings"] = {**(stage.get("routeSettings") or {}),
                                  **_route_settings_map(definition, p["RouteSettings"])}
    if p.get("StageVariables") is not None:
        stage["stageVariables"] = _variables(stage.get("stageVariables") or {}, p["StageVariables"])
    if p.get("AccessLogSettings") is not None:
        stage["accessLogSettings"] = _access_log_settings(p["AccessLogSettings"])


@operation("CreateStage", service=V2)
def create_stage(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    api_id = definition["api"]["apiId"]
    name = p["StageName"]
    if not STAGE_NAME_RE.match(name):
        raise bad_request("Stage name only allows a-zA-Z0-9_- or $default")
    if name == DEFAULT_STAGE and not is_http(definition):
        raise bad_request(DEFAULT_STAGE_HTTP_ONLY)
    if v2store.get_stage(cp.store, api_id, name) is not None:
        raise conflict(f"Stage {name} already exists")
    check_limit(len(v2store.list_stages(cp.store, api_id)), MAX_STAGES, "Stages")
    if p.get("AutoDeploy") and p.get("DeploymentId"):
        raise bad_request("A deploymentId cannot be given to a stage with autoDeploy enabled.")
    stage = v2store.new_stage(api_id, name, tags=dict(p.get("Tags") or {}))
    _apply(cp, definition, stage, p)
    if stage["autoDeploy"]:
        deploy_now(cp, definition, stage)
    else:
        _write(cp, stage)
    return stage_members(stage)


@operation("GetStages", service=V2)
def get_stages(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.http_api(p["ApiId"])["api"]["apiId"]
    stages = sorted(v2store.list_stages(cp.store, api_id), key=lambda s: s["stageName"])
    return page([stage_view(s) for s in stages], p)


@operation("GetStage", service=V2)
def get_stage(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.http_api(p["ApiId"])["api"]["apiId"]
    return stage_members(cp.http_stage(api_id, p["StageName"]))


@operation("UpdateStage", service=V2)
def update_stage(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.http_api(p["ApiId"])
    stage = cp.http_stage(definition["api"]["apiId"], p["StageName"])
    switched_on = bool(p.get("AutoDeploy")) and not stage.get("autoDeploy")
    _apply(cp, definition, stage, p)
    stage["lastUpdatedDate"] = v2store.iso_now()
    if switched_on and p.get("DeploymentId") is None:
        deploy_now(cp, definition, stage)
    else:
        _write(cp, stage)
    return stage_members(stage)


@operation("DeleteStage", service=V2)
def delete_stage(cp: ControlPlane, p: dict[str, Any]) -> None:
    api_id = cp.http_api(p["ApiId"])["api"]["apiId"]
    stage = cp.http_stage(api_id, p["StageName"])
    cp.store.delete_record(V2_STAGE, f"{api_id}/{stage['stageName']}")


@operation("DeleteAccessLogSettings", service=V2)
def delete_access_log_settings(cp: ControlPlane, p: dict[str, Any]) -> None:
    api_id = cp.http_api(p["ApiId"])["api"]["apiId"]
    stage = cp.http_stage(api_id, p["StageName"])
    stage.pop("accessLogSettings", None)
    stage["lastUpdatedDate"] = v2store.iso_now()
    v2store.put_stage(cp.store, stage)


@operation("DeleteRouteSettings", service=V2)
def delete_route_settings(cp: ControlPlane, p: dict[str, Any]) -> None:
    api_id = cp.http_api(p["ApiId"])["api"]["apiId"]
    stage = cp.http_stage(api_id, p["StageName"])
    if (stage.get("routeSettings") or {}).pop(p["RouteKey"], None) is None:
        raise not_found(f"Unable to find route settings for route key {p['RouteKey']}")
    stage["lastUpdatedDate"] = v2store.iso_now()
    v2store.put_stage(cp.store, stage)

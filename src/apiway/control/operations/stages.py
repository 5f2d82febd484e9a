"""Stage operations: create, list, get, update (AWS's PATCH paths for stages, method settings and
canary promotion included), delete, and the cache flushes. Every change reaches the running gateway
at once: the stage installer follows the store's change events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiway.control.errors import bad_request, conflict
from apiway.control.patch import Patch, as_bool, as_float, as_int, patches, set_or_clear, unescape
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.core.errors import DeployError
from apiway.model.method_settings import ALL_METHODS, normalised_key
from apiway.model.rest import STAGE_NAME_RE, STAGE_VAR_NAME_RE, STAGE_VAR_VALUE_RE, ApiDefinition, Stage, now
from apiway.store.deployments import stage_record

CACHE_SIZES = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")
DEFAULT_CACHE_SIZE = "0.5"
MAX_VARIABLES = 100
LOGGING_LEVELS = ("OFF", "ERROR", "INFO")
CACHE_CONTROL_STRATEGIES = ("FAIL_WITH_403", "SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER")
NO_DEPLOYMENT = "Deployment id does not exist"

# AWS's own list, quirks (missing commas) included.
_VALID_PATHS = (
    "[/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize, /clientCertificateId, /accessLogSettings, "
    "/accessLogSettings/destinationArn, /accessLogSettings/format, /{resourcePath}/{httpMethod}/metrics/enabled, "
    "/{resourcePath}/{httpMethod}/logging/dataTrace, /{resourcePath}/{httpMethod}/logging/loglevel, "
    "/{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}/throttling/rateLimit"
    "/{resourcePath}/{httpMethod}/caching/ttlInSeconds, /{resourcePath}/{httpMethod}/caching/enabled, "
    "/{resourcePath}/{httpMethod}/caching/dataEncrypted, "
    "/{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, "
    "/{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, /*/*/metrics/enabled, "
    "/*/*/logging/dataTrace, /*/*/logging/loglevel, /*/*/throttling/burstLimit /*/*/throttling/rateLimit "
    "/*/*/caching/ttlInSeconds, /*/*/caching/enabled, /*/*/caching/dataEncrypted, "
    "/*/*/caching/requireAuthorizationForCacheControl, /*/*/caching/unauthorizedCacheControlHeaderStrategy, "
    "/variables/{variable_name}, /tracingEnabled]"
)
_ACCESS_LOG_FIELDS = ("destinationArn", "format")
_CANARY_FIELDS = ("deploymentId", "percentTraffic", "useStageCache")
_OPTIONAL_FIELDS = ("description", "clientCertificateId", "documentationVersion", "webAclArn")
# copy is only canary promotion: each target takes its value from its canary counterpart.
_PROMOTIONS = {"/deploymentId": "/canarySettings/deploymentId", "/variables": "/canarySettings/stageVariableOverrides"}


# -- shared with CreateDeployment -----------------------------------------------------------------------

def check_stage_name(name: str) -> None:
    if not STAGE_NAME_RE.match(name):
        raise bad_request("Stage name only allows a-zA-Z0-9_-")


def check_variable(name: str, value: str | None) -> str:
    if not STAGE_VAR_NAME_RE.match(name):
        raise bad_request(f"Invalid stage variable name: {name}.  Please use names with only word characters.")
    if value is None or not STAGE_VAR_VALUE_RE.match(value):
        raise bad_request(f"Invalid stage variable value: {value}.  Please use values with alphanumeric characters "
                          "and the symbols ' ', -', '.', '_', ':', '/', '?', '&', '=', and ','.")
    return value


def checked_variables(variables: dict[str, str] | None) -> dict[str, str]:
    checked = {name: check_variable(name, value) for name, value in (variables or {}).items()}
    if len(checked) > MAX_VARIABLES:
        raise bad_request(f"A stage can have at most {MAX_VARIABLES} stage variables")
    return checked


def require_deployment(cp: ControlPlane, api_id: str, deployment_id: str | None) -> str:
    """A deployment a stage or its canary is pointed at; AWS words a missing one as a bad request."""
    if not deployment_id or cp.store.get_deployment(api_id, deployment_id) is None:
        raise bad_request(NO_DEPLOYMENT)
    return deployment_id


def canary_settings(raw: dict[str, Any], deployment_id: str) -> dict[str, Any]:
    canary: dict[str, Any] = {"deploymentId": deployment_id,
                              "percentTraffic": _percent(raw.get("percentTraffic", 0.0)),
                              "useStageCache": bool(raw.get("useStageCache", False))}
    if raw.get("stageVariableOverrides"):
        canary["stageVariableOverrides"] = checked_variables(raw["stageVariableOverrides"])
    return canary


def apply_stage_options(stage: Stage, p: dict[str, Any]) -> None:
    """cacheClusterEnabled, cacheClusterSize and tracingEnabled as CreateStage/CreateDeployment give them."""
    if p.get("cacheClusterEnabled") is not None:
        stage["cacheClusterEnabled"] = bool(p["cacheClusterEnabled"])
    if p.get("cacheClusterSize") is not None:
        stage["cacheClusterSize"] = _cache_size(p["cacheClusterSize"])
    if stage["cacheClusterEnabled"]:
        stage.setdefault("cacheClusterSize", DEFAULT_CACHE_SIZE)
    if p.get("tracingEnabled") is not None:
        stage["tracingEnabled"] = bool(p["tracingEnabled"])


def check_compiles(cp: ControlPlane, snapshot: ApiDefinition, stage: Stage) -> None:
    """Compile in memory before anything is written: what the gateway could not serve is refused. The
    compilation is served once the stage is written as checked."""
    try:
        cp.runtime.prepare(snapshot, stage)
    except DeployError as exc:
        raise bad_request(str(exc)) from None


def stage_view(stage: Stage) -> dict[str, Any]:
    return {**stage, "cacheClusterStatus": "AVAILABLE" if stage["cacheClusterEnabled"] else "NOT_AVAILABLE"}


def _percent(value: Any) -> float:
    try:
        percent = float(value)
    except (TypeError, ValueError):
        percent = -1.0
    if not 0.0 <= percent <= 100.0:
        raise bad_request(f"Invalid percentTraffic {value}: must be between 0.0 and 100.0")
    return percent


def _cache_size(size: Any) -> str:
    if size not in CACHE_SIZES:
        raise bad_request(f"Invalid cache cluster size specified: {size}. Valid options are {', '.join(CACHE_SIZES)}")
    return str(size)


def _save(cp: ControlPlane, stage: Stage) -> dict[str, Any]:
    stage["lastUpdatedDate"] = now()
    cp.store.put_stage(stage)  # served from now on (the stage installer follows the store)
    return stage_view(stage)


# -- operations ---------------------------------------------------------------------------------------

@operation("CreateStage")
def create_stage(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.api_id(p["restApiId"])
    name = p["stageName"]
    check_stage_name(name)
    if cp.store.get_stage(api_id, name) is not None:
        raise conflict("Stage already exists")
    deployment_id = cp.deployment(api_id, p["deploymentId"])[0]["id"]
    stage = stage_record(api_id, name, deployment_id, checked_variables(p.get("variables")), p.get("description"))
    apply_stage_options(stage, p)
    for key in ("documentationVersion", "tags"):
        if p.get(key):
            stage[key] = p[key]  # type: ignore[literal-required]
    if p.get("canarySettings") is not None:
        raw = p["canarySettings"]
        canary_id = require_deployment(cp, api_id, raw.get("deploymentId", deployment_id))
        stage["canarySettings"] = canary_settings(raw, canary_id)
    return _save(cp, stage)


@operation("GetStages")
def get_stages(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.api_id(p["restApiId"])
    wanted = p.get("deploymentId")
    return {"item": [stage_view(s) for s in cp.store.list_stages()
                     if s["restApiId"] == api_id and wanted in (None, s["deploymentId"])]}


@operation("GetStage")
def get_stage(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.api_id(p["restApiId"])
    return stage_view(cp.stage(api_id, p["stageName"]))


@operation("DeleteStage")
def delete_stage(cp: ControlPlane, p: dict[str, Any]) -> None:
    api_id = cp.api_id(p["restApiId"])
    name = cp.stage(api_id, p["stageName"])["stageName"]
    cp.store.delete_stage(api_id, name)  # stops serving at once (the stage installer follows the store)


@operation("FlushStageCache")
def flush_stage_cache(cp: ControlPlane, p: dict[str, Any]) -> None:
    api_id = cp.api_id(p["restApiId"])
    cp.runtime.flush_stage_cache(api_id, cp.stage(api_id, p["stageName"])["stageName"])


@operation("FlushStageAuthorizersCache")
def flush_stage_authorizers_cache(cp: ControlPlane, p: dict[str, Any]) -> None:
    api_id = cp.api_id(p["restApiId"])
    cp.runtime.flush_authorizer_cache(api_id, cp.stage(api_id, p["stageName"])["stageName"])


@operation("UpdateStage")
def update_stage(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    api_id = cp.api_id(p["restApiId"])
    stage = cp.stage(api_id, p["stageName"])
    served = (stage["deploymentId"], dict(stage.get("variables") or {}))  # a copy: patches change it in place
    for patch in patches(p, "UpdateStage"):
        parts = patch.path.split("/")[1:]  # raw: method-setting keys decode their resource path as a whole
        if patch.op == "copy":
            _promote(stage, patch)
        elif patch.op == "remove":
            _remove(stage, patch, parts)
        elif patch.op in ("add", "replace"):
            _set(cp, stage, patch, parts)
        else:
            raise bad_request(f"Invalid {patch.op} operation with path: {patch.path}")
    if not stage.get("variables"):
        stage.pop("variables", None)
    if (stage["deploymentId"], stage.get("variables") or {}) != served:
        check_compiles(cp, cp.deployment(api_id, stage["deploymentId"])[1], stage)
    return _save(cp, stage)


# -- UpdateStage paths ------------------------------------------------------------------------------------

def _invalid_path(patch: Patch) -> Exception:
    return bad_request(f"Invalid method setting path: {patch.path}. Must be one of: {_VALID_PATHS}")


def _set(cp: ControlPlane, stage: Stage, patch: Patch, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if _setting(parts) is not None:
        _set_method_setting(stage, patch, parts)
    elif head == "accessLogSettings":
        _set_access_log(stage, patch, rest)
    elif head == "variables" and len(rest) == 1:
        name = unescape(rest[0])
        stage.setdefault("variables", {})[name] = check_variable(name, patch.value)
    elif head == "canarySettings" and _canary_field(rest):
        _set_canary(cp, stage, patch, rest)
    elif len(parts) == 1 and head in ("deploymentId", "cacheClusterEnabled", "cacheClusterSize", "tracingEnabled",
                                      *_OPTIONAL_FIELDS):
        if patch.op == "add":
            raise bad_request(f"Invalid add operation with path: {patch.path}")
        _replace_field(cp, stage, patch, head)
    else:
        raise _invalid_path(patch)


def _canary_field(rest: list[str]) -> bool:
    """`/canarySettings/{deploymentId|percentTraffic|useStageCache}` or `.../stageVariableOverrides/{name}`."""
    if len(rest) == 1:
        return rest[0] in _CANARY_FIELDS
    return len(rest) == 2 and rest[0] == "stageVariableOverrides"


def _replace_field(cp: ControlPlane, stage: Stage, patch: Patch, field: str) -> None:
    if field == "deploymentId":
        stage["deploymentId"] = require_deployment(cp, stage["restApiId"], patch.value)
    elif field == "cacheClusterEnabled":
        stage["cacheClusterEnabled"] = as_bool(patch)
        if stage["cacheClusterEnabled"]:
            stage.setdefault("cacheClusterSize", DEFAULT_CACHE_SIZE)
    elif field == "cacheClusterSize":
        stage["cacheClusterSize"] = _cache_size(patch.value)
    elif field == "tracingEnabled":
        stage["tracingEnabled"] = as_bool(patch)
    else:
        set_or_clear(stage, field, patch.value)


def _remove(stage: Stage, patch: Patch, parts: list[str]) -> None:
    if len(parts) == 1 and parts[0] in ("accessLogSettings", "canarySettings", *_OPTIONAL_FIELDS):
        stage.pop(parts[0], None)  # type: ignore[misc]
    elif len(parts) == 2 and parts[0] == "variables":
        (stage.get("variables") or {}).pop(unescape(parts[1]), None)
    elif len(parts) == 3 and parts[:2] == ["canarySettings", "stageVariableOverrides"]:
        canary = stage.get("canarySettings") or {}
        (canary.get("stageVariableOverrides") or {}).pop(unescape(parts[2]), None)
        if not canary.get("stageVariableOverrides"):
            canary.pop("stageVariableOverrides", None)
    elif len(parts) >= 2 and _setting(parts) is None:
        # Any other `/{resourcePath}/{httpMethod}` removes that method's settings.
        key = normalised_key("/".join(parts))
        if key not in stage["methodSettings"]:
            raise bad_request(f"Cannot remove method setting {key} because there is no method setting for this "
                              "method ")
        del stage["methodSettings"][key]
    else:
        raise _invalid_path(patch)


def _promote(stage: Stage, patch: Patch) -> None:
    if _PROMOTIONS.get(patch.path) != patch.from_:
        raise bad_request(f"Invalid copy operation with path: {patch.path} and from {patch.from_}. Valid copy:path "
                          f"are [{', '.join(_PROMOTIONS)}] and valid copy:from are [{', '.join(_PROMOTIONS.values())}]")
    canary = stage.get("canarySettings")
    if canary is None:
        raise bad_request("Promotion not available. Canary does not exist.")
    if patch.path == "/deploymentId":
        stage["deploymentId"] = canary["deploymentId"]
    else:
        stage["variables"] = {**(stage.get("variables") or {}), **(canary.get("stageVariableOverrides") or {})}


def _set_access_log(stage: Stage, patch: Patch, rest: list[str]) -> None:
    if len(rest) != 1 or rest[0] not in _ACCESS_LOG_FIELDS:
        raise bad_request("Invalid accessLogSettings path. Must be one of : "
                          "[/accessLogSettings/destinationArn, /accessLogSettings/format]")
    if not patch.value:
        raise bad_request("Access Log value must not be empty")
    stage.setdefault("accessLogSettings", {})[rest[0]] = patch.value


def _set_canary(cp: ControlPlane, stage: Stage, patch: Patch, rest: list[str]) -> None:
    if patch.op == "add":
        raise bad_request(f"Invalid add operation with path: {patch.path}")
    canary = stage.get("canarySettings")
    if canary is None:  # setting any canary field starts a canary on the stage's own deployment
        canary = stage["canarySettings"] = {"deploymentId": stage["deploymentId"], "percentTraffic": 0.0,
                                            "useStageCache": False}
    field = rest[0]
    if field == "deploymentId":
        canary["deploymentId"] = require_deployment(cp, stage["restApiId"], patch.value)
    elif field == "percentTraffic":
        canary["percentTraffic"] = _percent(patch.value)
    elif field == "useStageCache":
        canary["useStageCache"] = as_bool(patch)
    else:
        name = unescape(rest[1])
        canary.setdefault("stageVariableOverrides", {})[name] = check_variable(name, patch.value)


# -- method settings ------------------------------------------------------------------------------------

def _one_of(options: tuple[str, ...]) -> Callable[[Patch], str]:
    def parse(patch: Patch) -> str:
        if patch.value not in options:
            raise bad_request(f"Invalid value for {patch.path}: '{patch.value}'. Must be one of: "
                              f"[{', '.join(options)}]")
        return patch.value

    return parse


def _ttl(patch: Patch) -> int:
    ttl = as_int(patch)
    if not 0 <= ttl <= 3600:
        raise bad_request(f"Invalid value for {patch.path}: '{patch.value}'. Must be between 0 and 3600")
    return ttl


# PATCH path suffix → MethodSetting field and how its string value is read.
_SETTINGS: dict[tuple[str, str], tuple[str, Callable[[Patch], Any]]] = {
    ("metrics", "enabled"): ("metricsEnabled", as_bool),
    ("logging", "loglevel"): ("loggingLevel", _one_of(LOGGING_LEVELS)),
    ("logging", "dataTrace"): ("dataTraceEnabled", as_bool),
    ("throttling", "burstLimit"): ("throttlingBurstLimit", as_int),
    ("throttling", "rateLimit"): ("throttlingRateLimit", as_float),
    ("caching", "enabled"): ("cachingEnabled", as_bool),
    ("caching", "ttlInSeconds"): ("cacheTtlInSeconds", _ttl),
    ("caching", "dataEncrypted"): ("cacheDataEncrypted", as_bool),
    ("caching", "requireAuthorizationForCacheControl"): ("requireAuthorizationForCacheControl", as_bool),
    ("caching", "unauthorizedCacheControlHeaderStrategy"): ("unauthorizedCacheControlHeaderStrategy",
                                                            _one_of(CACHE_CONTROL_STRATEGIES)),
}
# What a method's settings hold when one of them is first set (recorded from AWS: no loggingLevel).
_DEFAULT_SETTING: dict[str, Any] = {
    "metricsEnabled": False, "dataTraceEnabled": False, "throttlingBurstLimit": 5000, "throttlingRateLimit": 10000.0,
    "cachingEnabled": False, "cacheTtlInSeconds": 300, "cacheDataEncrypted": False,
    "requireAuthorizationForCacheControl": True,
    "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER",
}


def _setting(parts: list[str]) -> tuple[str, Callable[[Patch], Any]] | None:
    """The setting a `/{resourcePath}/{httpMethod}/{group}/{name}` path names, if it is one."""
    return _SETTINGS.get((parts[-2], parts[-1])) if len(parts) >= 4 else None


def _set_method_setting(stage: Stage, patch: Patch, parts: list[str]) -> None:
    field, parse = _setting(parts)  # type: ignore[misc]
    value = parse(patch)
    key = normalised_key("/".join(parts[:-2]))  # the path without its `/{group}/{name}`
    settings = stage["methodSettings"]
    if key not in settings:  # a method's own settings start from the stage-wide ones
        settings[key] = dict(settings.get(ALL_METHODS) or _DEFAULT_SETTING)
    settings[key][field] = value

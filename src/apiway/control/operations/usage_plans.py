"""Usage plans, the API keys in them (usage plan keys) and their usage (GetUsage, UpdateUsage)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import orjson

from apiway.control.errors import bad_request, not_found, validation
from apiway.control.operations.api_keys import (
    api_key,
    check_link,
    key_ids_of,
    link,
    link_id,
    newest_first,
    plan_ids_of,
    unlink,
)
from apiway.control.operations.tags import NO_API_KEY, NO_USAGE_PLAN, public, public_page
from apiway.control.paging import page
from apiway.control.patch import BAD_LIST_OP, Patch, as_float, as_int, patches, path_not_supported, set_or_clear
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model import ids
from apiway.model.rest import METHOD_VERBS
from apiway.store import usage
from apiway.store.kinds import API_KEY, USAGE_PLAN, USAGE_PLAN_KEY

PERIODS = ("DAY", "WEEK", "MONTH")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BAD_STAGE = "Invalid API Stage specified"
_METHOD_THROTTLE = "/apiStages/<apidId:stageName>/throttle/<resourcePath>/<httpMethod>"
_STAGE_THROTTLE = "/apiStages/<apidId:stageName>/throttle"
_PATHS = {
    "remove": ("/apiStages", "/quota", "/throttle", "/productCode", _METHOD_THROTTLE, _STAGE_THROTTLE),
    "replace": ("/name", "/description", "/productCode", "/throttle/burstLimit", "/throttle/rateLimit",
                "/quota/limit", "/quota/offset", "/quota/period", f"{_METHOD_THROTTLE}/rateLimit",
                f"{_METHOD_THROTTLE}/burstLimit", _STAGE_THROTTLE),
    "add": ("/apiStages", f"{_METHOD_THROTTLE}/rateLimit", f"{_METHOD_THROTTLE}/burstLimit", _STAGE_THROTTLE),
}


def usage_plan(cp: ControlPlane, plan_id: str) -> dict[str, Any]:
    return cp.record(USAGE_PLAN, plan_id, NO_USAGE_PLAN)


def today() -> date:
    return datetime.now(UTC).date()


def _changed(cp: ControlPlane, plan: dict[str, Any]) -> dict[str, Any]:
    cp.store.put_record(USAGE_PLAN, plan["id"], plan)
    return public(plan)


# -- settings: throttles, quotas, API stages ------------------------------------------------------------

def _throttle(value: Any) -> dict[str, Any]:
    """ThrottleSettings with both members, as AWS returns them (an unset limit is 0)."""
    if not isinstance(value, dict):
        raise bad_request("Invalid throttle settings")
    try:
        return {"burstLimit": int(value.get("burstLimit") or 0), "rateLimit": float(value.get("rateLimit") or 0)}
    except (TypeError, ValueError):
        raise bad_request("Invalid throttle settings") from None


def _method_throttles(value: Any) -> dict[str, dict[str, Any]]:
    """Per-method throttles keyed `/{resourcePath}/{METHOD}` (`/*/*` for every method)."""
    if not isinstance(value, dict):
        raise bad_request("Invalid method throttle settings")
    for key in value:
        path, _, verb = str(key).rpartition("/")
        if not path.startswith("/") or verb not in (*METHOD_VERBS, "*"):
            raise bad_request(f"Invalid method throttle key: {key}")
    return {str(k): _throttle(v) for k, v in value.items()}


def _quota(value: Any, input_name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request("Invalid quota settings")
    period = value.get("period")
    if period not in PERIODS:
        raise validation([f"Value {'null' if period is None else repr(period)} at '{input_name}.quota.period' failed "
                          f"to satisfy constraint: Member must satisfy enum value set: [{', '.join(PERIODS)}]"])
    try:
        return {"limit": int(value.get("limit") or 0), "offset": int(value.get("offset") or 0), "period": period}
    except (TypeError, ValueError):
        raise bad_request("Invalid quota settings") from None


def _existing_stage(cp: ControlPlane, api_id: str, stage: str) -> None:
    if not cp.store.has_api(api_id) or cp.store.get_stage(api_id, stage) is None:
        raise not_found(f"API Stage not found: {api_id}:{stage}")


def _api_stage(cp: ControlPlane, value: Any) -> dict[str, Any]:
    api_id, stage = (value.get("apiId"), value.get("stage")) if isinstance(value, dict) else (None, None)
    if not api_id or not stage:
        # AWS's own message, placeholders unfilled
        raise bad_request("Invalid API Stage {api: %s, stage: %s} specified for usageplan %s")
    _existing_stage(cp, api_id, stage)
    result: dict[str, Any] = {"apiId": api_id, "stage": stage}
    if value.get("throttle"):
        result["throttle"] = _method_throttles(value["throttle"])
    return result


# -- usage plans ------------------------------------------------------------------------------------------

@operation("CreateUsagePlan")
def create_usage_plan(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    plan: dict[str, Any] = {"id": ids.new_id(6), "name": p["name"],
                            "apiStages": [_api_stage(cp, s) for s in p.get("apiStages") or []],
                            "tags": dict(p.get("tags") or {}), "_createdDay": today().isoformat()}
    if p.get("description"):
        plan["description"] = p["description"]
    if p.get("throttle") is not None:
        plan["throttle"] = _throttle(p["throttle"])
    if p.get("quota") is not None:
        plan["quota"] = _quota(p["quota"], "createUsagePlanInput")
    cp.store.put_record(USAGE_PLAN, plan["id"], plan)
    return public(plan, compact=True)


@operation("GetUsagePlans")
def get_usage_plans(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    plans = cp.store.list_records(USAGE_PLAN)
    if p.get("keyId"):
        wanted = set(plan_ids_of(cp, p["keyId"]))
        plans = [plan for plan in plans if plan["id"] in wanted]
    return public_page(plans, p)


@operation("GetUsagePlan")
def get_usage_plan(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return public(usage_plan(cp, p["usagePlanId"]))


@operation("DeleteUsagePlan")
def delete_usage_plan(cp: ControlPlane, p: dict[str, Any]) -> None:
    plan = usage_plan(cp, p["usagePlanId"])
    if plan["apiStages"]:
        first = plan["apiStages"][0]
        raise bad_request(f"Cannot delete Usage Plan {plan['id']} because there are API Stages associated with it, "
                          f"including {first['apiId']}:{first['stage']}")
    with cp.store.transaction():
        for key_id in key_ids_of(cp, plan["id"]):
            unlink(cp, plan["id"], key_id)
        cp.store.delete_record(USAGE_PLAN, plan["id"])


@operation("UpdateUsagePlan")
def update_usage_plan(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    plan = usage_plan(cp, p["usagePlanId"])
    for patch in patches(p, "UpdateUsagePlan"):
        if patch.op not in _PATHS:
            raise bad_request(BAD_LIST_OP)
        _patch_plan(cp, plan, patch)
    quota = plan.get("quota")
    if quota is not None and not {"limit", "period"} <= quota.keys():
        raise bad_request("Invalid quota settings: a quota needs a limit and a period")
    return _changed(cp, plan)


def _patch_plan(cp: ControlPlane, plan: dict[str, Any], patch: Patch) -> None:
    parts = patch.parts
    head = parts[0] if parts else ""
    if head == "apiStages" and len(parts) == 1 and patch.op in ("add", "remove"):
        _patch_api_stages(cp, plan, patch)
    elif head == "apiStages" and len(parts) >= 3 and parts[2] == "throttle":
        _patch_method_throttle(plan, parts, patch)
    elif parts in (["name"], ["description"], ["productCode"]) and patch.op == "replace":
        _set_text(plan, head, patch)
    elif head in ("throttle", "quota", "productCode") and len(parts) == 1 and patch.op == "remove":
        plan.pop(head, None)
    elif head == "throttle" and len(parts) == 2 and patch.op == "replace":
        _set_limit(plan.setdefault("throttle", {"burstLimit": 0, "rateLimit": 0.0}), parts[1], patch)
    elif head == "quota" and len(parts) == 2 and patch.op == "replace":
        _set_quota(plan.setdefault("quota", {"offset": 0}), parts[1], patch)
    else:
        raise path_not_supported(patch, _PATHS[patch.op])


def _set_text(plan: dict[str, Any], field: str, patch: Patch) -> None:
    if field == "name" and not patch.value:
        raise bad_request("Usage Plan name cannot be empty")
    set_or_clear(plan, field, patch.value)


def _set_limit(throttle: dict[str, Any], field: str, patch: Patch) -> None:
    if field == "burstLimit":
        throttle["burstLimit"] = as_int(patch)
    elif field == "rateLimit":
        throttle["rateLimit"] = as_float(patch)
    else:
        raise path_not_supported(patch, _PATHS[patch.op])


def _set_quota(quota: dict[str, Any], field: str, patch: Patch) -> None:
    if field in ("limit", "offset"):
        quota[field] = as_int(patch)
    elif field == "period":
        quota["period"] = _quota({"period": patch.value}, "updateUsagePlanInput")["period"]
    else:
        raise path_not_supported(patch, _PATHS[patch.op])


def _stage_ref(value: str | None) -> tuple[str, str]:
    """`{apiId}:{stage}` as used in patch values and paths."""
    parts = (value or "").split(":")
    if len(parts) != 2 or not all(parts):
        raise bad_request(_BAD_STAGE)
    return parts[0], parts[1]


def _plan_stage(plan: dict[str, Any], api_id: str, stage: str) -> dict[str, Any]:
    found = next((s for s in plan["apiStages"] if (s["apiId"], s["stage"]) == (api_id, stage)), None)
    if found is None:
        raise not_found(f"Invalid API Stage {{api: {api_id}, stage: {stage}}} specified for usageplan {plan['id']}")
    return found


def _patch_api_stages(cp: ControlPlane, plan: dict[str, Any], patch: Patch) -> None:
    api_id, stage = _stage_ref(patch.value)
    if patch.op == "remove":
        plan["apiStages"].remove(_plan_stage(plan, api_id, stage))
        return
    _existing_stage(cp, api_id, stage)
    if not any((s["apiId"], s["stage"]) == (api_id, stage) for s in plan["apiStages"]):
        plan["apiStages"].append({"apiId": api_id, "stage": stage})


def _patch_method_throttle(plan: dict[str, Any], parts: list[str], patch: Patch) -> None:
    """`/apiStages/{apiId}:{stage}/throttle[/{resourcePath}/{METHOD}[/burstLimit|/rateLimit]]`."""
    api_stage = _plan_stage(plan, *_stage_ref(parts[1]))
    throttles = api_stage.setdefault("throttle", {})
    if len(parts) == 3:  # the whole map: remove it, or set it from a JSON value
        if patch.op == "remove":
            api_stage.pop("throttle")
        else:
            api_stage["throttle"] = _method_throttles(_json_value(patch))
        return
    # one method's limits: removed whole (5 parts) or one limit set (6 parts)
    if len(parts) not in (5, 6) or (len(parts) == 5) != (patch.op == "remove"):
        raise path_not_supported(patch, _PATHS[patch.op])
    key = "/".join(parts[3:5]) if parts[3].startswith("/") else "/" + "/".join(parts[3:5])
    _method_throttles({key: {}})  # checks the key's form
    if patch.op == "remove":
        throttles.pop(key, None)
    else:
        _set_limit(throttles.setdefault(key, {"burstLimit": 0, "rateLimit": 0.0}), parts[5], patch)
    if not throttles:
        api_stage.pop("throttle")


def _json_value(patch: Patch) -> Any:
    try:
        return orjson.loads(patch.value or "")
    except orjson.JSONDecodeError:
        raise bad_request(f"Invalid value for {patch.path}: it must be a JSON object") from None


# -- usage plan keys ----------------------------------------------------------------------------------

def _plan_key_view(key: dict[str, Any]) -> dict[str, Any]:
    result = {"id": key["id"], "type": "API_KEY", "value": key["value"]}
    if key.get("name"):
        result["name"] = key["name"]
    return result


def _linked(cp: ControlPlane, plan_id: str, key_id: str) -> dict[str, Any]:
    usage_plan(cp, plan_id)
    if cp.store.get_record(USAGE_PLAN_KEY, link_id(plan_id, key_id)) is None:
        raise not_found(NO_API_KEY)
    return api_key(cp, key_id)


@operation("CreateUsagePlanKey")
def create_usage_plan_key(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    plan = usage_plan(cp, p["usagePlanId"])
    if p["keyType"] != "API_KEY":
        raise bad_request(f"Invalid keyType {p['keyType']}: the only supported key type is API_KEY")
    key = api_key(cp, p["keyId"])
    check_link(cp, plan, key["id"])
    link(cp, plan["id"], key["id"])
    return _plan_key_view(key)


@operation("GetUsagePlanKeys")
def get_usage_plan_keys(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    name = p.get("nameQuery")
    keys = [cp.store.get_record(API_KEY, key_id) for key_id in key_ids_of(cp, p["usagePlanId"])]
    keys = [k for k in newest_first([k for k in keys if k]) if not name or k.get("name", "").startswith(name)]
    return page([_plan_key_view(k) for k in keys], p)


@operation("GetUsagePlanKey")
def get_usage_plan_key(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return _plan_key_view(_linked(cp, p["usagePlanId"], p["keyId"]))


@operation("DeleteUsagePlanKey")
def delete_usage_plan_key(cp: ControlPlane, p: dict[str, Any]) -> None:
    key = _linked(cp, p["usagePlanId"], p["keyId"])
    unlink(cp, p["usagePlanId"], key["id"])


# -- usage ----------------------------------------------------------------------------------------------

def _date(value: str, name: str) -> date:
    try:
        if _DATE.match(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise bad_request(f"Invalid {name} '{value}': dates are formatted yyyy-MM-dd")


def _daily(cp: ControlPlane, plan: dict[str, Any], key_id: str, start: date, end: date) -> list[list[int]]:
    return usage.daily(cp.store, plan["id"], key_id, start, end, plan.get("quota"),
                       date.fromisoformat(plan["_createdDay"]))


@operation("GetUsage")
def get_usage(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    cp.runtime.flush_usage()
    plan = usage_plan(cp, p["usagePlanId"])
    start, end = _date(p["startDate"], "startDate"), _date(p["endDate"], "endDate")
    if end < start:
        raise bad_request("The end date must not be before the start date")
    key_ids = [key_id for key_id in key_ids_of(cp, plan["id"]) if p.get("keyId") in (None, key_id)]
    paged = page(key_ids, p)
    result = {"usagePlanId": plan["id"], "startDate": p["startDate"], "endDate": p["endDate"],
              "items": {key_id: _daily(cp, plan, key_id, start, end) for key_id in paged["items"]}}
    if "position" in paged:
        result["position"] = paged["position"]
    return result


@operation("UpdateUsage")
def update_usage(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    cp.runtime.flush_usage()
    plan = usage_plan(cp, p["usagePlanId"])
    key_id = _linked(cp, plan["id"], p["keyId"])["id"]
    day = today()
    values = []
    for patch in patches(p, "UpdateUsage"):
        if (patch.op, patch.path) != ("replace", "/remaining"):
            raise path_not_supported(patch, ("/remaining",))
        values.append(as_int(patch))
    if values:
        usage.set_remaining(cp.store, plan["id"], key_id, day.isoformat(), values[-1])
    return {"usagePlanId": plan["id"], "startDate": day.isoformat(), "endDate": day.isoformat(),
            "items": {key_id: _daily(cp, plan, key_id, day, day)}}

"""`provider.apiGateway.apiKeys` and `usagePlan` (the single plan, or the list of named plans with their keys)
as the records the control plane keeps, on the service's REST API stage. Keys without a value get one derived
from the file (AWS would generate it), shown at start."""

from __future__ import annotations

from typing import Any

from apiway.templates.serverless.service import REST_API, Service
from apiway.templates.usage_plans import Plans


def read_api_keys(service: Service, stages: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    provider = service.config.get("provider") or {}
    gateway = provider.get("apiGateway") or {}
    keys = gateway.get("apiKeys", provider.get("apiKeys"))
    usage = gateway.get("usagePlan", provider.get("usagePlan"))
    if not keys:
        return []
    where = ("provider", "apiGateway", "apiKeys") if "apiKeys" in gateway else ("provider", "apiKeys")
    if not isinstance(keys, list):
        raise service.fail(where, "a list of key names, {name, value} entries, or {plan: [keys]} groups")
    plans = Plans(service.cfn)
    api_stages = [{"apiId": service.api_id(REST_API), "stage": s} for s in stages]
    grouped = isinstance(usage, list)
    usage_entries: list[Any] = usage if isinstance(usage, list) else []
    settings: dict[str, dict[str, Any]] = {}
    if grouped:
        for entry in usage_entries:
            if isinstance(entry, dict) and len(entry) == 1:
                (plan, spec), = entry.items()
                settings[str(plan)] = spec if isinstance(spec, dict) else {}
    else:
        settings[""] = usage if isinstance(usage, dict) else {}
    plan_ids = {plan: _plan(service, plans, plan, spec, api_stages) for plan, spec in settings.items()}
    for i, entry in enumerate(keys):
        if grouped and isinstance(entry, dict) and len(entry) == 1 and isinstance(next(iter(entry.values())), list):
            (plan, members), = entry.items()
            if str(plan) not in plan_ids:
                raise service.fail((*where, i, plan), f"no usage plan {plan!r} in usagePlan")
            for j, member in enumerate(members or []):
                plans.links.append((plan_ids[str(plan)], _key(service, plans, member, (*where, i, plan, j))))
        else:
            key_id = _key(service, plans, entry, (*where, i))
            plans.links += [(plan_id, key_id) for plan_id in plan_ids.values()]
    return plans.records()


def _plan(service: Service, plans: Plans, name: str, spec: dict[str, Any], stages: list[dict[str, Any]]) -> str:
    quota = spec.get("quota") or None
    throttle = spec.get("throttle") or None
    plan_name = f"{service.name}-{name}-{service.stage}" if name else f"{service.name}-{service.stage}"
    return plans.plan(f"{service.stage}#plan#{name}", plan_name, stages,
                      quota and {"Limit": quota.get("limit", 0), "Offset": quota.get("offset", 0),
                                 "Period": quota.get("period", "DAY")},
                      throttle and {"BurstLimit": throttle.get("burstLimit", 0),
                                    "RateLimit": throttle.get("rateLimit", 0)})


def _key(service: Service, plans: Plans, entry: Any, where: tuple[Any, ...]) -> str:
    if isinstance(entry, str):
        name, value, enabled = entry, None, True
    elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
        name, value, enabled = entry["name"], entry.get("value"), entry.get("enabled", True) is not False
    else:
        raise service.fail(where, "a key name, or {name, value}")
    if value is not None and (not isinstance(value, str) or not 20 <= len(value) <= 128):
        raise service.fail(where, "an API key's value is 20 to 128 characters")
    return plans.key(f"{service.stage}#key#{name}", name, value, enabled)

"""What the dashboard lists, read from the store: every API of every kind with its stages and its methods or
routes (integration and authorizer of each), and the API keys with their usage plans and what is left of each
quota. Blocking reads: the dashboard runs them on a thread of its own. Key values are never part of it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from apiway.store import http_deployments, usage
from apiway.store.base import Store
from apiway.store.kinds import API_KEY, USAGE_PLAN, USAGE_PLAN_KEY, V2_API

# A Lambda integration's URI (…/functions/arn:aws:lambda:region:account:function:NAME[:alias]/invocations).
_FUNCTION = re.compile(r"function:([^:/]+)")


def apis(store: Store) -> list[dict[str, Any]]:
    """Every API, REST first then HTTP and WebSocket, each sorted by name."""
    found = [_rest(definition, store) for definition in store.list_apis()]
    v2_stages: dict[str, list[dict[str, Any]]] = {}
    for stage in http_deployments.list_stages(store):
        v2_stages.setdefault(stage["apiId"], []).append(_v2_stage(stage))
    found += [_v2(definition, v2_stages.get(definition["api"]["apiId"], []))
              for definition in store.list_records(V2_API)]
    order = {"REST": 0, "HTTP": 1, "WEBSOCKET": 2}
    return sorted(found, key=lambda api: (order.get(api["kind"], 3), api["name"], api["id"]))


def _rest(definition: Any, store: Store) -> dict[str, Any]:
    api = definition["restApi"]
    authorizers = definition.get("authorizers") or {}
    methods = []
    for resource in sorted(definition["resources"].values(), key=lambda r: r["path"]):
        for verb, method in sorted((resource.get("resourceMethods") or {}).items()):
            integration = method.get("methodIntegration") or {}
            authorizer = authorizers.get(method.get("authorizerId") or "")
            methods.append({
                "method": verb, "path": resource["path"], "integration": _integration(
                    integration.get("type"), integration.get("uri"), integration.get("httpMethod")),
                "authorization": method.get("authorizationType") or "NONE",
                "authorizer": authorizer.get("name") if authorizer else None,
                "apiKeyRequired": bool(method.get("apiKeyRequired"))})
    stages = [{"name": stage["stageName"], "deploymentId": stage.get("deploymentId"),
               "tracing": bool(stage.get("tracingEnabled")), "cache": bool(stage.get("cacheClusterEnabled")),
               "accessLog": (stage.get("accessLogSettings") or {}).get("destinationArn"),
               "canary": bool(stage.get("canarySettings"))}
              for stage in store.list_stages() if stage["restApiId"] == api["id"]]
    return {"id": api["id"], "name": api["name"], "kind": "REST", "stages": sorted(stages, key=lambda s: s["name"]),
            "routes": methods}


def _v2(definition: Any, stages: list[dict[str, Any]]) -> dict[str, Any]:
    api = definition["api"]
    integrations = definition.get("integrations") or {}
    authorizers = definition.get("authorizers") or {}
    routes = []
    for route in sorted(definition["routes"].values(), key=lambda r: r["routeKey"]):
        target = route.get("target") or ""
        integration = integrations.get(target.removeprefix("integrations/")) if target else None
        authorizer = authorizers.get(route.get("authorizerId") or "")
        method, _, path = route["routeKey"].partition(" ")
        routes.append({
            "method": method if path else "", "path": path or method, "integration": _integration(
                integration.get("integrationType"), integration.get("integrationUri"),
                integration.get("integrationMethod")) if integration else None,
            "authorization": route.get("authorizationType") or "NONE",
            "authorizer": authorizer.get("name") if authorizer else None,
            "apiKeyRequired": bool(route.get("apiKeyRequired"))})
    kind = "WEBSOCKET" if api.get("protocolType") == "WEBSOCKET" else "HTTP"
    return {"id": api["apiId"], "name": api["name"], "kind": kind, "stages": sorted(stages, key=lambda s: s["name"]),
            "routes": routes}


def _v2_stage(stage: Any) -> dict[str, Any]:
    return {"name": stage["stageName"], "deploymentId": stage.get("deploymentId"), "tracing": False,
            "cache": False, "accessLog": (stage.get("accessLogSettings") or {}).get("destinationArn"),
            "canary": False, "autoDeploy": bool(stage.get("autoDeploy"))}


def _integration(kind: str | None, uri: str | None, verb: str | None) -> dict[str, Any] | None:
    """An integration as the page shows it: its type and what it reaches (a function's name for Lambda)."""
    if kind is None:
        return None
    target = uri or ""
    found = _FUNCTION.search(target) if ":lambda:" in target else None
    if found is not None:
        target = f"λ {found.group(1)}"
    elif verb and target:
        target = f"{verb} {target}"
    return {"type": kind, "target": target}


def keys(store: Store, today: date | None = None) -> list[dict[str, Any]]:
    """Every API key (never its value) with each usage plan it is in: today's requests and what is left of the
    quota in the current period (as of the last counts written, at most about a second behind)."""
    day = today or datetime.now(UTC).date()
    plans = {plan["id"]: plan for plan in store.list_records(USAGE_PLAN)}
    links: dict[str, list[str]] = {}
    for link in store.list_records(USAGE_PLAN_KEY):
        links.setdefault(link["keyId"], []).append(link["usagePlanId"])
    found = []
    for key in store.list_records(API_KEY):
        entries = []
        for plan_id in sorted(links.get(key["id"], [])):
            plan = plans.get(plan_id)
            if plan is None:
                continue
            quota = plan.get("quota")
            created = plan.get("_createdDay")
            used, left = usage.daily(store, plan_id, key["id"], day, day, quota,
                                     date.fromisoformat(created) if created else None)[0]
            entries.append({
                "id": plan_id, "name": plan.get("name"), "usedToday": used,
                "quota": {"limit": quota["limit"], "period": quota.get("period", "DAY"), "remaining": left}
                if quota else None,
                "throttle": plan.get("throttle"),
                "stages": [f"{s['apiId']}/{s['stage']}" for s in plan.get("apiStages") or []]})
        found.append({"id": key["id"], "name": key.get("name") or key["id"], "enabled": bool(key.get("enabled")),
                      "plans": entries})
    return sorted(found, key=lambda k: (k["name"], k["id"]))

"""What the dashboard lists, read from the store: every API of every kind with its stages and its methods or
routes (integration and authorizer of each), and the API keys with their usage plans and what is left of each
quota. Blocking reads: the dashboard runs them on a thread of its own. Key values are never part of it.

`Catalog` keeps what it read until the store announces a change to it: APIs of 20,000 paths take seconds to
parse, and the page asks every few seconds. Only the usage counts, which change with every request and are
announced by nothing, are read each time, for the first `MAX_KEYS` keys."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from apiway.store import http_deployments, usage
from apiway.store.base import Store
from apiway.store.changes import Changed
from apiway.store.kinds import API_KEY, USAGE_PLAN, USAGE_PLAN_KEY, V2_API

MAX_KEYS = 200  # keys listed with their usage (by name); the rest are counted
_KEY_KINDS = frozenset({API_KEY, USAGE_PLAN, USAGE_PLAN_KEY})
KeyRecords = tuple[list[dict[str, Any]], dict[str, Any], dict[str, list[str]]]  # keys by name, plans, key → plans
# A Lambda integration's URI (…/functions/arn:aws:lambda:region:account:function:NAME[:alias]/invocations).
_FUNCTION = re.compile(r"function:([^:/]+)")


class Catalog:
    """The store's APIs and keys as the dashboard lists them, read again only after a change to them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        # What was read, and how many changes to it were announced (a read kept only if none came meanwhile).
        self._apis: list[dict[str, Any]] | None = None
        self._keys: KeyRecords | None = None
        self._changes = {"apis": 0, "keys": 0}
        store.subscribe(self._changed)

    def _changed(self, changes: Sequence[Changed]) -> None:
        """Store subscription (in the writer's thread): forget what a change makes stale."""
        with self._lock:
            for change in changes:
                if change.kind in _KEY_KINDS:
                    self._keys = None
                    self._changes["keys"] += 1
                elif change.kind != usage.KIND:
                    self._apis = None
                    self._changes["apis"] += 1

    def apis(self) -> list[dict[str, Any]]:
        with self._lock:
            found, seen = self._apis, self._changes["apis"]
        if found is None:
            found = apis(self.store)
            with self._lock:
                if self._changes["apis"] == seen:
                    self._apis = found
        return found

    def keys(self, today: date | None = None) -> dict[str, Any]:
        """`{"keys": [...], "total": n}`: the first MAX_KEYS keys by name with today's usage, and how many."""
        with self._lock:
            found, seen = self._keys, self._changes["keys"]
        if found is None:
            found = _key_records(self.store)
            with self._lock:
                if self._changes["keys"] == seen:
                    self._keys = found
        listed, plans, links = found
        return {"keys": [_usage(self.store, key, plans, links, today or datetime.now(UTC).date())
                         for key in listed[:MAX_KEYS]], "total": len(listed)}


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


def _key_records(store: Store) -> KeyRecords:
    """The keys by name, the plans by id and each key's plan ids."""
    plans = {plan["id"]: plan for plan in store.list_records(USAGE_PLAN)}
    links: dict[str, list[str]] = {}
    for link in store.list_records(USAGE_PLAN_KEY):
        links.setdefault(link["keyId"], []).append(link["usagePlanId"])
    keys = sorted(store.list_records(API_KEY), key=lambda k: (k.get("name") or k["id"], k["id"]))
    return keys, plans, links


def _usage(store: Store, key: dict[str, Any], plans: dict[str, Any], links: dict[str, list[str]],
           day: date) -> dict[str, Any]:
    """A key (never its value) with each usage plan it is in: today's requests and what is left of the quota in the
    current period (as of the last counts written, at most about a second behind)."""
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
    return {"id": key["id"], "name": key.get("name") or key["id"], "enabled": bool(key.get("enabled")),
            "plans": entries}

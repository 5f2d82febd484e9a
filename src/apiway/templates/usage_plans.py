"""API keys and usage plans a template declares — SAM's `Auth.UsagePlan` (`CreateUsagePlan: PER_API|SHARED`)
and plain `AWS::ApiGateway::ApiKey`, `UsagePlan`, `UsagePlanKey` — as the records the control plane keeps.
Ids and generated key values are derived from the template and the logical id, so restarts keep them (and the
usage counted); the values are shown at start, since AWS would have generated them."""

from __future__ import annotations

import hashlib
import string
import time
from datetime import UTC, datetime
from typing import Any

from apiway.model.rest import now
from apiway.templates.context import Context

API_KEY, USAGE_PLAN, USAGE_PLAN_KEY = "apikey", "usageplan", "usageplankey"  # store/kinds.py
_ALPHABET = string.ascii_letters + string.digits


def _derived(ctx: Context, logical: str, size: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    digest = hashlib.sha512(f"{ctx.path}#{logical}".encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:size])


class Plans:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.keys: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.links: list[tuple[str, str]] = []

    def key(self, logical: str, name: str, value: str | None, enabled: bool = True) -> str:
        stamp = now()
        key_id = _derived(self.ctx, logical, 10)
        self.keys[logical] = {"id": key_id, "name": name, "value": value or _derived(self.ctx, logical + "#value", 40,
                                                                                   _ALPHABET),
                              "enabled": enabled, "createdDate": stamp, "lastUpdatedDate": stamp, "stageKeys": [],
                              "tags": {}, "_created": time.time_ns()}
        self.ctx.notes.append(f"API key {name} (id {key_id}): x-api-key: {self.keys[logical]['value']}")
        return key_id

    def plan(self, logical: str, name: str, stages: list[dict[str, Any]], quota: dict[str, Any] | None,
             throttle: dict[str, Any] | None) -> str:
        plan_id = _derived(self.ctx, logical, 6)
        plan: dict[str, Any] = {"id": plan_id, "name": name, "apiStages": stages, "tags": {},
                                "_createdDay": datetime.now(UTC).date().isoformat()}
        if quota:
            plan["quota"] = {"limit": int(quota.get("Limit", 0)), "offset": int(quota.get("Offset", 0)),
                             "period": str(quota.get("Period", "DAY")).upper()}
        if throttle:
            plan["throttle"] = {"burstLimit": int(throttle.get("BurstLimit", 0)),
                                "rateLimit": float(throttle.get("RateLimit", 0))}
        self.plans[logical] = plan
        return plan_id

    def records(self) -> list[tuple[str, str, dict[str, Any]]]:
        out = [(API_KEY, k["id"], k) for k in self.keys.values()]
        out += [(USAGE_PLAN, p["id"], p) for p in self.plans.values()]
        out += [(USAGE_PLAN_KEY, f"{p}/{k}", {"usagePlanId": p, "keyId": k}) for p, k in self.links]
        return out


def read_usage_plans(ctx: Context, stages: dict[str, list[str]]) -> list[tuple[str, str, dict[str, Any]]]:
    """`stages`: API logical id → its stage names (the plans' API stages)."""
    plans = Plans(ctx)
    shared: list[dict[str, Any]] = []
    shared_settings: dict[str, Any] = {}
    for logical, resource in ctx.resources.items():
        if resource.get("Type") != "AWS::Serverless::Api" or not ctx.active(logical):
            continue
        usage = ((ctx.resolved(logical).get("Auth") or {}).get("UsagePlan")) or {}
        mode = str(usage.get("CreateUsagePlan", "NONE")).upper()
        api_stages = [{"apiId": ctx.api_ids[logical], "stage": s} for s in stages.get(logical, [])]
        if mode == "PER_API":
            key_id = plans.key(f"{logical}ApiKey", f"{logical}ApiKey", None)
            plan_id = plans.plan(f"{logical}UsagePlan", f"{logical}UsagePlan", api_stages, usage.get("Quota"),
                                 usage.get("Throttle"))
            plans.links.append((plan_id, key_id))
        elif mode == "SHARED":
            shared += api_stages
            shared_settings = usage
        elif mode not in ("NONE",):
            raise ctx.fail(("Resources", logical, "Properties", "Auth", "UsagePlan", "CreateUsagePlan"),
                           "must be PER_API, SHARED or NONE")
    if shared:
        key_id = plans.key("ServerlessApiKey", "ServerlessApiKey", None)
        plan_id = plans.plan("ServerlessUsagePlan", "ServerlessUsagePlan", shared, shared_settings.get("Quota"),
                             shared_settings.get("Throttle"))
        plans.links.append((plan_id, key_id))
    _plain(ctx, plans, stages)
    return plans.records()


def _plain(ctx: Context, plans: Plans, stages: dict[str, list[str]]) -> None:
    """AWS::ApiGateway::ApiKey / UsagePlan / UsagePlanKey."""
    by_type: dict[str, list[str]] = {}
    for logical, resource in ctx.resources.items():
        if ctx.active(logical):
            by_type.setdefault(str(resource.get("Type")), []).append(logical)
    key_ids = {}
    for logical in by_type.get("AWS::ApiGateway::ApiKey", []):
        props = ctx.resolved(logical)
        key_ids[logical] = plans.key(logical, str(props.get("Name") or logical), props.get("Value"),
                                     props.get("Enabled", True) not in (False, "false"))
    plan_ids = {}
    for logical in by_type.get("AWS::ApiGateway::UsagePlan", []):
        raw = ctx.properties(logical)
        props = ctx.resolved(logical)
        api_stages = []
        for i, entry in enumerate(raw.get("ApiStages") or []):
            api_ref = entry.get("ApiId") if isinstance(entry, dict) else None
            api = api_ref.get("Ref") if isinstance(api_ref, dict) else None
            stage = (props.get("ApiStages") or [{}])[i].get("Stage")
            if api not in ctx.api_ids:
                raise ctx.fail(("Resources", logical, "Properties", "ApiStages", i, "ApiId"),
                               "must be !Ref to a REST API of this template")
            api_stages.append({"apiId": ctx.api_ids[api], "stage": str(stage or (stages.get(api) or ["-"])[0])})
        plan_ids[logical] = plans.plan(logical, str(props.get("UsagePlanName") or logical), api_stages,
                                       props.get("Quota"), props.get("Throttle"))
    for logical in by_type.get("AWS::ApiGateway::UsagePlanKey", []):
        raw = ctx.properties(logical)
        key = (raw.get("KeyId") or {}).get("Ref") if isinstance(raw.get("KeyId"), dict) else None
        plan = (raw.get("UsagePlanId") or {}).get("Ref") if isinstance(raw.get("UsagePlanId"), dict) else None
        if key not in key_ids or plan not in plan_ids:
            raise ctx.fail(("Resources", logical, "Properties"), "KeyId and UsagePlanId must be !Ref to an ApiKey and "
                                                                 "a UsagePlan of this template")
        plans.links.append((plan_ids[plan], key_ids[key]))

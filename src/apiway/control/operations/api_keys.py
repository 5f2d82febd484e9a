"""API keys: create, list, get, update, delete and CSV import, and the links between keys and usage
plans (kind `usageplankey`, one record `{usagePlanId, keyId}` per link)."""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

from apiway.control.errors import ControlError, bad_request, conflict, enum_violation, validation
from apiway.control.operations.tags import NO_API_KEY, public
from apiway.control.paging import page
from apiway.control.patch import BAD_LIST_OP, Patch, lenient_bool, patches, path_not_supported, set_or_clear
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model import ids
from apiway.model.rest import now
from apiway.store import usage
from apiway.store.kinds import API_KEY, USAGE_PLAN, USAGE_PLAN_KEY

_VALUE_ALPHABET = string.ascii_letters + string.digits
MAX_NAME = 1024
MAX_DESCRIPTION = 125000
MIN_VALUE, MAX_VALUE = 20, 128
_REPLACEABLE = ("/description", "/enabled", "/name", "/customerId")


def new_value() -> str:
    return "".join(secrets.choice(_VALUE_ALPHABET) for _ in range(40))


def api_key(cp: ControlPlane, key_id: str) -> dict[str, Any]:
    return cp.record(API_KEY, key_id, NO_API_KEY)


def newest_first(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lists show the most recently created key first."""
    return sorted(keys, key=lambda k: (k["_created"], k["id"]), reverse=True)


def key_view(key: dict[str, Any], compact: bool, with_value: bool) -> dict[str, Any]:
    result = public(key, compact)
    if not with_value:
        result.pop("value", None)
    return result


def _check_name(name: str) -> None:
    if len(name) > MAX_NAME:
        raise bad_request(f"Invalid API Key name, can be at most {MAX_NAME} characters.")


def _check_description(description: str) -> None:
    if len(description) > MAX_DESCRIPTION:
        raise bad_request("Invalid API Key description specified.")


def _check_value(value: str) -> None:
    if len(value) < MIN_VALUE:
        raise bad_request(f"API Key value should be at least {MIN_VALUE} characters")
    if len(value) > MAX_VALUE:
        raise bad_request(f"API Key value exceeds maximum size of {MAX_VALUE} characters")


def _by_value(cp: ControlPlane, value: str) -> dict[str, Any] | None:
    found = cp.store.find_records(API_KEY, "value", value)
    return found[0] if found else None


def _stage_key(cp: ControlPlane, api_id: str, stage_name: str) -> str:
    """The legacy `{restApiId}/{stageName}` entry; both must exist."""
    cp.api(api_id)
    cp.stage(api_id, stage_name)
    return f"{api_id}/{stage_name}"


def new_key(name: str | None, value: str, enabled: bool, description: str | None = None) -> dict[str, Any]:
    stamp = now()
    key: dict[str, Any] = {"id": ids.new_id(10), "value": value, "enabled": enabled, "createdDate": stamp,
                           "lastUpdatedDate": stamp, "stageKeys": [], "tags": {}, "_created": time.time_ns()}
    if name:
        key["name"] = name
    if description:
        key["description"] = description
    return key


@operation("CreateApiKey")
def create_api_key(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    _check_name(p.get("name") or "")
    _check_description(p.get("description") or "")
    value = p.get("value") or new_value()
    _check_value(value)
    if _by_value(cp, value):
        raise conflict("API Key already exists")
    key = new_key(p.get("name"), value, bool(p.get("enabled")), p.get("description"))
    key["stageKeys"] = [_stage_key(cp, s.get("restApiId") or "", s.get("stageName") or "")
                        for s in p.get("stageKeys") or []]
    if p.get("customerId"):
        key["customerId"] = p["customerId"]
    key["tags"] = dict(p.get("tags") or {})
    cp.store.put_record(API_KEY, key["id"], key)
    return key_view(key, compact=True, with_value=True)


@operation("GetApiKeys")
def get_api_keys(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    name, customer = p.get("nameQuery"), p.get("customerId")
    keys = [k for k in newest_first(cp.store.list_records(API_KEY))
            if (not name or k.get("name", "").startswith(name)) and (not customer or k.get("customerId") == customer)]
    if (p.get("limit") or 1) < 1:
        p = {k: v for k, v in p.items() if k != "limit"}  # AWS answers a non-positive limit with a default page
    return page([key_view(k, compact=True, with_value=bool(p.get("includeValues"))) for k in keys], p)


@operation("GetApiKey")
def get_api_key(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return key_view(api_key(cp, p["apiKey"]), compact=False, with_value=bool(p.get("includeValue")))


@operation("UpdateApiKey")
def update_api_key(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    key = api_key(cp, p["apiKey"])
    for patch in patches(p, "UpdateApiKey"):
        _patch_key(cp, key, patch)
    key["lastUpdatedDate"] = now()
    cp.store.put_record(API_KEY, key["id"], key)
    return key_view(key, compact=False, with_value=False)


def _patch_key(cp: ControlPlane, key: dict[str, Any], patch: Patch) -> None:
    if patch.op in ("add", "remove"):
        if patch.path != "/stages":
            raise path_not_supported(patch, ("/stages",))
        api_id, _, stage_name = (patch.value or "").partition("/")
        entry = _stage_key(cp, api_id, stage_name) if patch.op == "add" else patch.value
        stages = [s for s in key["stageKeys"] if s != entry]
        key["stageKeys"] = [*stages, entry] if patch.op == "add" else stages
    elif patch.op != "replace":
        raise bad_request(BAD_LIST_OP)
    elif patch.path not in _REPLACEABLE:
        raise path_not_supported(patch, _REPLACEABLE)
    elif patch.path == "/enabled":
        key["enabled"] = lenient_bool(patch)
    else:
        field = patch.path[1:]
        if field == "name":
            _check_name(patch.value or "")
        elif field == "description":
            _check_description(patch.value or "")
        set_or_clear(key, field, patch.value)


@operation("DeleteApiKey")
def delete_api_key(cp: ControlPlane, p: dict[str, Any]) -> None:
    key_id = api_key(cp, p["apiKey"])["id"]
    with cp.store.transaction():
        for plan_id in plan_ids_of(cp, key_id):
            unlink(cp, plan_id, key_id)
        cp.store.delete_record(API_KEY, key_id)


# -- usage plan links ---------------------------------------------------------------------------------

def link_id(plan_id: str, key_id: str) -> str:
    return f"{plan_id}/{key_id}"


def plan_ids_of(cp: ControlPlane, key_id: str) -> list[str]:
    return [entry["usagePlanId"] for entry in cp.store.find_records(USAGE_PLAN_KEY, "keyId", key_id)]


def key_ids_of(cp: ControlPlane, plan_id: str) -> list[str]:
    return sorted(entry["keyId"] for entry in cp.store.find_records(USAGE_PLAN_KEY, "usagePlanId", plan_id))


def check_link(cp: ControlPlane, plan: dict[str, Any], key_id: str) -> None:
    """A key may be in many plans, but in only one plan per API stage."""
    plan_id = plan["id"]
    if cp.store.get_record(USAGE_PLAN_KEY, link_id(plan_id, key_id)):
        raise conflict(f"API Key {key_id} is already in Usage Plan {plan_id}")
    stages = {(s["apiId"], s["stage"]) for s in plan["apiStages"]}
    for other_id in plan_ids_of(cp, key_id):
        other = cp.store.get_record(USAGE_PLAN, other_id) or {"apiStages": []}
        shared = sorted(stages & {(s["apiId"], s["stage"]) for s in other["apiStages"]})
        if shared:
            raise conflict(f"Usage Plan {plan_id} cannot be added because API Key {key_id} cannot reference "
                           f"multiple Usage Plans with the same API Stage: {shared[0][0]}:{shared[0][1]}")


def link(cp: ControlPlane, plan_id: str, key_id: str) -> None:
    cp.store.put_record(USAGE_PLAN_KEY, link_id(plan_id, key_id), {"usagePlanId": plan_id, "keyId": key_id})


def unlink(cp: ControlPlane, plan_id: str, key_id: str) -> None:
    with cp.store.transaction():
        cp.store.delete_record(USAGE_PLAN_KEY, link_id(plan_id, key_id))
        usage.forget(cp.store, plan_id, key_id)


# -- ImportApiKeys ------------------------------------------------------------------------------------

def _cells(line: str) -> list[str]:
    """One CSV line; a cell may be quoted with double or single quotes (the AWS key-file format)."""
    cells, cell, quote = [], "", ""
    for ch in line:
        if quote:
            if ch == quote:
                quote = ""
            else:
                cell += ch
        elif ch in "\"'" and not cell.strip():
            quote, cell = ch, ""
        elif ch == ",":
            cells.append(cell.strip())
            cell = ""
        else:
            cell += ch
    return [*cells, cell.strip()]


def _rows(body: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, {lower-cased column: cell}) for each data row."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise bad_request("Invalid API key file: it must be UTF-8 text") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise bad_request("Invalid API key file: it is empty")
    header = [h.lower() for h in _cells(lines[0][1])]
    if "name" not in header or "key" not in header:
        raise bad_request("Invalid API key file: the header must name the Name and Key columns")
    return [(n, dict(zip(header, _cells(line), strict=False))) for n, line in lines[1:]]


def _import_row(cp: ControlPlane, row: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The key a row describes (the existing one when its value is known) and the plans it joins."""
    name, value, description = row.get("name", ""), row.get("key", ""), row.get("description", "")
    _check_name(name)
    _check_value(value)
    _check_description(description)
    enabled = (row.get("enabled") or "true").lower() != "false"
    key = _by_value(cp, value) or new_key(None, value, enabled)
    key["enabled"] = enabled
    key["lastUpdatedDate"] = now()
    set_or_clear(key, "name", name)
    set_or_clear(key, "description", description)
    plan_ids = [i.strip() for i in (row.get("usageplanids") or "").split(",") if i.strip()]
    plans = [cp.record(USAGE_PLAN, plan_id, f"Invalid Usage Plan ID specified: {plan_id}") for plan_id in plan_ids]
    plans = [plan for plan in plans if not cp.store.get_record(USAGE_PLAN_KEY, link_id(plan["id"], key["id"]))]
    for plan in plans:
        check_link(cp, plan, key["id"])
    return key, plans


@operation("ImportApiKeys")
def import_api_keys(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    if p["format"] != "csv":
        raise validation([enum_violation(p["format"], "format", ("csv",))])
    key_ids: list[str] = []
    warnings: list[str] = []
    with cp.store.transaction():
        for line, row in _rows(p["body"]):
            try:
                key, plans = _import_row(cp, row)
            except ControlError as err:
                if p.get("failOnWarnings"):
                    raise bad_request(f"Invalid API key at line {line}: {err.message}") from None
                warnings.append(f"Line {line}: {err.message}")
                continue
            cp.store.put_record(API_KEY, key["id"], key)
            for plan in plans:
                link(cp, plan["id"], key["id"])
            key_ids.append(key["id"])
    return {"ids": key_ids, **({"warnings": warnings} if warnings else {})}

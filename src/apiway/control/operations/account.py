"""The API Gateway account settings (GetAccount, UpdateAccount), one record of kind `account`."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request
from apiway.control.patch import Patch, patches, path_not_supported, set_or_clear
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation

KIND = "account"
KEY = "account"
_PATHS = ("/cloudwatchRoleArn", "/features")


def account(cp: ControlPlane) -> dict[str, Any]:
    """The stored settings, or AWS's defaults for a fresh account (Region-level throttle limits)."""
    return cp.store.get_record(KIND, KEY) or {
        "throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0},
        "features": ["UsagePlans"],
        "apiKeyVersion": "4",
    }


@operation("GetAccount")
def get_account(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return account(cp)


@operation("UpdateAccount")
def update_account(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    settings = account(cp)
    for patch in patches(p, "UpdateAccount"):
        _patch_account(settings, patch)
    cp.store.put_record(KIND, KEY, settings)
    return settings


def _patch_account(settings: dict[str, Any], patch: Patch) -> None:
    if patch.path == "/cloudwatchRoleArn" and patch.op == "replace":
        set_or_clear(settings, "cloudwatchRoleArn", patch.value)
    elif patch.path == "/features" and patch.op in ("add", "remove", "replace"):
        if not patch.value:
            raise bad_request("Invalid value for /features: a feature name is required")
        features = [f for f in settings.get("features", []) if f != patch.value]
        settings["features"] = features if patch.op == "remove" else [*features, patch.value]
    else:
        raise path_not_supported(patch, _PATHS)

"""`patchOperations` of every `Update*` call: AWS's validation of the operation list, the
JSON-pointer-like paths (`/` inside a key escaped as `~1`), how values are read, and AWS's wording
when an op or path is not supported. Which paths each resource accepts is the handler's business."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from apiway.control.errors import ControlError, bad_request, enum_violation, validation

PATCH_OPS = ("add", "remove", "move", "test", "replace", "copy")
# AWS's wording when a path takes add, remove or replace but the op is something else.
BAD_LIST_OP = "Invalid patch operation specified. Must be 'add'|'remove'|'replace'"


@dataclass(slots=True, frozen=True)
class Patch:
    op: str
    path: str
    value: str | None
    from_: str | None

    @property
    def parts(self) -> list[str]:
        """Path segments with `~1` → `/` and `~0` → `~` undone."""
        return [unescape(p) for p in self.path.split("/")[1:]]


def unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def op_errors(operation: str, raw: list[Any]) -> list[str]:
    """The per-operation enum errors AWS reports before anything else (1-based member index)."""
    input_name = operation[:1].lower() + operation[1:] + "Input"
    return [enum_violation(item.get("op"), f"{input_name}.patchOperations.{i}.member.op", PATCH_OPS)
            for i, item in enumerate(raw, 1) if isinstance(item, dict) and item.get("op") not in PATCH_OPS]


def patches(params: dict[str, Any], operation: str, extra_errors: list[str] | None = None) -> list[Patch]:
    raw = params.get("patchOperations") or []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise bad_request("patchOperations must be a list of operations")
    errors = op_errors(operation, raw) + list(extra_errors or ())
    if errors:
        raise validation(errors)
    result = []
    for item in raw:
        path = item.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise bad_request(f"Invalid patch path {'null' if path is None else path}")  # AWS prints Java's null
        value = item.get("value")
        result.append(Patch(item["op"], path, None if value is None else str(value), item.get("from")))
    return result


# -- values -----------------------------------------------------------------------------------------------

def as_bool(patch: Patch) -> bool:
    value = (patch.value or "").lower()
    if value not in ("true", "false"):
        raise bad_request(f"Invalid value for {patch.path}: '{patch.value}'. Must be 'true' or 'false'")
    return value == "true"


def lenient_bool(patch: Patch) -> bool:
    """How AWS reads some flags (API key `enabled`, method `apiKeyRequired`, …): anything but "true",
    a missing value included, is false rather than an error."""
    return (patch.value or "").lower() == "true"


def as_int(patch: Patch) -> int:
    try:
        return int(patch.value or "")
    except ValueError:
        raise bad_request(f"Invalid value for {patch.path}: '{patch.value}'. Must be an integer") from None


def as_float(patch: Patch) -> float:
    try:
        return float(patch.value or "")
    except ValueError:
        raise bad_request(f"Invalid value for {patch.path}: '{patch.value}'. Must be a number") from None


def set_or_clear(record: Any, field: str, value: str | None) -> None:
    """Set an optional text field; an empty value removes it (AWS then leaves the field out)."""
    if value:
        record[field] = value
    else:
        record.pop(field, None)


def patch_list(items: list[str], item: str, patch: Patch) -> None:
    """One string of a list field: `add` it (once), `remove` it (if there), or `replace` it with the
    patch's value. Callers whose path takes fewer ops refuse the others first."""
    if patch.op == "add":
        if item not in items:
            items.append(item)
    elif patch.op == "remove":
        if item in items:
            items.remove(item)
    elif patch.op == "replace":
        if item not in items:
            raise unsupported(patch)
        items[items.index(item)] = patch.value or ""
    else:
        raise bad_request(BAD_LIST_OP)


# -- AWS's errors for what a path does not support ----------------------------------------------------------

def unsupported(patch: Patch) -> ControlError:
    return bad_request(f"Invalid patch path {patch.path}")


def require_ops(patch: Patch, allowed: tuple[str, ...]) -> None:
    if patch.op not in allowed:
        raise bad_request(f"Invalid patch operation specified. Must be one of: [{', '.join(allowed)}]")


def op_not_supported(patch: Patch) -> ControlError:
    """AWS's wording (with its double space) when the path exists but not for this op."""
    return bad_request(f"Invalid patch path  '{patch.path}' specified for op '{patch.op}'. "
                       f"Please choose supported operations")


def path_not_supported(patch: Patch, allowed: Sequence[str]) -> ControlError:
    return bad_request(f"Invalid patch path  '{patch.path}' specified for op '{patch.op}'. "
                       f"Must be one of: [{', '.join(allowed)}]")


def replace_field(patch: Patch, allowed: tuple[str, ...]) -> str:
    """The field a `replace`-only patch targets, for records where AWS words a wrong op and a wrong
    path differently (API parts: models, validators, authorizers, documentation)."""
    if patch.op != "replace":
        raise op_not_supported(patch)
    if patch.path not in allowed:
        raise path_not_supported(patch, allowed)
    return patch.path[1:]


def replace_path(patch: Patch, allowed: tuple[str, ...]) -> str:
    """The field a `replace`-only patch targets, for records where AWS answers a wrong op as a wrong
    path (account-level records: VPC links, client certificates, usage)."""
    if patch.op != "replace" or patch.path not in allowed:
        raise path_not_supported(patch, allowed)
    return patch.path[1:]

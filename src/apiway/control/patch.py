"""`patchOperations` of every `Update*` call: AWS's validation of the operation list, and the
JSON-pointer-like paths (`/` inside a key escaped as `~1`). Which paths each resource accepts is
the handler's business; this module only reads and checks the list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apiway.control.errors import bad_request, validation

PATCH_OPS = ("add", "remove", "move", "test", "replace", "copy")


@dataclass(slots=True, frozen=True)
class Patch:
    op: str
    path: str
    value: str | None
    from_: str | None

    @property
    def parts(self) -> list[str]:
        """Path segments with `~1` → `/` and `~0` → `~` undone."""
        return split_path(self.path)


def split_path(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def op_errors(operation: str, raw: list[Any]) -> list[str]:
    """The per-operation enum errors AWS reports before anything else (1-based member index)."""
    input_name = operation[:1].lower() + operation[1:] + "Input"
    return [
        f"Value '{item.get('op')}' at '{input_name}.patchOperations.{i}.member.op' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(PATCH_OPS)}]"
        for i, item in enumerate(raw, 1) if isinstance(item, dict) and item.get("op") not in PATCH_OPS
    ]


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


def as_bool(patch: Patch) -> bool:
    value = (patch.value or "").lower()
    if value not in ("true", "false"):
        raise bad_request(f"Invalid value for {patch.path}: '{patch.value}'. Must be 'true' or 'false'")
    return value == "true"


def as_int(patch: Patch) -> int:
    try:
        return int(patch.value or "")
    except ValueError:
        raise bad_request(f"Invalid value for {patch.path}: '{patch.value}'. Must be an integer") from None


def unsupported(patch: Patch) -> Exception:
    return bad_request(f"Invalid patch path {patch.path}")


def op_not_supported(patch: Patch) -> Exception:
    """AWS's wording (with its double space) when the path exists but not for this op."""
    return bad_request(f"Invalid patch path  '{patch.path}' specified for op '{patch.op}'. "
                       f"Please choose supported operations")


def path_not_supported(patch: Patch, allowed: tuple[str, ...]) -> Exception:
    return bad_request(f"Invalid patch path  '{patch.path}' specified for op '{patch.op}'. "
                       f"Must be one of: [{', '.join(allowed)}]")


def replace_field(patch: Patch, allowed: tuple[str, ...]) -> str:
    """The field a `replace`-only patch targets (records whose PATCH accepts nothing else)."""
    if patch.op != "replace":
        raise op_not_supported(patch)
    if patch.path not in allowed:
        raise path_not_supported(patch, allowed)
    return patch.path[1:]

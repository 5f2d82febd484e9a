"""Resource operations: list, get, create, update (re-parent or rename, paths recomputed for the
whole subtree) and delete (with every descendant). Also the lookup every method-level module
starts from: an unknown API or resource is "Invalid Resource identifier specified" there."""

from __future__ import annotations

from typing import Any

from apiway.control.errors import bad_request, conflict, not_found
from apiway.control.paging import page
from apiway.control.patch import Patch, op_not_supported, patches, path_not_supported
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model import ids
from apiway.model.rest import PATH_PART_RE, ApiDefinition, Resource

INVALID_RESOURCE = "Invalid Resource identifier specified"
INVALID_PATH_PART = "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end."
_UPDATABLE = ("/parentId", "/pathPart")


def load_resource(cp: ControlPlane, api_id: str, resource_id: str) -> tuple[ApiDefinition, Resource]:
    """The API and one of its resources. AWS names the resource, not the API, when either is unknown."""
    definition = cp.api_or(api_id, not_found(INVALID_RESOURCE))
    return definition, cp.resource(definition, resource_id)


def render(resource: Resource, embed: list[str] | None) -> dict[str, Any]:
    """A resource as AWS sends it: methods only as `{VERB: {}}` unless `embed=methods` asks for them."""
    out: dict[str, Any] = {k: v for k, v in resource.items() if k != "resourceMethods"}
    methods = resource.get("resourceMethods")
    if methods:
        full = "methods" in (embed or ())
        out["resourceMethods"] = {verb: m if full else {} for verb, m in methods.items()}
    return out


def is_variable(path_part: str) -> bool:
    return path_part.startswith("{")


def is_greedy(path_part: str) -> bool:
    return path_part.endswith("+}")


def check_child(definition: ApiDefinition, parent: Resource, path_part: str | None, self_id: str | None) -> str:
    """Whether `path_part` may live under `parent` (ignoring the resource `self_id` being moved)."""
    if not path_part or not PATH_PART_RE.match(path_part):
        raise bad_request(INVALID_PATH_PART)
    parent_part = parent.get("pathPart", "")
    if is_greedy(parent_part):
        raise bad_request(f"Cannot create a child of a resource with a greedy path variable: {parent_part}")
    for sibling in children(definition, parent["id"]):
        if sibling["id"] == self_id:
            continue
        if sibling.get("pathPart") == path_part:
            raise conflict(f"Another resource with the same parent already has this name: {path_part}")
        if is_variable(path_part) and is_variable(sibling.get("pathPart", "")):
            raise bad_request(f"A sibling ({sibling['pathPart']}) of this resource already has a variable path part "
                              f"-- only one is allowed")
    return path_part


def children(definition: ApiDefinition, parent_id: str) -> list[Resource]:
    return [r for r in definition["resources"].values() if r.get("parentId") == parent_id]


def descendants(definition: ApiDefinition, resource_id: str) -> list[Resource]:
    found: list[Resource] = []
    pending = [resource_id]
    while pending:
        for child in children(definition, pending.pop()):
            found.append(child)
            pending.append(child["id"])
    return found


def child_path(parent: Resource, path_part: str) -> str:
    return parent["path"].rstrip("/") + "/" + path_part


@operation("GetResources")
def get_resources(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition = cp.api(p["restApiId"])
    resources = sorted(definition["resources"].values(), key=lambda r: r["path"])
    return page([render(r, p.get("embed")) for r in resources], p)


@operation("GetResource")
def get_resource(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    _, resource = load_resource(cp, p["restApiId"], p["resourceId"])
    return render(resource, p.get("embed"))


@operation("CreateResource")
def create_resource(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, parent = load_resource(cp, p["restApiId"], p["parentId"])
    path_part = check_child(definition, parent, p["pathPart"], None)
    resource_id = ids.new_resource_id()
    while resource_id in definition["resources"]:
        resource_id = ids.new_resource_id()
    resource: Resource = {"id": resource_id, "parentId": parent["id"], "pathPart": path_part,
                          "path": child_path(parent, path_part)}
    definition["resources"][resource_id] = resource
    cp.save_api(definition)
    return render(resource, None)


@operation("UpdateResource")
def update_resource(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    definition, resource = load_resource(cp, p["restApiId"], p["resourceId"])
    for patch in patches(p, "UpdateResource"):
        _patch_resource(definition, resource, patch)
    for moved in [resource, *descendants(definition, resource["id"])]:
        moved["path"] = child_path(definition["resources"][moved["parentId"]], moved["pathPart"])
    cp.save_api(definition)
    return render(resource, None)


def _patch_resource(definition: ApiDefinition, resource: Resource, patch: Patch) -> None:
    if patch.path not in _UPDATABLE:
        raise path_not_supported(patch, _UPDATABLE)
    if patch.op != "replace":
        raise op_not_supported(patch)
    field = patch.path[1:]
    if "parentId" not in resource:
        raise bad_request(f"Root resource cannot update its {field}.")
    if field == "parentId":
        parent = definition["resources"].get(patch.value or "")
        if parent is None:
            raise not_found(INVALID_RESOURCE)
        if parent["id"] in {resource["id"], *(d["id"] for d in descendants(definition, resource["id"]))}:
            raise bad_request("Resources cannot be cyclical.")
        check_child(definition, parent, resource["pathPart"], resource["id"])
        resource["parentId"] = parent["id"]
    else:
        parent = definition["resources"][resource["parentId"]]
        resource["pathPart"] = check_child(definition, parent, patch.value, resource["id"])


@operation("DeleteResource")
def delete_resource(cp: ControlPlane, p: dict[str, Any]) -> None:
    definition, resource = load_resource(cp, p["restApiId"], p["resourceId"])
    if "parentId" not in resource:
        raise bad_request("Cannot delete the root resource.")
    for gone in [resource, *descendants(definition, resource["id"])]:
        del definition["resources"][gone["id"]]
    cp.save_api(definition)

"""VPC links (v1): recorded as AWS describes them; apiway has no VPC, so a link is ready at once."""

from __future__ import annotations

import re
from typing import Any

from apiway.control.errors import bad_request
from apiway.control.operations.tags import NO_VPC_LINK, public, public_page
from apiway.control.patch import patches, replace_path, set_or_clear
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model import ids
from apiway.store.kinds import VPC_LINK

READY = {"status": "AVAILABLE", "statusMessage": "Your vpc link is ready for use"}
_ARN = re.compile(r"^arn:[^:]+:[^:]+:[^:]*:[^:]*:.+$")
_PATHS = ("/name", "/description")


def vpc_link(cp: ControlPlane, link_id: str) -> dict[str, Any]:
    return cp.record(VPC_LINK, link_id, NO_VPC_LINK)


@operation("CreateVpcLink")
def create_vpc_link(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    if not p["name"]:
        raise bad_request("Name cannot be empty")
    for arn in p["targetArns"]:
        if not _ARN.match(str(arn)):
            raise bad_request(f"Invalid ARN. ARN is not well formed {arn}")
    link: dict[str, Any] = {"id": ids.new_id(6), "name": p["name"], "targetArns": list(p["targetArns"]), **READY,
                            "tags": dict(p.get("tags") or {})}
    if p.get("description"):
        link["description"] = p["description"]
    cp.store.put_record(VPC_LINK, link["id"], link)
    return public(link, compact=True)


@operation("GetVpcLinks")
def get_vpc_links(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return public_page(cp.store.list_records(VPC_LINK), p)


@operation("GetVpcLink")
def get_vpc_link(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return public(vpc_link(cp, p["vpcLinkId"]))


@operation("UpdateVpcLink")
def update_vpc_link(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    link = vpc_link(cp, p["vpcLinkId"])
    for patch in patches(p, "UpdateVpcLink"):
        field = replace_path(patch, _PATHS)
        if field == "name" and not patch.value:
            raise bad_request("Name cannot be empty")
        set_or_clear(link, field, patch.value)
    cp.store.put_record(VPC_LINK, link["id"], link)
    return public(link)


@operation("DeleteVpcLink")
def delete_vpc_link(cp: ControlPlane, p: dict[str, Any]) -> None:
    cp.store.delete_record(VPC_LINK, vpc_link(cp, p["vpcLinkId"])["id"])

"""apigatewayv2 TagResource, UntagResource and GetTags on the ARNs of HTTP and WebSocket APIs
(`arn:aws:apigateway:{region}::/apis/{apiId}`), their stages (`…/apis/{apiId}/stages/{stageName}`) and
custom domain names (`…/domainnames/{name}`, the records REST APIs share). Tags are kept in the record;
a tag change deploys nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from apiway.control.errors import bad_request
from apiway.control.operations.domain_names import domain_name
from apiway.control.plane import ControlPlane
from apiway.control.registry import V2, operation
from apiway.store import http_deployments as v2store
from apiway.store.kinds import DOMAIN_NAME

MAX_TAGS = 50
_API = re.compile(r"^/apis/([^/]+)$")
_STAGE = re.compile(r"^/apis/([^/]+)/stages/([^/]+)$")
_DOMAIN = re.compile(r"^/domainnames/([^/]+)$")


def _tagged(cp: ControlPlane, arn: str) -> tuple[dict[str, str], Callable[[], None]]:
    """The tags of the resource an ARN names (loaded fresh, to change in place) and how to save them."""
    prefix = cp.arn("")
    path = arn[len(prefix):] if arn.startswith(prefix) else ""
    if found := _API.match(path):
        definition = cp.http_api(found.group(1))
        return definition["api"].setdefault("tags", {}), lambda: v2store.put_api(cp.store, definition)
    if found := _STAGE.match(path):
        api_id = cp.http_api(found.group(1))["api"]["apiId"]
        stage = cp.http_stage(api_id, found.group(2))
        return stage.setdefault("tags", {}), lambda: v2store.put_stage(cp.store, stage)
    if found := _DOMAIN.match(path):
        domain = domain_name(cp, found.group(1))
        return domain.setdefault("tags", {}), lambda: cp.store.put_record(DOMAIN_NAME, domain["domainName"], domain)
    raise bad_request("Invalid ARN specified in the request")


@operation("TagResource", service=V2)
def tag_resource(cp: ControlPlane, p: dict[str, Any]) -> None:
    tags, save = _tagged(cp, p["ResourceArn"])
    tags.update({str(k): str(v) for k, v in (p.get("Tags") or {}).items()})
    if len(tags) > MAX_TAGS:
        raise bad_request(f"A resource can have at most {MAX_TAGS} tags")
    save()


@operation("UntagResource", service=V2)
def untag_resource(cp: ControlPlane, p: dict[str, Any]) -> None:
    tags, save = _tagged(cp, p["ResourceArn"])
    for key in p["TagKeys"]:
        tags.pop(key, None)
    save()


@operation("GetTags", service=V2)
def get_tags(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": dict(_tagged(cp, p["ResourceArn"])[0])}

"""Tags (TagResource, UntagResource, GetTags) and what every account-level record shares.

Account-level records (API keys, usage plans, domain names, VPC links, client certificates) are
stored under the kinds of `apiway.store.kinds`, in AWS's output shape plus internal fields whose names start
with `_` (never sent). Their tags live in the record itself; a REST API's in `restApi.tags`, a
stage's in its stage record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from apiway.control.errors import bad_request
from apiway.control.paging import page
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.store.kinds import API_KEY, CLIENT_CERTIFICATE, DOMAIN_NAME, USAGE_PLAN, VPC_LINK

NO_API_KEY = "Invalid API Key identifier specified"
NO_USAGE_PLAN = "Invalid Usage Plan ID specified"
NO_DOMAIN_NAME = "Invalid domain name identifier specified"
NO_VPC_LINK = "Invalid Vpc Link identifier specified"
NO_CLIENT_CERTIFICATE = "Invalid Client Certificate identifier specified"

# ARN path collection → (record kind, NotFound message)
_RECORDS = {
    "apikeys": (API_KEY, NO_API_KEY),
    "usageplans": (USAGE_PLAN, NO_USAGE_PLAN),
    "domainnames": (DOMAIN_NAME, NO_DOMAIN_NAME),
    "vpclinks": (VPC_LINK, NO_VPC_LINK),
    "clientcertificates": (CLIENT_CERTIFICATE, NO_CLIENT_CERTIFICATE),
}
_STAGE_ARN = re.compile(r"^/restapis/([^/]+)/stages/([^/]+)$")
_ONE_ARN = re.compile(r"^/([a-z]+)/([^/]+)$")


def public(record: dict[str, Any], compact: bool = False) -> dict[str, Any]:
    """A record as AWS sends it: internal fields dropped; `tags` always present on Get/Update,
    only when there are some on Create and in lists (`compact`)."""
    result = {k: v for k, v in record.items() if not k.startswith("_")}
    if compact and not result.get("tags"):
        result.pop("tags", None)
    elif not compact:
        result.setdefault("tags", {})
    return result


def public_page(records: Iterable[dict[str, Any]], p: dict[str, Any]) -> dict[str, Any]:
    """One page of a list call, each record as lists show it."""
    return page([public(record, compact=True) for record in records], p)


# -- TagResource / UntagResource / GetTags ---------------------------------------------------------

class _Tagged:
    """The tags of the resource an ARN names, loaded fresh, and how to save them back."""

    def __init__(self, cp: ControlPlane, arn: str) -> None:
        prefix = cp.arn("")
        path = arn[len(prefix):] if arn.startswith(prefix) else ""
        self.cp = cp
        self.kind = ""
        if stage := _STAGE_ARN.match(path):
            cp.api(stage.group(1))
            self.target: dict[str, Any] = dict(cp.stage(stage.group(1), stage.group(2)))
            self._save = lambda: cp.store.put_stage(self.target)  # type: ignore[arg-type]
        elif path.startswith("/restapis/") and path.count("/") == 2:
            definition = cp.api(path.split("/")[2])
            self.target = definition["restApi"]  # type: ignore[assignment]
            self._save = lambda: cp.save_api(definition)
        elif (one := _ONE_ARN.match(path)) and one.group(1) in _RECORDS:
            self.kind, missing = _RECORDS[one.group(1)]
            key = one.group(2)
            self.target = cp.record(self.kind, key, missing)
            self._save = lambda: cp.store.put_record(self.kind, key, self.target)
        else:
            raise bad_request("Invalid ARN specified in the request")

    @property
    def tags(self) -> dict[str, str]:
        return self.target.setdefault("tags", {})

    def save(self) -> None:
        self._save()


@operation("TagResource")
def tag_resource(cp: ControlPlane, p: dict[str, Any]) -> None:
    tagged = _Tagged(cp, p["resourceArn"])
    tagged.tags.update({str(k): str(v) for k, v in p["tags"].items()})
    tagged.save()


@operation("UntagResource")
def untag_resource(cp: ControlPlane, p: dict[str, Any]) -> None:
    tagged = _Tagged(cp, p["resourceArn"])
    for key in p["tagKeys"]:
        tagged.tags.pop(key, None)
    tagged.save()


@operation("GetTags")
def get_tags(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return {"tags": dict(_Tagged(cp, p["resourceArn"]).tags)}

"""Which API an invoke URL names, before any stage is looked at: the host-style form
`{apiId}.execute-api.{domain}/{stage}/…`, the path-style form `/restapis/{apiId}/{stage}/_user_request_/…`,
the forms of AWS's private endpoints, or a custom domain's base path mapping."""

from __future__ import annotations

from typing import Any

from apiway.core.errors import GatewayError
from apiway.core.http import HttpRequest
from apiway.core.invocation import StageRuntime
from apiway.runtime.domains import DomainRoutes, DomainTable

_USER_REQUEST = "/_user_request_"

# (api id, path after the API, VPC endpoint): the endpoint is None for the public forms, "" when a header
# names it; or the custom domain whose mappings decide.
Located = tuple[str, str, str | None] | DomainRoutes


def locate(req: HttpRequest, domains: DomainTable) -> Located | None:
    """Where a request goes; None when it names no API (another service on the port may own it)."""
    host = req.header("host") or ""
    if ".execute-api." in host:
        label = host.split(".", 1)[0]
        if "-" not in label:  # API ids never contain "-"; the private forms do
            return label, req.path, None
        return _private_host(req, label)
    if req.path.startswith("/restapis/"):
        api_id, _, rest = req.path[10:].partition("/")
        stage, _, rest = rest.partition("/")
        rest = "/" + rest
        if rest == _USER_REQUEST or rest.startswith(_USER_REQUEST + "/"):
            return api_id, f"/{stage}{rest[len(_USER_REQUEST):]}", None
    named = req.header("x-apigw-api-id")  # any host (a VPC endpoint's own name), the API named by header
    if named:
        return named, req.path, ""
    if domains:
        return domains.lookup(host)
    return None


def forbidden() -> GatewayError:
    """AWS's answer to an unknown stage, an unmapped base path or a private API reached the wrong way."""
    return GatewayError("INVALID_API_KEY", "Forbidden")


def _private_host(req: HttpRequest, label: str) -> tuple[str, str, str | None]:
    """`{apiId}-{vpceId}.execute-api…` names the API and the VPC endpoint; a VPC endpoint's own name
    (`vpce-….execute-api…`) needs the API in `x-apigw-api-id`."""
    if label.startswith("vpce-"):
        return req.header("x-apigw-api-id") or "", req.path, ""
    api_id, _, vpce = label.partition("-")
    return api_id, req.path, vpce


def vpc_endpoint(req: HttpRequest, stage: StageRuntime, vpce: str | None) -> dict[str, Any]:
    """A PRIVATE API answers only requests that came through a VPC endpoint, and a VPC endpoint reaches
    only PRIVATE APIs; AWS answers anything else 403 Forbidden. With no VPC here, the endpoint is named by
    the `{apiId}-{vpceId}` host (which AWS creates only for the API's associated endpoints) or the
    `x-amzn-vpce-id` header. It becomes `$context.identity.vpceId`, what `aws:SourceVpce` reads."""
    allowed = stage.vpc_endpoint_ids
    if allowed is None:
        raise forbidden()
    if vpce:
        if vpce not in allowed:
            raise forbidden()
    else:
        vpce = req.header("x-amzn-vpce-id")
        if not vpce:
            raise forbidden()
    return {"vpceId": vpce, "vpcId": req.header("x-amzn-vpc-id")}

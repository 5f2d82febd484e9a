"""AWS integrations of a REST API with a service other than Lambda: `arn:aws:apigateway:{region}:{service}:
action/{Action}` or `…:path/{path}`. The request is built as API Gateway builds it — the request template's
body, the mapped headers, query and path — sent to the service's endpoint (integrations/aws_services.py),
SigV4-signed; the service's status code (an error's too) selects the integration response.

An action is sent to the endpoint's root: `Action={Action}` in the query for query-protocol services (SQS, SNS),
`X-Amz-Target: {targetPrefix}.{Action}` and the service's JSON content type for JSON ones (DynamoDB, Kinesis,
Step Functions, EventBridge), unless mapped headers say otherwise. A path is appended to the endpoint as is,
its `{placeholders}` filled by `integration.request.path.*` (S3's `path/{bucket}/{key}`)."""

from __future__ import annotations

from urllib.parse import quote

from apiway.core.errors import ConfigurationError
from apiway.core.http import HttpResponse
from apiway.core.invocation import Integration, Invocation, StageRuntime
from apiway.integrations.aws_services import AwsServices, ServiceInfo, service_info
from apiway.integrations.aws_signer import Signer
from apiway.integrations.http import _apply_override, _decode, _encode, _HttpBase
from apiway.integrations.upstream import UpstreamPool
from apiway.mapping.integration_response import ResponseSelector
from apiway.mapping.request_template import RequestTransform
from apiway.mapping.variables import TemplateScope

_NO_BODY_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "DELETE"))


class UnreachableService:
    """A service integration with no endpoint to send to (or a service unknown here): 500 on every call, and
    listed at start-up."""

    __slots__ = ("reason", "service")

    def __init__(self, service: str, reason: str) -> None:
        self.service = service
        self.reason = reason

    async def __call__(self, inv: Invocation) -> HttpResponse:
        raise ConfigurationError(self.reason)


def unreachable_methods(stages: list[StageRuntime]) -> list[str]:
    """Each method of these stages whose AWS service integration cannot work, and why (start-up warns)."""
    lines = []
    for stage in stages:
        for plan in stage.plans:
            # A cached method's integration sits behind the cache (checks/response_cache.py).
            integration = getattr(plan.integration, "integration", plan.integration)
            if isinstance(integration, UnreachableService):
                # An HTTP API's plan is its route, whose key names the method already.
                method = plan.resource_path if stage.kind == "HTTP" else f"{plan.http_method} {plan.resource_path}"
                lines.append(f"{stage.api_name or stage.api_id} ({stage.api_id}) stage {stage.stage_name}: {method}: "
                             f"{integration.reason}")
    return lines


def no_endpoint(info: ServiceInfo) -> UnreachableService:
    return UnreachableService(info.prefix, f"no endpoint for AWS service '{info.prefix}': set {info.env_name} or "
                                           f"AWS_ENDPOINT_URL, or `aws: {{endpoint: …}}` in the project file")


def compile_service_integration(integration: dict, arn_region: str, service: str, style: str, rest: str,
                                stage_vars: dict[str, str], pool: UpstreamPool, services: AwsServices,
                                where: str) -> Integration:
    """A REST API's AWS integration with a service other than Lambda, ready to call."""
    bucket, dot, name = service.rpartition(".")
    if dot and name == "s3" and style == "path":  # `{bucket}.s3:path/{key}`: sent path-style to the endpoint
        service, rest = name, f"{bucket}/{rest}"
    info = service_info(service)
    if info is None:
        return UnreachableService(service, f"AWS service '{service}' is not known to this gateway")
    endpoint = services.url(info)
    if endpoint is None:
        return no_endpoint(info)
    return AwsServiceIntegration(integration, stage_vars, pool, services.signer, info,
                                 service_url(endpoint, info, style, rest), style, rest,
                                 services.region_for(arn_region), where)


def service_url(endpoint: str, info: ServiceInfo, style: str, rest: str) -> str:
    """The request URL: the endpoint with the ARN's path, or its root with a query action's `Action=`."""
    if style == "path":
        return f"{endpoint}/{rest.lstrip('/')}"
    if info.protocol == "query":
        return f"{endpoint}/?Action={quote(rest, safe='')}"
    return f"{endpoint}/"


class AwsServiceIntegration(_HttpBase):
    __slots__ = ("defaults", "region", "responses", "signer", "signing_name", "transform")

    def __init__(self, integration: dict, stage_vars: dict[str, str], pool: UpstreamPool, signer: Signer,
                 info: ServiceInfo, url: str, style: str, action: str, region: str, where: str) -> None:
        super().__init__(dict(integration, uri=url), stage_vars, pool, where)
        self.transform = RequestTransform(integration, where)
        self.responses = ResponseSelector(integration.get("integrationResponses") or {}, where)
        self.signer = signer
        self.signing_name = info.signing_name
        self.region = region
        self.defaults: list[tuple[str, str]] = []
        if style == "action" and info.protocol == "json" and info.target_prefix:
            self.defaults = [("X-Amz-Target", f"{info.target_prefix}.{action}"),
                             ("Content-Type", f"application/x-amz-json-{info.json_version}")]

    async def __call__(self, inv: Invocation) -> HttpResponse:
        scope = TemplateScope(inv)
        body = self.transform.body(scope)
        mapped = self.mappings.mapped_headers(inv)
        named = {name.lower() for name, _ in mapped}
        method = inv.request.method if self.method == "ANY" else self.method
        defaults = list(self.defaults)
        # No Content-Type for an empty body: a query-protocol service then reads its parameters from the query.
        if body and method not in _NO_BODY_METHODS and not any(k == "Content-Type" for k, _ in defaults):
            defaults.append(("Content-Type", inv.request.header("content-type") or "application/json"))
        headers = [(k, v) for k, v in defaults if k.lower() not in named] + mapped
        path_values, raw = (self.mappings.path_values(inv, self.placeholders, self.in_query) if self.placeholders
                            else ({}, {}))
        query = self.mappings.extra_query(inv)
        override = scope.request_override()
        if override is not None:
            headers, query = _apply_override(override, headers, query, path_values)
            for name in override["path"]:
                raw.pop(name, None)
        target = self.target.target(path_values, query, raw)
        t = self.target
        headers = [("Host", t.host_header), *((k, v) for k, v in headers if k.lower() != "host")]
        signed = await self.signer.sign(method, f"{t.scheme}://{t.host_header}{target}", headers, body,
                                        self.signing_name, self.region)
        resp = await self._send(inv, target, _encode(signed), body)
        selected = self.responses.select(str(resp.status))
        return selected.respond(scope, resp.body, _decode(resp.headers))

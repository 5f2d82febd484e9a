"""Deploy time: a deployment snapshot plus its stage compile once into a StageRuntime — a router
whose targets are ready-to-run method plans. Nothing here runs per request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from apiway.checks import response_cache as cache
from apiway.core.errors import ConfigurationError, DeployError
from apiway.core.guard import GuardSite
from apiway.core.http import HttpResponse
from apiway.core.invocation import Integration, Invocation, MethodPlan, StageRuntime
from apiway.core.media import BinaryTypes
from apiway.core.router import Router
from apiway.functions.base import defined
from apiway.integrations.aws import LambdaIntegration
from apiway.integrations.aws_service import compile_service_integration
from apiway.integrations.http import HttpIntegration, HttpProxyIntegration, UpstreamTarget
from apiway.integrations.lambda_proxy import LambdaProxyIntegration
from apiway.integrations.mock import MockIntegration
from apiway.mapping.response_headers import RESPONSE_FILTERS
from apiway.model.aws import ACCOUNT_ID
from apiway.model.method_settings import settings_for
from apiway.model.rest import ApiDefinition, RestApi, Stage
from apiway.model.uris import AWS_URI, lambda_function_name, substitute_stage_variables
from apiway.runtime.deps import CompileDeps
from apiway.runtime.gateway_responses import GatewayResponses
from apiway.runtime.rest_checks import build_guards


class FailingIntegration:
    """A configuration AWS accepts at deploy time but fails on every call with a 500."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def __call__(self, inv: Invocation) -> HttpResponse:
        raise ConfigurationError(self.reason)


def v2_http_target(record: Mapping[str, Any], uri: str, where: str,
                   strict: bool) -> tuple[UpstreamTarget, bool] | FailingIntegration:
    """The backend of an apigatewayv2 HTTP integration (HTTP and WebSocket APIs) and whether its TLS
    certificate is verified; an address AWS would accept and fail on every call becomes a FailingIntegration
    (a project file, `strict`, is refused instead)."""
    if record.get("connectionType") == "VPC_LINK":
        return FailingIntegration("VPC link integrations are not supported by this gateway")
    try:
        target = UpstreamTarget(uri, where)
    except DeployError:
        if strict or urlsplit(uri).scheme not in ("http", "https"):
            raise DeployError(f"{where}.integrationUri: Invalid HTTP endpoint specified: {uri!r}") from None
        return FailingIntegration("Invalid endpoint address")
    return target, not (record.get("tlsConfig") or {}).get("insecureSkipVerification", False)


def compile_integration(
    integration: dict[str, Any], stage_vars: dict[str, str], deps: CompileDeps, where: str
) -> Integration:
    kind = str(integration.get("type", "")).upper()
    if kind == "MOCK":
        return MockIntegration(integration, where)
    if kind in ("HTTP", "HTTP_PROXY"):
        resolved = dict(integration, uri=substitute_stage_variables(integration.get("uri") or "", stage_vars))
        cls = HttpProxyIntegration if kind == "HTTP_PROXY" else HttpIntegration
        try:
            return cls(resolved, stage_vars, deps.pool, where)
        except DeployError:
            if deps.strict:
                raise
            return FailingIntegration("Invalid endpoint address")
    if kind in ("AWS", "AWS_PROXY"):
        uri = substitute_stage_variables(integration.get("uri") or "", stage_vars)
        m = AWS_URI.match(uri)
        if not m:
            raise DeployError(f"{where}.uri: AWS ARN for integration must contain path or action: {uri!r}")
        function = lambda_function_name(uri)
        if function is None:
            if kind == "AWS_PROXY":
                raise DeployError(f"{where}.uri: AWS_PROXY integrations only support Lambda functions: {uri!r}")
            return compile_service_integration(integration, m.group(1), m.group(2), m.group(3), m.group(4),
                                               stage_vars, deps.pool, deps.aws, where)
        if not defined(deps.invoker, function, deps.strict, f"{where}.uri"):
            return FailingIntegration(f"function {function!r} is not defined in this gateway")
        if str(integration.get("httpMethod", "POST")).upper() != "POST":
            return FailingIntegration("Lambda integrations must use the POST method")
        if kind == "AWS_PROXY":
            return LambdaProxyIntegration(function, deps.invoker)
        return LambdaIntegration(integration, function, deps.invoker, where)
    raise DeployError(f"{where}.type: unknown integration type {integration.get('type')!r}")


def compile_stage(definition: ApiDefinition, stage: Stage, deps: CompileDeps) -> StageRuntime:
    api = definition["restApi"]
    variables = stage.get("variables") or {}
    router: Router[MethodPlan] = Router()
    plans: list[MethodPlan] = []
    for resource in sorted(definition["resources"].values(), key=lambda r: r["path"]):
        for verb, method in (resource.get("resourceMethods") or {}).items():
            where = f"{resource['path']} {verb}"
            integration = method.get("methodIntegration")
            if integration is None:
                raise DeployError(f"{where}: No integration defined for method")
            site = GuardSite(definition, stage, resource, verb, method, where,
                             settings_for(stage, resource["path"], verb))
            plan = MethodPlan(
                resource_id=resource["id"],
                resource_path=resource["path"],
                http_method=verb,
                api_key_required=bool(method.get("apiKeyRequired")),
                authorization_type=method.get("authorizationType", "NONE"),
                integration=cache.wrap(compile_integration(integration, variables, deps, where), site, deps.caches,
                                       deps.identities),
                guards=build_guards(site, deps),
                respond=RESPONSE_FILTERS.get(str(integration.get("type", "")).upper()),
                # HTTP_PROXY passes the body on untouched; IAM signatures and body validation read all of it.
                streams=(str(integration.get("type", "")).upper() == "HTTP_PROXY"
                         and method.get("authorizationType") != "AWS_IAM" and not method.get("requestValidatorId")),
            )
            router.add(resource["path"], verb, plan)
            plans.append(plan)
    runtime = StageRuntime(
        api_id=api["id"],
        kind="REST",
        api_name=api.get("name", ""),
        stage_name=stage["stageName"],
        deployment_id=stage["deploymentId"],
        variables=variables or None,
        router=router,
        errors=GatewayResponses(dict(definition.get("gatewayResponses") or {})),
        binary_types=BinaryTypes(api.get("binaryMediaTypes") or []),
        account_id=ACCOUNT_ID,
        disable_execute_api_endpoint=bool(api.get("disableExecuteApiEndpoint")),
        plans=plans,
        vpc_endpoint_ids=_private_endpoints(api),
        wall_ms=deps.clock.wall_ms,
    )
    if deps.telemetry is not None:
        deps.telemetry.equip(runtime, stage)
    return runtime


def _private_endpoints(api: RestApi) -> frozenset[str] | None:
    config = api.get("endpointConfiguration") or {}
    if "PRIVATE" not in (config.get("types") or ()):
        return None
    return frozenset(config.get("vpcEndpointIds") or ())

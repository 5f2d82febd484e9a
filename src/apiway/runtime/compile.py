"""Deploy time: a deployment snapshot plus its stage compile once into a StageRuntime — a router
whose targets are ready-to-run method plans. Nothing here runs per request."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apiway.functions.base import ACCOUNT_ID, FunctionInvoker
from apiway.integrations.aws import LambdaIntegration, UnsupportedServiceIntegration
from apiway.integrations.http import HttpIntegration, HttpProxyIntegration
from apiway.integrations.lambda_proxy import LambdaProxyIntegration
from apiway.integrations.mock import MockIntegration
from apiway.integrations.upstream import UpstreamPool
from apiway.model.rest import ApiDefinition, RestApi, Stage
from apiway.runtime import cache
from apiway.runtime.errors import ConfigurationError, DeployError
from apiway.runtime.gateway_responses import CompiledGatewayResponse, compile_gateway_responses
from apiway.runtime.guards import Guard, GuardSite, build_guards
from apiway.runtime.invocation import Invocation
from apiway.runtime.media import BinaryTypes
from apiway.runtime.request import HttpResponse
from apiway.runtime.router import Router

Integration = Callable[[Invocation], Awaitable[HttpResponse]]

_STAGE_VAR = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
_AWS_URI = re.compile(r"^arn:aws:apigateway:([^:]*):([^:]+):(path|action)/(.+)$")
_LAMBDA_PATH = re.compile(r"^2015-03-31/functions/(.+)/invocations$")


@dataclass(slots=True)
class MethodPlan:
    resource_id: str
    resource_path: str
    http_method: str
    api_key_required: bool
    authorization_type: str
    integration: Integration
    guards: tuple[Guard, ...] = ()  # run in order before the integration (runtime/guards.py)


@dataclass(slots=True)
class StageRuntime:
    api_id: str
    api_name: str
    stage_name: str
    deployment_id: str
    variables: dict[str, str] | None
    router: Router[MethodPlan]
    gateway_responses: dict[str, CompiledGatewayResponse]
    binary_types: BinaryTypes
    account_id: str
    disable_execute_api_endpoint: bool
    plans: list[MethodPlan]  # every method, sorted by path, for listings
    # A PRIVATE API's associated VPC endpoints (`endpointConfiguration.vpcEndpointIds`); None: not PRIVATE.
    vpc_endpoint_ids: frozenset[str] | None = None
    # Canary release: `canary` serves this share (0..1) of the stage's requests; `is_canary` marks it.
    canary: StageRuntime | None = None
    canary_share: float = 0.0
    is_canary: bool = False


@dataclass(slots=True)
class CompileDeps:
    invoker: FunctionInvoker
    pool: UpstreamPool
    # Project files fail at deploy time on what AWS accepts and fails only when called (an unknown
    # function, an HTTP URI a missing stage variable left invalid); APIs made through the control
    # plane deploy as on AWS and such a method answers 500.
    strict: bool = True
    # Shared state the per-method checks use, owned by their modules (auth/, later state/): the
    # authorizer result cache, API keys and usage plans with their counters, IAM identities.
    authorizer_cache: Any = None
    access: Any = None
    identities: Any = None
    throttles: Any = None  # state.buckets.Buckets: stage, method and account throttling
    caches: Any = None  # runtime.cache.ResponseCaches: every stage's response cache


def substitute_stage_variables(text: str, variables: dict[str, str]) -> str:
    return _STAGE_VAR.sub(lambda m: variables.get(m.group(1), ""), text)


def lambda_function_name(uri: str) -> str | None:
    """Function name from a Lambda invocation URI (alias/version qualifier dropped), else None."""
    m = _AWS_URI.match(uri)
    if not m or m.group(2) != "lambda" or m.group(3) != "path":
        return None
    fm = _LAMBDA_PATH.match(m.group(4))
    if not fm:
        return None
    arn = fm.group(1)
    if arn.startswith("arn:"):
        parts = arn.split(":")
        return parts[6] if len(parts) >= 7 and parts[5] == "function" else None
    return arn.split(":")[0]


class _FailingIntegration:
    """A configuration AWS accepts at deploy time but fails on every call with a 500."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def __call__(self, inv: Invocation) -> HttpResponse:
        raise ConfigurationError(self.reason)


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
            return _FailingIntegration("Invalid endpoint address")
    if kind in ("AWS", "AWS_PROXY"):
        uri = substitute_stage_variables(integration.get("uri") or "", stage_vars)
        m = _AWS_URI.match(uri)
        if not m:
            raise DeployError(f"{where}.uri: AWS ARN for integration must contain path or action: {uri!r}")
        function = lambda_function_name(uri)
        if function is None:
            if kind == "AWS_PROXY":
                raise DeployError(f"{where}.uri: AWS_PROXY integrations only support Lambda functions: {uri!r}")
            return UnsupportedServiceIntegration(m.group(2))
        if not deps.invoker.has(function):
            if not deps.strict:
                return _FailingIntegration(f"function {function!r} is not defined in this gateway")
            raise DeployError(f"{where}.uri: unknown function {function!r} (define it under 'functions:' "
                              f"in the project file)")
        if str(integration.get("httpMethod", "POST")).upper() != "POST":
            return _FailingIntegration("Lambda integrations must use the POST method")
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
            site = GuardSite(definition, stage, resource, verb, method, deps, where)
            plan = MethodPlan(
                resource_id=resource["id"],
                resource_path=resource["path"],
                http_method=verb,
                api_key_required=bool(method.get("apiKeyRequired")),
                authorization_type=method.get("authorizationType", "NONE"),
                integration=cache.wrap(compile_integration(integration, variables, deps, where), site),
                guards=build_guards(site),
            )
            router.add(resource["path"], verb, plan)
            plans.append(plan)
    return StageRuntime(
        api_id=api["id"],
        api_name=api.get("name", ""),
        stage_name=stage["stageName"],
        deployment_id=stage["deploymentId"],
        variables=variables or None,
        router=router,
        gateway_responses=compile_gateway_responses(dict(definition.get("gatewayResponses") or {})),
        binary_types=BinaryTypes(api.get("binaryMediaTypes") or []),
        account_id=ACCOUNT_ID,
        disable_execute_api_endpoint=bool(api.get("disableExecuteApiEndpoint")),
        plans=plans,
        vpc_endpoint_ids=_private_endpoints(api),
    )


def _private_endpoints(api: RestApi) -> frozenset[str] | None:
    config = api.get("endpointConfiguration") or {}
    if "PRIVATE" not in (config.get("types") or ()):
        return None
    return frozenset(config.get("vpcEndpointIds") or ())

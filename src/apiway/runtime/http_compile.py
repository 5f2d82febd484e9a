"""Deploy time for HTTP APIs: a deployment's snapshot plus its stage compile once into a StageRuntime of kind
"HTTP" — a router by route key with AWS's precedence and the `$default` route behind it, each route a plan
holding its ready integration (Lambda proxy in its payload format, or HTTP_PROXY), its parameter mappings, its
throttle and its response filter (response mapping, CORS). Nothing here runs per request."""

from __future__ import annotations

from apiway.auth import http_authorizers
from apiway.checks import throttling
from apiway.checks.cors import CorsPolicy, compile_cors
from apiway.core.errors import DeployError, GatewayError
from apiway.core.http import HttpResponse
from apiway.core.invocation import Guard, Integration, Invocation, MethodPlan, ResponseFilter, StageRuntime
from apiway.core.media import BinaryTypes
from apiway.core.router import Match, Router
from apiway.events import http_v2
from apiway.functions.base import defined
from apiway.integrations.aws_subtypes import compile_subtype
from apiway.integrations.http_api import HttpApiProxy, Mapped, TimeLimited
from apiway.integrations.lambda_proxy import LambdaProxyIntegration
from apiway.mapping import http_parameters
from apiway.model.aws import ACCOUNT_ID
from apiway.model.http import (
    DEFAULT_ROUTE,
    DEFAULT_TIMEOUT_MS,
    PROTOCOL_HTTP,
    ROUTE_METHODS,
    HttpApiDefinition,
    Route,
    Stage,
    integration_id_of,
)
from apiway.model.http import Integration as IntegrationRecord
from apiway.model.uris import function_of, substitute_stage_variables
from apiway.runtime.compile import FailingIntegration, v2_http_target
from apiway.runtime.deps import CompileDeps
from apiway.runtime.http_errors import HttpErrors

_NO_BINARY = BinaryTypes(())  # HTTP APIs have no binaryMediaTypes


class HttpRouter(Router[MethodPlan]):
    """REST's segment trie (exact method before ANY, literal before `{var}` before `{greedy+}`, the deepest
    greedy first) with the `$default` route behind every miss, and the API's CORS, which the gateway consults
    before routing (it answers preflight requests itself)."""

    def __init__(self, cors: CorsPolicy | None) -> None:
        super().__init__()
        self.default: MethodPlan | None = None
        self.cors = cors

    def match(self, path: str, verb: str) -> Match[MethodPlan] | None:
        found = super().match(path, verb)
        if found is None and self.default is not None:
            return Match(self.default, {})
        return found


class _NoIntegration:
    """A route without a target: nothing answers it, 404 Not Found as for no route."""

    __slots__ = ()

    async def __call__(self, inv: Invocation) -> HttpResponse:
        raise GatewayError("MISSING_AUTHENTICATION_TOKEN", log="route has no integration")


def compile_http_stage(definition: HttpApiDefinition, stage: Stage, deps: CompileDeps) -> StageRuntime:
    api = definition["api"]
    if api.get("protocolType") != PROTOCOL_HTTP:
        raise DeployError(f"api {api['apiId']}: protocolType {api.get('protocolType')!r} is not served as an HTTP API")
    variables = stage.get("stageVariables") or {}
    cors = compile_cors(api.get("corsConfiguration"))
    router = HttpRouter(cors)
    plans: list[MethodPlan] = []
    integrations: dict[str, Integration] = {}  # one compiled integration per integration record
    for route in sorted(definition["routes"].values(), key=lambda r: r["routeKey"]):
        route_key = route["routeKey"]
        where = f"routes/{route['routeId']} ({route_key})"
        method, path = _parse_route_key(route_key, where)
        integration_id = integration_id_of(route)
        record = definition["integrations"].get(integration_id) if integration_id else None
        if integration_id is not None and record is None:
            raise DeployError(f"{where}.target: Invalid integration id specified: {integration_id}")
        if record is None:
            integration: Integration = _NoIntegration()
            respond = _filter(None, cors)
        else:
            assert integration_id is not None
            integration = integrations.get(integration_id) or integrations.setdefault(
                integration_id, _integration(record, route_key, variables, deps, f"integrations/{integration_id}"))
            respond = _filter(http_parameters.compile_response(record.get("responseParameters"), variables,
                                                               http_v2.context_variable,
                                                               f"integrations/{integration_id}"), cors)
        plan = MethodPlan(
            resource_id=route["routeId"],
            resource_path=route_key,
            http_method=method,
            api_key_required=False,  # HTTP APIs have no API keys
            authorization_type=route.get("authorizationType", "NONE"),
            integration=integration,
            guards=_guards(definition, route, stage, deps),
            respond=respond,
            # HTTP_PROXY passes the body on untouched; an IAM signature reads all of it.
            streams=(record is not None and record.get("integrationType") == "HTTP_PROXY"
                     and route.get("authorizationType") != "AWS_IAM"),
        )
        if path is None:
            router.default = plan
        else:
            try:
                router.add(path, method, plan)
            except ValueError as exc:
                raise DeployError(f"{where}: {exc}") from None
        plans.append(plan)
    runtime = StageRuntime(
        api_id=api["apiId"],
        kind="HTTP",
        api_name=api.get("name", ""),
        stage_name=stage["stageName"],
        deployment_id=stage.get("deploymentId", ""),
        variables=variables or None,
        router=router,
        errors=HttpErrors(cors),
        binary_types=_NO_BINARY,
        account_id=ACCOUNT_ID,
        disable_execute_api_endpoint=bool(api.get("disableExecuteApiEndpoint")),
        plans=plans,
        wall_ms=deps.clock.wall_ms,
    )
    if deps.telemetry is not None:
        deps.telemetry.equip(runtime, stage)
    return runtime


def _parse_route_key(route_key: str, where: str) -> tuple[str, str | None]:
    """(method, path) of `GET /pets/{id}`; ("$default", None) for the default route."""
    if route_key == DEFAULT_ROUTE:
        return DEFAULT_ROUTE, None
    method, _, path = route_key.partition(" ")
    if method not in ROUTE_METHODS or not path.startswith("/") or " " in path:
        raise DeployError(f"{where}: Invalid route key specified: {route_key}")
    parts = [p for p in path.split("/") if p]
    if any("+}" in p for p in parts[:-1]):
        raise DeployError(f"{where}: a greedy path variable must be the last segment: {route_key}")
    return method, path


def _guards(definition: HttpApiDefinition, route: Route, stage: Stage, deps: CompileDeps) -> tuple[Guard, ...]:
    """The route's checks in AWS's order: the authorizer, then the route's throttle (spec §16.2)."""
    authorize = None
    if (route.get("authorizationType") or "NONE") != "NONE":
        if deps.http_authorizers is None:
            raise DeployError(f"route {route['routeKey']}: authorizationType {route['authorizationType']} cannot be "
                              f"served without the HTTP API authorizers")
        authorize = http_authorizers.build(definition, route, stage["stageName"], deps.http_authorizers)
    throttle = throttling.build(deps.state, throttling.route_buckets(definition["api"]["apiId"], stage,
                                                                     route["routeKey"], deps.state))
    return tuple(g for g in (authorize, throttle) if g is not None)


def _filter(mapping: http_parameters.ResponseMapping | None, cors: CorsPolicy | None) -> ResponseFilter | None:
    """What a route does to its integration's answer: the response mapping for its status, then CORS (the
    backend's own CORS headers replaced by the configured ones)."""
    if mapping is None and cors is None:
        return None
    if cors is None:
        assert mapping is not None
        return mapping.apply
    if mapping is None:
        def with_cors(inv: Invocation, response: HttpResponse) -> None:
            response.headers = cors.apply(inv.request, response.headers)
        return with_cors

    def mapped_with_cors(inv: Invocation, response: HttpResponse) -> None:
        mapping.apply(inv, response)
        response.headers = cors.apply(inv.request, response.headers)
    return mapped_with_cors


def _integration(record: IntegrationRecord, route_key: str, variables: dict[str, str], deps: CompileDeps,
                 where: str) -> Integration:
    kind = record.get("integrationType", "")
    timeout = int(record.get("timeoutInMillis") or DEFAULT_TIMEOUT_MS)
    uri = substitute_stage_variables(record.get("integrationUri") or "", variables)
    if record.get("integrationSubtype"):  # its requestParameters name the action's parameters
        def value(text: str, at: str) -> http_parameters.Source:
            return http_parameters.compile_value(text, variables, http_v2.context_variable, at)
        return compile_subtype(dict(record), timeout, deps.pool, deps.aws, value, where)
    mapping = http_parameters.compile_request(record.get("requestParameters"), variables, http_v2.context_variable,
                                              where)
    if kind == "HTTP_PROXY":
        found = v2_http_target(record, uri, where, deps.strict)
        if isinstance(found, FailingIntegration):
            return found
        target, verify = found
        return HttpApiProxy(target, record.get("integrationMethod") or "ANY", timeout, verify, deps.pool, mapping,
                            append_path=route_key == DEFAULT_ROUTE)
    if kind == "AWS_PROXY":
        function = function_of(uri)
        if function is None:
            raise DeployError(f"{where}.integrationUri: Invalid Lambda function ARN: {uri!r}")
        if not defined(deps.invoker, function, deps.strict, f"{where}.integrationUri"):
            return FailingIntegration(f"function {function!r} is not defined in this gateway")
        payload = http_v2.FORMATS["1.0" if record.get("payloadFormatVersion") == "1.0" else "2.0"]
        integration: Integration = LambdaProxyIntegration(function, deps.invoker, payload)
        if mapping is not None:
            integration = Mapped(integration, mapping)
        # A function's own timeout ends it first unless the integration's is shorter.
        return TimeLimited(integration, timeout) if timeout < DEFAULT_TIMEOUT_MS else integration
    raise DeployError(f"{where}.integrationType: HTTP APIs integrate AWS_PROXY and HTTP_PROXY, not {kind!r}")

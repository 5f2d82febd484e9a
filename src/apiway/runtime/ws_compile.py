"""Deploy time for WebSocket APIs: a deployment's snapshot plus its stage compile once into a WsStageRuntime
(kind "WEBSOCKET") — the route selector compiled from `routeSelectionExpression`, and per route its checks
in AWS's order (the `$connect` authorizer, required request parameters, the API key, the route's throttle,
the request model) and its integration (AWS_PROXY, AWS, MOCK, HTTP, HTTP_PROXY) with its content handling and
timeout. A route is two-way when its `routeResponseSelectionExpression` is `$default` and it has a route
response. Nothing here runs per request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import fastjsonschema

from apiway.auth import ws_authorizers
from apiway.checks import api_keys, throttling
from apiway.checks.request_models import compile_model
from apiway.core.errors import DeployError, GatewayError
from apiway.core.http import HttpResponse
from apiway.core.invocation import Guard, Integration, Invocation, MethodPlan
from apiway.core.media import BinaryTypes
from apiway.core.router import Router
from apiway.core.ws_invocation import WsInvocation, WsRoute, WsStageRuntime
from apiway.events import websocket
from apiway.functions.base import defined
from apiway.integrations.lambda_proxy import LambdaProxyIntegration
from apiway.integrations.websocket import Converting, TimeLimited, WsHttp, WsHttpProxy, WsLambda, WsMock
from apiway.mapping.selection import SelectionExpression, body_lookup
from apiway.mapping.ws_templates import IntegrationResponses, RequestTemplates, message_document
from apiway.model.aws import ACCOUNT_ID
from apiway.model.http import PROTOCOL_WEBSOCKET, HttpApiDefinition, Route, Stage, integration_id_of
from apiway.model.rest import ApiDefinition
from apiway.model.uris import function_of, substitute_stage_variables
from apiway.runtime.compile import FailingIntegration, v2_http_target
from apiway.runtime.deps import CompileDeps
from apiway.runtime.ws_errors import WsErrors
from apiway.runtime.ws_routes import compile_selector

MAX_TIMEOUT_MS = 29000  # WebSocket integrations: 50 ms to 29 s
_NO_BINARY = BinaryTypes(())
_INTEGRATION_TYPES = ("AWS_PROXY", "AWS", "MOCK", "HTTP", "HTTP_PROXY")


class _NoIntegration:
    """A route without a target: nothing can answer its events."""

    __slots__ = ()

    async def __call__(self, inv: Invocation) -> HttpResponse:
        raise GatewayError("API_CONFIGURATION_ERROR", log=f"route {inv.plan.resource_path} has no integration")


def compile_ws_stage(definition: HttpApiDefinition, stage: Stage, deps: CompileDeps) -> WsStageRuntime:
    api = definition["api"]
    if api.get("protocolType") != PROTOCOL_WEBSOCKET:
        raise DeployError(f"api {api['apiId']}: protocolType {api.get('protocolType')!r} is not served as a "
                          f"WebSocket API")
    variables = stage.get("stageVariables") or {}
    routes: dict[str, WsRoute] = {}
    plans: list[MethodPlan] = []
    integrations: dict[str, Integration] = {}  # one compiled integration per integration record
    for route in sorted(definition["routes"].values(), key=lambda r: r["routeKey"]):
        route_key = route["routeKey"]
        where = f"routes/{route['routeId']} ({route_key})"
        integration_id = integration_id_of(route)
        record = definition["integrations"].get(integration_id) if integration_id else None
        if integration_id is not None and record is None:
            raise DeployError(f"{where}.target: Invalid integration id specified: {integration_id}")
        integration: Integration
        if record is None:
            integration = _NoIntegration()
        else:
            assert integration_id is not None
            found = integrations.get(integration_id)
            if found is None:
                found = integrations[integration_id] = _integration(definition, cast(dict[str, Any], record),
                                                                    variables, deps, f"integrations/{integration_id}")
            integration = found
        plan = MethodPlan(
            resource_id=route["routeId"],
            resource_path=route_key,
            http_method=route_key,
            api_key_required=bool(route.get("apiKeyRequired")),
            authorization_type=route.get("authorizationType") or "NONE",
            integration=integration,
            guards=_guards(definition, route, stage, deps, where),
        )
        routes[route_key] = WsRoute(route_key, plan, _two_way(definition, route))
        plans.append(plan)
    expression = api.get("routeSelectionExpression") or "$request.body.action"
    runtime = WsStageRuntime(
        api_id=api["apiId"],
        kind="WEBSOCKET",
        api_name=api.get("name", ""),
        stage_name=stage["stageName"],
        deployment_id=stage.get("deploymentId", ""),
        variables=variables or None,
        router=Router(),
        errors=WsErrors(),
        binary_types=_NO_BINARY,
        account_id=ACCOUNT_ID,
        disable_execute_api_endpoint=bool(api.get("disableExecuteApiEndpoint")),
        plans=plans,
        wall_ms=deps.clock.wall_ms,
        routes=routes,
        select=compile_selector(expression, routes, "api.routeSelectionExpression"),
    )
    if deps.telemetry is not None:
        deps.telemetry.equip(runtime, stage)
    return runtime


def _two_way(definition: HttpApiDefinition, route: Route) -> bool:
    """The integration's answer goes back when the route selects its `$default` route response."""
    if route.get("routeResponseSelectionExpression") != "$default":
        return False
    responses = (definition.get("routeResponses") or {}).get(route["routeId"]) or {}
    return any(r.get("routeResponseKey") == "$default" for r in responses.values())


def _guards(definition: HttpApiDefinition, route: Route, stage: Stage, deps: CompileDeps,
            where: str) -> tuple[Guard, ...]:
    """The route's checks in AWS's order: the authorizer (only `$connect` has one), the required request
    parameters, the API key with the route's throttle, else the throttle alone, then the request model."""
    api = definition["api"]
    api_id = api["apiId"]
    stage_name = stage["stageName"]
    route_key = route["routeKey"]
    identities = deps.identities or (deps.http_authorizers.identities if deps.http_authorizers else None)
    cache = deps.authorizer_cache or (deps.http_authorizers.cache if deps.http_authorizers else None)
    authorize = ws_authorizers.build(definition, route, stage_name, deps.invoker, cache, identities, deps.strict)
    parameters = _required_parameters(route, where)
    throttles = throttling.route_buckets(api_id, stage, route_key, deps.state)
    key_check: Guard | None = None
    quota: Guard | None = None
    if route.get("apiKeyRequired") and deps.access is not None:
        key_of = _api_key_selector(api.get("apiKeySelectionExpression") or "$request.header.x-api-key")
        key_check = api_keys.build_selected(deps.access, api_id, stage_name, route_key, throttles, key_of)
        quota = api_keys.quota_check(deps.access, api_id, stage_name)
    throttle = throttling.build(deps.state, throttles) if key_check is None else None
    model = None if api.get("disableSchemaValidation") else _model_check(definition, route, where)
    return tuple(g for g in (authorize, parameters, key_check, throttle, quota, model) if g is not None)


def _required_parameters(route: Route, where: str) -> Guard | None:
    """`requestParameters` marked required (`route.request.header.X`, `route.request.querystring.X`) must
    be in the upgrade request: 400 otherwise."""
    headers: list[str] = []
    queries: list[str] = []
    for name, spec in (route.get("requestParameters") or {}).items():
        if not (spec or {}).get("required"):
            continue
        if name.startswith("route.request.header."):
            headers.append(name.removeprefix("route.request.header.").lower())
        elif name.startswith("route.request.querystring."):
            queries.append(name.removeprefix("route.request.querystring."))
        else:
            raise DeployError(f"{where}.requestParameters: {name!r} is not route.request.header.X or "
                              f"route.request.querystring.X")
    if not headers and not queries:
        return None

    def required(inv: Invocation) -> None:
        req = _upgrade(inv)
        query = req.query_params()[0] or {}
        missing = [h for h in headers if req.header(h) is None] + [q for q in queries if q not in query]
        if missing:
            raise GatewayError("BAD_REQUEST_PARAMETERS", log=f"missing required request parameters: {missing}")

    return required


def _upgrade(inv: Invocation) -> Any:
    """The connection's upgrade request (what header and query string expressions read on every event)."""
    return inv.connection.request if isinstance(inv, WsInvocation) else inv.request


def _api_key_selector(expression: str) -> Callable[[Invocation], str | None]:
    """`$request.header.x-api-key` (the upgrade's header) or `$context.authorizer.usageIdentifierKey`."""
    compiled = SelectionExpression(expression, "api.apiKeySelectionExpression")

    def key_of(inv: Invocation) -> str | None:
        def lookup(path: tuple[str, ...]) -> str | None:
            if path[:2] == ("request", "header") and len(path) == 3:
                return cast(str | None, _upgrade(inv).header(path[2].lower()))
            if path[:2] == ("context", "authorizer") and len(path) == 3:
                value = (inv.authorizer or {}).get(path[2])
                return None if value is None else str(value)
            return None

        return compiled.evaluate(lookup)

    return key_of


def _model_check(definition: HttpApiDefinition, route: Route, where: str) -> Guard | None:
    """The route's request model (`requestModels` keyed by the `modelSelectionExpression`'s value, else
    `$default`) validates each message parsed as JSON: failing, 400 "Invalid request body"."""
    models = route.get("requestModels") or {}
    if not models:
        return None
    expression = SelectionExpression(route.get("modelSelectionExpression") or "$default",
                                      f"{where}.modelSelectionExpression")
    rest_like = cast(ApiDefinition, definition)  # the v2 model records have REST's name and schema fields
    checks = {key: compile_model(rest_like, name, f"{where}.requestModels.{key}") for key, name in models.items()}

    def validate(inv: Invocation) -> None:
        doc = message_document(inv.request.body)
        key = expression.evaluate(body_lookup(doc))
        check = checks.get(key) if key is not None else None
        if check is None:
            check = checks.get("$default")
        if check is None:
            return
        if doc is None:
            raise GatewayError("BAD_REQUEST_BODY", "Invalid request body", log="the message is not JSON")
        try:
            check(doc)
        except fastjsonschema.JsonSchemaException as exc:
            raise GatewayError("BAD_REQUEST_BODY", "Invalid request body", log=str(exc)) from None

    return validate


def _integration(definition: HttpApiDefinition, record: dict[str, Any], variables: dict[str, str], deps: CompileDeps,
                 where: str) -> Integration:
    kind = record.get("integrationType", "")
    if kind not in _INTEGRATION_TYPES:
        raise DeployError(f"{where}.integrationType: WebSocket APIs integrate {', '.join(_INTEGRATION_TYPES)}, "
                          f"not {kind!r}")
    timeout = min(int(record.get("timeoutInMillis") or MAX_TIMEOUT_MS), MAX_TIMEOUT_MS)
    uri = substitute_stage_variables(record.get("integrationUri") or "", variables)
    responses = IntegrationResponses(record, (definition.get("integrationResponses") or {}).get(
        record["integrationId"]) or {}, where)
    integration: Integration
    if kind == "MOCK":
        integration = WsMock(RequestTemplates(record, where), responses)
    elif kind in ("AWS_PROXY", "AWS"):
        function = function_of(uri)
        if function is None:
            if kind == "AWS" and deps.strict is False:
                return FailingIntegration(f"AWS service integration {uri!r} is not supported by this gateway")
            raise DeployError(f"{where}.integrationUri: Invalid Lambda function ARN: {uri!r}")
        if not defined(deps.invoker, function, deps.strict, f"{where}.integrationUri"):
            return FailingIntegration(f"function {function!r} is not defined in this gateway")
        if kind == "AWS_PROXY":
            integration = LambdaProxyIntegration(function, deps.invoker, websocket.FORMAT)
        else:
            integration = WsLambda(function, deps.invoker, RequestTemplates(record, where), responses)
    else:
        found = v2_http_target(record, uri, where, deps.strict)
        if isinstance(found, FailingIntegration):
            return found
        target, verify = found
        method = record.get("integrationMethod") or "POST"
        if kind == "HTTP_PROXY":
            integration = WsHttpProxy(target, method, deps.pool, verify, timeout)
        else:
            integration = WsHttp(target, method, deps.pool, verify, timeout, RequestTemplates(record, where),
                                 responses)
        return Converting(integration, record.get("contentHandlingStrategy"))  # the pool keeps the deadline
    return TimeLimited(Converting(integration, record.get("contentHandlingStrategy")), timeout)

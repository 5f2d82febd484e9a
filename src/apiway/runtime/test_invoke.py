"""The control plane's test invocations: TestInvokeMethod runs one method of the API as it is now (not a
deployment) through the real pipeline, noting why each step failed; TestInvokeAuthorizer runs one
authorizer outside any method and reports what it saw."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from apiway.auth import authorizers
from apiway.auth.cognito import CognitoAuthorizer
from apiway.auth.lambda_authorizer import LambdaAuthorizer
from apiway.auth.trial import Trial
from apiway.core.errors import DeployError, GatewayError
from apiway.core.guard import GuardSite
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Invocation
from apiway.model.rest import ApiDefinition, Resource, Stage
from apiway.runtime.compile import compile_stage
from apiway.runtime.deps import CompileDeps
from apiway.runtime.gateway import Gateway

T = TypeVar("T")
# AWS's test invocations: the stage their `methodArn` names (`$context.stage` is the test stage's own name),
# and the resource they run on.
TEST_ARN_STAGE = "ESTestInvoke-stage"
TEST_RESOURCE_ID = "test-invoke-resource-id"


async def run_method(gateway: Gateway, deps: CompileDeps, snapshot: ApiDefinition, stage: Stage, resource: Resource,
                     http_method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes,
                     failures: list[str] | None = None) -> HttpResponse:
    only = dict(resource, resourceMethods={http_method: resource["resourceMethods"][http_method]})
    runtime = compile_stage(dict(snapshot, resources={resource["id"]: only}), stage,  # type: ignore[arg-type]
                            deps)
    runtime.observers, runtime.on_start = (), None  # a test, not a request of the stage: AWS logs and counts none
    verb = "GET" if http_method == "ANY" else http_method
    plan = runtime.plans[0]
    if runtime.router.match(path or "/", verb) is None:  # AWS runs the method for any path, without path params
        runtime.router.add(path or "/", http_method, plan)
    if failures is not None:
        plan.integration = _traced(plan.integration, failures)
        plan.guards = tuple(_traced(guard, failures) for guard in plan.guards)
    req = HttpRequest(verb, f"/{stage['stageName']}{path}", query, headers, body)
    return await gateway.handle(req, target=(runtime, path))


async def run_authorizer(definition: ApiDefinition, stage: Stage, authorizer_id: str, request: HttpRequest,
                         request_id: str, deps: CompileDeps) -> Trial:
    """Run one authorizer of `definition` (the API as it is now, not a deployment) on `request`, as a method of
    the test `stage` would but without reading or filling the result cache."""
    seen = Trial()
    cognito = definition["authorizers"][authorizer_id].get("type") == "COGNITO_USER_POOLS"
    method = {"httpMethod": request.method, "authorizationType": "COGNITO_USER_POOLS" if cognito else "CUSTOM",
              "authorizerId": authorizer_id}
    # The request runs on a resource of its own: the event's `resource` and the context's ids are AWS's fixed ones.
    resource: Resource = {"id": TEST_RESOURCE_ID, "path": "/", "resourceMethods": {request.method: {
        "httpMethod": request.method, "authorizationType": "NONE", "methodIntegration": {"type": "MOCK"}}}}
    try:
        runtime = compile_stage(dict(definition, resources={TEST_RESOURCE_ID: resource}),  # type: ignore[arg-type]
                                stage, deps)
        guard = authorizers.build(GuardSite(definition, dict(stage, stageName=TEST_ARN_STAGE),  # type: ignore[arg-type]
                                resource, request.method, method, f"authorizer {authorizer_id}"), deps.authorizer_cache,
                                deps.invoker, deps.strict)
    except DeployError as exc:
        seen.status, seen.failure = 500, str(exc)
        return seen
    inv = Invocation(request, runtime, runtime.plans[0], {}, request.path, request.path, request_id)
    try:
        if isinstance(guard, LambdaAuthorizer | CognitoAuthorizer):
            await guard.run_once(inv, seen)
        elif guard is not None and (pending := guard(inv)) is not None:  # one that fails every call
            await pending
    except GatewayError as err:
        seen.status = 401 if err.response_type == "UNAUTHORIZED" else 500
        seen.failure = err.log or err.message or err.response_type
    return seen


def _traced(step: Callable[[Invocation], Awaitable[T] | None],
            failures: list[str]) -> Callable[[Invocation], Awaitable[T | None]]:
    """A pipeline step (an integration, or a check that may not need awaiting) that notes why it failed
    (the gateway error's log line) before failing."""

    async def run(inv: Invocation) -> T:
        try:
            result = step(inv)
            return await result if result is not None else None  # type: ignore[return-value]
        except GatewayError as err:
            failures.append(err.log or err.message or err.response_type)
            raise

    return run

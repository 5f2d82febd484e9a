"""The authorizer check of a method: CUSTOM (a Lambda TOKEN or REQUEST authorizer) or
COGNITO_USER_POOLS, compiled from the API's authorizer record; other authorization types need none.
`run_once` runs one authorizer outside any method for TestInvokeAuthorizer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apiway.auth.authorizer_cache import result_ttl
from apiway.auth.cognito import CognitoAuthorizer
from apiway.auth.lambda_authorizer import AuthorizerResult, LambdaAuthorizer
from apiway.auth.policy import method_arn_prefix
from apiway.runtime.compile import CompileDeps, compile_stage, lambda_function_name, substitute_stage_variables
from apiway.runtime.errors import AuthorizerConfigurationError, DeployError, GatewayError
from apiway.runtime.guards import GuardSite
from apiway.runtime.invocation import Invocation

if TYPE_CHECKING:
    from apiway.model.rest import ApiDefinition, Resource, Stage
    from apiway.runtime.guards import Guard
    from apiway.runtime.request import HttpRequest

_TYPES = ("CUSTOM", "COGNITO_USER_POOLS")
# AWS's test invocations: the stage their `methodArn` names (`$context.stage` is the test stage's own name),
# and the resource they run on.
TEST_ARN_STAGE = "ESTestInvoke-stage"
TEST_RESOURCE_ID = "test-invoke-resource-id"


@dataclass(slots=True)
class Trial:
    """What one test run of an authorizer saw and decided, noted step by step as it ran."""

    status: int = 200  # what the client would have received: 200 for any valid answer, whatever its policy says
    identity: str | dict[str, Any] | None = None  # the token, or each identity source's value
    function: str | None = None  # a Lambda authorizer's function
    event: dict[str, Any] | None = None  # what the function was sent
    payload: bytes | None = None  # what it answered, before parsing
    result: AuthorizerResult | None = None  # its answer, valid
    claims: dict[str, str] | None = None  # a Cognito authorizer's verified token
    failure: str | None = None  # why it failed, in execution-log words


def build(site: GuardSite) -> Guard | None:
    if site.method.get("authorizationType") not in _TYPES:
        return None
    authorizer_id = site.method.get("authorizerId")
    authorizer = site.definition["authorizers"].get(authorizer_id or "")
    if authorizer is None:
        raise DeployError(f"{site.where}: Invalid authorizer ID specified. Setting the authorization type to "
                          f"CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.")
    api = site.definition["restApi"]
    stage = site.stage
    cache = site.deps.authorizer_cache
    scope = (api["id"], stage["stageName"], stage["deploymentId"], authorizer["id"])
    ttl = result_ttl(authorizer)
    where = f"{site.where}: authorizer {authorizer.get('name') or authorizer['id']}"
    if authorizer.get("type") == "COGNITO_USER_POOLS":
        return CognitoAuthorizer(authorizer, site.method.get("authorizationScopes") or [], cache, scope, ttl,
                                 where)
    variables = stage.get("variables") or {}
    uri = substitute_stage_variables(str(authorizer.get("authorizerUri") or ""), variables)
    function = lambda_function_name(uri)
    if function is None:
        raise DeployError(f"{where}: authorizerUri must be a Lambda function invocation URI, got {uri!r}")
    if not site.deps.invoker.has(function):
        if not site.deps.strict:
            return _failing(f"authorizer function {function!r} is not defined in this gateway")
        raise DeployError(f"{where}: unknown function {function!r} (define it under 'functions:' in the project "
                          f"file)")
    return LambdaAuthorizer(authorizer, function, site.deps.invoker, cache, scope, ttl,
                            method_arn_prefix(api["id"], stage["stageName"]), variables,
                            api.get("apiKeySource") == "AUTHORIZER", where)


def _failing(reason: str) -> Guard:
    """An authorizer AWS would accept at deploy time but that fails every call with a 500."""

    def guard(inv: Invocation) -> None:
        raise AuthorizerConfigurationError(reason)

    return guard


async def run_once(definition: ApiDefinition, stage: Stage, authorizer_id: str, request: HttpRequest,
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
        guard = build(GuardSite(definition, dict(stage, stageName=TEST_ARN_STAGE),  # type: ignore[arg-type]
                                resource, request.method, method, deps, f"authorizer {authorizer_id}"))
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
        seen.failure = getattr(err, "log", None) or err.message or err.response_type
    return seen

"""The authorizer check of a method: CUSTOM (a Lambda TOKEN or REQUEST authorizer) or
COGNITO_USER_POOLS, compiled from the API's authorizer record; other authorization types need none."""

from __future__ import annotations

from apiway.auth.authorizer_cache import AuthorizerCache, result_ttl
from apiway.auth.cognito import CognitoAuthorizer, RemoteCognitoAuthorizer
from apiway.auth.lambda_authorizer import LambdaAuthorizer, RemoteLambdaAuthorizer
from apiway.auth.policy import method_arn_prefix
from apiway.core.errors import AuthorizerConfigurationError, DeployError
from apiway.core.guard import Guard, GuardSite
from apiway.core.invocation import Invocation
from apiway.functions.base import FunctionInvoker, defined
from apiway.model.uris import lambda_function_name, substitute_stage_variables

_TYPES = ("CUSTOM", "COGNITO_USER_POOLS")


def build(site: GuardSite, cache: AuthorizerCache | None, invoker: FunctionInvoker, strict: bool) -> Guard | None:
    if site.method.get("authorizationType") not in _TYPES:
        return None
    authorizer_id = site.method.get("authorizerId")
    authorizer = site.definition["authorizers"].get(authorizer_id or "")
    if authorizer is None:
        raise DeployError(f"{site.where}: Invalid authorizer ID specified. Setting the authorization type to "
                          f"CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.")
    api = site.definition["restApi"]
    stage = site.stage
    if cache is None:
        cache = AuthorizerCache()
    scope = (api["id"], stage["stageName"], stage["deploymentId"], authorizer["id"])
    ttl = result_ttl(authorizer)
    where = f"{site.where}: authorizer {authorizer.get('name') or authorizer['id']}"
    if authorizer.get("type") == "COGNITO_USER_POOLS":
        cognito = RemoteCognitoAuthorizer if cache.remote else CognitoAuthorizer
        return cognito(authorizer, site.method.get("authorizationScopes") or [], cache, scope, ttl, where)
    variables = stage.get("variables") or {}
    uri = substitute_stage_variables(str(authorizer.get("authorizerUri") or ""), variables)
    function = lambda_function_name(uri)
    if function is None:
        raise DeployError(f"{where}: authorizerUri must be a Lambda function invocation URI, got {uri!r}")
    if not defined(invoker, function, strict, where):
        return failing(f"authorizer function {function!r} is not defined in this gateway")
    guard = RemoteLambdaAuthorizer if cache.remote else LambdaAuthorizer  # the cache's shape, once
    return guard(authorizer, function, invoker, cache, scope, ttl, method_arn_prefix(api["id"], stage["stageName"]),
                 variables, api.get("apiKeySource") == "AUTHORIZER", where)


def failing(reason: str) -> Guard:
    """An authorizer AWS would accept at deploy time but that fails every call with a 500."""

    def guard(inv: Invocation) -> None:
        raise AuthorizerConfigurationError(reason)

    return guard

"""The authorization check of an HTTP API route (spec §8.6), compiled at deploy time from the route's
`authorizationType`: `JWT` (auth/jwt_authorizer.py), `CUSTOM` — a Lambda REQUEST authorizer
(auth/http_lambda_authorizer.py) — or `AWS_IAM` (auth/http_iam.py); `NONE` needs no check.

Each guard sets `inv.authorizer` to what payload 2.0 puts in `requestContext.authorizer` (`{"jwt": …}`,
`{"lambda": …}`, `{"iam": …}`) and fails with the gateway response types the HTTP API renderer turns
into 401 Unauthorized, 403 Forbidden or 500 Internal Server Error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson

from apiway.auth import http_iam
from apiway.auth.authorizer_cache import AuthorizerCache
from apiway.auth.authorizers import failing
from apiway.auth.http_lambda_authorizer import HttpLambdaAuthorizer, RemoteHttpLambdaAuthorizer
from apiway.auth.identities import Identities
from apiway.auth.jwt_authorizer import JwtAuthorizer
from apiway.auth.oidc import Issuers, url_problem
from apiway.auth.policy import method_arn_prefix
from apiway.core.errors import DeployError
from apiway.core.guard import Guard
from apiway.functions.base import FunctionInvoker, defined
from apiway.model.http import Authorizer, HttpApiDefinition, Route
from apiway.model.uris import function_of

AUTHORIZATION_TYPES = ("NONE", "JWT", "AWS_IAM", "CUSTOM")


@dataclass(slots=True)
class HttpAuthorizerDeps:
    """What HTTP API authorizers use across requests and deployments; built once by the app."""

    invoker: FunctionInvoker
    cache: AuthorizerCache = field(default_factory=AuthorizerCache)  # Lambda authorizers' answers (shared state)
    identities: Identities = field(default_factory=Identities)  # the callers AWS_IAM routes know
    issuers: Issuers | None = None  # JWT issuers' keys; None: a set of its own, on the cache's clock
    # Project files fail at deploy time on an authorizer function that is not defined; APIs made through
    # the control plane deploy as on AWS and such a route answers 500.
    strict: bool = True

    def __post_init__(self) -> None:
        if self.issuers is None:
            self.issuers = Issuers(self.cache.clock)


def build(definition: HttpApiDefinition, route: Route, stage_name: str, deps: HttpAuthorizerDeps) -> Guard | None:
    """The route's authorization guard, or None for `NONE`; DeployError for what cannot be served."""
    kind = route.get("authorizationType") or "NONE"
    where = f"route {route['routeKey']}"
    if kind == "NONE":
        return None
    if kind not in AUTHORIZATION_TYPES:
        raise DeployError(f"{where}: authorizationType is one of {', '.join(AUTHORIZATION_TYPES)}, got {kind!r}")
    api_id = definition["api"]["apiId"]
    if kind == "AWS_IAM":
        return http_iam.build(api_id, stage_name, deps.identities)
    authorizer = definition["authorizers"].get(route.get("authorizerId") or "")
    if authorizer is None:
        raise DeployError(f"{where}: authorizationType {kind} needs the authorizerId of one of the API's authorizers")
    expected = "JWT" if kind == "JWT" else "REQUEST"
    if authorizer.get("authorizerType") != expected:
        raise DeployError(f"{where}: authorizationType {kind} needs a {expected} authorizer, "
                          f"{authorizer['authorizerId']} is {authorizer.get('authorizerType')!r}")
    where = f"{where}: authorizer {authorizer.get('name') or authorizer['authorizerId']}"
    if kind == "JWT":
        return _jwt(authorizer, route, deps, where)
    uri = str(authorizer.get("authorizerUri") or "")
    function = function_of(uri)
    if function is None:
        raise DeployError(f"{where}: authorizerUri must be a Lambda function invocation URI or function ARN, "
                          f"got {uri!r}")
    if not defined(deps.invoker, function, deps.strict, where):
        return failing(f"authorizer function {function!r} is not defined in this gateway")
    scope = (api_id, stage_name, _version(authorizer), authorizer["authorizerId"])
    guard = RemoteHttpLambdaAuthorizer if deps.cache.remote else HttpLambdaAuthorizer
    return guard(authorizer, function, deps.invoker, deps.cache, scope, method_arn_prefix(api_id, stage_name), where)


def _jwt(authorizer: Authorizer, route: Route, deps: HttpAuthorizerDeps, where: str) -> Guard:
    issuer = (authorizer.get("jwtConfiguration") or {}).get("issuer") or ""
    problem = url_problem(issuer)
    if problem is not None:
        raise DeployError(f"{where}: jwtConfiguration.issuer {problem}")
    assert deps.issuers is not None  # set by __post_init__
    return JwtAuthorizer(authorizer, route.get("authorizationScopes") or [], deps.issuers.issuer(issuer),
                         deps.cache.clock.time, where)


def _version(authorizer: Authorizer) -> str:
    """Stands for the deployment in the cache keys: an authorizer that changes starts with an empty cache, one
    that a redeployment leaves as it was keeps its answers."""
    return hashlib.sha256(orjson.dumps(authorizer, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

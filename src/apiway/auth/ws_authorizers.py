"""The authorization of a WebSocket API's `$connect` route (spec §8.7): `CUSTOM` — a Lambda REQUEST authorizer —
or `AWS_IAM`; the other routes run none (what `$connect` decided stays with the connection).

The Lambda authorizer is sent events/websocket.py's authorizer event and answers a REST-style policy
(`principalId`, `policyDocument`, `context`, `usageIdentifierKey`), read and evaluated against the `$connect`
method ARN as REST's are (auth/lambda_authorizer.py). Its identity sources (`route.request.header.X`,
`route.request.querystring.X`, `stageVariables.X`, `context.X`) must all have a value, or the upgrade is 401
without calling the function. With `authorizerResultTtlInSeconds` above 0 answers are cached by those values
(unset: none cached). Allow: `requestContext.authorizer` is `{principalId, …context}`, plus
`usageIdentifierKey` when it returned one (what `$context.authorizer.usageIdentifierKey` selects as the API
key). Deny: 403; `Unauthorized` raised: 401; anything else: 500.

AWS_IAM: the upgrade request signed with SigV4 (header or presigned query) by a declared identity allowed
`execute-api:Invoke` on the `$connect` ARN, as HTTP APIs check it (auth/http_iam.py); its caller fills in
`requestContext.identity`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from apiway.auth import http_iam
from apiway.auth.authorizer_cache import AuthorizerCache
from apiway.auth.authorizers import failing
from apiway.auth.http_lambda_authorizer import invoke_authorizer
from apiway.auth.identities import Identities
from apiway.auth.lambda_authorizer import function_failure, parse_output
from apiway.auth.policy import INVOKE
from apiway.auth.trial import AuthorizerResult
from apiway.core.errors import AuthorizerConfigurationError, DeployError, GatewayError
from apiway.core.guard import Guard
from apiway.core.invocation import Invocation
from apiway.core.ws_invocation import WsInvocation
from apiway.events.websocket import authorizer_event, connect_arn
from apiway.functions.base import FunctionInvoker, defined
from apiway.model.http import Authorizer, HttpApiDefinition, Route
from apiway.model.uris import function_of

AUTHORIZATION_TYPES = ("NONE", "AWS_IAM", "CUSTOM")
MAX_TTL_SECONDS = 3600
MAX_RESULT_BYTES = 8192  # AWS's WebSocket quota on a Lambda authorizer's result ("8 KB")
Source = Callable[[Invocation], str | None]


def build(definition: HttpApiDefinition, route: Route, stage_name: str, invoker: FunctionInvoker,
          cache: AuthorizerCache | None, identities: Identities | None, strict: bool) -> Guard | None:
    """The `$connect` route's authorization guard, None for `NONE`; DeployError for what cannot be served."""
    kind = route.get("authorizationType") or "NONE"
    where = f"route {route['routeKey']}"
    if kind == "NONE":
        return None
    if kind not in AUTHORIZATION_TYPES:
        raise DeployError(f"{where}: a WebSocket route's authorizationType is one of "
                          f"{', '.join(AUTHORIZATION_TYPES)}, got {kind!r}")
    if route["routeKey"] != "$connect":
        raise DeployError(f"{where}: only the $connect route of a WebSocket API takes an authorizer")
    api_id = definition["api"]["apiId"]
    arn = connect_arn(api_id, stage_name)
    if kind == "AWS_IAM":
        if identities is None:
            raise DeployError(f"{where}: AWS_IAM cannot be served without the gateway's identities")
        return _iam(identities, arn)
    authorizer = definition["authorizers"].get(route.get("authorizerId") or "")
    if authorizer is None:
        raise DeployError(f"{where}: authorizationType CUSTOM needs the authorizerId of one of the API's authorizers")
    if authorizer.get("authorizerType") != "REQUEST":
        raise DeployError(f"{where}: a WebSocket API's authorizer is of type REQUEST, "
                          f"{authorizer['authorizerId']} is {authorizer.get('authorizerType')!r}")
    where = f"{where}: authorizer {authorizer.get('name') or authorizer['authorizerId']}"
    uri = str(authorizer.get("authorizerUri") or "")
    function = function_of(uri)
    if function is None:
        raise DeployError(f"{where}: authorizerUri must be a Lambda function invocation URI or function ARN, "
                          f"got {uri!r}")
    if not defined(invoker, function, strict, where):
        return failing(f"authorizer function {function!r} is not defined in this gateway")
    cache = cache or AuthorizerCache()
    guard = RemoteWsLambdaAuthorizer if cache.remote else WsLambdaAuthorizer
    return guard(authorizer, function, invoker, cache,
                 (api_id, stage_name, _version(authorizer), authorizer["authorizerId"]), arn, where)


def _iam(identities: Identities, arn: str) -> Guard:
    def guard(inv: Invocation) -> None:
        identity = http_iam.caller(inv, identities, arn)
        inv.identity = {**(inv.identity or {}), "accessKey": identity.access_key_id,
                        "accountId": identity.account_id, "caller": identity.user_id, "user": identity.user_id,
                        "userArn": identity.arn}

    return guard


def _version(authorizer: Authorizer) -> str:
    """Stands for the deployment in cache keys: a changed authorizer starts with an empty cache."""
    return hashlib.sha256(orjson.dumps(authorizer, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def compile_source(source: str, where: str) -> Source:
    """An identity source's getter: `route.request.header.X` (also `$request.header.X`),
    `route.request.querystring.X`, `stageVariables.X`, `context.X`."""
    text = source.strip()
    for prefix in ("route.request.header.", "$request.header."):
        if text.startswith(prefix):
            name = text.removeprefix(prefix).lower()
            return lambda inv: inv.request.header(name)
    for prefix in ("route.request.querystring.", "$request.querystring."):
        if text.startswith(prefix):
            name = text.removeprefix(prefix)
            return lambda inv: (inv.request.query_params()[0] or {}).get(name)
    for prefix in ("stageVariables.", "$stageVariables."):
        if text.startswith(prefix):
            name = text.removeprefix(prefix)
            return lambda inv: (inv.stage.variables or {}).get(name)
    for prefix in ("context.", "$context."):
        if text.startswith(prefix):
            path = text.removeprefix(prefix).split(".")
            return lambda inv: _context_value(inv, path)
    raise DeployError(f"{where}: identity sources are route.request.header.X, route.request.querystring.X, "
                      f"stageVariables.X or context.X, got {source!r}")


def _context_value(inv: Invocation, path: list[str]) -> str | None:
    value: Any = inv.context()
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return None if value is None or isinstance(value, dict | list) else str(value)


class WsLambdaAuthorizer:
    """The guard of a `$connect` route with a Lambda REQUEST authorizer."""

    __slots__ = ("arn", "cache", "function", "invoker", "sources", "ttl")

    def __init__(self, authorizer: Authorizer, function: str, invoker: FunctionInvoker, cache: AuthorizerCache,
                 scope: tuple[str, str, str, str], arn: str, where: str) -> None:
        sources = authorizer.get("identitySource") or []
        if isinstance(sources, str):
            sources = [s for s in sources.split(",") if s.strip()]
        self.sources = tuple(compile_source(s, where) for s in sources)
        ttl = int(authorizer.get("authorizerResultTtlInSeconds") or 0)
        if not 0 <= ttl <= MAX_TTL_SECONDS:
            raise DeployError(f"{where}: authorizerResultTtlInSeconds is 0 to {MAX_TTL_SECONDS}, got {ttl}")
        if ttl and not sources:
            raise DeployError(f"{where}: caching a Lambda authorizer's results (authorizerResultTtlInSeconds > 0) "
                              f"needs at least one identity source")
        self.ttl = ttl
        self.cache = cache.results(scope, "lambda", parse_output)
        self.function = function
        self.invoker = invoker
        self.arn = arn

    def __call__(self, inv: Invocation) -> Awaitable[None] | None:
        values = tuple(get(inv) or "" for get in self.sources)
        if not all(values):
            raise GatewayError("UNAUTHORIZED", log=f"authorizer {self.function}: an identity source is missing")
        if self.ttl:
            cache = self.cache
            value = cache.read(cache.head + values)
            if value is not None:
                self._apply(inv, cache.decoded(value))
                return None
        return self._miss(inv, values)

    async def _miss(self, inv: Invocation, values: tuple[str, ...]) -> None:
        assert isinstance(inv, WsInvocation)
        answer = await invoke_authorizer(self.invoker, self.function, authorizer_event(inv), inv.request_id)
        if answer.function_error:
            raise function_failure(self.function, answer.payload)
        if len(answer.payload) > MAX_RESULT_BYTES:
            raise AuthorizerConfigurationError(f"authorizer {self.function} answered {len(answer.payload)} bytes, "
                                               f"more than the {MAX_RESULT_BYTES} a WebSocket authorizer may")
        result = self.cache.decoded(answer.payload)
        if self.ttl:
            self.cache.put(self.cache.head + values, answer.payload, result, self.ttl)
        self._apply(inv, result)

    def _apply(self, inv: Invocation, result: AuthorizerResult) -> None:
        if result.policy.evaluate(INVOKE, self.arn) != "Allow":
            raise GatewayError("ACCESS_DENIED", log=f"authorizer {self.function} denied the connection")
        context = dict(result.context)
        authorizer: dict[str, Any] = {"principalId": context.pop("principalId"), **context}
        if result.usage_identifier_key is not None:
            authorizer["usageIdentifierKey"] = result.usage_identifier_key
        inv.authorizer = authorizer



class RemoteWsLambdaAuthorizer(WsLambdaAuthorizer):
    """The guard when the cache is in a remote state (every node's): the cached answer is awaited."""

    __slots__ = ()

    def __call__(self, inv: Invocation) -> Awaitable[None] | None:
        if not self.ttl:
            return super().__call__(inv)
        values = tuple(get(inv) or "" for get in self.sources)
        if not all(values):
            raise GatewayError("UNAUTHORIZED", log=f"authorizer {self.function}: an identity source is missing")
        return self._shared(inv, values)

    async def _shared(self, inv: Invocation, values: tuple[str, ...]) -> None:
        result = await self.cache.fetch(self.cache.head + values)
        if result is None:
            await self._miss(inv, values)
        else:
            self._apply(inv, result)

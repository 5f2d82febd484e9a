"""CUSTOM authorizers: a Lambda function of type TOKEN (one header) or REQUEST (the request's
parameters) answers a principal, an IAM policy and a context; the policy is evaluated against the
request's method ARN.

Results are cached per identity-source values for `authorizerResultTtlInSeconds` (default 300, 0 turns
caching off). The whole answer is cached, so a cached policy is evaluated against each new method ARN,
as AWS does: a policy that allowed only `GET/pets` denies `GET/orders` from the cache. TestInvokeAuthorizer
runs one through `run_once`, which neither reads nor fills the cache.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping
from typing import Any

import orjson

from apiway.auth.authorizer_cache import AuthorizerCache, Scope
from apiway.auth.policy import INVOKE, Policy, PolicyError, compile_document
from apiway.auth.trial import AuthorizerResult, Trial
from apiway.core import trail
from apiway.core.errors import AccessDenied, AuthorizerConfigurationError, DeployError, GatewayError
from apiway.core.invocation import Invocation
from apiway.events.rest_v1 import build_event
from apiway.functions.base import FunctionInvoker, FunctionThrottled, InvokeResult
from apiway.mapping.sources import Getter, compile_source

IMPLICIT_DENY = "User is not authorized to access this resource"
EXPLICIT_DENY = "User is not authorized to access this resource with an explicit deny"
_UNAUTHORIZED = "Unauthorized"  # the error message a function raises to answer 401
_REQUEST_SOURCES = ("method.request.header.", "method.request.querystring.", "stageVariables.", "context.")


def answer_document(payload: bytes) -> dict[str, Any]:
    """An authorizer function's answer as a JSON object; AUTHORIZER_CONFIGURATION_ERROR if it is not one."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise AuthorizerConfigurationError("authorizer response is not JSON") from None
    if not isinstance(doc, dict):
        raise AuthorizerConfigurationError("authorizer response is not a JSON object")
    return doc


def answer_policy(doc: dict[str, Any]) -> tuple[str | int | float, Policy]:
    """The `principalId` and compiled `policyDocument` of a policy answer; AUTHORIZER_CONFIGURATION_ERROR
    when either is missing or unusable."""
    principal = doc.get("principalId")
    if isinstance(principal, bool) or not isinstance(principal, str | int | float):
        raise AuthorizerConfigurationError("authorizer response has no principalId")
    policy_document = doc.get("policyDocument")
    if not isinstance(policy_document, dict):
        raise AuthorizerConfigurationError("authorizer response has no policyDocument object")
    try:
        return principal, compile_document(policy_document)
    except PolicyError as exc:
        raise AuthorizerConfigurationError(f"authorizer response has an invalid policyDocument: {exc}") from None


def function_failure(function: str, payload: bytes) -> GatewayError:
    """What a function error means: its "Unauthorized" is 401, anything else 500."""
    try:
        message = orjson.loads(payload).get("errorMessage")
    except (orjson.JSONDecodeError, AttributeError):
        message = None
    if message == _UNAUTHORIZED:
        return GatewayError("UNAUTHORIZED")
    return AuthorizerConfigurationError(f"authorizer {function} failed: {payload[:500].decode('utf-8', 'replace')}")


def parse_output(payload: bytes) -> AuthorizerResult:
    """Validate the function's answer; anything unusable is AUTHORIZER_CONFIGURATION_ERROR."""
    doc = answer_document(payload)
    principal, policy = answer_policy(doc)
    context = doc.get("context") or {}
    if not isinstance(context, dict) or any(isinstance(v, dict | list) for v in context.values()):
        raise AuthorizerConfigurationError("authorizer context values must be strings, numbers or booleans")
    usage_key = doc.get("usageIdentifierKey")
    return AuthorizerResult(policy, {**context, "principalId": str(principal)},
                            usage_key if isinstance(usage_key, str) else None)


class LambdaAuthorizer:
    """The guard of one method."""

    __slots__ = ("_now", "api_key_source", "arn_prefix", "cache", "function", "header", "invoker", "request_sources",
                 "sources", "token_re", "ttl")

    def __init__(self, authorizer: Mapping[str, Any], function: str, invoker: FunctionInvoker,
                 cache: AuthorizerCache, scope: Scope, ttl: int, arn_prefix: str, stage_variables: dict[str, str],
                 api_key_source: bool, where: str) -> None:
        self.function = function
        self.invoker = invoker
        self.cache = cache.results(scope, "lambda", parse_output)  # the function's answers, as it returned them
        self._now = cache.clock.monotonic  # the injected clock times the function (`integrationLatency`)
        self.arn_prefix = arn_prefix  # arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/
        self.api_key_source = api_key_source  # apiKeySource AUTHORIZER: usageIdentifierKey is the API key
        self.ttl = ttl
        sources = [s.strip() for s in str(authorizer.get("identitySource") or "").split(",") if s.strip()]
        self.sources = tuple(sources)
        self.header: str | None = None
        self.token_re: re.Pattern[str] | None = None
        self.request_sources: tuple[Getter, ...] = ()
        if authorizer.get("type") == "TOKEN":
            if len(sources) != 1 or not sources[0].startswith("method.request.header."):
                raise DeployError(f"{where}: a TOKEN authorizer's identitySource must be one "
                                  f"method.request.header.X, got {authorizer.get('identitySource')!r}")
            self.header = sources[0].removeprefix("method.request.header.").lower()
            expression = authorizer.get("identityValidationExpression")
            try:
                self.token_re = re.compile(expression) if expression else None
            except re.error as exc:
                raise DeployError(f"{where}: identityValidationExpression is not a regular expression: "
                                  f"{exc}") from None
            return
        for source in sources:
            if not source.startswith(_REQUEST_SOURCES):
                raise DeployError(f"{where}: identity sources are method.request.header.X, "
                                  f"method.request.querystring.X, stageVariables.X or context.X, got {source!r}")
        if self.ttl and not sources:
            raise DeployError(f"{where}: a REQUEST authorizer needs an identitySource while its results are "
                              f"cached (authorizerResultTtlInSeconds > 0)")
        self.request_sources = tuple(compile_source(s, stage_variables, where) for s in sources)

    def __call__(self, inv: Invocation) -> Awaitable[None] | None:
        """A cached decision is applied at once; only a cache miss returns something to await."""
        key = self._identity(inv)
        method_arn = self.arn_prefix + inv.request.method + inv.path
        result = None
        if self.ttl:
            cache = self.cache
            value = cache.read(key)
            if value is not None:
                result = cache.memo.get(value)
                if result is None:
                    result = cache.decoded(value)
        if result is None:
            return self._miss(inv, key, method_arn)
        self._apply(inv, result, method_arn, 0)
        return None

    async def _miss(self, inv: Invocation, key: tuple[str, ...], method_arn: str) -> None:
        started = self._now()
        answer = await self._call(self._event(inv, method_arn), inv.request_id)
        result = self._read(answer)
        if self.ttl:
            self.cache.put(key, answer.payload, result, self.ttl)
        self._apply(inv, result, method_arn, int((self._now() - started) * 1000))

    def _apply(self, inv: Invocation, result: AuthorizerResult, method_arn: str, latency: int) -> None:
        decision = result.policy.evaluate(INVOKE, method_arn)
        if inv.notes is not None or inv.trail is not None:
            self._observed(inv, decision == "Allow", latency)
        if decision != "Allow":
            raise AccessDenied(EXPLICIT_DENY if decision == "Deny" else IMPLICIT_DENY)
        inv.authorizer = {**result.context, "integrationLatency": latency}
        if self.api_key_source and result.usage_identifier_key is not None:
            inv.identity = {**(inv.identity or {}), "apiKey": result.usage_identifier_key}

    def _observed(self, inv: Invocation, allowed: bool, latency: int | None) -> None:
        """The step's notes (keys: telemetry/notes.py) and execution-log lines; latency None: no identity."""
        notes, steps = inv.notes, inv.trail
        if notes is not None:
            notes["authorizer.status"] = 200 if allowed else 401 if latency is None else 403
            if latency is not None:
                notes["authorizer.latency"] = notes["authorizer.integrationLatency"] = latency
                notes["authorizer.integrationStatus"] = 200
            if not allowed:
                notes["authorizer.error"] = "Unauthorized" if latency is None else "User is not authorized"
        if steps is not None:
            steps.append((trail.INFO, f"Starting authorizer: {self.cache.authorizer_id} for request: {inv.request_id}"))
            if allowed:
                steps.append((trail.INFO, "Successfully completed authorizer execution"))
            elif latency is None:
                steps.append((trail.ERROR, f"Unauthorized request: {inv.request_id}"))
            else:
                steps.append((trail.ERROR, "The client is not authorized to perform this operation."))

    def _unauthorized(self, inv: Invocation) -> GatewayError:
        if inv.notes is not None or inv.trail is not None:
            self._observed(inv, False, None)
        return GatewayError("UNAUTHORIZED")

    def _identity(self, inv: Invocation) -> tuple[str, ...]:
        """The cache key: deployment and authorizer, then the token or every identity source's value; a
        missing one is 401 without invoking the function (for REQUEST authorizers only while caching, as
        AWS documents). Empty when a REQUEST authorizer does not cache."""
        if self.header is not None:
            token = inv.request.header(self.header)
            if not token or (self.token_re is not None and self.token_re.fullmatch(token) is None):
                raise self._unauthorized(inv)
            return self.cache.deployment_id, self.cache.authorizer_id, token
        if not self.ttl:
            return ()
        values = tuple(get(inv) for get in self.request_sources)
        if not all(values):
            raise self._unauthorized(inv)
        return self.cache.head + values

    async def run_once(self, inv: Invocation, seen: Trial) -> None:
        """TestInvokeAuthorizer: run without the cache, noting each step in `seen`. Fails as the guard does,
        except that the policy is reported, not enforced."""
        seen.function = self.function
        if self.header is not None:
            seen.identity = inv.request.header(self.header)
        else:
            seen.identity = {source: get(inv) for source, get in zip(self.sources, self.request_sources, strict=True)}
        self._identity(inv)
        seen.event = self._event(inv, self.arn_prefix + inv.request.method + inv.path)
        answer = await self._call(seen.event, inv.request_id)
        seen.payload = answer.payload
        seen.result = self._read(answer)

    def _event(self, inv: Invocation, method_arn: str) -> dict[str, Any]:
        if self.header is not None:
            return {"type": "TOKEN", "authorizationToken": inv.request.header(self.header), "methodArn": method_arn}
        request = build_event(inv)
        del request["body"], request["isBase64Encoded"]
        return {"type": "REQUEST", "methodArn": method_arn, **request}

    async def _call(self, event: dict[str, Any], request_id: str) -> InvokeResult:
        try:
            return await self.invoker.invoke(self.function, event, request_id)
        except FunctionThrottled as exc:  # the function could not be invoked at all
            raise AuthorizerConfigurationError(f"authorizer {self.function}: {exc.log}") from None

    def _read(self, result: InvokeResult) -> AuthorizerResult:
        """The function's answer: its result, or its "Unauthorized" error (401), or anything else (500)."""
        if result.function_error:
            raise function_failure(self.function, result.payload)
        return parse_output(result.payload)


class RemoteLambdaAuthorizer(LambdaAuthorizer):
    """The guard when the cache is in a remote state (every node's): the cached result is awaited."""

    __slots__ = ()

    def __call__(self, inv: Invocation) -> Awaitable[None] | None:
        if not self.ttl:
            return super().__call__(inv)
        return self._shared(inv, self._identity(inv), self.arn_prefix + inv.request.method + inv.path)

    async def _shared(self, inv: Invocation, key: tuple[str, ...], method_arn: str) -> None:
        result = await self.cache.fetch(key)
        if result is None:
            await self._miss(inv, key, method_arn)
        else:
            self._apply(inv, result, method_arn, 0)

"""Lambda REQUEST authorizers of HTTP APIs (spec §8.6). The function is sent the request in the
authorizer's payload format (`authorizer_event_v2` or `authorizer_event_v1` of events/http_v2.py) and
answers a simple response, `{"isAuthorized": bool, "context": {...}}` (format 2.0 with
`enableSimpleResponses`), or an IAM policy, `{"principalId", "policyDocument", "context"}`, evaluated
against the request's route ARN. Its `context` becomes `requestContext.authorizer.lambda` (null when it
returned none); 2.0 contexts may hold arrays and objects, 1.0 contexts only strings, numbers and booleans.

Every identity source must have a non-empty value, or the request is 401 without invoking the function.
With `authorizerResultTtlInSeconds` above 0 the answers are cached by the identity sources' values: a
cached simple answer holds for every route, a cached policy is evaluated against each route's ARN (add
`$context.routeKey` to the identity sources to cache per route). A false answer or a policy that does not
allow is 403; a function error, a timeout (AWS gives authorizers 10 s), an unusable answer or a function
that cannot be invoked is 500; an `Unauthorized` error is 401, as with REST's authorizers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from apiway.auth.authorizer_cache import AuthorizerCache, Scope
from apiway.auth.http_identity import compile_source
from apiway.auth.lambda_authorizer import answer_document, answer_policy, function_failure
from apiway.auth.policy import INVOKE, Policy
from apiway.core.errors import AuthorizerConfigurationError, DeployError, GatewayError
from apiway.core.invocation import Invocation
from apiway.events.http_v2 import authorizer_event_v1, authorizer_event_v2
from apiway.functions.base import FunctionInvoker, FunctionThrottled, InvokeResult

TIMEOUT_SECONDS = 10.0


async def invoke_authorizer(invoker: FunctionInvoker, function: str, event: Any, request_id: str) -> InvokeResult:
    """An authorizer function's answer within TIMEOUT_SECONDS; AuthorizerConfigurationError (500) when it does
    not answer in time or cannot be invoked at all. HTTP and WebSocket APIs' Lambda authorizers call it."""
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            return await invoker.invoke(function, event, request_id)
    except TimeoutError:
        raise AuthorizerConfigurationError(f"authorizer {function} did not answer within "
                                           f"{TIMEOUT_SECONDS:.0f} s") from None
    except FunctionThrottled as exc:
        raise AuthorizerConfigurationError(f"authorizer {function}: {exc.log}") from None
MAX_TTL_SECONDS = 3600
_SCALARS = str | int | float | bool


@dataclass(slots=True, frozen=True)
class LambdaVerdict:
    """A function's valid answer, as cached: a simple response's `allowed`, or a `policy` to evaluate."""

    allowed: bool
    policy: Policy | None
    context: dict[str, Any] | None


def _context(doc: Mapping[str, Any], nested: bool) -> dict[str, Any] | None:
    context = doc.get("context")
    if context is None:
        return None
    if not isinstance(context, dict):
        raise AuthorizerConfigurationError("authorizer response's context is not a JSON object")
    if not nested and any(not isinstance(v, _SCALARS) for v in context.values()):
        raise AuthorizerConfigurationError("a format 1.0 authorizer's context values must be strings, numbers or "
                                           "booleans")
    return context


def parse_simple(payload: bytes) -> LambdaVerdict:
    doc = answer_document(payload)
    allowed = doc.get("isAuthorized")
    if not isinstance(allowed, bool):
        raise AuthorizerConfigurationError("a simple authorizer response needs isAuthorized, true or false")
    return LambdaVerdict(allowed, None, _context(doc, nested=True))


def _parse_policy(payload: bytes, nested: bool) -> LambdaVerdict:
    doc = answer_document(payload)
    _, policy = answer_policy(doc)
    return LambdaVerdict(False, policy, _context(doc, nested))


def parse_policy_v2(payload: bytes) -> LambdaVerdict:
    return _parse_policy(payload, nested=True)


def parse_policy_v1(payload: bytes) -> LambdaVerdict:
    return _parse_policy(payload, nested=False)


class HttpLambdaAuthorizer:
    """The guard of one route."""

    __slots__ = ("arn_prefix", "cache", "event", "function", "invoker", "sources", "ttl")

    def __init__(self, authorizer: Mapping[str, Any], function: str, invoker: FunctionInvoker,
                 cache: AuthorizerCache, scope: Scope, arn_prefix: str, where: str) -> None:
        version = authorizer.get("authorizerPayloadFormatVersion")
        if version not in ("1.0", "2.0"):
            raise DeployError(f"{where}: a Lambda authorizer's authorizerPayloadFormatVersion is 1.0 or 2.0, got "
                              f"{version!r}")
        simple = bool(authorizer.get("enableSimpleResponses"))
        if simple and version != "2.0":
            raise DeployError(f"{where}: enableSimpleResponses needs authorizerPayloadFormatVersion 2.0")
        parse: Callable[[bytes], LambdaVerdict] = (
            parse_simple if simple else parse_policy_v2 if version == "2.0" else parse_policy_v1)
        self.event = authorizer_event_v2 if version == "2.0" else authorizer_event_v1
        sources = list(authorizer.get("identitySource") or [])
        self.sources = tuple(compile_source(s, where) for s in sources)
        ttl = int(authorizer.get("authorizerResultTtlInSeconds") or 0)  # unset: no caching
        if not 0 <= ttl <= MAX_TTL_SECONDS:
            raise DeployError(f"{where}: authorizerResultTtlInSeconds is 0 to {MAX_TTL_SECONDS}, got {ttl}")
        if ttl and not sources:
            raise DeployError(f"{where}: caching a Lambda authorizer's results (authorizerResultTtlInSeconds > 0) "
                              f"needs at least one identity source")
        self.ttl = ttl
        kind = "http lambda simple" if simple else f"http lambda policy {version}"
        self.cache = cache.results(scope, kind, parse)  # the function's answers, as it returned them
        self.function = function
        self.invoker = invoker
        self.arn_prefix = arn_prefix  # arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/

    def __call__(self, inv: Invocation) -> Awaitable[None] | None:
        """A cached answer is applied at once; only a call to the function returns something to await."""
        values = tuple(get(inv) for get in self.sources)
        if not all(values):
            raise _refused(inv, GatewayError("UNAUTHORIZED", log=f"authorizer {self.function}: an identity source is "
                                                              "missing"), 401, "Unauthorized")
        identity = cast(tuple[str, ...], values)
        if self.ttl:
            cache = self.cache
            value = cache.read(cache.head + identity)
            if value is not None:
                verdict = cache.memo.get(value)
                if verdict is None:
                    verdict = cache.decoded(value)
                self._apply(inv, verdict)
                return None
        return self._miss(inv, identity)

    async def _miss(self, inv: Invocation, identity: tuple[str, ...]) -> None:
        answer = await self._call(self.event(inv, list(identity)), inv.request_id)
        if answer.function_error:
            raise function_failure(self.function, answer.payload)
        verdict = self.cache.decoded(answer.payload)  # parsed once per distinct answer
        if self.ttl:
            self.cache.put(self.cache.head + identity, answer.payload, verdict, self.ttl)
        self._apply(inv, verdict)

    def _apply(self, inv: Invocation, verdict: LambdaVerdict) -> None:
        if verdict.policy is None:
            allowed = verdict.allowed
        else:
            allowed = verdict.policy.evaluate(INVOKE, self.arn_prefix + inv.request.method + inv.path) == "Allow"
        if not allowed:
            raise _refused(inv, GatewayError("ACCESS_DENIED", log=f"authorizer {self.function} denied the request"),
                           403, "Forbidden")
        context = verdict.context
        inv.authorizer = {"lambda": None if context is None else dict(context)}
        if inv.notes is not None:
            inv.notes["authorizer.status"] = 200  # keys: telemetry/notes.py

    async def _call(self, event: dict[str, Any], request_id: str) -> InvokeResult:
        return await invoke_authorizer(self.invoker, self.function, event, request_id)


class RemoteHttpLambdaAuthorizer(HttpLambdaAuthorizer):
    """The guard when the cache is in a remote state (every node's): the cached answer is awaited."""

    __slots__ = ()

    def __call__(self, inv: Invocation) -> Awaitable[None] | None:
        if not self.ttl:
            return super().__call__(inv)
        values = tuple(get(inv) for get in self.sources)
        if not all(values):
            raise _refused(inv, GatewayError("UNAUTHORIZED", log=f"authorizer {self.function}: an identity source is "
                                                              "missing"), 401, "Unauthorized")
        return self._shared(inv, cast(tuple[str, ...], values))

    async def _shared(self, inv: Invocation, identity: tuple[str, ...]) -> None:
        verdict = await self.cache.fetch(self.cache.head + identity)
        if verdict is None:
            await self._miss(inv, identity)
        else:
            self._apply(inv, verdict)


def _refused(inv: Invocation, err: GatewayError, status: int, message: str) -> GatewayError:
    """A refusal as `$context.authorizer.status`/`.error` show it (observed stages only)."""
    if inv.notes is not None:
        inv.notes["authorizer.status"] = status
        inv.notes["authorizer.error"] = message
    return err

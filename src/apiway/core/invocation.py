"""What one request runs on and carries: the stage and method plans deploy time compiled, and the
Invocation — the routed request with its `$context`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import gmtime  # a conversion, not a clock read
from typing import Any, Protocol

from apiway.core import request_ids
from apiway.core.clock import SYSTEM_CLOCK
from apiway.core.errors import GatewayError
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.media import BinaryTypes
from apiway.core.router import Router
from apiway.core.spans import SampledSpans

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_clf_cache: tuple[int, str] = (0, "")
# `$context.identity` fields that only IAM, Cognito, API keys or private endpoints fill in.
_NULL_IDENTITY = dict.fromkeys(
    ("accountId", "apiKey", "apiKeyId", "caller", "cognitoAuthenticationProvider", "cognitoAuthenticationType",
     "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId", "user", "userArn", "vpcId", "vpceId")
)


Integration = Callable[["Invocation"], Awaitable[HttpResponse]]
# An integration that can answer without waiting (a MOCK) also has `now`: the same answer as a plain call, so the
# pipeline runs such a request to its end with no coroutine or task. Wrappers (cache, logs) have none of their own.
Answer = HttpResponse | Awaitable[HttpResponse]
# What the gateway does to an integration's successful answer before it reaches the client (the
# integration kind's header policy, the trace header), chosen per method at deploy time.
ResponseFilter = Callable[["Invocation", HttpResponse], None]
# Called once per finished request of a stage, whatever its outcome (access logs, metrics, traces), with what a
# `Completion` holds as arguments in its order: (request, response, stage, invocation, error_type, latency_ms).
# Not the object itself: making one (a class whose __init__ is Python) cost 2.6k instructions a request, a quarter
# of what observing a stage at all cost.
Observer = Callable[[HttpRequest, HttpResponse, "StageRuntime", "Invocation | None", "str | None", int], None]
# Called as a request of an observed stage begins, once its method is known: starts what must run during the
# request (an execution log's trail, a sampled trace's spans).
Starter = Callable[["Invocation"], None]
# A per-method check: a plain call returning None, or an awaitable only when it must wait.
Guard = Callable[["Invocation"], Awaitable[None] | None]


class ErrorRenderer(Protocol):
    """Turns a gateway error into the client's response, the way the API's kind does it (REST: the API's
    gateway responses)."""

    def render(self, err: GatewayError, req: HttpRequest, stage: StageRuntime | None,
               request_id: str) -> HttpResponse: ...


@dataclass(slots=True)
class MethodPlan:
    resource_id: str
    resource_path: str
    http_method: str
    api_key_required: bool
    authorization_type: str
    integration: Integration
    guards: tuple[Guard, ...] = ()  # run in order before the integration
    respond: ResponseFilter | None = None  # applied where the request completes
    # The integration passes a long body on as it arrives (`HttpRequest.stream`), and nothing before it reads
    # the body: such a method never holds the whole of it. Any other reads it whole first.
    streams: bool = False


@dataclass(slots=True)
class StageRuntime:
    api_id: str
    kind: str  # the API's kind ("REST"); it decides how requests select this stage
    api_name: str
    stage_name: str
    deployment_id: str
    variables: dict[str, str] | None
    router: Router[MethodPlan]
    errors: ErrorRenderer
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
    # The stage has `canarySettings` (at any percentTraffic): its Lambda proxy events carry isCanaryRequest.
    canary_release: bool = False
    # The injected clock's epoch milliseconds, stored once as a plain callable: `$context.requestTimeEpoch`.
    wall_ms: Callable[[], int] = SYSTEM_CLOCK.wall_ms
    # What watches the stage's finished requests; empty when nothing is enabled, and then costs nothing.
    observers: tuple[Observer, ...] = ()
    # What starts with each request of the stage (execution logs, tracing); None when nothing needs to.
    on_start: Starter | None = None


@dataclass(slots=True)
class Completion:
    """One finished request of a stage, as one object: what its observers are given as arguments, for code that
    reads it in pieces (access-log variables that are not inlined, tests)."""

    request: HttpRequest
    response: HttpResponse
    stage: StageRuntime
    invocation: Invocation | None  # None when the request failed before a method was found
    error_type: str | None  # the gateway response type of a failed request
    latency_ms: int


def clf_time(epoch: int) -> str:
    """`09/Apr/2015:12:34:56 +0000`, cached per second."""
    global _clf_cache
    if _clf_cache[0] != epoch:
        t = gmtime(epoch)
        _clf_cache = (
            epoch,
            f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000",
        )
    return _clf_cache[1]


class Invocation:
    """One routed request: the request, where it goes, and its `$context` identity."""

    __slots__ = (
        "authorizer",
        "context_path",
        "epoch_ms",
        "error_type",
        "extended_request_id",
        "identity",
        "integration_latency_ms",
        "notes",
        "path",
        "path_params",
        "plan",
        "request",
        "request_id",
        "spans",
        "stage",
        "status",
        "trace",
        "trail",
    )

    def __init__(
        self,
        request: HttpRequest,
        stage: StageRuntime,
        plan: MethodPlan,
        path_params: dict[str, str],
        path: str,
        context_path: str,
        request_id: str,
        extended_request_id: str | None = None,  # HTTP APIs: the request id is the short one
    ) -> None:
        self.request = request
        self.stage = stage
        self.plan = plan
        self.path_params = path_params
        self.path = path  # request path without the stage, e.g. /pets/1
        self.context_path = context_path  # $context.path, e.g. /prod/pets/1
        self.request_id = request_id
        self.extended_request_id = extended_request_id or request_ids.extended_request_id()
        self.epoch_ms = stage.wall_ms()
        # Set by the checks before the integration: `$context.authorizer` (principalId, the authorizer's
        # context or Cognito claims) and `$context.identity` fields (apiKey, caller, userArn, …).
        self.authorizer: dict[str, Any] | None = None
        self.identity: dict[str, Any] | None = None
        # Set where the request completes: the client's status, the error's gateway response type, and the
        # integration's own latency when the stage's observers asked for it to be timed.
        self.status = 0
        self.error_type: str | None = None
        self.integration_latency_ms: int | None = None
        self.trace: str | None = None
        # Observed stages only (None otherwise, and nothing writes them): `notes` holds what access logs and
        # metrics read that only the pipeline knows (keys in telemetry/notes.py: cache hit or miss, the
        # integration's and the authorizer's status, latency and error); `trail` the execution log's entries
        # for a method whose loggingLevel asks for them; `spans` a sampled trace's finished spans.
        self.notes: dict[str, Any] | None = {} if stage.observers else None
        self.trail: list[Any] | None = None
        self.spans: SampledSpans | None = None
        if stage.on_start is not None:
            stage.on_start(self)

    def trace_id(self) -> str:
        """`X-Amzn-Trace-Id`: the client's Root kept, made once per request and sent to the integration and
        back to the client alike."""
        trace = self.trace
        if trace is None:
            trace = self.trace = request_ids.trace_header(self.request.header("x-amzn-trace-id"), self.epoch_ms // 1000)
        return trace

    def forwarding_headers(self) -> tuple[tuple[str, str], ...]:
        """What API Gateway adds to the request it passes on (to a backend, in a function's event): the trace
        id and X-Forwarded-For/Port/Proto, the client's address after any X-Forwarded-For it sent."""
        req = self.request
        xff = req.header("x-forwarded-for")
        return (
            ("X-Amzn-Trace-Id", self.trace_id()),
            ("X-Forwarded-For", f"{xff}, {req.client_ip}" if xff else req.client_ip),
            ("X-Forwarded-Port", str(req.server_port)),
            ("X-Forwarded-Proto", req.scheme),
        )

    def context(self) -> dict[str, Any]:
        """The `$context` variables templates and mappings read (built only when one asks)."""
        req = self.request
        stage = self.stage
        context = {
            "accountId": stage.account_id,
            "apiId": stage.api_id,
            "deploymentId": stage.deployment_id,
            "domainName": req.header("host") or "",
            "domainPrefix": (req.header("host") or "").split(".", 1)[0],
            "extendedRequestId": self.extended_request_id,
            "httpMethod": req.method,
            "identity": {**_NULL_IDENTITY, "sourceIp": req.client_ip, "userAgent": req.header("user-agent"),
                         **(self.identity or {})},
            "path": self.context_path,
            "protocol": "HTTP/" + req.http_version,
            "requestId": self.request_id,
            "requestTime": clf_time(self.epoch_ms // 1000),
            "requestTimeEpoch": self.epoch_ms,
            "resourceId": self.plan.resource_id,
            "resourcePath": self.plan.resource_path,
            "stage": stage.stage_name,
            "isCanaryRequest": stage.is_canary,
        }
        if self.authorizer is not None:
            context["authorizer"] = self.authorizer
        return context

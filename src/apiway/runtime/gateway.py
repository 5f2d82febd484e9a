"""The request pipeline: find the API and stage an invoke URL names, route, run the method's checks and
integration, and complete every request in one place — AWS's response headers, the error rendered the
way the API's kind does it, and the stage's observers told. A WebSocket API's stage takes upgrade requests
(`upgrade`: $connect, then a session) and its `@connections` management calls (`connections_target`)."""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable, Iterable
from random import random
from time import time_ns
from typing import Any

import orjson

from apiway.core import request_ids
from apiway.core.errors import GatewayError, MissingAuthenticationToken
from apiway.core.http import MAX_PAYLOAD, HttpRequest, HttpResponse, ensure_content_type
from apiway.core.invocation import Answer, Invocation, StageRuntime
from apiway.core.spans import AUTHORIZER, INTEGRATION, Span
from apiway.core.websocket import Upgraded
from apiway.core.ws_invocation import Connection, WsStageRuntime
from apiway.model.http import DEFAULT_STAGE
from apiway.observe.log import log
from apiway.runtime.apis import ApiRuntime, api_runtime
from apiway.runtime.connections import Connections, connection_id
from apiway.runtime.domains import DomainRoutes, DomainTable
from apiway.runtime.gateway_responses import DEFAULT_RENDERER
from apiway.runtime.http_compile import HttpRouter
from apiway.runtime.http_errors import NotFound
from apiway.runtime.invoke_url import Located, forbidden, locate, vpc_endpoint
from apiway.runtime.observers import finished_request
from apiway.runtime.ws_run import run_connect
from apiway.runtime.ws_session import GatewaySession
from apiway.state.memory import MemoryState


class Gateway:
    """Holds the deployed APIs; installs swap them in with one assignment."""

    def __init__(self, connections: Connections | None = None) -> None:
        self._apis: dict[str, ApiRuntime] = {}
        self.domains = DomainTable()
        # WebSocket APIs' live connections
        self.connections = connections if connections is not None else Connections(MemoryState())

    def install(self, stages: Iterable[StageRuntime]) -> None:
        by_api: dict[str, dict[str, StageRuntime]] = {}
        for stage in stages:
            by_api.setdefault(stage.api_id, {})[stage.stage_name] = stage
        self._apis = {api_id: api_runtime(api_stages) for api_id, api_stages in by_api.items()}

    def install_stage(self, stage: StageRuntime) -> None:
        """Serve one (re)compiled stage; other stages are untouched."""
        apis = dict(self._apis)
        current = apis.get(stage.api_id)
        stages = {**(current.stages if current else {}), stage.stage_name: stage}
        apis[stage.api_id] = api_runtime(stages)
        self._apis = apis

    def remove_stage(self, api_id: str, stage_name: str) -> None:
        apis = dict(self._apis)
        current = apis.get(api_id)
        stages = {k: v for k, v in (current.stages if current else {}).items() if k != stage_name}
        if stages:
            apis[api_id] = api_runtime(stages)
        else:
            apis.pop(api_id, None)
        self._apis = apis

    def stage(self, api_id: str, stage_name: str) -> StageRuntime | None:
        api = self._apis.get(api_id)
        return api.stages.get(stage_name) if api is not None else None

    def install_domains(self, table: DomainTable) -> None:
        """Serve a new set of custom domains and base path mappings."""
        self.domains = table

    def locate(self, req: HttpRequest) -> Located | None:
        """Which API the request names; None when it names none (the dispatcher then asks other services)."""
        return locate(req, self.domains)

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        """A gateway response before the request could be handled (e.g. its body is too large)."""
        located = self.locate(req)
        stage = None
        try:
            if isinstance(located, DomainRoutes):
                stage = self._domain_target(req, located)[0]
            elif located is not None and (api := self._apis.get(located[0])) is not None:
                stage = api.select(located[1])[0]
        except NotFound as err:  # an HTTP API, no stage: its kind answers
            return err.renderer.render(GatewayError(response_type), req, None, request_ids.extended_request_id())
        except GatewayError:
            stage = None
        return _render(GatewayError(response_type), req, stage, _request_id(req))

    def not_an_api(self, req: HttpRequest) -> HttpResponse:
        body = orjson.dumps({"message": "No API here. Invoke URLs look like http://{apiId}.execute-api.localhost:"
                                        "{port}/{stage}/{path} or /restapis/{apiId}/{stage}/_user_request_/{path}"})
        return HttpResponse(404, [("Content-Type", "application/json"), ("x-amzn-RequestId", _request_id(req))], body)

    async def handle(self, req: HttpRequest, located: Located | None = None,
                     target: tuple[StageRuntime, str] | None = None) -> HttpResponse:
        """`answer`, awaited."""
        answer = self.answer(req, located, target)
        return answer if type(answer) is HttpResponse else await answer  # type: ignore[misc]

    def answer(self, req: HttpRequest, located: Located | None = None,
               target: tuple[StageRuntime, str] | None = None) -> Answer:
        """Answer one request to an API: the response when nothing on its way had to wait (a MOCK method,
        an error), else an awaitable of it. `located` is where `locate` found it (found here when not given);
        `target` (stage, path after the stage) runs it on that stage without resolving the URL: the control
        plane's test invoke, on a stage that need not be installed."""
        request_id = ""  # a REST request's, made once its API is known (an HTTP API's request has its own)
        stage: StageRuntime | None = None
        inv: Invocation | None = None
        try:
            context_path = identity = None
            if target is not None:
                stage, rest = target
            else:
                if located is None:
                    located = self.locate(req)
                if isinstance(located, DomainRoutes):
                    found, rest, identity = self._domain_target(req, located)
                    context_path = req.path  # on a custom domain, $context.path is the path as sent
                elif located is not None:
                    api_id, api_path, vpce = located
                    api = self._apis.get(api_id)
                    if api is None:
                        if api_path.lstrip("/"):
                            raise forbidden()  # AWS: an unknown API or stage → 403 Forbidden
                        raise MissingAuthenticationToken()
                    found, rest = api.select(api_path)
                    if found.vpc_endpoint_ids is not None or vpce is not None:
                        identity = vpc_endpoint(req, found, vpce)
                else:
                    return self.not_an_api(req)
                stage = found
                if found.canary is not None and random() < found.canary_share:
                    stage = found.canary
                if found.kind == "HTTP":
                    return _answer_http(req, found, rest)
                if found.kind == "WEBSOCKET":  # plain HTTP to a WebSocket API: only @connections (the dispatcher's)
                    raise forbidden()
            # A REST request.
            request_id = _request_id(req)
            if len(req.body) > MAX_PAYLOAD:
                raise GatewayError("REQUEST_TOO_LARGE")
            match = stage.router.match(rest or "/", req.method)
            if match is None:
                raise MissingAuthenticationToken()
            inv = Invocation(req, stage, match.target, match.path_params, "/" + rest.lstrip("/"),
                             context_path or f"/{stage.stage_name}{rest}", request_id)
            if identity is not None:
                inv.identity = identity
            answer = _start(inv)
            if type(answer) is not HttpResponse:
                return _finish(answer, inv, _rest_headers)  # type: ignore[arg-type]
            response = _rest_headers(answer, inv)
            error = None
        except Exception as exc:
            response, error = _failure(exc, req, stage, inv, request_id or _request_id(req))
        finished_request(stage, req, response, inv, error)
        return response

    async def upgrade(self, req: HttpRequest, located: Located) -> HttpResponse | Upgraded:
        """An upgrade request: to a WebSocket API's stage (`/{stage}`), $connect decides — a non-2xx answer refuses
        the handshake as it is; otherwise the connection is accepted with a session. To any other API it is
        answered as plain HTTP (AWS does so for REST and HTTP APIs)."""
        try:
            stage, rest = self._target(req, located)
        except GatewayError:
            stage = None
        if not isinstance(stage, WsStageRuntime):
            return await self.handle(req, located)
        if rest not in ("", "/"):
            return _render(forbidden(), req, stage, request_ids.request_id())
        conn = Connection(request_ids.extended_request_id(), req, stage.wall_ms(), req.header("host") or "")
        response = await run_connect(stage, conn)
        if not 200 <= response.status < 300:
            return response
        # Of $connect's answer only the subprotocol it chose reaches the 101.
        protocol = next((v for k, v in response.headers if k.lower() == "sec-websocket-protocol"), None)
        return Upgraded(GatewaySession(self.connections, stage, conn, self.stage),
                        headers=[("Sec-WebSocket-Protocol", protocol)] if protocol else [],
                        idle_timeout=stage.idle_timeout, max_duration=stage.max_duration)

    def connections_target(self, req: HttpRequest, located: Located) -> tuple[str, str, str] | None:
        """(api id, stage, connection id) of a management call through a WebSocket API's stage
        (`POST|GET|DELETE /{stage}/@connections/{id}`); None for any other request."""
        try:
            stage, rest = self._target(req, located)
        except GatewayError:
            return None
        if stage.kind != "WEBSOCKET":
            return None
        found = connection_id(req.method, rest)
        return (stage.api_id, stage.stage_name, found) if found is not None else None

    def _target(self, req: HttpRequest, located: Located) -> tuple[StageRuntime, str]:
        """The stage a located request names and the path after it; the kind's GatewayError when none."""
        if isinstance(located, DomainRoutes):
            stage, rest, _ = self._domain_target(req, located)
            return stage, rest
        api = self._apis.get(located[0])
        if api is None:
            raise forbidden()
        return api.select(located[1])

    def _domain_target(self, req: HttpRequest, routes: DomainRoutes) -> tuple[StageRuntime, str, dict[str, Any] | None]:
        """(stage, path after base path and stage, private-endpoint identity) of a custom-domain request."""
        matched = routes.match(req.path)
        if matched is None:
            raise forbidden()  # AWS: no base path mapping matches → 403 Forbidden
        mapping, rest = matched
        api = self._apis.get(mapping.api_id)
        if api is None:
            raise forbidden()
        if mapping.stage is None:  # a mapping without a stage leaves it to the path
            found, rest = api.select(rest)
        else:
            named = api.stages.get(mapping.stage)
            if named is None:
                raise forbidden()
            found = named
        return found, rest, None if found.vpc_endpoint_ids is None else vpc_endpoint(req, found, None)


def _answer_http(req: HttpRequest, stage: StageRuntime, rest: str) -> Answer:
    """The rest of an HTTP API request (spec §16.2): preflight answered before routing when the API has CORS,
    then route, checks, integration and response filter; `apigw-requestid` on every answer, the short id
    that is also `$context.requestId`."""
    request_id = request_ids.extended_request_id()
    inv: Invocation | None = None
    try:
        if len(req.body) > MAX_PAYLOAD:
            raise GatewayError("REQUEST_TOO_LARGE")
        routes: HttpRouter = stage.router  # type: ignore[assignment]
        cors = routes.cors
        if cors is not None and cors.is_preflight(req):
            response = HttpResponse(204, [*cors.preflight_headers(req), ("apigw-requestid", request_id)], b"")
        else:
            match = routes.match(rest or "/", req.method)
            if match is None:
                raise GatewayError("MISSING_AUTHENTICATION_TOKEN")  # HTTP APIs: 404 Not Found
            path = "/" + rest.lstrip("/")
            named = stage.stage_name != DEFAULT_STAGE
            inv = Invocation(req, stage, match.target, match.path_params, path,
                             f"/{stage.stage_name}{rest}" if named else path, request_id, request_id)
            answer = _start(inv)
            if type(answer) is not HttpResponse:
                return _finish(answer, inv, _http_headers)  # type: ignore[arg-type]
            response = _http_headers(answer, inv)
        error = None
    except Exception as exc:
        response, error = _failure(exc, req, stage, inv, request_id)
    finished_request(stage, req, response, inv, error)
    return response


def _rest_headers(response: HttpResponse, inv: Invocation) -> HttpResponse:
    """What every successful REST answer carries: a Content-Type, and the request's two ids."""
    headers = response.headers
    ensure_content_type(headers, "application/json")
    headers.append(("x-amzn-RequestId", inv.request_id))
    headers.append(("x-amz-apigw-id", inv.extended_request_id))
    return response


def _http_headers(response: HttpResponse, inv: Invocation) -> HttpResponse:
    """What every successful HTTP API answer carries: `apigw-requestid`."""
    response.headers.append(("apigw-requestid", inv.request_id))
    return response


async def _finish(pending: Awaitable[HttpResponse] | None, inv: Invocation,
                  headers: Callable[[HttpResponse, Invocation], HttpResponse]) -> HttpResponse:
    """A request whose method or route had to wait, from where `_start` left it (its `pending`); `headers` adds
    what the API's kind puts on a successful answer."""
    try:
        if pending is None:  # the usual wait, the integration's, awaited here: one coroutine less
            started = _integration_starts(inv)
            response = _integrated(inv, await inv.plan.integration(inv), started)
        else:
            response = await pending
        response = headers(response, inv)
        error = None
    except Exception as exc:
        response, error = _failure(exc, inv.request, inv.stage, inv, inv.request_id)
    finished_request(inv.stage, inv.request, response, inv, error)
    return response


def _failure(exc: Exception, req: HttpRequest, stage: StageRuntime | None, inv: Invocation | None,
             request_id: str) -> tuple[HttpResponse, str]:
    """A failed request's answer and its gateway response type."""
    if isinstance(exc, GatewayError):
        if inv is not None:
            exc.extended_id = inv.extended_request_id  # one id per request, in $context and the response
        return _failed(exc, req, stage, request_id), exc.response_type
    return _crashed(exc, req, stage, request_id), "API_CONFIGURATION_ERROR"


def _start(inv: Invocation) -> Answer | None:
    """A routed request on its method or route: the checks in order, the integration, the response filter — run
    as far as they go without waiting. The response when nothing waited; None when only the integration must
    wait (the caller awaits it, between `_integration_starts` and `_integrated`); else an awaitable of the
    response."""
    plan = inv.plan
    if inv.request.stream is not None and not plan.streams:
        return _run(inv)
    spans = inv.spans
    if spans is not None:
        return _start_traced(inv, spans)
    guards = plan.guards
    for i, guard in enumerate(guards):
        pending = guard(inv)
        if pending is not None:
            return _run(inv, pending, i + 1)
    now = getattr(plan.integration, "now", None)
    if now is None:
        return None
    response = now(inv)
    inv.integration_latency_ms = 0  # answered at once, nothing waited for: not timed (two clock reads saved)
    return _integrated(inv, response, -1)


async def _run(inv: Invocation, pending: Awaitable[None] | None = None, next_guard: int = 0) -> HttpResponse:
    """`_start` for a request that waits: from the check that is `pending` (its index + 1 is `next_guard`), or
    from the start when none is; a long body the method needs whole is read first."""
    if pending is None:
        if inv.request.stream is not None and not inv.plan.streams:
            await inv.request.read_body()
        if inv.spans is not None:  # a sampled trace times its steps
            answer = _start_traced(inv, inv.spans)
            return answer if type(answer) is HttpResponse else await answer  # type: ignore[misc]
    else:
        await pending
    for guard in inv.plan.guards[next_guard:]:
        waiting = guard(inv)
        if waiting is not None:
            await waiting
    started = _integration_starts(inv)
    return _integrated(inv, await inv.plan.integration(inv), started)


def _integration_starts(inv: Invocation) -> int:
    """When the integration starts, for its latency: only an observed stage pays for timing it (-1: untimed)."""
    stage = inv.stage
    return stage.wall_ms() if stage.observers else -1


def _integrated(inv: Invocation, response: HttpResponse, started: int) -> HttpResponse:
    """The integration's answer: its latency noted when timed, the method's response filter applied."""
    if started >= 0:
        inv.integration_latency_ms = inv.stage.wall_ms() - started
    respond = inv.plan.respond
    if respond is not None:
        respond(inv, response)
    return response


def _start_traced(inv: Invocation, spans: list[Span]) -> Answer:
    """`_start` for a sampled trace: the checks and the integration each recorded as a span. What answers without
    waiting (a MOCK) stays synchronous, as it is unsampled: no task for the front-end to run."""
    plan = inv.plan
    guards = plan.guards
    if guards:
        started = time_ns()
        try:
            for i, guard in enumerate(guards):
                pending = guard(inv)
                if pending is not None:
                    return _traced(inv, spans, started, pending, i + 1)
        except BaseException:
            spans.append((AUTHORIZER, "Checks", started, time_ns(), False))
            raise
        spans.append((AUTHORIZER, "Checks", started, time_ns(), True))
    now = getattr(plan.integration, "now", None)
    if now is None:
        return _traced(inv, spans)
    ok = False
    started = time_ns()
    try:
        response = now(inv)
        ok = response.status < 500
    finally:
        _integration_span(inv, spans, started, ok)
    return _integrated(inv, response, -1)


async def _traced(inv: Invocation, spans: list[Span], checks_started: int = 0,
                  pending: Awaitable[None] | None = None, next_guard: int = 0) -> HttpResponse:
    """`_start_traced` for what waits: the rest of the checks from the one `pending` (index + 1 = `next_guard`)
    and their span, when a check waited; then the integration and its span."""
    plan = inv.plan
    if pending is not None:
        ok = False
        try:
            await pending
            for guard in plan.guards[next_guard:]:
                waiting = guard(inv)
                if waiting is not None:
                    await waiting
            ok = True
        finally:
            spans.append((AUTHORIZER, "Checks", checks_started, time_ns(), ok))
    ok = False
    started = time_ns()
    try:
        response = await plan.integration(inv)
        ok = response.status < 500
    finally:
        _integration_span(inv, spans, started, ok)
    return _integrated(inv, response, -1)


def _integration_span(inv: Invocation, spans: list[Span], started: int, ok: bool) -> None:
    """A sampled trace's integration, from `started` to now: its span, and the integration latency it gives."""
    ended = time_ns()
    inv.integration_latency_ms = (ended - started) // 1_000_000
    spans.append((INTEGRATION, "Integration", started, ended, ok))


def _failed(err: GatewayError, req: HttpRequest, stage: StageRuntime | None, request_id: str) -> HttpResponse:
    if (err.status is not None and err.status >= 500) or err.response_type.endswith("ERROR"):
        log("ERROR", err.log or err.response_type, requestId=request_id, api=stage.api_id if stage else None,
            path=req.path)
    return _render(err, req, stage, request_id)


def _crashed(exc: Exception, req: HttpRequest, stage: StageRuntime | None, request_id: str) -> HttpResponse:
    log("ERROR", "unexpected failure", requestId=request_id, path=req.path,
        error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    return _render(GatewayError("API_CONFIGURATION_ERROR"), req, stage, request_id)


def _render(err: GatewayError, req: HttpRequest, stage: StageRuntime | None, request_id: str) -> HttpResponse:
    """The error as the stage's API kind answers it; before any stage is known, as the error's API kind says
    (an HTTP API without the stage a path asks for), else as REST does."""
    if stage is not None:
        return stage.errors.render(err, req, stage, request_id)
    if isinstance(err, NotFound):
        return err.renderer.render(err, req, None, request_ids.extended_request_id())
    return DEFAULT_RENDERER.render(err, req, stage, request_id)


def _request_id(req: HttpRequest) -> str:
    """The client's `x-amzn-RequestId` when it is a UUID (AWS reuses it), else a new one."""
    client_id = req.header("x-amzn-requestid")
    return client_id if client_id and request_ids.is_uuid(client_id) else request_ids.request_id()

"""One handler per listener in front of the gateway: a request that names an API (execute-api host,
path-style invoke URL, custom domain) goes to the gateway; any other goes to the first service on the
port that claims it (the control plane, Lambda's Invoke API, `/@connections/{id}`) once the admin policy lets
the caller in, else 404. On the admin port there is no gateway, only the services. A WebSocket API's
`/{stage}/@connections/{id}` is a management call, behind the same policy (SigV4 name `execute-api`).
Liveness and readiness (front/health.py) answer on every listener, with no policy: probes sign nothing.

`answer` is a plain method returning the response itself when it is ready at once (a MOCK method, an error),
else the chosen coroutine: a request to an API pays no extra frame, and one that never waits no task."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Protocol

from apiway.core import request_ids
from apiway.core.http import HttpRequest, HttpResponse, aws_error
from apiway.core.invocation import Answer
from apiway.core.websocket import Upgraded
from apiway.front.admin import AdminDenied, AdminPolicy
from apiway.front.health import Health
from apiway.runtime.connections import ConnectionsService
from apiway.runtime.gateway import Gateway
from apiway.runtime.invoke_url import locate


class Service(Protocol):
    """Another service on the gateway's port."""

    signing_name: str  # the service name SigV4 signatures for it carry (`apigateway`, `lambda`)

    def matches(self, req: HttpRequest) -> bool: ...

    async def handle(self, req: HttpRequest) -> HttpResponse: ...


class Dispatcher:
    __slots__ = ("connections", "gateway", "health", "policy", "services")

    def __init__(self, gateway: Gateway | None, services: Sequence[Service], policy: AdminPolicy,
                 connections: ConnectionsService | None = None, health: Health | None = None) -> None:
        self.gateway = gateway
        self.services = list(services)
        self.policy = policy
        self.connections = connections  # answers WebSocket APIs' @connections calls
        self.health = health

    def handle(self, req: HttpRequest) -> Awaitable[HttpResponse]:
        answer = self.answer(req)
        return _answer(answer) if type(answer) is HttpResponse else answer  # type: ignore[return-value]

    def answer(self, req: HttpRequest) -> Answer:
        """The response when it is ready at once (an API's MOCK method, an error), else an awaitable of it."""
        if req.stream is not None:
            return self._streamed(req)
        gateway = self.gateway
        if gateway is not None:
            located = locate(req, gateway.domains)
            if located is not None:
                if self.connections is not None and "connections/" in req.path:  # cheap test first
                    target = gateway.connections_target(req, located)
                    if target is not None:
                        return self._manage(req, *target)
                return gateway.answer(req, located)
        health = self.health
        if health is not None and health.matches(req):
            return health.handle(req)
        for service in self.services:
            if service.matches(req):
                try:
                    self.policy.check(req, service.signing_name)
                except AdminDenied as denied:
                    return denied.response()
                return service.handle(req)
        if gateway is not None:
            return gateway.not_an_api(req)
        return aws_error(404, "NotFoundException", f"No service on this port answers {req.method} {req.path}",
                         request_ids.request_id())

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        if self.gateway is not None:
            return self.gateway.reject(req, response_type)
        return aws_error(413, "BadRequestException", "Request body is too large", request_ids.request_id())

    async def upgrade(self, req: HttpRequest) -> HttpResponse | Upgraded:
        """A request to switch protocols: a WebSocket API's stage may accept it; anything else answers it as
        plain HTTP (AWS: REST and HTTP APIs do) and the connection then ends."""
        gateway = self.gateway
        if gateway is not None:
            located = locate(req, gateway.domains)
            if located is not None:
                return await gateway.upgrade(req, located)
        return await self.handle(req)

    async def _streamed(self, req: HttpRequest) -> HttpResponse:
        """A request whose long body is still arriving: an API's method decides whether it takes the body as it
        comes (HTTP_PROXY); everything else (the services, @connections) gets it whole."""
        gateway = self.gateway
        located = locate(req, gateway.domains) if gateway is not None else None
        if gateway is None or located is None or "connections/" in req.path:
            await req.read_body()
            return await self.handle(req)
        return await gateway.handle(req, located)

    def _manage(self, req: HttpRequest, api_id: str, stage_name: str, connection_id: str) -> Answer:
        assert self.connections is not None
        try:
            self.policy.check(req, self.connections.signing_name)
        except AdminDenied as denied:
            return denied.response()
        return self.connections.handle_scoped(req, api_id, stage_name, connection_id)


async def _answer(response: HttpResponse) -> HttpResponse:
    return response


"""One handler per listener in front of the gateway: a request that names an API (execute-api host,
path-style invoke URL, custom domain) goes to the gateway; any other goes to the first service on the
port that claims it (the control plane, Lambda's Invoke API, later `@connections` and metrics) once the
admin policy lets the caller in, else 404. On the admin port there is no gateway, only the services.

`handle` is a plain method returning the chosen coroutine, so a request to an API pays no extra frame."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Protocol

from apiway.core import request_ids
from apiway.core.http import HttpRequest, HttpResponse, aws_error
from apiway.core.websocket import Upgraded
from apiway.front.admin import AdminDenied, AdminPolicy
from apiway.runtime.gateway import Gateway
from apiway.runtime.invoke_url import locate


class Service(Protocol):
    """Another service on the gateway's port."""

    signing_name: str  # the service name SigV4 signatures for it carry (`apigateway`, `lambda`)

    def matches(self, req: HttpRequest) -> bool: ...

    async def handle(self, req: HttpRequest) -> HttpResponse: ...


class Dispatcher:
    __slots__ = ("gateway", "policy", "services")

    def __init__(self, gateway: Gateway | None, services: Sequence[Service], policy: AdminPolicy) -> None:
        self.gateway = gateway
        self.services = list(services)
        self.policy = policy

    def handle(self, req: HttpRequest) -> Awaitable[HttpResponse]:
        gateway = self.gateway
        if gateway is not None:
            located = locate(req, gateway.domains)
            if located is not None:
                return gateway.handle(req, located)
        for service in self.services:
            if service.matches(req):
                try:
                    self.policy.check(req, service.signing_name)
                except AdminDenied as denied:
                    return _answer(denied.response())
                return service.handle(req)
        if gateway is not None:
            return _answer(gateway.not_an_api(req))
        return _answer(aws_error(404, "NotFoundException", f"No service on this port answers {req.method} {req.path}",
                                 request_ids.request_id()))

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        if self.gateway is not None:
            return self.gateway.reject(req, response_type)
        return aws_error(413, "BadRequestException", "Request body is too large", request_ids.request_id())

    async def upgrade(self, req: HttpRequest) -> HttpResponse | Upgraded:
        """A request to switch protocols. No API kind served yet accepts one, so it is answered like any other
        request (AWS: a REST API answers an upgrade request as plain HTTP) and the connection then ends."""
        return await self.handle(req)


async def _answer(response: HttpResponse) -> HttpResponse:
    return response


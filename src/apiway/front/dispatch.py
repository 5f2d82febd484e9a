"""One handler in front of the gateway: a request that names an API (execute-api host, path-style
invoke URL, custom domain) goes to the gateway; any other goes to the first service on the port that
claims it (the control plane, Lambda's Invoke API, later `@connections` and metrics), else 404.

`handle` is a plain method returning the chosen coroutine, so a request to an API pays no extra frame."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Protocol

from apiway.core.http import HttpRequest, HttpResponse
from apiway.runtime.gateway import Gateway


class Service(Protocol):
    """Another service on the gateway's port."""

    def matches(self, req: HttpRequest) -> bool: ...

    async def handle(self, req: HttpRequest) -> HttpResponse: ...


class Dispatcher:
    __slots__ = ("gateway", "services")

    def __init__(self, gateway: Gateway, services: Sequence[Service] = ()) -> None:
        self.gateway = gateway
        self.services = list(services)

    def handle(self, req: HttpRequest) -> Awaitable[HttpResponse]:
        located = self.gateway.locate(req)
        if located is not None:
            return self.gateway.handle(req, located)
        for service in self.services:
            if service.matches(req):
                return service.handle(req)
        return _answer(self.gateway.not_an_api(req))

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        return self.gateway.reject(req, response_type)

    async def upgrade(self, req: HttpRequest) -> HttpResponse:
        """A request to switch protocols. No API kind served yet accepts one, so it is answered like any other
        request (AWS: a REST API answers an upgrade request as plain HTTP) and the connection then ends."""
        return await self.handle(req)


async def _answer(response: HttpResponse) -> HttpResponse:
    return response

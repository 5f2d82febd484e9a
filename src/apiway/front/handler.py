"""The seam between HTTP servers and what they serve: a front-end turns bytes into an HttpRequest and
hands it to a Handler (the service dispatcher in front of the gateway, or the admin endpoint)."""

from __future__ import annotations

from typing import Protocol

from apiway.core.http import HttpRequest, HttpResponse


class Handler(Protocol):
    async def handle(self, req: HttpRequest) -> HttpResponse: ...

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        """The answer to a request refused before it could be handled (e.g. its body is too large)."""
        ...

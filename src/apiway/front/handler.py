"""The seam between HTTP servers and what they serve: a front-end turns bytes into an HttpRequest and
hands it to a Handler (the dispatcher in front of the gateway, or the admin endpoint)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.websocket import Upgraded


class Handler(Protocol):
    """A handler may also have `answer(req)`: `handle` for a front-end that writes a ready response at once, the
    response itself when nothing had to wait, else an awaitable of it (the dispatcher has one)."""

    def handle(self, req: HttpRequest) -> Awaitable[HttpResponse]: ...

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        """The answer to a request refused before it could be handled (e.g. its body is too large)."""
        ...

    async def upgrade(self, req: HttpRequest) -> HttpResponse | Upgraded:
        """A request to switch protocols (`Upgrade: websocket`; a WebSocket scope under ASGI): an HttpResponse
        refuses it (the front-end sends it and the connection ends); `Upgraded` accepts it (core/websocket.py)."""
        ...

"""What one WebSocket event runs on: the live connection it belongs to and the Invocation of its route.

A WebSocket API runs every event — the connect, each message, the disconnect — as an Invocation of a
route's plan, so the guards, integrations and templates of the other kinds serve it. The Invocation's
`request` is the upgrade request for CONNECT and DISCONNECT, and for a MESSAGE a request whose body is the
message (no headers, as AWS gives none); the connection carries what stays the same for its lifetime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apiway.core.http import HttpRequest
from apiway.core.invocation import Invocation, MethodPlan, StageRuntime, clf_time
from apiway.core.websocket import IDLE_TIMEOUT, MAX_DURATION

CONNECT = "CONNECT"
MESSAGE = "MESSAGE"
DISCONNECT = "DISCONNECT"


class Connection:
    """One WebSocket connection from the handshake on, as the session keeps it."""

    __slots__ = ("api_key", "authorizer", "connected_at", "connection_id", "domain_name", "identity",
                 "last_active_ms", "request", "source_ip", "user_agent")

    def __init__(self, connection_id: str, request: HttpRequest, connected_at: int, domain_name: str) -> None:
        self.connection_id = connection_id
        self.request = request  # the upgrade request: its headers and query string reach $connect and $disconnect
        self.connected_at = connected_at  # epoch ms
        self.last_active_ms = connected_at
        self.domain_name = domain_name  # `requestContext.domainName`: the Host the client connected to
        self.source_ip = request.client_ip
        self.user_agent = request.header("user-agent")
        # Set by the $connect route's checks and kept for every later event: `requestContext.authorizer`
        # (principalId, context), the identity fields they fill in, the API key the selection expression chose.
        self.authorizer: dict[str, Any] | None = None
        self.identity: dict[str, Any] | None = None
        self.api_key: str | None = None


class WsInvocation(Invocation):
    """One event of a connection on its route."""

    __slots__ = ("binary", "connection", "disconnect_code", "disconnect_reason", "event_type", "message_id",
                 "route_key")

    def __init__(self, request: HttpRequest, stage: StageRuntime, plan: MethodPlan, connection: Connection,
                 event_type: str, route_key: str, request_id: str, message_id: str | None = None,
                 binary: bool = False) -> None:
        # `requestId` == `extendedRequestId` for WebSocket APIs (spec §3.5).
        super().__init__(request, stage, plan, {}, "", f"/{stage.stage_name}", request_id, request_id)
        self.connection = connection
        self.event_type = event_type
        self.route_key = route_key
        self.message_id = message_id
        self.binary = binary  # a MESSAGE from a binary frame
        self.disconnect_code: int | None = None
        self.disconnect_reason = ""
        self.authorizer = connection.authorizer
        self.identity = connection.identity

    def context(self) -> dict[str, Any]:
        """`$context` of a WebSocket event (spec §11.2): what mapping templates and access logs read."""
        conn = self.connection
        stage = self.stage
        context: dict[str, Any] = {
            "apiId": stage.api_id,
            "accountId": stage.account_id,
            "connectedAt": conn.connected_at,
            "connectionId": conn.connection_id,
            "domainName": conn.domain_name,
            "eventType": self.event_type,
            "extendedRequestId": self.request_id,
            "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent, **(self.identity or {})},
            "messageDirection": "IN",
            "requestId": self.request_id,
            "requestTime": clf_time(self.epoch_ms // 1000),
            "requestTimeEpoch": self.epoch_ms,
            "routeKey": self.route_key,
            "stage": stage.stage_name,
        }
        if self.message_id is not None:
            context["messageId"] = self.message_id
        if self.disconnect_code is not None:
            context["disconnectStatusCode"] = self.disconnect_code
            context["disconnectReason"] = self.disconnect_reason
        if self.authorizer is not None:
            context["authorizer"] = self.authorizer
        return context


@dataclass(slots=True)
class WsRoute:
    """A route of a WebSocket stage, compiled: its plan (the checks, the integration) and whether the
    integration's answer goes back to the client (a two-way route: `routeResponseSelectionExpression`
    `$default` with a `$default` route response)."""

    route_key: str
    plan: MethodPlan
    two_way: bool = False


@dataclass(slots=True)
class WsStageRuntime(StageRuntime):
    """A WebSocket API's stage, compiled (kind "WEBSOCKET"); its `router` is empty: messages select a route
    by the API's route selection expression instead (`select`)."""

    routes: dict[str, WsRoute] = field(default_factory=dict)  # by route key, the special ones included
    # The route key a message selects (the expression evaluated on the JSON body; "$default" when the message
    # is not JSON, binary, or names no route); compiled from `routeSelectionExpression`.
    select: Callable[[bytes, bool], str] = lambda data, text: "$default"
    idle_timeout: float = IDLE_TIMEOUT  # lifetimes of its connections (settable per server for tests)
    max_duration: float = MAX_DURATION

"""The WebSocket connections of this node and the `@connections` management API (spec §11.3).

`Connections` keeps each live connection's session here (the only place a message to it can be written) and
registers the connection in the shared state, the registry a multi-node backend shares. Delivery never
blocks: `WsSocket.send` queues the message in the connection's bounded outbox and returns at once, so a
broadcast is a loop over sends.

The management API answers in AWS's REST-JSON shape (`{"message": …}` with `x-amzn-ErrorType`): PostToConnection,
GetConnection and DeleteConnection, on an API's stage (`/{stage}/@connections/{id}`) or at the root of the port
(`/@connections/{id}`: ids are unique on the node), where a function's `apigatewaymanagementapi` client finds it
without an endpoint_url.

With several nodes (`--redis`) the registry is shared (state/redis_connections.py): a call for a connection
another node holds is forwarded to that node, which answers it as its own, so every node answers for every
connection; and the connections of a node that is lost have their $disconnect run by a survivor, from the
record registered with them (the upgrade request, what $connect's authorizer returned)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

import orjson

from apiway.core import request_ids
from apiway.core.http import HttpRequest, HttpResponse, aws_error
from apiway.core.invocation import StageRuntime
from apiway.core.websocket import ABNORMAL, MAX_MESSAGE, NORMAL, WsSocket
from apiway.core.ws_invocation import Connection, WsStageRuntime
from apiway.observe.log import log
from apiway.runtime.ws_run import run_disconnect
from apiway.state.base import SharedState

if TYPE_CHECKING:  # the Redis client loads only when several nodes share the registry
    from apiway.state.redis_connections import Lost

METHODS = ("POST", "GET", "DELETE")  # PostToConnection, GetConnection, DeleteConnection
_PREFIXES = ("/@connections/", "/%40connections/")  # clients may percent-encode the `@`
DRAIN_SECONDS = 5.0  # how long closing the app waits for $disconnect runs still going


class NodeLink(Protocol):
    """The registry several nodes share (state/redis_connections.py `RedisConnections`)."""

    def start(self, handler: Connections) -> None: ...

    async def close(self) -> None: ...

    def register(self, connection_id: str, stage: str, record: bytes) -> None: ...

    def unregister(self, connection_id: str, stage: str) -> None: ...

    async def request(self, connection_id: str, message: bytes) -> bytes | None: ...


class Live(Protocol):
    """A connection open on this node, as its session keeps it."""

    api_id: str
    stage_name: str
    connection: Connection
    socket: WsSocket | None  # set once the 101 is written


def connection_id(method: str, path: str) -> str | None:
    """The connection id of a management call's path (`/@connections/{id}`, URL-decoded), or None when the
    path or method is not one."""
    if method not in METHODS:
        return None
    for prefix in _PREFIXES:
        if path.startswith(prefix):
            found = unquote(path[len(prefix):])
            return found if found and "/" not in found else None
    return None


class Connections:
    """The node's live connections, their registry in the shared state, and the management operations."""

    def __init__(self, state: SharedState, link: NodeLink | None = None) -> None:
        self.state = state
        self.link = link  # the registry of several nodes; None: this node's alone, in `state`
        # The stage a WebSocket API serves now (the gateway's lookup): where a lost node's $disconnect runs.
        self.stage_of: Callable[[str, str], StageRuntime | None] = lambda api_id, stage_name: None
        self._live: dict[str, Live] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # $disconnect runs still going

    def __len__(self) -> int:
        return len(self._live)

    def register(self, live: Live) -> None:
        conn = live.connection
        self._live[conn.connection_id] = live
        stage = f"{live.api_id}/{live.stage_name}"
        if self.link is None:
            self.state.connection_put(conn.connection_id, stage, _record(live))
        else:
            self.link.register(conn.connection_id, stage, _record(live))

    def unregister(self, connection_id: str) -> None:
        live = self._live.pop(connection_id, None)
        if self.link is None:
            self.state.connection_delete(connection_id)
        elif live is not None:
            self.link.unregister(connection_id, f"{live.api_id}/{live.stage_name}")

    def live(self, connection_id: str) -> Live | None:
        return self._live.get(connection_id)

    def stage_connections(self, api_id: str, stage_name: str) -> list[str]:
        """The ids of a stage's connections, oldest first, as this node's registry in `state` has them (with a
        shared registry, its `connections(stage)` lists every node's)."""
        return self.state.connections(f"{api_id}/{stage_name}")

    # -- the registry of several nodes ------------------------------------------------------------------------

    async def on_request(self, message: bytes) -> bytes:
        """A management call another node forwarded for a connection of this node: answered as if made here."""
        head, _, body = message.partition(b"\n")
        method, found, scope = orjson.loads(head)
        response = self._local(method, found, body, tuple(scope) if scope else None)
        return orjson.dumps([response.status, response.headers]) + b"\n" + response.body

    def on_lost(self, lost: list[Lost]) -> None:
        """Run $disconnect (1006: the connection ended without a closing handshake) for connections of a lost
        node, on the stage their API serves here now."""
        for found, _, record in lost:
            fields = orjson.loads(record)
            stage = self.stage_of(fields["apiId"], fields["stage"])
            if not isinstance(stage, WsStageRuntime):
                log("WARN", "$disconnect of a lost node's connection not run: its stage is not served here",
                    connectionId=found, apiId=fields["apiId"], stage=fields["stage"])
                continue
            self.track(run_disconnect(stage, _connection(found, fields), ABNORMAL, ""))

    def live_records(self) -> list[tuple[str, str, bytes]]:
        return [(found, f"{live.api_id}/{live.stage_name}", _record(live)) for found, live in self._live.items()]

    def start(self) -> None:
        """Join the other nodes (on the serving loop): answer their calls, beat, sweep lost nodes."""
        if self.link is not None:
            self.link.start(self)

    async def close(self) -> None:
        """Leave the other nodes, once this node's connections are closed and their $disconnect has run."""
        if self.link is not None:
            await self.link.close()

    # -- tasks that outlive their connection ---------------------------------------------------------------

    def track(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` (a $disconnect) as a task that closing the app waits for."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """Wait (at most `timeout` seconds) for the $disconnect runs still going."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            if pending:
                log("WARN", "$disconnect runs still going at shutdown", count=len(pending))

    # -- the management operations -------------------------------------------------------------------------

    def handle(self, req: HttpRequest, connection_id: str,
               scope: tuple[str, str] | None = None) -> Awaitable[HttpResponse]:
        """One management call on a connection; `scope` (api id, stage) when it came through an API's stage:
        a connection of another API or stage is gone there. A connection this node does not hold is asked of
        the node that does, when there are several."""
        if self.link is None or connection_id in self._live:
            return _answer(self._local(req.method, connection_id, req.body, scope))
        if req.method == "POST" and len(req.body) > MAX_MESSAGE:
            return _answer(_error(413, "PayloadTooLargeException", "Message too long"))
        return self._forward(self.link, req, connection_id, scope)

    def _local(self, method: str, connection_id: str, body: bytes, scope: tuple[str, str] | None) -> HttpResponse:
        live = self._live.get(connection_id)
        if live is not None and scope is not None and (live.api_id, live.stage_name) != scope:
            live = None
        if method == "POST":
            return self.post(connection_id, body, live)
        if method == "GET":
            return self.get(connection_id, live)
        return self.delete(live)

    async def _forward(self, link: NodeLink, req: HttpRequest, connection_id: str,
                       scope: tuple[str, str] | None) -> HttpResponse:
        answer = await link.request(connection_id, orjson.dumps([req.method, connection_id, scope]) + b"\n" + req.body)
        if answer is None:
            return _gone()
        head, _, body = answer.partition(b"\n")
        status, headers = orjson.loads(head)
        return HttpResponse(status, [(name, value) for name, value in headers], body)

    def post(self, connection_id: str, data: bytes, live: Live | None) -> HttpResponse:
        """PostToConnection: one message, a text frame when `data` is UTF-8, else a binary one."""
        if len(data) > MAX_MESSAGE:
            return _error(413, "PayloadTooLargeException", "Message too long")
        socket = live.socket if live is not None else None
        if socket is None or not socket.send(data, is_text(data)):
            return _gone()  # unknown, still in $connect, closing, or its outbox overflowed (then closed: 1008)
        return HttpResponse(200, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_ids.request_id())],
                            b"")

    def get(self, connection_id: str, live: Live | None) -> HttpResponse:
        """GetConnection: when it connected, who from, and when a frame last went either way."""
        if live is None or live.socket is None:
            return _gone()
        conn = live.connection
        last_active_ms = max(int(live.socket.last_active * 1000), conn.last_active_ms)
        body = {"connectedAt": _iso(conn.connected_at),
                "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
                "lastActiveAt": _iso(last_active_ms)}
        return HttpResponse(200, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_ids.request_id())],
                            orjson.dumps(body))

    def delete(self, live: Live | None) -> HttpResponse:
        """DeleteConnection: close it (1000); the session then runs $disconnect."""
        if live is None or live.socket is None:
            return _gone()
        live.socket.close(NORMAL)
        return HttpResponse(204, [("x-amzn-RequestId", request_ids.request_id())], b"")


class ConnectionsService:
    """The management API at the root of the port, `/@connections/{id}`, for any connection on the node: a
    service beside the control plane, behind the same admin policy (SigV4 name `execute-api`)."""

    signing_name = "execute-api"

    def __init__(self, connections: Connections) -> None:
        self.connections = connections

    def matches(self, req: HttpRequest) -> bool:
        return connection_id(req.method, req.path) is not None

    def handle(self, req: HttpRequest) -> Awaitable[HttpResponse]:
        found = connection_id(req.method, req.path)
        assert found is not None, "dispatched here by matches"
        return self.connections.handle(req, found)

    def handle_scoped(self, req: HttpRequest, api_id: str, stage_name: str, found: str) -> Awaitable[HttpResponse]:
        """A management call through an API's stage."""
        return self.connections.handle(req, found, (api_id, stage_name))


def is_text(data: bytes) -> bool:
    """Whether a message goes out as a text frame: its bytes are UTF-8 (else a binary frame)."""
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _record(live: Live) -> bytes:
    """What the registry keeps of a connection: enough for another node to run its $disconnect."""
    conn = live.connection
    req = conn.request
    return orjson.dumps({
        "apiId": live.api_id, "stage": live.stage_name, "connectedAt": conn.connected_at,
        "sourceIp": conn.source_ip, "userAgent": conn.user_agent, "domainName": conn.domain_name,
        "lastActiveMs": conn.last_active_ms, "authorizer": conn.authorizer, "identity": conn.identity,
        "apiKey": conn.api_key,
        "request": [req.method, req.path, req.query, req.headers, req.client_ip, req.scheme, req.server_port,
                    req.http_version]}, default=str)


def _connection(connection_id: str, fields: dict[str, Any]) -> Connection:
    """A connection as its registry record describes it."""
    method, path, query, headers, client_ip, scheme, port, version = fields["request"]
    request = HttpRequest(method, path, query, [(name, value) for name, value in headers], b"", client_ip, scheme,
                          port, version)
    conn = Connection(connection_id, request, fields["connectedAt"], fields["domainName"])
    conn.last_active_ms = fields["lastActiveMs"]
    conn.authorizer, conn.identity, conn.api_key = fields["authorizer"], fields["identity"], fields["apiKey"]
    return conn


async def _answer(response: HttpResponse) -> HttpResponse:
    return response


def _iso(epoch_ms: int) -> str:
    """ISO-8601 with milliseconds, as AWS writes `connectedAt`: `2024-01-20T11:54:57.419Z`."""
    return datetime.fromtimestamp(epoch_ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{epoch_ms % 1000:03d}Z"


def _gone() -> HttpResponse:
    return _error(410, "GoneException", "Connection is gone")  # UNCONFIRMED wording


def _error(status: int, code: str, message: str) -> HttpResponse:
    return aws_error(status, code, message, request_ids.request_id())

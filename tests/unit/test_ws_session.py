"""WebSocket sessions and the node's connections: a compiled WebSocket stage with real inline functions, the
gateway's upgrade path, and a test double of the front-end's socket (what the front-end does with frames is
tested with it). Registration, exactly-once $disconnect, messages on the stage served now, the bound on a
connection's messages in flight, and the @connections operations through the dispatcher."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.websocket import GOING_AWAY, NORMAL, Upgraded, WsSession
from apiway.front.admin import AdminPolicy
from apiway.front.dispatch import Dispatcher
from apiway.functions.base import FunctionSpec
from apiway.functions.runners import Functions
from apiway.integrations.upstream import UpstreamPool
from apiway.model.http import HttpApiDefinition
from apiway.runtime.connections import Connections, ConnectionsService, NodeLink
from apiway.runtime.deps import CompileDeps
from apiway.runtime.gateway import Gateway
from apiway.runtime.ws_compile import compile_ws_stage
from apiway.runtime.ws_session import MAX_IN_FLIGHT
from apiway.state.memory import MemoryState
from apiway.store import http_deployments

API_ID = "wssess0001"
HOST = f"{API_ID}.execute-api.localhost:8080"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"

HANDLERS = '''
import asyncio, json, os

LOG = os.path.join(os.path.dirname(__file__), "events.jsonl")
running = 0


def record(event, context):
    with open(LOG, "a") as f:
        f.write(json.dumps(event) + "\\n")
    if event.get("queryStringParameters", {}) and event["queryStringParameters"].get("refuse"):
        return {"statusCode": 403}
    return {"statusCode": 200, "body": "ok"}


async def slow(event, context):
    global running
    running += 1
    with open(LOG, "a") as f:
        f.write(json.dumps({"running": running}) + "\\n")
    await asyncio.sleep(0.02)
    running -= 1
    return {"statusCode": 200, "body": event["body"]}
'''


class FakeSocket:
    """The front-end's side of one connection: frames sent are kept; closing tells the session once, as the
    front-end does after the closing handshake."""

    def __init__(self, session: WsSession, outbox_room: int = 1 << 30) -> None:
        self.session = session
        self.sent: list[tuple[bytes, bool]] = []
        self.closed_with: int | None = None
        self.room = outbox_room
        self.last_active = time.time()

    def send(self, data: bytes, text: bool = True) -> bool:
        if self.closed_with is not None:
            return False
        if len(data) > self.room:
            self.close(1008)
            return False
        self.room -= len(data)
        self.sent.append((data, text))
        return True

    def close(self, code: int = NORMAL, reason: str = "") -> None:
        if self.closed_with is None:
            self.closed_with = code
            asyncio.get_running_loop().call_soon(self.session.closed, code, reason)


def ws_api(routes: dict[str, str], two_way: tuple[str, ...] = ()) -> HttpApiDefinition:
    """A WebSocket API whose route keys each run a function (AWS_PROXY); `two_way` routes answer the client."""
    definition: dict[str, Any] = {
        "api": {"apiId": API_ID, "name": "Chat", "protocolType": "WEBSOCKET",
                "routeSelectionExpression": "$request.body.action",
                "apiEndpoint": f"wss://{API_ID}.execute-api.us-east-1.amazonaws.com",
                "createdDate": "2026-01-01T00:00:00Z"},
        "routes": {}, "integrations": {}, "authorizers": {}, "integrationResponses": {}, "routeResponses": {},
        "models": {},
    }
    for n, (route_key, function) in enumerate(routes.items()):
        definition["integrations"][f"i{n}"] = {
            "integrationId": f"i{n}", "integrationType": "AWS_PROXY", "integrationUri": ARN.format(function),
            "payloadFormatVersion": "1.0", "timeoutInMillis": 29000}
        route = {"routeId": f"r{n}", "routeKey": route_key, "authorizationType": "NONE",
                 "target": f"integrations/i{n}"}
        if route_key in two_way:
            route["routeResponseSelectionExpression"] = "$default"
            definition["routeResponses"][f"r{n}"] = {
                f"rr{n}": {"routeResponseId": f"rr{n}", "routeResponseKey": "$default"}}
        definition["routes"][f"r{n}"] = route
    return definition  # type: ignore[return-value]


class Wired:
    """A gateway serving one WebSocket stage, its connections, and a dispatcher in front."""

    def __init__(self, tmp_path: Path, two_way: tuple[str, ...] = ("echo",), link: NodeLink | None = None) -> None:
        (tmp_path / "fns.py").write_text(HANDLERS)
        self.log = tmp_path / "events.jsonl"
        functions = Functions()
        functions.load(FunctionSpec("Record", "fns.py:record", tmp_path, mode="inline"))
        functions.load(FunctionSpec("Slow", "fns.py:slow", tmp_path, mode="inline"))
        self.state = MemoryState()
        self.connections = Connections(self.state, link)
        self.gateway = Gateway(self.connections)
        self.connections.stage_of = self.gateway.stage
        self.deps = CompileDeps(invoker=functions, pool=UpstreamPool(), strict=False, state=self.state)
        self.definition = ws_api({"$connect": "Record", "$disconnect": "Record", "$default": "Record",
                                  "echo": "Slow"}, two_way)
        self.deploy("prod")
        self.service = ConnectionsService(self.connections)
        self.dispatcher = Dispatcher(self.gateway, [self.service], AdminPolicy(open=True), self.service)

    def deploy(self, stage_name: str) -> None:
        _, snapshot = http_deployments.new_deployment(self.definition)
        stage = http_deployments.new_stage(API_ID, stage_name, deploymentId="d1")
        self.gateway.install_stage(compile_ws_stage(snapshot, stage, self.deps))

    def events(self, route_key: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        found = [orjson.loads(line) for line in self.log.read_text().splitlines()]
        return [e for e in found if route_key is None or e.get("requestContext", {}).get("routeKey") == route_key]

    async def connect(self, query: str = "", path: str = "/prod") -> tuple[WsSession, FakeSocket] | HttpResponse:
        req = HttpRequest("GET", path, query, [("Host", HOST), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                               ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                               ("Sec-WebSocket-Version", "13"), ("User-Agent", "tests")], b"",
                          client_ip="10.1.2.3")
        answer = await self.dispatcher.upgrade(req)
        if not isinstance(answer, Upgraded):
            return answer
        socket = FakeSocket(answer.session)
        answer.session.opened(socket)
        return answer.session, socket

    async def call(self, method: str, path: str, body: bytes = b"", host: str = HOST) -> HttpResponse:
        return await self.dispatcher.handle(HttpRequest(method, path, "", [("Host", host)], body))


async def _connected(wired: Wired, query: str = "") -> tuple[Any, FakeSocket]:
    found = await wired.connect(query)
    assert not isinstance(found, HttpResponse), found
    return found


async def _settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


def test_a_connection_is_registered_while_open_and_disconnects_exactly_once(tmp_path: Path):
    wired = Wired(tmp_path)

    async def scenario() -> None:
        session, socket = await _connected(wired, "room=1")
        conn_id = session.connection.connection_id
        assert len(conn_id) == 16 and conn_id.endswith("=")
        assert wired.connections.live(conn_id) is session
        record = orjson.loads(wired.state.connection_get(conn_id))
        assert record["apiId"] == API_ID and record["stage"] == "prod" and record["sourceIp"] == "10.1.2.3"
        assert wired.connections.stage_connections(API_ID, "prod") == [conn_id]
        connect = wired.events("$connect")[0]
        assert connect["queryStringParameters"] == {"room": "1"}
        assert connect["requestContext"]["domainName"] == HOST
        socket.close(1001)
        session.closed(1001, "")  # a second report changes nothing
        await _settle()
        session.closed(1000, "")
        await wired.connections.drain()
        assert wired.connections.live(conn_id) is None and wired.state.connection_get(conn_id) is None
        disconnects = wired.events("$disconnect")
        assert len(disconnects) == 1
        assert disconnects[0]["requestContext"]["disconnectStatusCode"] == 1001
        assert disconnects[0]["requestContext"]["connectionId"] == conn_id

    asyncio.run(scenario())


def test_connect_refused_by_its_route_is_the_handshake_answer(tmp_path: Path):
    wired = Wired(tmp_path)

    async def scenario() -> None:
        refused = await wired.connect("refuse=1")
        assert isinstance(refused, HttpResponse) and refused.status == 403
        unknown = await wired.connect(path="/nostage")
        assert isinstance(unknown, HttpResponse) and unknown.status == 403
        assert orjson.loads(unknown.body) == {"message": "Forbidden"}
        assert len(wired.connections) == 0

    asyncio.run(scenario())


def test_messages_run_on_the_stage_served_now_and_two_way_routes_answer(tmp_path: Path):
    wired = Wired(tmp_path)

    async def scenario() -> None:
        session, socket = await _connected(wired)
        session.received(b'{"action": "echo", "n": 1}', True)
        session.received(b"not json", True)
        await _settle(0.2)
        assert socket.sent == [(b'{"action": "echo", "n": 1}', True)]  # $default is one-way here
        assert wired.events("$default")[0]["body"] == "not json"
        wired.gateway.remove_stage(API_ID, "prod")  # the stage is gone: the next message closes with 1001
        session.received(b"again", True)
        await _settle()
        assert socket.closed_with == GOING_AWAY
        await wired.connections.drain()
        assert len(wired.events("$disconnect")) == 1  # run on the stage it last served

    asyncio.run(scenario())


def test_messages_of_one_connection_run_at_most_eight_at_once_in_order(tmp_path: Path):
    wired = Wired(tmp_path)

    async def scenario() -> None:
        session, socket = await _connected(wired)
        for n in range(30):
            session.received(orjson.dumps({"action": "echo", "n": n}), True)
        await _settle(0.6)
        peaks = [e["running"] for e in wired.events() if "running" in e]
        assert len(peaks) == 30 and max(peaks) == MAX_IN_FLIGHT
        assert len(socket.sent) == 30
        # The first eight start together; the rest start in arrival order as those finish.
        assert [orjson.loads(d)["n"] for d, _ in socket.sent][MAX_IN_FLIGHT:] == list(range(MAX_IN_FLIGHT, 30))

    asyncio.run(scenario())


def test_post_get_delete_and_gone(tmp_path: Path):
    wired = Wired(tmp_path)

    async def scenario() -> None:
        session, socket = await _connected(wired)
        conn_id = session.connection.connection_id
        encoded = conn_id.replace("=", "%3D")
        posted = await wired.call("POST", f"/prod/@connections/{encoded}", b'{"hello": "you"}')
        assert posted.status == 200
        binary = await wired.call("POST", f"/restapis/{API_ID}/prod/_user_request_/%40connections/{encoded}",
                                  b"\xff\x00", host="127.0.0.1:8080")
        assert binary.status == 200
        assert socket.sent == [(b'{"hello": "you"}', True), (b"\xff\x00", False)]
        too_big = await wired.call("POST", f"/prod/@connections/{encoded}", b"x" * (128 * 1024 + 1))
        assert too_big.status == 413 and dict(too_big.headers)["x-amzn-ErrorType"] == "PayloadTooLargeException"
        got = await wired.call("GET", f"/prod/@connections/{encoded}")
        body = orjson.loads(got.body)
        assert got.status == 200 and body["identity"] == {"sourceIp": "10.1.2.3", "userAgent": "tests"}
        assert body["connectedAt"].endswith("Z") and len(body["connectedAt"]) == 24
        root = await wired.call("GET", f"/@connections/{encoded}", host="127.0.0.1:8080")  # no API in the URL
        assert root.status == 200 and orjson.loads(root.body)["connectedAt"] == body["connectedAt"]
        other_stage = await wired.call("GET", f"/dev/@connections/{encoded}")
        assert other_stage.status == 403  # no such stage
        deleted = await wired.call("DELETE", f"/prod/@connections/{encoded}")
        assert deleted.status == 204 and socket.closed_with == NORMAL
        await wired.connections.drain()
        await _settle()
        await wired.connections.drain()
        for method in ("POST", "GET", "DELETE"):
            gone = await wired.call(method, f"/prod/@connections/{encoded}", b"late")
            assert gone.status == 410 and dict(gone.headers)["x-amzn-ErrorType"] == "GoneException"
            assert "message" in orjson.loads(gone.body)
        assert [e["requestContext"]["disconnectStatusCode"] for e in wired.events("$disconnect")] == [NORMAL]
        plain = await wired.call("GET", "/prod/anything")
        assert plain.status == 403 and orjson.loads(plain.body) == {"message": "Forbidden"}

    asyncio.run(scenario())


def test_a_post_that_overflows_the_outbox_closes_the_connection_and_is_gone(tmp_path: Path):
    wired = Wired(tmp_path)

    async def scenario() -> None:
        session, socket = await _connected(wired)
        socket.room = 10
        answer = await wired.call("POST", f"/@connections/{session.connection.connection_id}", b"x" * 11,
                                  host="127.0.0.1:8080")
        assert answer.status == 410 and socket.closed_with == 1008

    asyncio.run(scenario())


def test_broadcast_to_a_thousand_connections_never_waits(tmp_path: Path):
    wired = Wired(tmp_path)

    async def scenario() -> None:
        sockets = [(await _connected(wired))[1] for _ in range(1000)]
        ids = wired.connections.stage_connections(API_ID, "prod")
        assert len(ids) == 1000
        started = time.perf_counter()
        answers = [await wired.call("POST", f"/@connections/{conn_id}", b"news", host="127.0.0.1:8080")
                   for conn_id in ids]
        elapsed = time.perf_counter() - started
        assert all(a.status == 200 for a in answers)
        assert all(s.sent == [(b"news", True)] for s in sockets)
        assert elapsed < 2.0

    asyncio.run(scenario())


@pytest.mark.parametrize("path", ["/@connections/", "/@connections/a/b", "/prod/@connections/"])
def test_paths_that_name_no_connection_are_not_management_calls(tmp_path: Path, path: str):
    wired = Wired(tmp_path)
    answer = asyncio.run(wired.call("GET", path, host="127.0.0.1:8080" if path.startswith("/@") else HOST))
    assert answer.status in (403, 404)


def test_management_calls_follow_the_admin_policy_with_the_execute_api_signing_name(tmp_path: Path):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    wired = Wired(tmp_path)
    wired.dispatcher.policy = AdminPolicy(open=False, credentials={"AKIDADMIN": "admin-secret"})

    def signed(method: str, path: str, key: str, service: str) -> HttpRequest:
        aws = AWSRequest(method=method, url=f"http://{HOST}{path}", data=b"", headers={"Host": HOST})
        SigV4Auth(Credentials(key, "admin-secret"), service, "us-east-1").add_auth(aws)
        return HttpRequest(method, path, "", list(aws.headers.items()), b"")

    async def scenario() -> None:
        session, _ = await _connected(wired)
        path = f"/prod/@connections/{session.connection.connection_id.replace('=', '%3D')}"
        unsigned = await wired.call("GET", path)
        assert unsigned.status == 403 and dict(unsigned.headers)["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
        stranger = await wired.dispatcher.handle(signed("GET", path, "AKIDOTHER", "execute-api"))
        assert stranger.status == 403
        admin = await wired.dispatcher.handle(signed("GET", path, "AKIDADMIN", "execute-api"))
        assert admin.status == 200
        plain = await wired.call("GET", "/prod/other")  # the API itself stays open: its own 403
        assert orjson.loads(plain.body) == {"message": "Forbidden"}

    asyncio.run(scenario())


def test_a_custom_domain_mapping_reaches_the_stage_and_its_connections(tmp_path: Path):
    from apiway.runtime.domains import BasePathMapping, DomainRoutes, DomainTable

    wired = Wired(tmp_path)
    wired.gateway.install_domains(DomainTable([DomainRoutes("chat.example.com", [
        BasePathMapping("live", API_ID, "prod")])]))

    async def scenario() -> None:
        req = HttpRequest("GET", "/live", "", [("Host", "chat.example.com"), ("Upgrade", "websocket")], b"")
        answer = await wired.dispatcher.upgrade(req)
        assert isinstance(answer, Upgraded)
        socket = FakeSocket(answer.session)
        answer.session.opened(socket)
        conn_id = answer.session.connection.connection_id  # type: ignore[attr-defined]
        assert answer.session.connection.domain_name == "chat.example.com"  # type: ignore[attr-defined]
        posted = await wired.call("POST", f"/live/@connections/{conn_id}", b"hi", host="chat.example.com")
        assert posted.status == 200 and socket.sent == [(b"hi", True)]

    asyncio.run(scenario())

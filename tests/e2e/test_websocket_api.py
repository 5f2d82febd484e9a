"""WebSocket APIs over a real `apiway serve`, built with boto3's apigatewayv2 and used with the `websockets`
client: a chat whose function (in worker mode) answers every member through `@connections` with boto3's
`apigatewaymanagementapi`, $connect deciding the handshake (status, query string, headers, subprotocol), the
management API from outside, AWS's message limit, and $disconnect exactly once for each way a connection ends
(client close, TCP drop, idle timeout, maximum duration, DeleteConnection, server shutdown)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.http_apis import v2_client
from tests.support import Server

FUNCTIONS = '''
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))


def _log(name, entry):
    with open(os.path.join(HERE, name), "a") as f:
        f.write(json.dumps(entry) + "\\n")


def on_connect(event, context):
    _log("connects.jsonl", event)
    query = event.get("queryStringParameters") or {}
    if "deny" in query:
        return {"statusCode": int(query["deny"])}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    asked = headers.get("sec-websocket-protocol")
    return {"statusCode": 200,
            "headers": {"Sec-WebSocket-Protocol": asked.split(",")[0].strip()} if asked else {}}


def on_disconnect(event, context):
    ctx = event["requestContext"]
    _log("disconnects.jsonl", {"id": ctx["connectionId"], "code": ctx.get("disconnectStatusCode")})
    return {"statusCode": 200}


def on_message(event, context):
    """The chat: every member that joined and has not left gets the text, through @connections."""
    import boto3

    client = boto3.client("apigatewaymanagementapi")  # the endpoint comes from the environment
    body = json.loads(event["body"])
    gone = set()
    if os.path.exists(os.path.join(HERE, "disconnects.jsonl")):
        gone = {json.loads(line)["id"] for line in open(os.path.join(HERE, "disconnects.jsonl"))}
    members = [json.loads(line)["requestContext"]["connectionId"]
               for line in open(os.path.join(HERE, "connects.jsonl"))]
    sent = 0
    for member in members:
        if member in gone:
            continue
        try:
            client.post_to_connection(ConnectionId=member, Data=json.dumps({"text": body["text"]}).encode())
            sent += 1
        except client.exceptions.GoneException:
            pass
    return {"statusCode": 200, "body": str(sent)}
'''

PROJECT = """functions:
  Connect: {handler: fns.py:on_connect, mode: inline}
  Disconnect: {handler: fns.py:on_disconnect, mode: inline}
  Chat: {handler: fns.py:on_message, mode: worker, timeout: 10}
"""
ARN = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:{}/invocations"


def _start(root: Path, *extra: str) -> Server:
    (root / "fns.py").write_text(FUNCTIONS)
    (root / "apiway.yaml").write_text(PROJECT)
    return Server(root / "apiway.yaml", root / "state.db", extra_args=list(extra))


def _build(port: int) -> str:
    """A WebSocket API: $connect, $disconnect and `send` run the project's functions; deployed to `prod`."""
    v2 = v2_client(port)
    api_id = v2.create_api(Name="chat", ProtocolType="WEBSOCKET",
                           RouteSelectionExpression="$request.body.action")["ApiId"]
    for route_key, function in (("$connect", "Connect"), ("$disconnect", "Disconnect"), ("send", "Chat")):
        integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                            IntegrationUri=ARN.format(function))["IntegrationId"]
        v2.create_route(ApiId=api_id, RouteKey=route_key, Target=f"integrations/{integration}")
    v2.create_stage(ApiId=api_id, StageName="prod")
    v2.create_deployment(ApiId=api_id, StageName="prod")
    return api_id


class Chat:
    def __init__(self, server: Server, api_id: str) -> None:
        self.server = server
        self.api_id = api_id
        self.root = server.state.parent

    def url(self, query: str = "") -> str:
        return f"ws://{self.api_id}.execute-api.localhost:{self.server.port}/prod" + (f"?{query}" if query else "")

    def connect(self, query: str = "", **options: Any) -> Any:
        """A client connected by the API's host name (the TCP connection goes to 127.0.0.1)."""
        return connect(self.url(query), host="127.0.0.1", port=self.server.port, ping_interval=None,
                       open_timeout=10, **options)

    def disconnects(self) -> list[dict[str, Any]]:
        path = self.root / "disconnects.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def connects(self) -> list[dict[str, Any]]:
        path = self.root / "connects.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def connection_id(self, since: int) -> str:
        return self.connects()[since]["requestContext"]["connectionId"]

    def wait_disconnect(self, connection_id: str, timeout: float = 10) -> list[int]:
        """The $disconnect codes logged for the connection, once at least one is (and a moment for a second)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            codes = [d["code"] for d in self.disconnects() if d["id"] == connection_id]
            if codes:
                time.sleep(0.3)
                return [d["code"] for d in self.disconnects() if d["id"] == connection_id]
            time.sleep(0.05)
        return []

    def management(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client("apigatewaymanagementapi", region_name="us-east-1",
                            endpoint_url=f"http://127.0.0.1:{self.server.port}/restapis/{self.api_id}/prod/_user_request_",
                            aws_access_key_id="test", aws_secret_access_key="test",
                            config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    server = _start(tmp_path_factory.mktemp("ws-chat"))
    try:
        yield Chat(server, _build(server.port))
    finally:
        server.stop()


async def _receive(ws: ClientConnection, timeout: float = 10) -> Any:
    return await asyncio.wait_for(ws.recv(), timeout)


def test_a_chat_reaches_every_member_through_connections_and_a_member_leaves(chat: Chat):
    async def scenario() -> None:
        first = len(chat.connects())
        async with chat.connect() as a, chat.connect() as b, chat.connect() as c:
            ids = [chat.connection_id(first + n) for n in range(3)]
            await a.send(json.dumps({"action": "send", "text": "hello all"}))
            for ws in (a, b, c):
                assert json.loads(await _receive(ws)) == {"text": "hello all"}
            await c.close()
            assert chat.wait_disconnect(ids[2]) == [1000]
            await b.send(json.dumps({"action": "send", "text": "still here"}))
            for ws in (a, b):
                assert json.loads(await _receive(ws)) == {"text": "still here"}

    asyncio.run(scenario())


def test_connect_sees_the_query_string_and_headers_and_may_refuse_with_a_status(chat: Chat):
    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with chat.connect("deny=401"):
                pass
        assert refused.value.response.status_code == 401
        async with chat.connect("room=blue&room=red&x=1", additional_headers={"X-Custom": "yes"},
                                subprotocols=["chat.v2", "chat.v1"]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "chat.v2"
        event = chat.connects()[-1]
        assert event["queryStringParameters"]["x"] == "1"
        assert event["multiValueQueryStringParameters"]["room"] == ["blue", "red"]
        # Header names as the client wrote them (the native server; uvicorn gives them in lower case).
        assert {k.lower(): v for k, v in event["headers"].items()}["x-custom"] == "yes"
        context = event["requestContext"]
        assert context["eventType"] == "CONNECT" and context["routeKey"] == "$connect"
        assert context["domainName"] == f"{chat.api_id}.execute-api.localhost:{chat.server.port}"
        assert context["identity"]["sourceIp"] == "127.0.0.1"

    asyncio.run(scenario())


def test_the_management_api_gets_deletes_and_says_gone(chat: Chat):
    management = chat.management()

    async def scenario() -> None:
        first = len(chat.connects())
        async with chat.connect(user_agent_header="chat-test/1") as ws:
            conn_id = chat.connection_id(first)
            got = await asyncio.to_thread(management.get_connection, ConnectionId=conn_id)
            assert got["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "chat-test/1"}
            assert got["ConnectedAt"] <= got["LastActiveAt"]
            await asyncio.to_thread(management.post_to_connection, ConnectionId=conn_id, Data=b"direct")
            assert await _receive(ws) == "direct"
            await asyncio.to_thread(management.delete_connection, ConnectionId=conn_id)
            with pytest.raises(ConnectionClosed):
                await _receive(ws)
            assert ws.close_code == 1000
        assert chat.wait_disconnect(conn_id) == [1000]
        for call in (management.get_connection, management.delete_connection):
            with pytest.raises(management.exceptions.GoneException):
                await asyncio.to_thread(call, ConnectionId=conn_id)
        with pytest.raises(management.exceptions.GoneException):
            await asyncio.to_thread(management.post_to_connection, ConnectionId=conn_id, Data=b"late")

    asyncio.run(scenario())


def test_a_message_over_128_kb_closes_with_1009(chat: Chat):
    async def scenario() -> None:
        first = len(chat.connects())
        async with chat.connect(max_size=None) as ws:
            conn_id = chat.connection_id(first)
            # Fragments of 16 KB each (under the frame limit) making a 129 KB message.
            await ws.send([b"x" * 16384] * 8 + [b"x" * 1024])  # type: ignore[arg-type]
            with pytest.raises(ConnectionClosed):
                await _receive(ws)
            assert ws.close_code == 1009
        assert chat.wait_disconnect(conn_id) == [1009]

    asyncio.run(scenario())


def test_a_dropped_tcp_connection_disconnects_once_with_1006(chat: Chat):
    async def scenario() -> None:
        first = len(chat.connects())
        ws = await chat.connect()
        conn_id = chat.connection_id(first)
        transport = ws.transport
        transport.abort()  # no close frame
        assert await asyncio.to_thread(chat.wait_disconnect, conn_id) == [1006]

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    # The idle timeout well above the busy test's gaps between messages (0.3 s, more on a loaded machine), and
    # the maximum above the idle timeout, so that each test sees only the deadline it is about.
    server = _start(tmp_path_factory.mktemp("ws-lifetimes"), "--ws-idle-timeout", "2", "--ws-max-duration", "4")
    try:
        yield Chat(server, _build(server.port))
    finally:
        server.stop()


def test_an_idle_connection_is_closed_with_1001_and_disconnects_once(short_lived: Chat):
    async def scenario() -> None:
        first = len(short_lived.connects())
        async with short_lived.connect() as ws:
            conn_id = short_lived.connection_id(first)
            with pytest.raises(ConnectionClosed):
                await _receive(ws, 5)
            assert ws.close_code == 1001
        assert short_lived.wait_disconnect(conn_id) == [1001]

    asyncio.run(scenario())


def test_a_busy_connection_is_closed_at_its_maximum_duration(short_lived: Chat):
    async def scenario() -> None:
        first = len(short_lived.connects())
        async with short_lived.connect() as ws:
            conn_id = short_lived.connection_id(first)
            started = time.monotonic()
            with pytest.raises(ConnectionClosed):
                while time.monotonic() - started < 9:
                    await ws.send(json.dumps({"action": "nothing"}))  # no $default route: an error frame back
                    await _receive(ws, 1)
                    await asyncio.sleep(0.3)
            # Active all along (so not the idle timeout): closed near 4 s, deadlines being checked once a second.
            assert ws.close_code == 1001 and 2.9 <= time.monotonic() - started < 7.5
        assert short_lived.wait_disconnect(conn_id) == [1001]

    asyncio.run(scenario())


def test_server_shutdown_closes_with_1001_and_every_disconnect_runs(tmp_path: Path):
    server = _start(tmp_path)
    try:
        chat = Chat(server, _build(server.port))

        async def scenario() -> None:
            clients = [await chat.connect() for _ in range(3)]
            ids = [chat.connection_id(n) for n in range(3)]
            await asyncio.to_thread(server.stop)
            for ws in clients:
                with pytest.raises(ConnectionClosed):
                    await _receive(ws, 5)
                assert ws.close_code == 1001
            assert sorted(d["id"] for d in chat.disconnects()) == sorted(ids)
            assert {d["code"] for d in chat.disconnects()} == {1001}

        asyncio.run(scenario())
    finally:
        server.stop()
    # Served again from the state file, the API's URLs are in the start-up output.
    again = Server(tmp_path / "apiway.yaml", tmp_path / "state.db")
    try:
        port, api_id = again.port, chat.api_id
        assert f"ws://{api_id}.execute-api.localhost:{port}/prod" in again.output
        assert f"ws://localhost:{port}/restapis/{api_id}/prod/_user_request_" in again.output
        assert f"http://{api_id}.execute-api.localhost:{port}/prod/@connections/{{connectionId}}" in again.output
        assert again.api_ids == {"chat": api_id}
    finally:
        again.stop()


def test_upgrade_to_an_unknown_stage_is_forbidden(chat: Chat):
    with socket.create_connection(("127.0.0.1", chat.server.port), timeout=5) as sock:
        sock.sendall(f"GET /nostage HTTP/1.1\r\nHost: {chat.api_id}.execute-api.localhost\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        head = sock.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.1 403")


def test_the_chat_example_from_its_project_file(tmp_path: Path):
    """The project-file WebSocket API of examples/websocket-chat: its authorizer on $connect, its two-way
    $default and mock routes, and its broadcast through @connections."""
    import shutil

    example = Path(__file__).resolve().parents[2] / "examples" / "websocket-chat"
    shutil.copytree(example, tmp_path / "chat")
    server = Server(tmp_path / "chat" / "apiway.yaml", tmp_path / "state.db")
    try:
        chat = Chat(server, server.api_ids["chat"])
        chat.url = lambda query="": (  # type: ignore[method-assign]
            f"ws://{chat.api_id}.execute-api.localhost:{server.port}/dev" + (f"?{query}" if query else ""))
        assert f"ws://{chat.api_id}.execute-api.localhost:{server.port}/dev" in server.output

        async def scenario() -> None:
            with pytest.raises(InvalidStatus) as refused:
                async with chat.connect("token=wrong"):
                    pass
            assert refused.value.response.status_code == 403
            async with chat.connect("token=letmein") as ws, chat.connect("token=letmein") as other:
                await ws.send("no json here")
                assert "unknown action" in json.loads(await _receive(ws))["error"]
                # The mock answers from the gateway alone: the caller's own id and the stage's variable.
                await ws.send(json.dumps({"action": "whoami"}))
                me = json.loads(await _receive(ws))
                await other.send(json.dumps({"action": "whoami"}))
                them = json.loads(await _receive(other))
                assert me["room"] == them["room"] == "lobby" and me["connectionId"] != them["connectionId"]
                # A broadcast through @connections from a worker-mode function reaches both members, and the
                # sender gets the two-way answer too.
                await ws.send(json.dumps({"action": "sendmessage", "text": "hello"}))
                got = sorted((await _receive(ws), await _receive(ws)))
                assert json.loads(await _receive(other)) == {"from": me["connectionId"], "text": "hello"}
                answer = json.loads(got[1]) if "sent" in got[1] else json.loads(got[0])
                broadcast = json.loads(got[0]) if "sent" in got[1] else json.loads(got[1])
                assert broadcast == {"from": me["connectionId"], "text": "hello"}
                assert answer["sent"] >= 2

        asyncio.run(scenario())
    finally:
        server.stop()

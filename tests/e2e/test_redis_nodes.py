"""WebSocket connections across two real `apiway serve` nodes that share one PostgreSQL store and one Redis
(`--redis`): a message posted through @connections on either node reaches a client connected to the other,
GetConnection and DeleteConnection answer for it there too, and when a node is killed (SIGKILL: no closing,
no $disconnect of its own) the survivor runs $disconnect for each of its connections, once, with 1006."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from apiway.state.redis_connections import HEARTBEAT, NODE_TIMEOUT
from tests.http_apis import v2_client
from tests.postgres import PostgresDatabase
from tests.redis import RedisDatabase
from tests.support import Server

FUNCTIONS = '''
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))


def _log(name, entry):
    with open(os.path.join(HERE, name), "a") as f:
        f.write(json.dumps(entry) + "\\n")


def on_connect(event, context):
    _log("connects.jsonl", {"id": event["requestContext"]["connectionId"], "pid": os.getpid()})
    return {"statusCode": 200}


def on_disconnect(event, context):
    ctx = event["requestContext"]
    _log("disconnects.jsonl", {"id": ctx["connectionId"], "code": ctx.get("disconnectStatusCode"), "pid": os.getpid(),
                               "ua": {k.lower(): v for k, v in event["headers"].items()}.get("user-agent")})
    return {"statusCode": 200}
'''

PROJECT = """functions:
  Connect: {handler: fns.py:on_connect, mode: inline}
  Disconnect: {handler: fns.py:on_disconnect, mode: inline}
"""
ARN = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:{}/invocations"


class Nodes:
    def __init__(self, root: Path, store: str, redis: str) -> None:
        (root / "fns.py").write_text(FUNCTIONS)
        (root / "apiway.yaml").write_text(PROJECT)
        self.root = root
        self.servers: list[Server] = []
        for name in ("a", "b"):
            (root / name).mkdir()
            self.servers.append(Server(root / "apiway.yaml", root / name / "state.db",
                                       ["--store", store, "--redis", redis]))
        self.api_id = self._build()

    def _build(self) -> str:
        v2 = v2_client(self.servers[0].port)
        api_id = v2.create_api(Name="chat", ProtocolType="WEBSOCKET",
                               RouteSelectionExpression="$request.body.action")["ApiId"]
        for route_key, function in (("$connect", "Connect"), ("$disconnect", "Disconnect")):
            integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                                IntegrationUri=ARN.format(function))["IntegrationId"]
            v2.create_route(ApiId=api_id, RouteKey=route_key, Target=f"integrations/{integration}")
        v2.create_stage(ApiId=api_id, StageName="prod")
        v2.create_deployment(ApiId=api_id, StageName="prod")
        return api_id

    def connect(self, server: Server, agent: str = "tests") -> Any:
        return connect(f"ws://{self.api_id}.execute-api.localhost:{server.port}/prod", host="127.0.0.1",
                       port=server.port, ping_interval=None, open_timeout=10, user_agent_header=agent)

    def log(self, name: str) -> list[dict[str, Any]]:
        path = self.root / name
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def management(self, server: Server, stage: bool = True) -> Any:
        import boto3
        from botocore.config import Config

        endpoint = f"http://127.0.0.1:{server.port}" + (f"/restapis/{self.api_id}/prod/_user_request_" if stage else "")
        return boto3.client("apigatewaymanagementapi", region_name="us-east-1", endpoint_url=endpoint,
                            aws_access_key_id="test", aws_secret_access_key="test",
                            config=Config(retries={"max_attempts": 1}))

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def nodes(tmp_path: Path, postgres_database: PostgresDatabase, redis_database: RedisDatabase) -> Iterator[Nodes]:
    store = f"{postgres_database.url}?schema={postgres_database.new_schema()}"
    found = Nodes(tmp_path, store, redis_database.url)
    try:
        yield found
    finally:
        found.stop()
        redis_database.flush()
    errors = "".join(server.stderr() for server in found.servers)
    assert "Traceback" not in errors, errors


async def _served(nodes: Nodes, server: Server, seconds: float = 2.0) -> None:
    """Until `server` accepts connections to the stage the other node created."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            async with nodes.connect(server):
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def _connected_id(nodes: Nodes, before: int) -> str:
    for _ in range(200):
        found = nodes.log("connects.jsonl")
        if len(found) > before:
            return found[before]["id"]
        await asyncio.sleep(0.01)
    raise AssertionError("no $connect logged")


def test_a_message_posted_on_one_node_reaches_a_client_connected_to_the_other(nodes: Nodes):
    a, b = nodes.servers
    assert "WebSocket connections: registered in Redis" in a.output

    async def scenario() -> None:
        await _served(nodes, b)
        before = len(nodes.log("connects.jsonl"))
        async with nodes.connect(a) as on_a, nodes.connect(b) as on_b:
            id_a = await _connected_id(nodes, before)
            id_b = await _connected_id(nodes, before + 1)
            on_b_node = nodes.management(b)
            await asyncio.to_thread(on_b_node.post_to_connection, ConnectionId=id_a, Data=b'{"to":"a"}')
            assert await asyncio.wait_for(on_a.recv(), 5) == '{"to":"a"}'
            root_of_a = nodes.management(a, stage=False)  # the port's root, as a function's client calls it
            await asyncio.to_thread(root_of_a.post_to_connection, ConnectionId=id_b, Data=b"\x00\xff")
            assert await asyncio.wait_for(on_b.recv(), 5) == b"\x00\xff"

            found = await asyncio.to_thread(on_b_node.get_connection, ConnectionId=id_a)
            assert found["Identity"]["UserAgent"] == "tests" and found["Identity"]["SourceIp"] == "127.0.0.1"
            with pytest.raises(on_b_node.exceptions.GoneException):
                await asyncio.to_thread(on_b_node.post_to_connection, ConnectionId="AAAAAAAAAAAAAAA=", Data=b"x")

            await asyncio.to_thread(on_b_node.delete_connection, ConnectionId=id_a)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(on_a.recv(), 5)
            assert on_a.close_code == 1000
            for _ in range(100):
                if any(d["id"] == id_a for d in nodes.log("disconnects.jsonl")):
                    break
                await asyncio.sleep(0.02)
            with pytest.raises(on_b_node.exceptions.GoneException):
                await asyncio.to_thread(on_b_node.post_to_connection, ConnectionId=id_a, Data=b"x")
        gone = [d for d in nodes.log("disconnects.jsonl") if d["id"] == id_a]
        assert [d["code"] for d in gone] == [1000]

    asyncio.run(scenario())


def test_a_killed_nodes_connections_get_their_disconnect_from_the_survivor(nodes: Nodes):
    a, b = nodes.servers

    async def scenario() -> None:
        await _served(nodes, b)
        before = len(nodes.log("connects.jsonl"))
        clients = [await nodes.connect(a, agent=f"client-{n}") for n in range(3)]
        ids = [await _connected_id(nodes, before + n) for n in range(3)]
        on_b_node = nodes.management(b)
        await asyncio.to_thread(on_b_node.post_to_connection, ConnectionId=ids[0], Data=b"before")
        assert await asyncio.wait_for(clients[0].recv(), 5) == "before"
        disconnects_before = len(nodes.log("disconnects.jsonl"))
        killed_at = time.monotonic()
        a.stop(signal.SIGKILL)
        deadline = killed_at + NODE_TIMEOUT + 3 * HEARTBEAT + 5
        while len(nodes.log("disconnects.jsonl")) < disconnects_before + 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        took = time.monotonic() - killed_at
        await asyncio.sleep(2 * HEARTBEAT)  # and no second $disconnect after it
        found = nodes.log("disconnects.jsonl")[disconnects_before:]
        assert sorted(d["id"] for d in found) == sorted(ids), found
        assert {d["code"] for d in found} == {1006}
        assert {d["pid"] for d in found} == {b.proc.pid}  # run by the survivor (inline functions: its process)
        assert sorted(d["ua"] for d in found) == ["client-0", "client-1", "client-2"]
        assert took < NODE_TIMEOUT + 2 * HEARTBEAT + 2, took
        with pytest.raises(on_b_node.exceptions.GoneException):
            await asyncio.to_thread(on_b_node.post_to_connection, ConnectionId=ids[1], Data=b"after")
        for client in clients:
            await client.close()

    asyncio.run(scenario())

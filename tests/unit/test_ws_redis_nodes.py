"""Two gateway nodes sharing the WebSocket registry in the machine's Redis (tests/redis.py), in one event loop:
each a real gateway, connections and dispatcher with inline functions (tests/unit/test_ws_session.py's
`Wired`), its own Redis client. A management call made on either node reaches the connection on the other —
PostToConnection, GetConnection, DeleteConnection, a stage's scope — and the connections of a node that stops
beating get their $disconnect, once, from the survivor, with the upgrade request $connect saw."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from apiway.core.websocket import NORMAL
from apiway.state.redis_connections import RedisConnections
from tests.redis import RedisDatabase
from tests.unit.test_ws_session import API_ID, Wired, _connected

_prefixes = itertools.count(1)


@pytest.fixture
def prefix(redis_database: RedisDatabase) -> Iterator[str]:
    yield f"n{next(_prefixes)}"
    redis_database.flush()


def _node(tmp_path: Path, name: str, redis_database: RedisDatabase, prefix: str) -> Wired:
    (tmp_path / name).mkdir()
    link = RedisConnections(Redis.from_url(redis_database.url), prefix=prefix, node=name, heartbeat=0.1,
                            node_timeout=0.5)
    return Wired(tmp_path / name, link=link)


async def _until(check, seconds: float = 3.0):
    deadline = time.monotonic() + seconds
    while not (result := await check()) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return result


def test_management_calls_on_one_node_reach_a_connection_on_the_other(tmp_path: Path, redis_database, prefix):
    a, b = _node(tmp_path, "a", redis_database, prefix), _node(tmp_path, "b", redis_database, prefix)

    async def scenario() -> None:
        for node in (a, b):
            node.connections.link.start(node.connections)
        try:
            session, socket = await _connected(a, "room=1")
            conn_id = session.connection.connection_id
            link_a = a.connections.link
            assert await _until(lambda: link_a.lookup(conn_id))

            sent = await b.call("POST", f"/prod/@connections/{conn_id}", b'{"hello":"from b"}')
            assert sent.status == 200, sent
            assert socket.sent[-1] == (b'{"hello":"from b"}', True)
            sent = await b.call("POST", f"/@connections/{conn_id}", b"\xff\x00", "localhost")  # the port's root; binary
            assert sent.status == 200 and socket.sent[-1] == (b"\xff\x00", False)
            too_big = await b.call("POST", f"/@connections/{conn_id}", b"x" * (128 * 1024 + 1), "localhost")
            assert too_big.status == 413

            got = await b.call("GET", f"/prod/@connections/{conn_id}")
            assert got.status == 200, got
            info = orjson.loads(got.body)
            assert info["identity"] == {"sourceIp": "10.1.2.3", "userAgent": "tests"}
            assert ("Content-Type", "application/json") in got.headers

            a.deploy("dev")
            b.deploy("dev")
            other_stage = await b.call("POST", f"/dev/@connections/{conn_id}", b"x")
            assert other_stage.status == 410 and b"gone" in other_stage.body

            unknown = await b.call("POST", "/@connections/AAAAAAAAAAAAAAA=", b"x", "localhost")
            assert unknown.status == 410

            deleted = await b.call("DELETE", f"/prod/@connections/{conn_id}")
            assert deleted.status == 204 and socket.closed_with == NORMAL
            await asyncio.sleep(0.05)
            await a.connections.drain()
            assert await _until(lambda: _gone(link_a, conn_id))
            assert (await b.call("GET", f"/@connections/{conn_id}", host="localhost")).status == 410
            disconnects = a.events("$disconnect")
            assert [d["requestContext"]["disconnectStatusCode"] for d in disconnects] == [1000]
            assert b.events("$disconnect") == []
        finally:
            for node in (a, b):
                await node.connections.link.close()

    asyncio.run(scenario())


async def _gone(link: RedisConnections, conn_id: str) -> bool:
    return await link.lookup(conn_id) is None


def test_a_lost_nodes_connections_get_their_disconnect_from_the_survivor(tmp_path: Path, redis_database, prefix):
    a, b = _node(tmp_path, "a", redis_database, prefix), _node(tmp_path, "b", redis_database, prefix)

    async def scenario() -> None:
        for node in (a, b):
            node.connections.link.start(node.connections)
        try:
            ids = []
            for room in range(3):
                session, _ = await _connected(a, f"room={room}")
                ids.append(session.connection.connection_id)
            link_a = a.connections.link
            assert await _until(lambda: link_a.connections(f"{API_ID}/prod"))
            assert await _until(lambda: _all_registered(link_a, len(ids)))
            for task in link_a._tasks:  # node a stops beating, as a killed process does
                task.cancel()
            assert await _until(lambda: _disconnected(b, len(ids)), 5)
            events = b.events("$disconnect")
            assert sorted(e["requestContext"]["connectionId"] for e in events) == sorted(ids)
            for event in events:
                context = event["requestContext"]
                assert context["disconnectStatusCode"] == 1006 and context["eventType"] == "DISCONNECT"
                assert context["identity"]["sourceIp"] == "10.1.2.3"
                headers = {k.lower(): v for k, v in event["headers"].items()}  # the upgrade request's, as $connect's
                assert headers["user-agent"] == "tests" and headers["sec-websocket-key"] == "dGhlIHNhbXBsZSBub25jZQ=="
            await asyncio.sleep(0.3)
            assert len(b.events("$disconnect")) == 3 and a.events("$disconnect") == []
            assert await link_a.connections(f"{API_ID}/prod") == []
        finally:
            await b.connections.link.close()
            await link_a.client.aclose()

    asyncio.run(scenario())


async def _all_registered(link: RedisConnections, count: int) -> bool:
    return len(await link.connections(f"{API_ID}/prod")) == count


async def _disconnected(node: Wired, count: int) -> bool:
    await asyncio.sleep(0)
    return len(node.events("$disconnect")) >= count

"""The WebSocket connection registry several nodes share, on the machine's Redis (tests/redis.py): nodes in one
event loop, each with its own client, as separate processes would have. Registration order and removal, calls
forwarded to the holding node and answered on the caller's channel, a lost node's connections claimed exactly
once by the survivors, and a node that finds its entries gone writing them afresh. (The node's connections are
a recording stand-in here; tests/e2e/test_redis_nodes.py runs the same with real `apiway serve` processes.)"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from apiway.state.redis_connections import Lost, RedisConnections
from tests.redis import RedisDatabase

_prefixes = itertools.count(1)


class Recorder:
    """A node's connections as the registry sees them: answers forwarded calls by echoing, records claims."""

    def __init__(self, live: dict[str, tuple[str, bytes]] | None = None) -> None:
        self.live = live or {}
        self.requests: list[bytes] = []
        self.lost: list[Lost] = []

    async def on_request(self, message: bytes) -> bytes:
        self.requests.append(message)
        return b"answered:" + message

    def on_lost(self, lost: list[Lost]) -> None:
        self.lost.extend(lost)

    def live_records(self) -> list[tuple[str, str, bytes]]:
        return [(found, stage, record) for found, (stage, record) in self.live.items()]


@pytest.fixture
def prefix(redis_database: RedisDatabase) -> Iterator[str]:
    yield f"t{next(_prefixes)}"
    redis_database.flush()


def node(redis_database: RedisDatabase, prefix: str, name: str, **options: float) -> RedisConnections:
    return RedisConnections(Redis.from_url(redis_database.url), prefix=prefix, node=name, **options)


async def settle(nodes: list[RedisConnections]) -> None:
    """Until every node's queued writes are in Redis: a marker written after them can be read back."""
    for n in nodes:
        n.register("marker", "markers", b"")
        for _ in range(200):
            if await n.lookup("marker") is not None:
                break
            await asyncio.sleep(0.01)
        n.unregister("marker", "markers")
        for _ in range(200):
            if await n.lookup("marker") is None:
                break
            await asyncio.sleep(0.01)


def test_connections_are_listed_by_stage_in_registration_order_and_removed(redis_database, prefix):
    async def run() -> None:
        a, b = node(redis_database, prefix, "a"), node(redis_database, prefix, "b")
        a.start(Recorder())
        b.start(Recorder())
        try:
            a.register("c1", "api/prod", b'{"n":1}')
            await settle([a])  # across nodes, the order is the one in which registrations reach Redis
            b.register("c2", "api/prod", b'{"n":2}')
            await settle([b])
            a.register("c3", "api/prod", b"{}")
            a.register("c4", "api/dev", b"{}")
            await settle([a, b])
            assert await a.connections("api/prod") == ["c1", "c2", "c3"]
            assert await b.connections("api/dev") == ["c4"]
            assert await b.lookup("c1") == ("a", "api/prod", b'{"n":1}')
            b.unregister("c1", "api/prod")  # only the node holding it removes it
            a.unregister("c3", "api/prod")
            a.register("c4", "api/prod", b"moved")
            a.register("c5", "api/prod", b"{}")
            a.unregister("c5", "api/prod")  # gone before its registration was written: never left behind
            await settle([a, b])
            assert await a.connections("api/prod") == ["c1", "c2", "c4"]
            assert await a.connections("api/dev") == []
            assert await a.lookup("c3") is None and await a.lookup("c5") is None
            assert sorted(await a.nodes()) == ["a", "b"]
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


def test_a_call_reaches_the_holding_node_and_its_answer_comes_back(redis_database, prefix):
    async def run() -> None:
        holder, caller = Recorder(), Recorder()
        a, b = node(redis_database, prefix, "a"), node(redis_database, prefix, "b")
        a.start(holder)
        b.start(caller)
        try:
            a.register("c1", "api/prod", b"{}")
            await settle([a])
            await asyncio.sleep(0.1)  # both subscribed
            answers = await asyncio.gather(*(b.request("c1", b"POST\n" + bytes([i])) for i in range(20)))
            assert answers == [b"answered:POST\n" + bytes([i]) for i in range(20)]
            assert len(holder.requests) == 20 and caller.requests == []
            assert await b.request("unknown", b"x") is None
            started = time.monotonic()
            b.register("c2", "api/prod", b"{}")
            await settle([b])
            await b.close()  # its node no longer listens: a call for its connection is answered at once
            b = node(redis_database, prefix, "b2")
            b.start(Recorder())
            await a.lookup("c2")
            assert await a.request("c2", b"x") is None
            assert time.monotonic() - started < 1
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


def test_a_lost_node_has_its_connections_claimed_exactly_once(redis_database, prefix):
    async def run() -> None:
        fast = {"heartbeat": 0.1, "node_timeout": 0.5}
        doomed = node(redis_database, prefix, "doomed", **fast)
        doomed.start(Recorder())
        for i in range(1200):  # more than one beat claims
            doomed.register(f"c{i}", "api/prod" if i % 2 else "api/dev", b'{"i":%d}' % i)
        for _ in range(200):  # every registration written
            if len(await doomed.connections("api/prod")) + len(await doomed.connections("api/dev")) == 1200:
                break
            await asyncio.sleep(0.02)
        for task in doomed._tasks:  # the process dies: no more beats, nothing cleaned up
            task.cancel()
        survivors = [Recorder(), Recorder()]
        nodes = [node(redis_database, prefix, f"s{i}", **fast) for i in range(2)]
        for n, recorder in zip(nodes, survivors, strict=True):
            n.start(recorder)
        try:
            deadline = time.monotonic() + 5
            while sum(len(r.lost) for r in survivors) < 1200 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            claimed = [lost for r in survivors for lost in r.lost]
            assert sorted(found for found, _, _ in claimed) == sorted(f"c{i}" for i in range(1200))
            assert ("c7", "api/prod", b'{"i":7}') in claimed
            assert await nodes[0].connections("api/prod") == [] and await nodes[0].connections("api/dev") == []
            assert sorted(await nodes[0].nodes()) == ["s0", "s1"]
        finally:
            for n in nodes:
                await n.close()
            await doomed.client.aclose()

    asyncio.run(run())


def test_a_node_whose_entries_are_gone_writes_its_live_connections_again(redis_database, prefix):
    async def run() -> None:
        live = {"c1": ("api/prod", b"one"), "c2": ("api/dev", b"two")}
        a = node(redis_database, prefix, "a", heartbeat=0.1)
        a.start(Recorder(live))
        try:
            for found, (stage, record) in live.items():
                a.register(found, stage, record)
            await settle([a])
            async with Redis.from_url(redis_database.url) as admin:
                for key in [key async for key in admin.scan_iter(f"{{{prefix}:*")]:
                    await admin.delete(key)  # Redis lost its data (restarted without persistence)
            deadline = time.monotonic() + 3
            while await a.lookup("c2") is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert await a.lookup("c1") == ("a", "api/prod", b"one")
            assert await a.lookup("c2") == ("a", "api/dev", b"two")
            assert await a.connections("api/prod") == ["c1"]
        finally:
            await a.close()
        async with Redis.from_url(redis_database.url) as admin:  # leaving took every entry of the node with it
            assert [key async for key in admin.scan_iter(f"{{{prefix}:*") if not key.endswith(b":seq")] == []

    asyncio.run(run())


class Cuttable:
    """A TCP relay to Redis that can be cut (every connection dropped, new ones refused) and restored: Redis
    going away and coming back, for this client only."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def restore(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        self.writers = []
        await self.server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


def test_writes_lost_while_redis_was_unreachable_are_made_good_when_it_answers(redis_database, prefix):
    async def run() -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(redis_database.url)
        relay = Cuttable((parts.hostname or "127.0.0.1", parts.port or 6379))
        await relay.restore()
        live: dict[str, tuple[str, bytes]] = {"c1": ("api/prod", b"one")}
        a = RedisConnections(Redis.from_url(f"redis://127.0.0.1:{relay.port}{parts.path}"), prefix=prefix,
                             node="a", heartbeat=0.1)
        observer = node(redis_database, prefix, "observer")
        a.start(Recorder(live))
        try:
            a.register("c1", "api/prod", b"one")
            await settle([a])
            await relay.cut()
            live.pop("c1")
            a.unregister("c1", "api/prod")  # neither write reaches Redis
            live["c2"] = ("api/prod", b"two")
            a.register("c2", "api/prod", b"two")
            await asyncio.sleep(0.5)
            assert await observer.lookup("c1") is not None and await observer.lookup("c2") is None
            await relay.restore()
            deadline = time.monotonic() + 5
            while await observer.lookup("c2") is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert await observer.lookup("c2") == ("a", "api/prod", b"two")
            assert await observer.lookup("c1") is None
            assert await observer.connections("api/prod") == ["c2"]
        finally:
            await a.close()
            await observer.client.aclose()
            if relay.server is not None:
                relay.server.close()

    asyncio.run(run())

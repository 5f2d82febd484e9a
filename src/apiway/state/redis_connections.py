"""The WebSocket connection registry of several gateway nodes, in Redis, and the channel between the nodes.

A socket can only be written by the node that accepted it, so every connection is registered with its node;
an `@connections` call that reaches another node is published on the holder's channel (one pub/sub channel
per node) and answered on the caller's. Each node beats every `heartbeat` seconds; a node not heard from for
`node_timeout` seconds is lost, and the first survivor to beat after that claims its connections — atomically,
so exactly one node runs each connection's $disconnect.

Key layout (every key under one hash tag, `{PREFIX:ws}`, so that each script, the sweep included, runs on one
slot of a Redis Cluster; the registry is small and written only on connect and disconnect):
  {PREFIX:ws}:c:ID        hash: node, stage, rec (the record the node registered)
  {PREFIX:ws}:s:STAGE     sorted set of the stage's connection ids, by registration order (`seq`)
  {PREFIX:ws}:n:NODE      set of the node's connection ids
  {PREFIX:ws}:nodes       sorted set of live nodes, by when each is lost (Redis's clock, ms)
  {PREFIX:ws}:seq         the registration counter
Channels: {PREFIX:ws}:node:NODE.

Registrations and removals are written in the order they happen, batched into one pipeline per turn of the
loop, by one writer task: a connection that closes while its registration is on the way never stays
registered. When Redis cannot be reached those writes are dropped and, once it answers again (or a node finds
it was declared lost), the node writes its live connections afresh."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from apiway.observe.log import log

HEARTBEAT = 1.0  # seconds between a node's beats
NODE_TIMEOUT = 5.0  # seconds without a beat after which a node is lost
REQUEST_TIMEOUT = 3.0  # seconds a forwarded @connections call waits for the holder's answer
CLAIM_LIMIT = 500  # connections of lost nodes one beat claims (a script runs alone on Redis: kept short)

Lost = tuple[str, str, bytes]  # (connection id, stage, record) of a connection whose node was lost

# KEYS: connection, stage set, node set, seq. ARGV: node, stage, record, id, key prefix.
_PUT = """
local old = redis.call('HGET', KEYS[1], 'stage')
if old and old ~= ARGV[2] then redis.call('ZREM', ARGV[5] .. 's:' .. old, ARGV[4]) end
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'stage', ARGV[2], 'rec', ARGV[3])
if not redis.call('ZSCORE', KEYS[2], ARGV[4]) then redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[4]) end
redis.call('SADD', KEYS[3], ARGV[4])
"""

# KEYS: connection, stage set, node set. ARGV: id, node. Only the node holding it removes a connection.
_DELETE = """
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
"""

# KEYS: connection. ARGV: channel prefix, message. -1: unknown connection; else how many nodes heard it.
_ROUTE = """
local node = redis.call('HGET', KEYS[1], 'node')
if not node then return -1 end
return redis.call('PUBLISH', ARGV[1] .. node, ARGV[2])
"""

# KEYS: nodes. ARGV: node, timeout ms, key prefix, claim limit.
# Returns {rejoined, id, stage, record, id, stage, record, ...}: rejoined is 1 when this node was not among
# the live ones (its first beat, or it was declared lost, or Redis lost its data).
_BEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rejoined = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local out = {rejoined}
local budget = tonumber(ARGV[4])
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 16)) do
  local members = ARGV[3] .. 'n:' .. node
  for _, id in ipairs(redis.call('SPOP', members, budget)) do
    local key = ARGV[3] .. 'c:' .. id
    local found = redis.call('HMGET', key, 'stage', 'rec')
    if found[1] then
      redis.call('DEL', key)
      redis.call('ZREM', ARGV[3] .. 's:' .. found[1], id)
      table.insert(out, id); table.insert(out, found[1]); table.insert(out, found[2])
    end
    budget = budget - 1
  end
  if redis.call('SCARD', members) == 0 then redis.call('ZREM', KEYS[1], node) end
  if budget <= 0 then break end
end
return out
"""

# KEYS: nodes, node set. ARGV: node, key prefix. A node leaving (or rejoining) forgets what it registered.
_LEAVE = """
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = ARGV[2] .. 'c:' .. id
  local stage = redis.call('HGET', key, 'stage')
  if stage and redis.call('HGET', key, 'node') == ARGV[1] then
    redis.call('DEL', key)
    redis.call('ZREM', ARGV[2] .. 's:' .. stage, id)
  end
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
"""


class NodeHandler(Protocol):
    """What the node's connections do for the registry (runtime/connections.py)."""

    def on_request(self, message: bytes) -> Awaitable[bytes]:
        """Answer a call another node forwarded for a connection of this node."""
        ...

    def on_lost(self, lost: list[Lost]) -> None:
        """Connections of a lost node, claimed by this one: their $disconnect is this node's to run."""
        ...

    def live_records(self) -> list[tuple[str, str, bytes]]:
        """(id, stage, record) of every connection open on this node, to write them afresh."""
        ...


class RedisConnections:
    """This node's side of the shared registry: register, forward, answer, beat and sweep."""

    def __init__(self, client: Redis, prefix: str = "apiway", node: str | None = None,
                 heartbeat: float = HEARTBEAT, node_timeout: float = NODE_TIMEOUT,
                 request_timeout: float = REQUEST_TIMEOUT) -> None:
        self.client = client
        self.heartbeat = heartbeat
        self.node_timeout = node_timeout
        self.request_timeout = request_timeout
        self._keys = f"{{{prefix}:ws}}:"
        self._channels = f"{{{prefix}:ws}}:node:"
        self._named = node is not None
        self._pid = os.getpid()
        self._name(node or os.urandom(8).hex())
        self._scripts = {name: client.register_script(source) for name, source in
                         (("put", _PUT), ("delete", _DELETE), ("route", _ROUTE), ("beat", _BEAT), ("leave", _LEAVE))}
        self._writes: list[tuple[str, list[str], list[Any]]] = []  # (script, keys, args) in order
        self._wake = asyncio.Event()
        self._refs = itertools.count(1)
        self._waiting: dict[bytes, asyncio.Future[bytes]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._answering: set[asyncio.Task[None]] = set()  # calls of other nodes being answered
        self._handler: NodeHandler | None = None
        self._joined = False  # a beat went through: from then on, not being among the live nodes is news
        self._stale = False  # writes were lost: write the live connections afresh once Redis answers
        self._down = False  # Redis did not answer the last time (one log line per outage)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisConnections:
        # A Redis that stops answering mid-connection is noticed by keep-alive; one that cannot be reached, in 2 s.
        return cls(Redis.from_url(url, socket_connect_timeout=2, socket_keepalive=True), **options)

    def _name(self, node: str) -> None:
        self.node = node
        self._channel = (self._channels + node).encode()

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self, handler: NodeHandler) -> None:
        """Listen on this node's channel, beat, and write registrations, as tasks of the running loop."""
        self._handler = handler
        if not self._named and os.getpid() != self._pid:  # a worker forked from the start-up process (--workers):
            self._name(os.urandom(8).hex())  # a node of its own, or calls for its sockets would reach its siblings
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(work()) for work in (self._listen, self._beat, self._write)]

    async def close(self) -> None:
        """Write what is queued, then leave: this node's remaining entries and its heartbeat go."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        try:
            await self._flush()
            await self._scripts["leave"](keys=[self._keys + "nodes", self._keys + "n:" + self.node],
                                         args=[self.node, self._keys])
        except RedisError as exc:
            log("WARN", "WebSocket registry not updated at shutdown", error=str(exc))
        await self.client.aclose()

    # -- the registry ------------------------------------------------------------------------------------------

    def register(self, connection_id: str, stage: str, record: bytes) -> None:
        keys = [self._keys + "c:" + connection_id, self._keys + "s:" + stage, self._keys + "n:" + self.node,
                self._keys + "seq"]
        self._queue("put", keys, [self.node, stage, record, connection_id, self._keys])

    def unregister(self, connection_id: str, stage: str) -> None:
        keys = [self._keys + "c:" + connection_id, self._keys + "s:" + stage, self._keys + "n:" + self.node]
        self._queue("delete", keys, [connection_id, self.node])

    async def lookup(self, connection_id: str) -> tuple[str, str, bytes] | None:
        """(node, stage, record) of a registered connection."""
        found: list[Any] = await self.client.hmget(self._keys + "c:" + connection_id, ["node", "stage", "rec"])
        node, stage, record = found
        return (node.decode(), stage.decode(), record) if node is not None else None

    async def connections(self, stage: str) -> list[str]:
        """The ids of `stage`'s connections on every node, oldest first."""
        return _texts(await self.client.zrange(self._keys + "s:" + stage, 0, -1))

    async def nodes(self) -> list[str]:
        """The nodes beating now (dead ones until a survivor sweeps them)."""
        return _texts(await self.client.zrange(self._keys + "nodes", 0, -1))

    def _queue(self, script: str, keys: list[str], args: list[Any]) -> None:
        self._writes.append((script, keys, args))
        self._wake.set()

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._flush()
            except RedisError as exc:
                self._failed(exc)

    async def _flush(self) -> None:
        writes, self._writes = self._writes, []
        if not writes:
            return
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for script, keys, args in writes:
                    await self._scripts[script](keys=keys, args=args, client=pipe)
                await pipe.execute()
        except RedisError:
            self._stale = True  # dropped: the live connections are written afresh when Redis answers
            raise

    # -- forwarded calls ---------------------------------------------------------------------------------------

    async def request(self, connection_id: str, message: bytes) -> bytes | None:
        """Hand `message` to the node holding the connection and wait for its answer: None when no live node
        holds it (unknown, its node gone, no answer in time, or Redis unreachable)."""
        ref = str(next(self._refs)).encode()
        answer = asyncio.get_running_loop().create_future()
        self._waiting[ref] = answer
        call = b"Q" + ref + b" " + self._channel + b"\n" + message
        try:
            async with asyncio.timeout(self.request_timeout):
                heard = await self._scripts["route"](keys=[self._keys + "c:" + connection_id],
                                                     args=[self._channels, call])
                if heard <= 0:
                    return None
                return await answer
        except TimeoutError:
            log("WARN", "no answer from the node holding a WebSocket connection", connectionId=connection_id)
            return None
        except RedisError as exc:
            self._failed(exc)
            return None
        finally:
            self._waiting.pop(ref, None)

    async def _listen(self) -> None:
        """This node's channel: calls forwarded to it (answered on the caller's channel) and answers to its own."""
        while True:
            try:
                async with self.client.pubsub(ignore_subscribe_messages=True) as channel:
                    await channel.subscribe(self._channel)
                    async for message in channel.listen():
                        self._received(message["data"])
            except RedisError as exc:
                self._failed(exc)
                await asyncio.sleep(self.heartbeat)

    def _received(self, data: bytes) -> None:
        head, _, payload = data.partition(b"\n")
        if head[:1] == b"A":
            answer = self._waiting.get(head[1:])
            if answer is not None and not answer.done():
                answer.set_result(payload)
        elif head[:1] == b"Q" and self._handler is not None:
            ref, _, reply_to = head[1:].partition(b" ")
            task = asyncio.get_running_loop().create_task(self._answer(ref, reply_to, payload))
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)

    async def _answer(self, ref: bytes, reply_to: bytes, payload: bytes) -> None:
        assert self._handler is not None
        answer = await self._handler.on_request(payload)
        try:
            await self.client.publish(reply_to, b"A" + ref + b"\n" + answer)
        except RedisError as exc:
            self._failed(exc)

    # -- liveness ----------------------------------------------------------------------------------------------

    async def _beat(self) -> None:
        while True:
            try:
                await self.beat()
            except RedisError as exc:
                self._failed(exc)
            await asyncio.sleep(self.heartbeat)

    async def beat(self) -> None:
        """Say this node is alive; claim connections of lost nodes (their $disconnect is then this node's);
        write this node's connections afresh when it was not known to be alive or writes were lost."""
        reply = await self._scripts["beat"](keys=[self._keys + "nodes"],
                                            args=[self.node, int(self.node_timeout * 1000), self._keys, CLAIM_LIMIT])
        if self._down:
            self._down = False
            log("INFO", "Redis answers again: WebSocket registry in use")
        rejoined, claimed = reply[0] and self._joined, reply[1:]
        self._joined = True
        if rejoined and self._handler is not None and self._handler.live_records():
            log("WARN", "this node was not registered as alive (declared lost, or Redis lost its data): "
                        "its WebSocket connections are registered again")
            self._stale = True
        if self._stale:
            await self._rewrite()
        if claimed and self._handler is not None:
            lost = [(claimed[i].decode(), claimed[i + 1].decode(), claimed[i + 2])
                    for i in range(0, len(claimed), 3)]
            log("INFO", "connections of a lost node claimed: running their $disconnect", count=len(lost))
            self._handler.on_lost(lost)

    async def _rewrite(self) -> None:
        """This node's registry entries replaced by its live connections, in one transaction."""
        assert self._handler is not None
        self._writes = []  # what was queued is part of the live set now
        async with self.client.pipeline(transaction=True) as pipe:
            await self._scripts["leave"](keys=[self._keys + "nodes", self._keys + "n:" + self.node],
                                         args=[self.node, self._keys], client=pipe)
            await self._scripts["beat"](keys=[self._keys + "nodes"],
                                        args=[self.node, int(self.node_timeout * 1000), self._keys, 0], client=pipe)
            for connection_id, stage, record in self._handler.live_records():
                keys = [self._keys + "c:" + connection_id, self._keys + "s:" + stage, self._keys + "n:" + self.node,
                        self._keys + "seq"]
                await self._scripts["put"](keys=keys, args=[self.node, stage, record, connection_id, self._keys],
                                           client=pipe)
            await pipe.execute()
        self._stale = False

    def _failed(self, exc: RedisError) -> None:
        if not self._down:
            self._down = True
            log("WARN", "Redis unreachable: WebSocket registry writes and cross-node @connections calls fail "
                        "until it answers", error=str(exc))
        self._stale = True


def _texts(found: Any) -> list[str]:
    return [item.decode() for item in found]

"""Authorizer results shared through the Redis state: two `RedisState` instances on one database stand for two
gateway nodes, each with its own `AuthorizerCache` and guards compiled from the same definitions. A result
cached through one node is a hit on the other within the TTL, a flush through one empties the stage for both,
and an unreachable Redis is a miss (failure mode open) or a 503 (closed). Authorizers are Python functions in
files, run by the project's function runner and noting each call in a file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from apiway.auth.authorizer_cache import AuthorizerCache, SharedResults, namespace
from apiway.auth.http_authorizers import HttpAuthorizerDeps, build
from apiway.auth.http_lambda_authorizer import RemoteHttpLambdaAuthorizer
from apiway.core.clock import ManualClock
from apiway.core.errors import GatewayError
from apiway.functions.base import FunctionSpec
from apiway.functions.runners import Functions
from apiway.model.http import Authorizer
from apiway.runtime.ws_run import run_connect
from apiway.state.redis_state import FAIL_CLOSED, FAIL_OPEN, RedisSettings, RedisState
from tests.redis import RedisDatabase
from tests.support import free_port
from tests.unit.test_http_authorizers import definition, invocation, route
from tests.websocket_apis import INVOKE_URI, connection, lambda_proxy, ws_api
from tests.websocket_apis import Lambdas as WsLambdas

HANDLERS = '''
import json, os

def _note(event):
    with open(os.environ["CALLS"], "a") as f:
        f.write(json.dumps(event) + "\\n")

def simple(event, context):
    _note(event)
    return {"isAuthorized": event["identitySource"][0].startswith("let-me-in"), "context": {"user": "alice"}}

def connect(event, context):
    return {"statusCode": 200}

def gate(event, context):
    _note(event)
    token = (event.get("queryStringParameters") or {}).get("token")
    context = {"team": "blue", "padding": "x" * 9000 if token == "big" else ""}
    return {"principalId": "user-1", "context": context,
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]}}
'''


class Node:
    """One gateway node's share of the state: its own Redis connection and authorizer cache."""

    def __init__(self, url: str, clock: ManualClock, failure: str = FAIL_OPEN) -> None:
        self.state = RedisState(RedisSettings(url, failure=failure), clock)
        self.cache = AuthorizerCache(self.state, clock=clock)


class Calls:
    def __init__(self, tmp_path: Path) -> None:
        (tmp_path / "authorizers.py").write_text(HANDLERS)
        self.file = tmp_path / "calls.jsonl"
        self.functions = Functions()
        self.functions.load(FunctionSpec("simple", "authorizers.py:simple", tmp_path, timeout=5, mode="inline",
                                         environment={"CALLS": str(self.file)}))

    def count(self) -> int:
        return len(self.file.read_text().splitlines()) if self.file.exists() else 0


@pytest.fixture
def calls(tmp_path: Path) -> Iterator[Calls]:
    found = Calls(tmp_path)
    yield found
    asyncio.run(found.functions.close())


def http_guard(node: Node, calls: Calls, ttl: int = 300) -> Any:
    authorizer: Authorizer = {
        "authorizerId": "la1234", "name": "gate", "authorizerType": "REQUEST",
        "identitySource": ["$request.header.Authorization"], "authorizerPayloadFormatVersion": "2.0",
        "enableSimpleResponses": True, "authorizerResultTtlInSeconds": ttl,
        "authorizerUri": ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                          "arn:aws:lambda:us-east-1:123456789012:function:simple/invocations")}
    return build(definition(authorizer), route("CUSTOM", "la1234"), "$default",
                 HttpAuthorizerDeps(calls.functions, node.cache))


async def authorize(guard: Any, token: str) -> dict[str, Any] | None:
    """Run the guard as the gateway does; what it put in `requestContext.authorizer`."""
    inv = invocation(headers=[("Authorization", token)])
    pending = guard(inv)
    assert pending is not None  # a remote cache's read is always awaited
    await pending
    return inv.authorizer


async def close(*nodes: Node) -> None:
    for node in nodes:
        await node.state.close()


def test_a_result_cached_through_one_node_is_a_hit_on_the_other(redis_database: RedisDatabase, calls: Calls):
    redis_database.flush()
    clock = ManualClock(100.0)

    async def scenario() -> None:
        a, b = Node(redis_database.url, clock), Node(redis_database.url, clock)
        guard_a, guard_b = http_guard(a, calls), http_guard(b, calls)
        assert isinstance(guard_a, RemoteHttpLambdaAuthorizer)
        try:
            assert await authorize(guard_a, "let-me-in") == {"lambda": {"user": "alice"}}
            assert calls.count() == 1
            await asyncio.sleep(0.05)  # node A's put is sent without waiting for its reply
            assert await authorize(guard_b, "let-me-in") == {"lambda": {"user": "alice"}}
            assert await authorize(guard_a, "let-me-in") == {"lambda": {"user": "alice"}}
            assert calls.count() == 1
            # another identity is another entry, a denial included
            with pytest.raises(GatewayError) as denied:
                await authorize(guard_b, "nope")
            assert denied.value.response_type == "ACCESS_DENIED" and calls.count() == 2
            await asyncio.sleep(0.05)
            with pytest.raises(GatewayError):
                await authorize(guard_a, "nope")
            assert calls.count() == 2
            # a flush through node B (ResetAuthorizersCache) empties the stage for node A too
            b.cache.flush(*namespace_parts(guard_b))
            await authorize(guard_a, "let-me-in")
            assert calls.count() == 3
            await asyncio.sleep(0.05)
            await authorize(guard_b, "let-me-in")
            assert calls.count() == 3
            # the TTL is Redis's: past it, both nodes miss
            clock.advance(300)
            await authorize(guard_b, "let-me-in")
            assert calls.count() == 4
        finally:
            await close(a, b)

    asyncio.run(scenario())


def namespace_parts(guard: Any) -> tuple[str, str]:
    """(api id, stage) of a guard's cache namespace."""
    api_id, _, stage = guard.cache.namespace.removeprefix("authorizers ").partition("/")
    return api_id, stage


def test_redis_keeps_a_digest_of_the_identity_not_the_token(redis_database: RedisDatabase, calls: Calls):
    redis_database.flush()
    clock = ManualClock(100.0)

    async def scenario() -> None:
        node = Node(redis_database.url, clock)
        try:
            await authorize(http_guard(node, calls), "let-me-in-secret-token")
            await asyncio.sleep(0.05)
        finally:
            await close(node)

    asyncio.run(scenario())
    assert redis_database.client is not None
    names = [k for k in redis_database.client.scan_iter() if b"{apiway:c:authorizers" in k]
    assert names and not [k for k in names if b"secret-token" in k]
    values = [redis_database.client.hget(k, "v") for k in names if b":e:" in k]
    assert values and all(orjson.loads(v)["isAuthorized"] for v in values)


def test_shared_results_are_read_by_awaiting(redis_database: RedisDatabase):
    redis_database.flush()
    clock = ManualClock(100.0)

    async def scenario() -> None:
        a, b = Node(redis_database.url, clock), Node(redis_database.url, clock)
        try:
            results_a = a.cache.results(("api", "prod", "dep1", "auth1"), "raw", bytes)
            results_b = b.cache.results(("api", "prod", "dep1", "auth1"), "raw", bytes)
            assert isinstance(results_a, SharedResults)
            results_a.put(results_a.key(("x", "y")), b"answer", b"answer", 60)
            await asyncio.sleep(0.05)
            assert await results_b.fetch(results_b.key(("x", "y"))) == b"answer"
            assert await results_b.fetch(results_b.key(("xy",))) is None
            assert b.state.cache_usage(namespace("api", "prod"))[0] == 1
        finally:
            await close(a, b)

    asyncio.run(scenario())


@pytest.mark.parametrize("failure", [FAIL_OPEN, FAIL_CLOSED])
def test_an_unreachable_redis_is_a_miss_when_open_and_503_when_closed(calls: Calls, failure: str):
    clock = ManualClock(100.0)

    async def scenario() -> None:
        node = Node(f"redis://127.0.0.1:{free_port()}/0", clock, failure)  # nothing listens there
        guard = http_guard(node, calls)
        try:
            for _ in range(2):
                if failure == FAIL_OPEN:
                    assert await authorize(guard, "let-me-in") == {"lambda": {"user": "alice"}}
                else:
                    with pytest.raises(GatewayError) as refused:
                        await authorize(guard, "let-me-in")
                    assert refused.value.status == 503
        finally:
            await close(node)

    asyncio.run(scenario())
    assert calls.count() == (2 if failure == FAIL_OPEN else 0)  # open: every request is a miss


# -- WebSocket $connect ---------------------------------------------------------------------------------------


def gated_api() -> Any:
    definition = ws_api({"$connect": {"integration": lambda_proxy("connect"),
                                      "route": {"authorizationType": "CUSTOM", "authorizerId": "au1"}},
                         "$default": {"integration": lambda_proxy("connect")}})
    definition["authorizers"]["au1"] = {"authorizerId": "au1", "name": "gate", "authorizerType": "REQUEST",
                                        "authorizerUri": INVOKE_URI.format("gate"),
                                        "identitySource": ["route.request.querystring.token"],
                                        "authorizerResultTtlInSeconds": 300}
    return definition


def test_a_websocket_connect_authorized_through_one_node_is_a_hit_on_the_other(redis_database: RedisDatabase,
                                                                              tmp_path: Path):
    redis_database.flush()
    lambdas = WsLambdas(tmp_path, HANDLERS, ("connect", "gate"))

    def gate_calls() -> int:
        return sum(1 for c in lambdas.calls() if c.get("type") == "REQUEST")

    async def scenario() -> None:
        a, b = Node(redis_database.url, lambdas.clock), Node(redis_database.url, lambdas.clock)
        lambdas.deps.authorizer_cache = a.cache
        runtime_a = lambdas.compile(gated_api())
        lambdas.deps.authorizer_cache = b.cache
        runtime_b = lambdas.compile(gated_api())
        try:
            conn = connection("token=good")
            assert (await run_connect(runtime_a, conn)).status == 200
            await asyncio.sleep(0.05)
            other = connection("token=good", connection_id="Conn5678efgh=")
            assert (await run_connect(runtime_b, other)).status == 200
            assert other.authorizer == conn.authorizer == {"principalId": "user-1", "team": "blue", "padding": ""}
            assert gate_calls() == 1
            # AWS's 8 KB quota on a WebSocket authorizer's result: a larger one is a 500, and not cached
            for runtime in (runtime_a, runtime_b):
                assert (await run_connect(runtime, connection("token=big"))).status == 500
            assert gate_calls() == 3
        finally:
            await close(a, b)
            await lambdas.close()

    asyncio.run(scenario())

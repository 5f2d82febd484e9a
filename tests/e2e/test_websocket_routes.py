"""WebSocket API routes over real sockets: an API built with boto3's apigatewayv2 whose messages select routes by a
nested expression — a two-way MOCK route, a non-proxy Lambda route with a request template and an integration
response template, a one-way route, `$default` — and the same API without `$default`; then 1,000 connections
opened and closed against the served API, with the server's file descriptors and memory read from /proc."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.http_apis import v2_client
from tests.support import Server

FUNCTIONS = '''
def shout(event, context):
    """A non-proxy function: the request template made its event."""
    return {"loud": event["said"].upper(), "by": event["who"]}


def proxy(event, context):
    return {"statusCode": 200, "body": "default got " + event["body"]}
'''
PROJECT = """functions:
  Shout: {handler: fns.py:shout, mode: inline}
  Proxy: {handler: fns.py:proxy, mode: inline}
"""
LAMBDA = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:{}/invocations"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("ws-routes")
    (root / "fns.py").write_text(FUNCTIONS)
    (root / "apiway.yaml").write_text(PROJECT)
    server = Server(root / "apiway.yaml", root / "state.db")
    try:
        yield server
    finally:
        server.stop()


def _two_way(v2: Any, api_id: str, key: str, integration: dict[str, Any], template: str | None) -> str:
    made = v2.create_integration(ApiId=api_id, **integration)["IntegrationId"]
    if template is not None:
        v2.create_integration_response(ApiId=api_id, IntegrationId=made, IntegrationResponseKey="$default",
                                       ResponseTemplates={"$default": template},
                                       TemplateSelectionExpression="\\$default")
    route = v2.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{made}",
                            RouteResponseSelectionExpression="$default")["RouteId"]
    v2.create_route_response(ApiId=api_id, RouteId=route, RouteResponseKey="$default")
    return route


def _build(port: int, with_default: bool) -> str:
    v2 = v2_client(port)
    api_id = v2.create_api(Name="routes", ProtocolType="WEBSOCKET",
                           RouteSelectionExpression="$request.body.message.type")["ApiId"]
    mock = {"IntegrationType": "MOCK", "TemplateSelectionExpression": "\\$default",
            "RequestTemplates": {"$default": '{"statusCode": 200}'}}
    _two_way(v2, api_id, "ping", mock, '{"pong": "$context.routeKey", "id": "$context.connectionId"}')
    _two_way(v2, api_id, "shout", {
        "IntegrationType": "AWS", "IntegrationUri": LAMBDA.format("Shout"),
        "TemplateSelectionExpression": "\\$default",
        "RequestTemplates": {"$default": '{"said": $input.json(\'$.message.text\'), "who": "$context.connectionId"}'},
    }, '{"shouted": $input.json(\'$.loud\'), "route": "$context.routeKey"}')
    quiet = v2.create_integration(ApiId=api_id, IntegrationType="MOCK", TemplateSelectionExpression="\\$default",
                                  RequestTemplates={"$default": '{"statusCode": 200}'})["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="quiet", Target=f"integrations/{quiet}")  # one-way: nothing comes back
    if with_default:
        _two_way(v2, api_id, "$default", {"IntegrationType": "AWS_PROXY", "IntegrationUri": LAMBDA.format("Proxy")},
                 None)
    v2.create_stage(ApiId=api_id, StageName="live", AutoDeploy=True)
    return api_id


def _url(server: Server, api_id: str) -> str:
    return f"ws://127.0.0.1:{server.port}/restapis/{api_id}/live/_user_request_"


async def _receive(ws: ClientConnection, timeout: float = 10) -> Any:
    return await asyncio.wait_for(ws.recv(), timeout)


def test_messages_select_routes_by_a_nested_expression(server: Server):
    api_id = _build(server.port, with_default=True)

    async def scenario() -> None:
        async with connect(_url(server, api_id), ping_interval=None) as ws:
            await ws.send(json.dumps({"message": {"type": "ping"}}))
            pong = json.loads(await _receive(ws))
            assert pong["pong"] == "ping" and len(pong["id"]) == 16
            await ws.send(json.dumps({"message": {"type": "shout", "text": "hello"}}))
            assert json.loads(await _receive(ws)) == {"shouted": "HELLO", "route": "shout"}
            # One-way: nothing comes back; the next message's answer is the next frame.
            await ws.send(json.dumps({"message": {"type": "quiet"}}))
            for unmatched in (json.dumps({"message": {"type": "nothing-by-that-name"}}), json.dumps({"action": "ping"}),
                              "not json at all"):
                await ws.send(unmatched)
                assert await _receive(ws) == "default got " + unmatched

    asyncio.run(scenario())


def test_without_default_an_unmatched_message_gets_the_forbidden_frame(server: Server):
    api_id = _build(server.port, with_default=False)

    async def scenario() -> None:
        async with connect(_url(server, api_id), ping_interval=None) as ws:
            await ws.send(json.dumps({"message": {"type": "ping"}}))
            connection_id = json.loads(await _receive(ws))["id"]
            await ws.send("no route for this")
            frame = json.loads(await _receive(ws))
            assert frame["message"] == "Forbidden" and frame["connectionId"] == connection_id
            assert len(frame["requestId"]) == 16
            await ws.send(json.dumps({"message": {"type": "shout", "text": "still here"}}))
            assert json.loads(await _receive(ws))["shouted"] == "STILL HERE"

    asyncio.run(scenario())


def _server_pid(server: Server) -> int:
    return server.proc.pid


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_thousand_connections_opened_and_closed_leak_no_descriptors_or_memory(server: Server):
    api_id = _build(server.port, with_default=True)
    pid = _server_pid(server)

    async def cycles(count: int) -> None:
        for i in range(count):
            async with connect(_url(server, api_id), ping_interval=None) as ws:
                if i % 10 == 0:  # every tenth one also sends a message and waits for its answer
                    await ws.send(json.dumps({"message": {"type": "ping"}}))
                    await _receive(ws)

    asyncio.run(cycles(100))  # warm: code paths, caches, allocator pools
    fds, rss = _fds(pid), _rss_kib(pid)
    asyncio.run(cycles(1000))
    asyncio.run(asyncio.sleep(0.5))  # the last $disconnect runs and closes
    assert _fds(pid) <= fds + 2, (fds, _fds(pid))
    grown = _rss_kib(pid) - rss
    assert grown < 8 * 1024, f"RSS grew by {grown} KiB over 1,000 connections"

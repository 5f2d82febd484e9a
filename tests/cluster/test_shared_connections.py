"""WebSocket connections across nodes: a message posted through @connections on node A reaches a client
connected to node C, and through the balancer whichever node takes the call."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.http_apis import v2_client
from tests.support import request


def _chat_api(port: int) -> str:
    """A WebSocket API whose `whoami` route answers with the connection's id; stage `live`, auto-deployed."""
    v2 = v2_client(port)
    api_id = v2.create_api(Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")["ApiId"]
    mock = v2.create_integration(ApiId=api_id, IntegrationType="MOCK", TemplateSelectionExpression="\\$default",
                                 RequestTemplates={"$default": '{"statusCode": 200}'})["IntegrationId"]
    v2.create_integration_response(ApiId=api_id, IntegrationId=mock, IntegrationResponseKey="$default",
                                   ResponseTemplates={"$default": '{"id": "$context.connectionId"}'},
                                   TemplateSelectionExpression="\\$default")
    route = v2.create_route(ApiId=api_id, RouteKey="whoami", Target=f"integrations/{mock}",
                            RouteResponseSelectionExpression="$default")["RouteId"]
    v2.create_route_response(ApiId=api_id, RouteId=route, RouteResponseKey="$default")
    v2.create_stage(ApiId=api_id, StageName="live", AutoDeploy=True)
    return api_id


def _post(port: int, api_id: str, connection_id: str, data: str) -> int:
    """POST @connections/{id} through `port`, as boto3's apigatewaymanagementapi calls it; retried while the
    process that takes it has not yet heard of the stage (403, for at most a second)."""
    host = f"{api_id}.execute-api.localhost:{port}"
    deadline = time.monotonic() + 1.0
    while True:
        status = request(port, "POST", f"/live/@connections/{connection_id}", {"Host": host}, body=data).status
        if status != 403 or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


async def _connected(url: str, seconds: float = 1.0) -> ClientConnection:
    """A connection to `url` once its node serves the stage (it has heard of it within `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await connect(url, ping_interval=None)
        except InvalidStatus:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_message_posted_on_node_a_reaches_a_client_on_node_c(cluster_of, workers: int) -> None:
    """With `--workers 2` a call reaches the connection whichever process of whichever node takes it."""
    cluster = cluster_of(redis=True, args=("--workers", str(workers)))
    a, c, lb = cluster.node(0).port, cluster.node(2).port, cluster.lb.port
    api_id = _chat_api(a)

    async def scenario() -> None:
        async with await _connected(f"ws://127.0.0.1:{c}/restapis/{api_id}/live/_user_request_") as ws:
            await ws.send(json.dumps({"action": "whoami"}))
            connection_id = json.loads(await asyncio.wait_for(ws.recv(), 10))["id"]
            assert await asyncio.to_thread(_post, a, api_id, connection_id, "from node A") == 200
            assert await asyncio.wait_for(ws.recv(), 5) == "from node A"
        # Connected through the balancer, posted through it: six calls land on every node in turn.
        async with connect(f"ws://127.0.0.1:{lb}/restapis/{api_id}/live/_user_request_", ping_interval=None) as ws:
            await ws.send(json.dumps({"action": "whoami"}))
            connection_id = json.loads(await asyncio.wait_for(ws.recv(), 10))["id"]
            for n in range(6):
                assert await asyncio.to_thread(_post, lb, api_id, connection_id, f"message {n}") == 200
                assert await asyncio.wait_for(ws.recv(), 5) == f"message {n}"

    asyncio.run(scenario())
    assert "Traceback" not in cluster.errors()

"""WebSocket API metrics against a real `apiway serve`: ConnectCount, MessageCount and IntegrationError through
boto3's CloudWatch client, counting the connections and messages the test made."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.e2e.test_metrics import cloudwatch
from tests.http_apis import v2_client
from tests.support import Server

FUNCTIONS = '''
def on_connect(event, context):
    query = event.get("queryStringParameters") or {}
    return {"statusCode": int(query.get("deny", 200))}


def on_message(event, context):
    return {"statusCode": 200, "body": "ok"}
'''
PROJECT = """functions:
  Connect: {handler: fns.py:on_connect, mode: inline}
  Echo: {handler: fns.py:on_message, mode: inline}
"""
ARN = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:"
       "{}/invocations")


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    root: Path = tmp_path_factory.mktemp("ws_metrics")
    (root / "fns.py").write_text(FUNCTIONS)
    (root / "apiway.yaml").write_text(PROJECT)
    server = Server(root / "apiway.yaml", root / "state.db")
    v2 = v2_client(server.port)
    api_id = v2.create_api(Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")["ApiId"]
    for route_key, function in (("$connect", "Connect"), ("send", "Echo")):
        integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                            IntegrationUri=ARN.format(function))["IntegrationId"]
        route = v2.create_route(ApiId=api_id, RouteKey=route_key, Target=f"integrations/{integration}",
                                RouteResponseSelectionExpression="$default")["RouteId"]
        if route_key == "send":  # two-way: the client gets the function's answer, so each message has finished
            v2.create_route_response(ApiId=api_id, RouteId=route, RouteResponseKey="$default")
    v2.create_stage(ApiId=api_id, StageName="prod")
    v2.create_deployment(ApiId=api_id, StageName="prod")

    async def traffic() -> None:
        url = f"ws://{api_id}.execute-api.localhost:{server.port}/prod"
        async with connect(url, host="127.0.0.1", port=server.port, ping_interval=None, open_timeout=10) as ws:
            for _ in range(3):
                await ws.send('{"action": "send"}')
                assert await asyncio.wait_for(ws.recv(), 10) == "ok"
        with pytest.raises(InvalidStatus):  # refused by the $connect integration: its error
            async with connect(url + "?deny=403", host="127.0.0.1", port=server.port, open_timeout=10):
                pass

    asyncio.run(traffic())
    yield server, api_id
    server.stop()


def total(port: int, metric: str, dims: list[dict[str, str]]) -> float:
    now = datetime.now(UTC)
    reply = cloudwatch(port).get_metric_statistics(
        Namespace="AWS/ApiGateway", MetricName=metric, Dimensions=dims, Period=3600, Statistics=["Sum"],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1))
    return sum(point["Sum"] for point in reply["Datapoints"])


def test_websocket_events_are_counted(chat: tuple[Server, str]) -> None:
    server, api_id = chat
    dims = [{"Name": "ApiId", "Value": api_id}, {"Name": "Stage", "Value": "prod"}]
    assert total(server.port, "ConnectCount", dims) == 2
    assert total(server.port, "MessageCount", dims) == 3
    assert total(server.port, "IntegrationError", dims) == 1  # the refused $connect
    assert total(server.port, "ClientError", dims) == total(server.port, "ExecutionError", dims) == 0
    assert total(server.port, "MessageCount", dims[:1]) == 3

"""What the apigatewayv2 control plane builds is served at once: an HTTP API quick-created over a project
function answers through its auto-deployed `$default` stage, a route added with boto3 answers on the next
request, a stage without auto-deploy serves only what CreateDeployment gives it, a deleted API stops
answering, and a deployment the gateway could not serve is refused before anything is written."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.echo_backend import EchoServer
from tests.http_apis import client_error, invoke, v2_client
from tests.support import Reply, Server

HANDLER = """import json
def handler(event, context):
    return {"route": event["routeKey"], "path": event["rawPath"], "stage": event["requestContext"]["stage"]}
"""
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:Hello"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("http-serving")
    (root / "hello.py").write_text(HANDLER)
    (root / "apiway.yaml").write_text("functions:\n  Hello: {handler: hello.py:handler, mode: inline}\n")
    server = Server(root / "apiway.yaml", root / "state.db")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def v2(server: Server):
    return v2_client(server.port)


def call(server: Server, api_id: str, method: str, path: str) -> Reply:
    return invoke(server.port, api_id, method, path)


def test_a_quick_created_api_answers_through_its_default_stage(server: Server, v2):
    api_id = v2.create_api(Name="hello", ProtocolType="HTTP", Target=FUNCTION)["ApiId"]
    reply = call(server, api_id, "GET", "/any/path")
    assert reply.status == 200 and reply.header("content-type") == "application/json"
    assert reply.json() == {"route": "$default", "path": "/any/path", "stage": "$default"}

    integration = v2.get_integrations(ApiId=api_id)["Items"][0]["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /pets/{id}", Target=f"integrations/{integration}")
    assert call(server, api_id, "GET", "/pets/7").json()["route"] == "GET /pets/{id}"  # auto-deployed at once

    v2.delete_api(ApiId=api_id)
    # No stage of the API is served any more: the gateway answers as for an API it does not know.
    assert call(server, api_id, "GET", "/pets/7").status in (403, 404)


def test_a_stage_without_auto_deploy_serves_what_create_deployment_gives_it(server: Server, v2,
                                                                            backend: EchoServer):
    api_id = v2.create_api(Name="staged", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                                        IntegrationUri=f"http://{backend.address}/backend")["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /one", Target=f"integrations/{integration}")
    v2.create_stage(ApiId=api_id, StageName="prod")
    assert call(server, api_id, "GET", "/prod/one").status in (403, 404)  # no deployment yet: nothing served
    v2.create_deployment(ApiId=api_id, StageName="prod")
    reply = call(server, api_id, "GET", "/prod/one")
    assert reply.status == 200 and json.loads(reply.body)["path"] == "/backend"
    v2.create_route(ApiId=api_id, RouteKey="GET /two", Target=f"integrations/{integration}")
    assert call(server, api_id, "GET", "/prod/two").status == 404  # not deployed to prod yet
    v2.create_deployment(ApiId=api_id, StageName="prod")
    assert call(server, api_id, "GET", "/prod/two").status == 200


def test_a_deployment_the_gateway_cannot_serve_is_refused(server: Server, v2):
    api_id = v2.create_api(Name="broken", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
                                        IntegrationUri="not-an-arn")["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /x", Target=f"integrations/{integration}")
    v2.create_stage(ApiId=api_id, StageName="prod")
    code, _, message = client_error(v2.create_deployment, ApiId=api_id, StageName="prod")
    assert code == "BadRequestException" and "Invalid Lambda function ARN" in message
    assert v2.get_deployments(ApiId=api_id)["Items"] == []  # nothing was written
    assert "DeploymentId" not in v2.get_stage(ApiId=api_id, StageName="prod")

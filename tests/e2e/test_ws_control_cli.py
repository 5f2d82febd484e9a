"""The apigatewayv2 control plane for WebSocket APIs driven by the real AWS CLI (`aws apigatewayv2 …`)
against a running apiway: a chat API built as AWS's WebSocket tutorials build it (Lambda routes, a REQUEST
authorizer on $connect, a two-way route with its route response, a mock with an integration response, a
model), deployed to a stage, and a refusal as the CLI prints it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_http_control_cli import aws, cli
from tests.support import Server

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:{}"
URI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(None, tmp_path_factory.mktemp("ws-cli") / "state.db")
    yield server
    server.stop()


def test_aws_cli_builds_a_websocket_api(server: Server, tmp_path: Path):
    api = aws(server, tmp_path, "create-api", "--name", "chat", "--protocol-type", "WEBSOCKET",
              "--route-selection-expression", "$request.body.action")
    api_id = api["ApiId"]
    assert (api["ProtocolType"], api["RouteSelectionExpression"]) == ("WEBSOCKET", "$request.body.action")
    assert api["ApiEndpoint"] == f"wss://{api_id}.execute-api.us-east-1.amazonaws.com"

    def integration(name: str) -> str:
        made = aws(server, tmp_path, "create-integration", "--api-id", api_id, "--integration-type", "AWS_PROXY",
                   "--integration-method", "POST", "--integration-uri", URI.format(FUNCTION.format(name)))
        return str(made["IntegrationId"])

    authorizer = aws(server, tmp_path, "create-authorizer", "--api-id", api_id, "--name", "token",
                     "--authorizer-type", "REQUEST", "--authorizer-uri", URI.format(FUNCTION.format("auth")),
                     "--identity-source", "route.request.querystring.token")
    assert authorizer["IdentitySource"] == ["route.request.querystring.token"]
    connect = aws(server, tmp_path, "create-route", "--api-id", api_id, "--route-key", "$connect",
                  "--authorization-type", "CUSTOM", "--authorizer-id", authorizer["AuthorizerId"],
                  "--target", f"integrations/{integration('connect')}")
    assert (connect["RouteKey"], connect["AuthorizationType"]) == ("$connect", "CUSTOM")
    send = aws(server, tmp_path, "create-route", "--api-id", api_id, "--route-key", "sendmessage",
               "--route-response-selection-expression", "$default",
               "--target", f"integrations/{integration('send')}")
    response = aws(server, tmp_path, "create-route-response", "--api-id", api_id, "--route-id", send["RouteId"],
                   "--route-response-key", "$default")
    assert response["RouteResponseKey"] == "$default"
    listed = aws(server, tmp_path, "get-route-responses", "--api-id", api_id, "--route-id", send["RouteId"])
    assert [r["RouteResponseId"] for r in listed["Items"]] == [response["RouteResponseId"]]

    mock = aws(server, tmp_path, "create-integration", "--api-id", api_id, "--integration-type", "MOCK",
               "--request-templates", json.dumps({"$default": '{"statusCode": 200}'}),
               "--template-selection-expression", "\\$default")
    assert mock["RequestTemplates"] == {"$default": '{"statusCode": 200}'}
    answer = aws(server, tmp_path, "create-integration-response", "--api-id", api_id, "--integration-id",
                 mock["IntegrationId"], "--integration-response-key", "$default",
                 "--response-templates", json.dumps({"$default": '{"pong": true}'}))
    assert answer["IntegrationResponseKey"] == "$default"
    aws(server, tmp_path, "create-route", "--api-id", api_id, "--route-key", "$default",
        "--target", f"integrations/{mock['IntegrationId']}")

    model = aws(server, tmp_path, "create-model", "--api-id", api_id, "--name", "Message", "--content-type",
                "application/json", "--schema", '{"type": "object", "properties": {"text": {"type": "string"}}}')
    template = aws(server, tmp_path, "get-model-template", "--api-id", api_id, "--model-id", model["ModelId"])
    assert "$inputRoot.text" in template["Value"]

    stage = aws(server, tmp_path, "create-stage", "--api-id", api_id, "--stage-name", "production",
                "--auto-deploy", "--default-route-settings", "LoggingLevel=INFO,DataTraceEnabled=true")
    assert stage["AutoDeploy"] and stage["DeploymentId"]
    assert stage["DefaultRouteSettings"]["LoggingLevel"] == "INFO"
    routes = aws(server, tmp_path, "get-routes", "--api-id", api_id)["Items"]
    assert sorted(r["RouteKey"] for r in routes) == ["$connect", "$default", "sendmessage"]

    failed = cli(server, tmp_path, "create-route", "--api-id", api_id, "--route-key", "other",
                 "--authorization-type", "AWS_IAM", ok=False)
    assert ("An error occurred (BadRequestException) when calling the CreateRoute operation: Currently, "
            "authorization is restricted to the $connect route only") in failed.stderr
    aws(server, tmp_path, "delete-api", "--api-id", api_id)

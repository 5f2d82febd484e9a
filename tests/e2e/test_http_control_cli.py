"""The apigatewayv2 control plane driven by the real AWS CLI (`aws apigatewayv2 …`) against a running
apiway: an HTTP API quick-created, extended call by call, staged, deployed, tagged, listed page by page and
deleted, and an error as the CLI prints it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Server

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:my-function"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(None, tmp_path_factory.mktemp("http-cli") / "state.db")
    yield server
    server.stop()


def cli(server: Server, tmp: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """`aws apigatewayv2 …` with throwaway credentials and no user configuration."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"), "AWS_PAGER": "",
           "AWS_MAX_ATTEMPTS": "1"}
    aws = Path(sys.executable).with_name("aws")
    done = subprocess.run([str(aws), "apigatewayv2", *args, "--endpoint-url", f"http://127.0.0.1:{server.port}",
                           "--output", "json"], capture_output=True, text=True, env=env, timeout=60)
    assert (done.returncode == 0) == ok, done.stderr
    return done


def aws(server: Server, tmp: Path, *args: str) -> dict:
    output = cli(server, tmp, *args).stdout
    return json.loads(output) if output.strip() else {}


def test_aws_cli_builds_an_http_api(server: Server, tmp_path: Path):
    api = aws(server, tmp_path, "create-api", "--name", "my-http-api", "--protocol-type", "HTTP", "--target", FUNCTION)
    api_id = api["ApiId"]
    assert (api["Name"], api["ProtocolType"], api["RouteSelectionExpression"]) == (
        "my-http-api", "HTTP", "$request.method $request.path")
    default = aws(server, tmp_path, "get-stage", "--api-id", api_id, "--stage-name", "$default")
    assert default["AutoDeploy"] and default["DeploymentId"]

    integration = aws(server, tmp_path, "create-integration", "--api-id", api_id, "--integration-type", "HTTP_PROXY",
                      "--integration-method", "GET", "--integration-uri", "https://example.com/{proxy}",
                      "--timeout-in-millis", "2000")
    assert (integration["IntegrationType"], integration["TimeoutInMillis"]) == ("HTTP_PROXY", 2000)
    authorizer = aws(server, tmp_path, "create-authorizer", "--api-id", api_id, "--authorizer-type", "JWT",
                     "--name", "my-jwt-authorizer", "--identity-source", "$request.header.Authorization",
                     "--jwt-configuration", "Audience=123456abc,Issuer=https://issuer.example.com")
    assert authorizer["JwtConfiguration"] == {"Audience": ["123456abc"], "Issuer": "https://issuer.example.com"}
    route = aws(server, tmp_path, "create-route", "--api-id", api_id, "--route-key", "GET /pets/{proxy+}",
                "--target", f"integrations/{integration['IntegrationId']}", "--authorization-type", "JWT",
                "--authorizer-id", authorizer["AuthorizerId"], "--authorization-scopes", "pets.read")
    assert (route["RouteKey"], route["AuthorizationScopes"]) == ("GET /pets/{proxy+}", ["pets.read"])
    updated = aws(server, tmp_path, "update-route", "--api-id", api_id, "--route-id", route["RouteId"],
                  "--route-key", "ANY /pets/{proxy+}")
    assert updated["RouteKey"] == "ANY /pets/{proxy+}"

    # $default deployed each change; a stage without auto-deploy takes a deployment when given one.
    assert len(aws(server, tmp_path, "get-deployments", "--api-id", api_id)["Items"]) == 5
    aws(server, tmp_path, "create-stage", "--api-id", api_id, "--stage-name", "prod",
        "--stage-variables", "function=my-prod-function")
    deployment = aws(server, tmp_path, "create-deployment", "--api-id", api_id, "--stage-name", "prod")
    prod = aws(server, tmp_path, "get-stage", "--api-id", api_id, "--stage-name", "prod")
    assert (prod["DeploymentId"], prod["StageVariables"]) == (deployment["DeploymentId"], {"function": "my-prod-function"})
    aws(server, tmp_path, "update-stage", "--api-id", api_id, "--stage-name", "prod",
        "--route-settings", '{"ANY /pets/{proxy+}": {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 2000}}')
    aws(server, tmp_path, "delete-route-settings", "--api-id", api_id, "--stage-name", "prod",
        "--route-key", "ANY /pets/{proxy+}")
    assert aws(server, tmp_path, "get-stage", "--api-id", api_id, "--stage-name", "prod")["RouteSettings"] == {}

    arn = f"arn:aws:apigateway:us-east-1::/apis/{api_id}"
    aws(server, tmp_path, "tag-resource", "--resource-arn", arn, "--tags", "owner=dev-team,environment=prod")
    assert aws(server, tmp_path, "get-tags", "--resource-arn", arn)["Tags"] == {"owner": "dev-team",
                                                                                 "environment": "prod"}
    aws(server, tmp_path, "untag-resource", "--resource-arn", arn, "--tag-keys", "owner")
    assert aws(server, tmp_path, "get-tags", "--resource-arn", arn)["Tags"] == {"environment": "prod"}

    aws(server, tmp_path, "delete-api", "--api-id", api_id)
    failed = cli(server, tmp_path, "get-api", "--api-id", api_id, ok=False)
    assert (f"An error occurred (NotFoundException) when calling the GetApi operation: Invalid API identifier "
            f"specified 123456789012:{api_id}") in failed.stderr


def test_aws_cli_lists_every_page(server: Server, tmp_path: Path):
    names = [f"listed-{i}" for i in range(5)]
    for name in names:
        aws(server, tmp_path, "create-api", "--name", name, "--protocol-type", "HTTP")
    # The CLI follows NextToken itself; --page-size makes it fetch two at a time.
    listed = aws(server, tmp_path, "get-apis", "--page-size", "2")["Items"]
    assert sorted(a["Name"] for a in listed if a["Name"].startswith("listed-")) == names  # each once
    first = aws(server, tmp_path, "get-apis", "--max-items", "2")
    assert len(first["Items"]) == 2 and first["NextToken"]

"""An HTTP API built with the real AWS CLI (`aws apigatewayv2 …`) against a real `apiway serve`, called over real
sockets after each step: quick create over a project function, an HTTP_PROXY route to a real backend named by a
stage variable, a Lambda authorizer answering IAM policies (payload 1.0) whose context a mapping passes on, CORS,
and a named stage that serves once a deployment is made for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.echo_backend import EchoServer, header_values
from tests.support import Reply, Server, request

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
ORIGIN = "https://cli.example.com"

FUNCTIONS = """import json

def hello(event, context):
    return {"statusCode": 200, "body": json.dumps({"route": event["routeKey"], "path": event["rawPath"]})}

def policy(event, context):
    token = event["authorizationToken"]
    effect = "Allow" if token == "Bearer allow" else "Deny"
    return {"principalId": "alice", "context": {"user": "alice", "arn": event["methodArn"]},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("http-cli-journey")
    (root / "fns.py").write_text(FUNCTIONS)
    (root / "apiway.yaml").write_text("functions:\n  Hello: {handler: fns.py:hello, mode: inline}\n"
                                      "  Policy: {handler: fns.py:policy, mode: inline}\n")
    server = Server(root / "apiway.yaml", root / "state.db")
    yield server
    server.stop()


def aws(server: Server, tmp: Path, *args: str) -> dict:
    """`aws apigatewayv2 …` with throwaway credentials and no user configuration; its JSON output."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_PAGER": "",
           "AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
           "AWS_MAX_ATTEMPTS": "1"}
    done = subprocess.run([str(Path(sys.executable).with_name("aws")), "apigatewayv2", *args, "--region", "us-east-1",
                           "--endpoint-url", f"http://127.0.0.1:{server.port}", "--output", "json"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def call(server: Server, api_id: str, method: str, path: str, headers: dict[str, str] | None = None) -> Reply:
    host = ("Host", f"{api_id}.execute-api.localhost:{server.port}")
    return request(server.port, method, path, [host, *(headers or {}).items()])


def seen(reply: Reply, api_id: str) -> tuple[int, object]:
    """Status and body with what differs between any two requests (the API id, the backend's connection count
    and the trace id) made neutral."""
    body = json.loads(reply.body.replace(api_id.encode(), b"API"))
    if "connection" in body:
        body["connection"] = None
        body["headers"] = [[k, v] for k, v in body["headers"] if k.lower() != "x-amzn-trace-id"]
    return reply.status, body


def test_the_aws_cli_builds_an_http_api_that_answers_after_each_step(server: Server, backend: EchoServer,
                                                                     tmp_path: Path) -> None:
    # Quick create: one route over the function, deployed to `$default` at once.
    api = aws(server, tmp_path, "create-api", "--name", "cli-journey", "--protocol-type", "HTTP",
              "--target", ARN.format("Hello"), "--route-key", "GET /hello")
    api_id = api["ApiId"]
    hello = call(server, api_id, "GET", "/hello")
    assert (hello.status, hello.json()) == (200, {"route": "GET /hello", "path": "/hello"})
    assert hello.header("Content-Type") == "text/plain; charset=utf-8"  # the function named none
    missing = call(server, api_id, "GET", "/svc/5")
    assert (missing.status, missing.json()) == (404, {"message": "Not Found"})

    # A stage variable on `$default` names the backend of a new HTTP_PROXY route.
    aws(server, tmp_path, "update-stage", "--api-id", api_id, "--stage-name", "$default",
        "--stage-variables", f"backend={backend.address}")
    integration = aws(server, tmp_path, "create-integration", "--api-id", api_id, "--integration-type", "HTTP_PROXY",
                      "--integration-method", "GET", "--payload-format-version", "1.0",
                      "--integration-uri", "http://${stageVariables.backend}/svc/{id}",
                      "--request-parameters", "append:header.x-stage=$context.stage")
    assert integration["RequestParameters"] == {"append:header.x-stage": "$context.stage"}
    route = aws(server, tmp_path, "create-route", "--api-id", api_id, "--route-key", "GET /svc/{id}",
                "--target", f"integrations/{integration['IntegrationId']}")
    record = call(server, api_id, "GET", "/svc/5?x=1").json()
    assert (record["method"], record["path"], record["query"]) == ("GET", "/svc/5", "x=1")
    assert header_values(record, "x-stage") == ["$default"]

    # A Lambda authorizer answering IAM policies, its context mapped into a header for the backend.
    authorizer = aws(server, tmp_path, "create-authorizer", "--api-id", api_id, "--name", "policy",
                     "--authorizer-type", "REQUEST", "--identity-source", "$request.header.Authorization",
                     "--authorizer-uri", f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                         f"{ARN.format('Policy')}/invocations",
                     "--authorizer-payload-format-version", "1.0", "--authorizer-result-ttl-in-seconds", "0")
    assert (authorizer["AuthorizerType"], authorizer["AuthorizerPayloadFormatVersion"]) == ("REQUEST", "1.0")
    aws(server, tmp_path, "update-route", "--api-id", api_id, "--route-id", route["RouteId"],
        "--authorization-type", "CUSTOM", "--authorizer-id", authorizer["AuthorizerId"])
    aws(server, tmp_path, "update-integration", "--api-id", api_id, "--integration-id", integration["IntegrationId"],
        "--request-parameters", "append:header.x-stage=$context.stage,append:header.x-user=$context.authorizer.user")
    for headers, status, message in (({}, 401, "Unauthorized"), ({"Authorization": "Bearer deny"}, 403, "Forbidden")):
        refused = call(server, api_id, "GET", "/svc/6", headers)
        assert (refused.status, refused.json()) == (status, {"message": message})
    record = call(server, api_id, "GET", "/svc/6", {"Authorization": "Bearer allow"}).json()
    assert header_values(record, "x-user") == ["alice"] and header_values(record, "x-stage") == ["$default"]
    assert header_values(record, "authorization") == ["Bearer allow"]  # the token goes on to the backend

    # CORS: preflights answered by the gateway, ahead of the authorizer.
    updated = aws(server, tmp_path, "update-api", "--api-id", api_id, "--cors-configuration",
                  f"AllowOrigins={ORIGIN},AllowMethods=GET,AllowHeaders=authorization,MaxAge=60")
    assert updated["CorsConfiguration"] == {"AllowOrigins": [ORIGIN], "AllowMethods": ["GET"],
                                            "AllowHeaders": ["authorization"], "MaxAge": 60}
    preflight = call(server, api_id, "OPTIONS", "/svc/6", {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert (preflight.status, preflight.header("Access-Control-Allow-Origin"),
            preflight.header("Access-Control-Allow-Methods"), preflight.header("Access-Control-Max-Age")) == (
        204, ORIGIN, "GET", "60")
    assert call(server, api_id, "GET", "/hello", {"Origin": ORIGIN}).header("Access-Control-Allow-Origin") == ORIGIN

    # A named stage serves once CreateDeployment gives it the API as it is now.
    stage = aws(server, tmp_path, "create-stage", "--api-id", api_id, "--stage-name", "v1",
                "--stage-variables", f"backend={backend.address}")
    assert "DeploymentId" not in stage
    deployment = aws(server, tmp_path, "create-deployment", "--api-id", api_id, "--stage-name", "v1",
                     "--description", "from the CLI")
    assert (deployment["DeploymentStatus"], deployment["AutoDeployed"]) == ("DEPLOYED", False)
    assert aws(server, tmp_path, "get-stage", "--api-id", api_id,
               "--stage-name", "v1")["DeploymentId"] == deployment["DeploymentId"]
    reply = call(server, api_id, "GET", "/v1/svc/7", {"Authorization": "Bearer allow", "Origin": ORIGIN})
    assert (reply.status, reply.header("Access-Control-Allow-Origin")) == (200, ORIGIN)
    record = reply.json()
    assert record["path"] == "/svc/7"
    assert header_values(record, "x-stage") == ["v1"] and header_values(record, "x-user") == ["alice"]
    refused = call(server, api_id, "GET", "/v1/svc/7", {"Authorization": "Bearer deny"})
    assert (refused.status, refused.json()) == (403, {"message": "Forbidden"})
    assert call(server, api_id, "GET", "/v1/hello").json() == {"route": "GET /hello", "path": "/v1/hello"}
    assert [d["DeploymentId"] for d in aws(server, tmp_path, "get-deployments", "--api-id", api_id)["Items"]
            if not d["AutoDeployed"]] == [deployment["DeploymentId"]]

    # The v1 stage exported to a YAML file and imported as a new API, deployed to its own v1 stage, answers alike.
    exported = tmp_path / "exported.yaml"
    aws(server, tmp_path, "export-api", "--api-id", api_id, "--specification", "OAS30", "--output-type", "YAML",
        "--stage-name", "v1", str(exported))
    assert "x-amazon-apigateway-importexport-version" in exported.read_text()
    copy = aws(server, tmp_path, "import-api", "--body", f"file://{exported}")
    assert (copy["Name"], copy["CorsConfiguration"]) == ("cli-journey", updated["CorsConfiguration"])
    aws(server, tmp_path, "create-stage", "--api-id", copy["ApiId"], "--stage-name", "v1",
        "--stage-variables", f"backend={backend.address}")
    aws(server, tmp_path, "create-deployment", "--api-id", copy["ApiId"], "--stage-name", "v1")
    for headers in ({"Authorization": "Bearer allow"}, {"Authorization": "Bearer deny"}, {}):
        mine, theirs = (call(server, a, "GET", "/v1/svc/8", headers) for a in (api_id, copy["ApiId"]))
        assert seen(theirs, copy["ApiId"]) == seen(mine, api_id)
    assert call(server, copy["ApiId"], "GET", "/v1/hello").json() == {"route": "GET /hello", "path": "/v1/hello"}

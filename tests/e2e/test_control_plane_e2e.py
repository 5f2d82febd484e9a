"""The control plane end to end, as users drive it: real boto3 and the real AWS CLI build an API
step by step against a running apiway, call it, change it with patch operations, redeploy, export
it, re-import the export as a second API and show both answer identically."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Server, apigateway_client

HANDLER = '''
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"pet": event["pathParameters"]["id"], "stage": event["requestContext"]["stage"]})}
'''
LAMBDA_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
              "arn:aws:lambda:us-east-1:123456789012:function:PetFn/invocations")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("control-e2e")
    (root / "pet.py").write_text(HANDLER)
    (root / "apiway.yaml").write_text("functions:\n  PetFn: {handler: pet.py:handler, mode: inline}\n")
    server = Server(root / "apiway.yaml", root / "state.db")
    yield server
    server.stop()


def _build_step_by_step(client) -> tuple[str, str]:
    api = client.create_rest_api(name="pets-by-hand", description="built call by call")
    api_id = api["id"]
    root_id = api["rootResourceId"]
    pets = client.create_resource(restApiId=api_id, parentId=root_id, pathPart="pets")
    client.put_method(restApiId=api_id, resourceId=pets["id"], httpMethod="GET", authorizationType="NONE")
    client.put_integration(restApiId=api_id, resourceId=pets["id"], httpMethod="GET", type="MOCK",
                           requestTemplates={"application/json": '{"statusCode": 200}'})
    # As on AWS, the method response must declare a header before an integration response maps it.
    client.put_method_response(restApiId=api_id, resourceId=pets["id"], httpMethod="GET", statusCode="200",
                               responseParameters={"method.response.header.X-Source": False})
    client.put_integration_response(restApiId=api_id, resourceId=pets["id"], httpMethod="GET", statusCode="200",
                                    responseTemplates={"application/json": '{"pets": ["rex", "tom"]}'},
                                    responseParameters={"method.response.header.X-Source": "'mock'"})
    pet = client.create_resource(restApiId=api_id, parentId=pets["id"], pathPart="{id}")
    client.put_method(restApiId=api_id, resourceId=pet["id"], httpMethod="GET", authorizationType="NONE",
                      requestParameters={"method.request.path.id": True})
    client.put_integration(restApiId=api_id, resourceId=pet["id"], httpMethod="GET", type="AWS_PROXY",
                           integrationHttpMethod="POST", uri=LAMBDA_URI)
    deployment = client.create_deployment(restApiId=api_id, stageName="prod", description="first")
    return api_id, deployment["id"]


def test_build_call_patch_redeploy_export_reimport(server: Server):
    client = apigateway_client(server.port)
    api_id, first = _build_step_by_step(client)

    reply = server.call("GET", api_id, "prod", "/pets")
    assert reply.status == 200, reply.body
    assert reply.json() == {"pets": ["rex", "tom"]}
    assert reply.header("X-Source") == "mock"
    assert server.call("GET", api_id, "prod", "/pets/7").json() == {"pet": "7", "stage": "prod"}

    # A patch changes the API, not what is served, until the next deployment.
    resource_id = next(r["id"] for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/pets")
    client.update_integration_response(
        restApiId=api_id, resourceId=resource_id, httpMethod="GET", statusCode="200",
        patchOperations=[{"op": "replace", "path": "/responseTemplates/application~1json",
                          "value": '{"pets": ["rex", "tom", "kit"]}'}])
    assert server.call("GET", api_id, "prod", "/pets").json() == {"pets": ["rex", "tom"]}
    second = client.create_deployment(restApiId=api_id, stageName="prod", description="second")["id"]
    assert second != first
    assert server.call("GET", api_id, "prod", "/pets").json() == {"pets": ["rex", "tom", "kit"]}
    assert client.get_stage(restApiId=api_id, stageName="prod")["deploymentId"] == second
    assert {d["id"] for d in client.get_deployments(restApiId=api_id)["items"]} == {first, second}

    # Export the stage, import the export as a second API, deploy it: both answer identically.
    exported = client.get_export(restApiId=api_id, stageName="prod", exportType="oas30",
                                 parameters={"extensions": "apigateway"}, accepts="application/json")
    document = exported["body"].read()
    assert json.loads(document)["openapi"].startswith("3.0")
    copy_id = client.import_rest_api(body=document)["id"]
    assert copy_id != api_id
    client.create_deployment(restApiId=copy_id, stageName="prod")
    for path in ("/pets", "/pets/42", "/nope"):
        original, copy = server.call("GET", api_id, "prod", path), server.call("GET", copy_id, "prod", path)
        assert (original.status, original.body, original.header("Content-Type"), original.header("X-Source")) == (
            copy.status, copy.body, copy.header("Content-Type"), copy.header("X-Source")), path

    # Deleting the stage stops serving it at once.
    client.delete_stage(restApiId=copy_id, stageName="prod")
    assert server.call("GET", copy_id, "prod", "/pets").status == 403


def _aws_cli(server: Server, *args: str, tmp: Path) -> str:
    """`aws apigateway …` against the server, with throwaway credentials and no user configuration; its output."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"), "AWS_PAGER": ""}
    aws = Path(sys.executable).with_name("aws")
    done = subprocess.run([str(aws), "apigateway", *args, "--endpoint-url", f"http://127.0.0.1:{server.port}"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _aws(server: Server, *args: str, tmp: Path) -> dict:
    output = _aws_cli(server, *args, "--output", "json", tmp=tmp)
    return json.loads(output) if output.strip() else {}


def test_aws_cli_builds_deploys_patches_and_exports(server: Server, tmp_path: Path):
    api = _aws(server, "create-rest-api", "--name", "cli-api", tmp=tmp_path)
    api_id = api["id"]
    resources = _aws(server, "get-resources", "--rest-api-id", api_id, tmp=tmp_path)["items"]
    root_id = next(r["id"] for r in resources if r["path"] == "/")
    hello = _aws(server, "create-resource", "--rest-api-id", api_id, "--parent-id", root_id, "--path-part", "hello",
                 tmp=tmp_path)
    common = ["--rest-api-id", api_id, "--resource-id", hello["id"], "--http-method", "GET"]
    _aws(server, "put-method", *common, "--authorization-type", "NONE", tmp=tmp_path)
    _aws(server, "put-integration", *common, "--type", "MOCK", "--request-templates",
         '{"application/json": "{\\"statusCode\\": 200}"}', tmp=tmp_path)
    _aws(server, "put-integration-response", *common, "--status-code", "200", "--response-templates",
         '{"application/json": "{\\"hello\\": \\"$stageVariables.who\\"}"}', tmp=tmp_path)
    _aws(server, "put-method-response", *common, "--status-code", "200", tmp=tmp_path)
    _aws(server, "create-deployment", "--rest-api-id", api_id, "--stage-name", "dev", "--variables", "who=world",
         tmp=tmp_path)
    assert server.call("GET", api_id, "dev", "/hello").json() == {"hello": "world"}

    # Stage variables change with a patch and apply at once (no redeployment needed for stage settings).
    _aws(server, "update-stage", "--rest-api-id", api_id, "--stage-name", "dev", "--patch-operations",
         "op=replace,path=/variables/who,value=cli", tmp=tmp_path)
    assert server.call("GET", api_id, "dev", "/hello").json() == {"hello": "cli"}

    out = tmp_path / "export.yaml"
    _aws_cli(server, "get-export", "--rest-api-id", api_id, "--stage-name", "dev", "--export-type", "swagger",
             "--parameters", "extensions=apigateway", "--accepts", "application/yaml", str(out), tmp=tmp_path)
    assert out.read_text().startswith("swagger:") or "swagger: '2.0'" in out.read_text()
    copy = _aws(server, "import-rest-api", "--body", f"fileb://{out}", tmp=tmp_path)
    _aws(server, "create-deployment", "--rest-api-id", copy["id"], "--stage-name", "dev", "--variables", "who=cli",
         tmp=tmp_path)
    assert server.call("GET", copy["id"], "dev", "/hello").body == server.call("GET", api_id, "dev", "/hello").body
    listed = {a["id"] for a in _aws(server, "get-rest-apis", tmp=tmp_path)["items"]}
    assert {api_id, copy["id"]} <= listed


def test_apiway_cli_import_deploy_export_apis(server: Server, tmp_path: Path):
    spec = Path(__file__).resolve().parents[2] / "examples" / "petstore" / "petstore.yaml"
    endpoint = ["--endpoint", f"http://127.0.0.1:{server.port}"]

    def apiway(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "apiway", *args, *endpoint], capture_output=True, text=True,
                              timeout=60)

    imported = apiway("import", str(spec))
    assert imported.returncode == 0, imported.stderr
    api_id = imported.stdout.split()[0]
    deployed = apiway("deploy", api_id, "--stage", "test")
    assert deployed.returncode == 0, deployed.stderr
    assert f"http://{api_id}.execute-api.localhost:{server.port}/test" in deployed.stdout
    listing = apiway("apis")
    assert listing.returncode == 0 and api_id in listing.stdout and "test" in listing.stdout
    exported = apiway("export", api_id, "--stage", "test", "--type", "swagger", "--format", "yaml")
    assert exported.returncode == 0 and "swagger:" in exported.stdout
    missing = apiway("deploy", "nosuchapi0", "--stage", "x")
    assert missing.returncode == 1
    assert missing.stderr.strip() == ("apiway: NotFoundException: Invalid API identifier specified "
                                      "123456789012:nosuchapi0")
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: 3.0.1\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n"
                   "      x-amazon-apigateway-integration: {type: FOO}\n")
    refused = apiway("import", str(bad))
    assert refused.returncode == 2
    assert f"{bad}:6:" in refused.stderr and "type" in refused.stderr
    down = subprocess.run([sys.executable, "-m", "apiway", "apis", "--endpoint", "http://127.0.0.1:9"],
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and "no apiway at http://127.0.0.1:9" in down.stderr

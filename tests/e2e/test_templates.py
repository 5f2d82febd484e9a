"""SAM, CloudFormation and CDK templates served end to end: `apiway serve` reads the template (or finds it in
the folder), runs its Python functions and serves its APIs under the ids `${ServerlessRestApi}`-style
references resolve to; authorizers, API keys with usage plans, CORS and stage variables behave as on AWS."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.http_apis import invoke
from tests.support import REPO, Server, request

SAM_APP = REPO / "examples" / "sam-app"
CFN_APP = REPO / "examples" / "cloudformation"


def copy_app(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".apiway", "__pycache__"))
    return target


def api_key(server: Server) -> str:
    found = re.search(r"x-api-key: (\S+)", server.output)
    assert found, server.output
    return found.group(1)


def test_sam_app_in_a_folder_without_a_project_file(tmp_path: Path) -> None:
    app = copy_app(SAM_APP, tmp_path / "app")
    server = Server(None, app / "state.db")  # runs in the app's folder, no file named
    try:
        out = server.output
        assert "apiway: no apiway.yaml here: serving template.yaml" in out
        assert "not emulated (accepted, left out): AWS::DynamoDB::Table" in out
        rest, http = server.api_ids["OrdersApi"], server.api_ids["ServerlessHttpApi"]
        # The public method: the function's environment from Globals, Parameters, Conditions, !Sub with the API's id
        hello = server.call("GET", rest, "dev", "/hello")
        assert hello.status == 200, hello.body
        assert hello.json() == {"message": "hello from dev", "prod": "no", "payload": "1.0",
                                "api_url": f"https://{rest}.execute-api.us-east-1.amazonaws.com/dev"}
        # A Node.js function on the same API and on the HTTP API
        prices = server.call("GET", rest, "dev", "/prices")
        assert prices.status == 200, prices.body
        assert prices.json()["runtime"] == "nodejs" and prices.json()["stage"] == "dev"
        assert invoke(server.port, http, "GET", "/prices").json()["payload"] == "2.0"
        # DefaultAuthorizer: the TOKEN authorizer refuses, then lets in; the stage variable from Mappings
        assert server.call("GET", rest, "dev", "/orders").status == 401
        orders = server.call("GET", rest, "dev", "/orders", headers={"Authorization": "allow-ann"})
        assert orders.status == 200 and orders.json()["tier"] == "5" and orders.json()["route"] == "/orders"
        # ApiKeyRequired with the PER_API usage plan's key
        body = json.dumps({"item": "tea"}).encode()
        no_key = server.call("POST", rest, "dev", "/orders", headers={"Authorization": "allow-ann"}, body=body)
        assert no_key.status == 403
        created = server.call("POST", rest, "dev", "/orders", body=body,
                              headers={"Authorization": "allow-ann", "x-api-key": api_key(server)})
        assert created.status == 201 and created.json() == {"created": {"item": "tea"}, "by": "ann"}
        # Cors: the OPTIONS method SAM adds, answered without the authorizer
        preflight = server.call("OPTIONS", rest, "dev", "/orders", headers={"Origin": "https://app.example"})
        assert preflight.status == 200
        assert preflight.header("access-control-allow-origin") == "*"
        assert preflight.header("access-control-allow-methods") == "GET,OPTIONS,POST"
        # The implicit HTTP API: a route and the $default catch-all, payload 2.0
        assert invoke(server.port, http, "GET", "/hello").json()["payload"] == "2.0"
        anything = invoke(server.port, http, "DELETE", "/some/where")
        assert anything.status == 200 and anything.json()["route"] == "$default"
    finally:
        server.stop()


def test_parameter_overrides_change_the_stage_and_conditions(tmp_path: Path, serve) -> None:
    app = copy_app(SAM_APP, tmp_path / "app")
    server = serve(app / "template.yaml", "--parameter-overrides", "Stage=prod", "Greeting=hi")
    rest = server.api_ids["OrdersApi"]
    hello = server.call("GET", rest, "prod", "/hello")
    assert hello.status == 200
    assert hello.json()["message"] == "hi from prod" and hello.json()["prod"] == "yes"
    orders = server.call("GET", rest, "prod", "/orders", headers={"Authorization": "allow-bo"})
    assert orders.json()["tier"] == "100"


def test_cloudformation_rest_api_with_mock_lambda_and_a_usage_plan(tmp_path: Path, serve) -> None:
    app = copy_app(CFN_APP, tmp_path / "app")
    server = serve(app / "template.yaml")
    api = server.api_ids["cfn-notes"]
    health = server.call("GET", api, "v1", "/health")
    assert health.status == 200 and health.json() == {"status": "ok", "stage": "v1"}
    assert server.call("GET", api, "v1", "/notes/7").status == 403  # ApiKeyRequired
    note = server.call("GET", api, "v1", "/notes/7", headers={"x-api-key": "notes-client-key-0123456789"})
    assert note.status == 200 and note.json() == {"id": "7", "table": "notes", "stage": "v1"}
    assert server.call("GET", api, "v1", "/nothing").status == 403  # AWS's missing-route answer
    # The template's DomainName and BasePathMapping, served by Host name
    mapped = request(server.port, "GET", "/notes-api/health", [("Host", "notes.example.com")])
    assert mapped.status == 200 and mapped.json() == {"status": "ok", "stage": "v1"}


CDK_TEMPLATE = {
    "Resources": {
        "HelloHandler2E4FBA4D": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": {"S3Bucket": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},
                         "S3Key": "3f2a1b.zip"},
                "Handler": "hello.handler", "Runtime": "python3.12",
                "Role": {"Fn::GetAtt": ["HelloHandlerServiceRole11EF7C63", "Arn"]}},
            "Metadata": {"aws:cdk:path": "CdkStack/HelloHandler/Resource", "aws:asset:path": "asset.3f2a1b",
                         "aws:asset:property": "Code"}},
        "HelloHandlerServiceRole11EF7C63": {"Type": "AWS::IAM::Role", "Properties": {}},
        "EndpointEEF1FD8F": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "Endpoint"}},
        "EndpointproxyB5D0C2D9": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {"ParentId": {"Fn::GetAtt": ["EndpointEEF1FD8F", "RootResourceId"]},
                           "PathPart": "{proxy+}", "RestApiId": {"Ref": "EndpointEEF1FD8F"}}},
        "EndpointproxyANYC09721C5": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "AuthorizationType": "NONE", "HttpMethod": "ANY",
                "ResourceId": {"Ref": "EndpointproxyB5D0C2D9"}, "RestApiId": {"Ref": "EndpointEEF1FD8F"},
                "Integration": {"IntegrationHttpMethod": "POST", "Type": "AWS_PROXY", "Uri": {"Fn::Join": ["", [
                    "arn:", {"Ref": "AWS::Partition"}, ":apigateway:", {"Ref": "AWS::Region"},
                    ":lambda:path/2015-03-31/functions/", {"Fn::GetAtt": ["HelloHandler2E4FBA4D", "Arn"]},
                    "/invocations"]]}}}},
        "EndpointDeployment318525DA": {
            "Type": "AWS::ApiGateway::Deployment",
            "Properties": {"RestApiId": {"Ref": "EndpointEEF1FD8F"}},
            "DependsOn": ["EndpointproxyANYC09721C5"]},
        "EndpointDeploymentStageprodB78BEEA0": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {"DeploymentId": {"Ref": "EndpointDeployment318525DA"},
                           "RestApiId": {"Ref": "EndpointEEF1FD8F"}, "StageName": "prod"}},
        "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:H4sI"}},
    },
    "Outputs": {"Endpoint8024A810": {"Value": {"Fn::Join": ["", ["https://", {"Ref": "EndpointEEF1FD8F"}]]}}},
    "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>",
                                        "Default": "/cdk-bootstrap/hnb659fds/version"}},
    "Rules": {"CheckBootstrapVersion": {"Assertions": []}},
}


def test_cdk_out_folder_with_an_asset(tmp_path: Path, serve) -> None:
    cdk = tmp_path / "cdk.out"
    (cdk / "asset.3f2a1b").mkdir(parents=True)
    (cdk / "asset.3f2a1b" / "hello.py").write_text(
        "import json\n\ndef handler(event, context):\n"
        "    return {'statusCode': 200, 'body': json.dumps({'path': event['path'], 'proxy': "
        "event['pathParameters']['proxy']})}\n")
    (cdk / "CdkStack.template.json").write_text(json.dumps(CDK_TEMPLATE, indent=1))
    (cdk / "manifest.json").write_text("{}")
    server = serve(cdk)
    api = server.api_ids["Endpoint"]
    reply = server.call("GET", api, "prod", "/a/b")
    assert reply.status == 200 and reply.json() == {"path": "/a/b", "proxy": "a/b"}
    assert "AWS::IAM::Role" in server.output  # listed as not emulated


def test_a_restart_keeps_the_ids_the_deployments_and_the_key(tmp_path: Path, serve) -> None:
    app = copy_app(SAM_APP, tmp_path / "app")
    first = serve(app / "template.yaml")
    ids, key = dict(first.api_ids), api_key(first)
    first.stop()
    second = serve(app / "template.yaml")
    assert second.api_ids == ids and api_key(second) == key
    assert "unchanged, same deployment" in second.output
    created = second.call("POST", ids["OrdersApi"], "dev", "/orders", body=b"{}",
                          headers={"Authorization": "allow-cy", "x-api-key": key})
    assert created.status == 201


CDK_HTTP_API = {"Resources": {
    "Fn9270CBC0": {"Type": "AWS::Lambda::Function", "Metadata": {"aws:asset:path": "asset.abc"},
                   "Properties": {"Code": {"S3Bucket": "b", "S3Key": "abc.zip"}, "Handler": "index.handler",
                                  "Runtime": "python3.12"}},
    "HttpApiF5A9A8A7": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "Items", "ProtocolType": "HTTP"}},
    "HttpApiDefaultStage": {"Type": "AWS::ApiGatewayV2::Stage",
                            "Properties": {"ApiId": {"Ref": "HttpApiF5A9A8A7"}, "StageName": "$default",
                                           "AutoDeploy": True}},
    "ItemsIntegration": {"Type": "AWS::ApiGatewayV2::Integration",
                         "Properties": {"ApiId": {"Ref": "HttpApiF5A9A8A7"}, "IntegrationType": "AWS_PROXY",
                                        "IntegrationUri": {"Fn::GetAtt": ["Fn9270CBC0", "Arn"]},
                                        "PayloadFormatVersion": "2.0"}},
    "ItemsRoute": {"Type": "AWS::ApiGatewayV2::Route",
                   "Properties": {"ApiId": {"Ref": "HttpApiF5A9A8A7"}, "RouteKey": "GET /items",
                                  "Target": {"Fn::Join": ["", ["integrations/", {"Ref": "ItemsIntegration"}]]}}},
    "Quick": {"Type": "AWS::ApiGatewayV2::Api",
              "Properties": {"Name": "Quick", "ProtocolType": "HTTP", "Target": {"Fn::GetAtt": ["Fn9270CBC0", "Arn"]}}},
}}


def test_cdk_http_api_with_routes_and_a_quick_create_api(tmp_path: Path, serve) -> None:
    cdk = tmp_path / "cdk.out"
    (cdk / "asset.abc").mkdir(parents=True)
    (cdk / "asset.abc" / "index.py").write_text(
        "import json\n\ndef handler(event, context):\n"
        "    return {'statusCode': 200, 'body': json.dumps({'route': event['routeKey'], 'v': event['version']})}\n")
    (cdk / "HttpStack.template.json").write_text(json.dumps(CDK_HTTP_API))
    server = serve(cdk)
    items, quick = server.api_ids["Items"], server.api_ids["Quick"]
    assert invoke(server.port, items, "GET", "/items").json() == {"route": "GET /items", "v": "2.0"}
    assert invoke(server.port, items, "GET", "/other").status == 404
    assert invoke(server.port, quick, "POST", "/any/thing").json() == {"route": "$default", "v": "2.0"}

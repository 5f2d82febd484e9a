"""HTTP API ImportApi, ReimportApi and ExportApi through a real boto3 `apigatewayv2` client against a real
`apiway serve`: an export imports back into the same API, in JSON and in YAML."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from tests.http_apis import client_error, invoke, v2_client
from tests.support import Server

LAMBDA = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:{}/invocations"

DOCUMENT = {
    "openapi": "3.0.1",
    "info": {"title": "Orders", "version": "2.1"},
    "servers": [{"url": "https://example.com/{basePath}", "variables": {"basePath": {"default": "v1"}}}],
    "paths": {
        "/orders": {
            "get": {"operationId": "ListOrders", "security": [{"jwt": ["orders/read"]}],
                    "x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": LAMBDA.format("Orders"),
                                                        "payloadFormatVersion": "2.0"}},
            "post": {"security": [{"lam": []}],
                     "x-amazon-apigateway-integration": {"$ref": "#/components/x-amazon-apigateway-integrations/one"}},
        },
        "/orders/{id}": {
            "x-amazon-apigateway-any-method": {
                "x-amazon-apigateway-integration": {"$ref": "#/components/x-amazon-apigateway-integrations/one"}},
        },
        "/$default": {"x-amazon-apigateway-any-method": {
            "isDefaultRoute": True,
            "x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "ANY", "timeoutInMillis": 9000,
                                                "uri": "http://127.0.0.1:9/", "payloadFormatVersion": "1.0"}}},
    },
    "components": {
        "x-amazon-apigateway-integrations": {
            "one": {"type": "aws_proxy", "uri": LAMBDA.format("One"), "payloadFormatVersion": "1.0"},
        },
        "securitySchemes": {
            "jwt": {"type": "oauth2", "x-amazon-apigateway-authorizer": {
                "type": "jwt", "identitySource": "$request.header.Authorization",
                "jwtConfiguration": {"issuer": "https://issuer.example.com", "audience": ["orders"]}}},
            "lam": {"type": "apiKey", "name": "x-token", "in": "header", "x-amazon-apigateway-authorizer": {
                "type": "request", "identitySource": "$request.header.x-token", "authorizerUri": LAMBDA.format("Auth"),
                "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": True}},
        },
    },
    "x-amazon-apigateway-cors": {"allowOrigins": ["https://shop.example"], "allowMethods": ["GET", "POST"]},
}


@pytest.fixture(scope="module")
def v2(apigw_server: Server):
    return v2_client(apigw_server.port)


def export(v2, api_id: str, output: str = "JSON", **kw: Any) -> str:
    return v2.export_api(ApiId=api_id, Specification="OAS30", OutputType=output, **kw)["body"].read().decode()


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """An export with what differs between two equal APIs taken out: the API id in the server URL, and the
    integration ids naming shared integrations (each `$ref` replaced by what it names)."""
    shared = doc.get("components", {}).pop("x-amazon-apigateway-integrations", {})
    text = json.dumps(doc)
    for name, integration in shared.items():
        text = text.replace(json.dumps({"$ref": f"#/components/x-amazon-apigateway-integrations/{name}"}),
                            json.dumps(integration))
    out = json.loads(text)
    out["servers"] = [{**s, "url": s["url"].split("//", 1)[1].split(".", 1)[1]} for s in out["servers"]]
    out["shared"] = sorted(json.dumps(i, sort_keys=True) for i in shared.values())
    return out


def test_import_answers_with_the_api(v2) -> None:
    api = v2.import_api(Body=json.dumps(DOCUMENT))
    assert api["Name"] == "Orders" and api["ProtocolType"] == "HTTP" and api["Version"] == "2.1"
    assert api["RouteSelectionExpression"] == "$request.method $request.path"
    assert len(api["ApiId"]) == 10 and api["ApiEndpoint"].startswith(f"https://{api['ApiId']}.execute-api.")
    assert api["CorsConfiguration"] == {"AllowOrigins": ["https://shop.example"], "AllowMethods": ["GET", "POST"]}
    assert "Warnings" not in api


@pytest.mark.parametrize("output", ["JSON", "YAML"])
def test_export_imports_back_into_the_same_api(v2, output: str) -> None:
    first = v2.import_api(Body=json.dumps(DOCUMENT))["ApiId"]
    text = export(v2, first, output)
    doc = json.loads(text) if output == "JSON" else yaml.safe_load(text)
    assert doc["x-amazon-apigateway-importexport-version"] == "1.0"
    assert set(doc["paths"]) == {"/orders", "/orders/{id}", "/$default"}
    second = v2.import_api(Body=text)["ApiId"]
    assert second != first
    again = export(v2, second, output)
    parse = json.loads if output == "JSON" else yaml.safe_load
    assert comparable(parse(again)) == comparable(parse(text))
    assert comparable(parse(again))["shared"] == [json.dumps(
        {"payloadFormatVersion": "1.0", "type": "aws_proxy", "httpMethod": "POST", "uri": LAMBDA.format("One"),
         "connectionType": "INTERNET"}, sort_keys=True)]  # still one integration for two routes


def test_export_without_extensions_and_unknown_stage(v2) -> None:
    api_id = v2.import_api(Body=json.dumps(DOCUMENT))["ApiId"]
    plain = json.loads(export(v2, api_id, IncludeExtensions=False))
    assert "x-amazon-apigateway-integration" not in json.dumps(plain)
    assert plain["info"] == {"title": "Orders", "version": "2.1"}
    with pytest.raises(ClientError) as caught:
        export(v2, api_id, StageName="nope")
    assert caught.value.response["Error"]["Code"] == "NotFoundException"
    assert caught.value.response["Error"]["Message"] == "Invalid stage identifier specified"
    with pytest.raises(ClientError) as caught:
        export(v2, "nosuchapi1")
    assert caught.value.response["Error"]["Message"] == "Invalid API identifier specified 123456789012:nosuchapi1"


def test_bad_documents_are_refused_naming_the_field(v2) -> None:
    with pytest.raises(ClientError) as caught:
        v2.import_api(Body=json.dumps({"swagger": "2.0", "info": {"title": "Old"}, "paths": {}}))
    error = caught.value.response["Error"]
    assert error["Code"] == "BadRequestException"
    assert error["Message"].startswith("Errors found during import:\n\tbody:1: swagger: HTTP APIs are imported from "
                                       "OpenAPI 3.0 documents only")
    timeout = json.loads(json.dumps(DOCUMENT))
    timeout["paths"]["/$default"]["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"][
        "timeoutInMillis"] = 10
    with pytest.raises(ClientError) as caught:
        v2.import_api(Body=json.dumps(timeout, indent=1))
    assert ("paths./$default.x-amazon-apigateway-any-method.x-amazon-apigateway-integration.timeoutInMillis: must be "
            "an integer from 50 to 30000") in caught.value.response["Error"]["Message"]


def test_warnings_are_reported_or_fail_the_import(v2) -> None:
    doc = {"openapi": "3.0.1", "info": {"title": "Legacy"}, "paths": {"/mock": {"get": {
        "x-amazon-apigateway-integration": {"type": "mock"}}}}}
    api = v2.import_api(Body=json.dumps(doc))
    assert len(api["Warnings"]) == 1 and "aws_proxy and http_proxy integrations only" in api["Warnings"][0]
    with pytest.raises(ClientError) as caught:
        v2.import_api(Body=json.dumps(doc), FailOnWarnings=True)
    assert caught.value.response["Error"]["Message"].startswith(
        "Warnings found during import:\n\tbody:1: paths./mock.get.x-amazon-apigateway-integration.type: HTTP APIs")


def test_basepath_prepend_and_bad_values(v2) -> None:
    api_id = v2.import_api(Body=json.dumps(DOCUMENT), Basepath="prepend")["ApiId"]
    assert set(json.loads(export(v2, api_id))["paths"]) == {"/v1/orders", "/v1/orders/{id}", "/$default"}
    with pytest.raises(ClientError) as caught:
        v2.import_api(Body=json.dumps(DOCUMENT), Basepath="sideways")
    assert caught.value.response["Error"]["Code"] == "BadRequestException"


def test_reimport_replaces_the_routes_and_keeps_the_api(v2) -> None:
    created = v2.import_api(Body=json.dumps(DOCUMENT))
    smaller = {"openapi": "3.0.1", "info": {"title": "Orders v2"}, "paths": {"/health": {"get": {
        "x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET", "uri": "http://127.0.0.1:9/h"}}}}}
    updated = v2.reimport_api(ApiId=created["ApiId"], Body=yaml.safe_dump(smaller))
    assert updated["ApiId"] == created["ApiId"] and updated["Name"] == "Orders v2"
    assert updated["CreatedDate"] == created["CreatedDate"]
    exported = json.loads(export(v2, created["ApiId"]))
    assert list(exported["paths"]) == ["/health"] and "components" not in exported
    assert "x-amazon-apigateway-cors" not in exported
    with pytest.raises(ClientError) as caught:
        v2.reimport_api(ApiId="nosuchapi1", Body=json.dumps(smaller))
    assert caught.value.response["Error"]["Code"] == "NotFoundException"


def test_export_parameters_are_checked(v2) -> None:
    api_id = v2.import_api(Body=json.dumps(DOCUMENT))["ApiId"]
    with pytest.raises(ClientError) as caught:
        export(v2, api_id, "XML")
    assert caught.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'XML' at 'outputType' failed to satisfy constraint: Member must "
        "satisfy enum value set: [JSON, YAML]")
    with pytest.raises(ClientError) as caught:
        export(v2, api_id, ExportVersion="2.0")
    assert caught.value.response["Error"]["Code"] == "BadRequestException"


def test_a_reimport_an_auto_deploying_stage_could_not_serve_is_refused_with_nothing_written(
        v2, apigw_server: Server) -> None:
    def document(*paths: str, **parameters: str) -> str:
        integration = {"type": "http_proxy", "httpMethod": "GET", "uri": "http://127.0.0.1:9/",
                       "payloadFormatVersion": "1.0", **({"requestParameters": parameters} if parameters else {})}
        return json.dumps({"openapi": "3.0.1", "info": {"title": "Guarded", "version": "1"},
                           "paths": {p: {"get": {"x-amazon-apigateway-integration": integration}} for p in paths}})

    api_id = v2.import_api(Body=document("/a"))["ApiId"]
    v2.create_stage(ApiId=api_id, StageName="live", AutoDeploy=True)
    deployed = v2.get_stage(ApiId=api_id, StageName="live")["DeploymentId"]
    code, _, message = client_error(v2.reimport_api, ApiId=api_id,
                                    Body=document("/a", "/b", **{"append:header.x": "$request.bogus"}))
    assert code == "BadRequestException" and message.endswith("Invalid mapping expression specified: $request.bogus")
    assert [r["RouteKey"] for r in v2.get_routes(ApiId=api_id)["Items"]] == ["GET /a"]
    assert v2.get_stage(ApiId=api_id, StageName="live")["DeploymentId"] == deployed
    assert [d["DeploymentId"] for d in v2.get_deployments(ApiId=api_id)["Items"]] == [deployed]
    assert invoke(apigw_server.port, api_id, "GET", "/live/b").status == 404  # still the API as it was

    v2.reimport_api(ApiId=api_id, Body=document("/a", "/b"))  # a good one deploys at once
    assert invoke(apigw_server.port, api_id, "GET", "/live/b").status == 503  # routed: nothing listens on :9

"""The apigatewayv2 control plane end to end with real boto3 against a running apiway: HTTP APIs made by
quick create and call by call (Lambda and HTTP_PROXY integrations, JWT and Lambda REQUEST authorizers,
stages with and without auto-deploy, deployments), changed, tagged, paged and deleted; custom domains and
their API mappings shared with the REST API calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http_apis import client_error, v2_client
from tests.support import Server, apigateway_client

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:Pets"
LAMBDA_URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION}/invocations"
AUTO_MESSAGE = "Automatic deployment triggered by changes to the Api configuration"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("http-control")
    server = Server(None, root / "state.db")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def v2(server: Server):
    return v2_client(server.port)


def _no_metadata(response: dict) -> dict:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def test_quick_create_makes_a_managed_lambda_integration_route_and_auto_deployed_default_stage(v2):
    api = v2.create_api(Name="quick", ProtocolType="HTTP", Target=FUNCTION, RouteKey="GET /pets")
    assert api["ResponseMetadata"]["HTTPStatusCode"] == 201
    api_id = api["ApiId"]
    assert len(api_id) == 10
    assert api["ApiEndpoint"] == f"https://{api_id}.execute-api.us-east-1.amazonaws.com"
    assert api["RouteSelectionExpression"] == "$request.method $request.path"
    assert api["ApiKeySelectionExpression"] == "$request.header.x-api-key"
    [integration] = v2.get_integrations(ApiId=api_id)["Items"]
    assert integration == {"ApiGatewayManaged": True, "ConnectionType": "INTERNET",
                           "IntegrationId": integration["IntegrationId"], "IntegrationMethod": "POST",
                           "IntegrationType": "AWS_PROXY", "IntegrationUri": FUNCTION, "PayloadFormatVersion": "2.0",
                           "TimeoutInMillis": 30000}
    [route] = v2.get_routes(ApiId=api_id)["Items"]
    assert route == {"ApiGatewayManaged": True, "ApiKeyRequired": False, "AuthorizationType": "NONE",
                     "RouteId": route["RouteId"], "RouteKey": "GET /pets",
                     "Target": f"integrations/{integration['IntegrationId']}"}
    [stage] = v2.get_stages(ApiId=api_id)["Items"]
    [deployment] = v2.get_deployments(ApiId=api_id)["Items"]
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] and stage["ApiGatewayManaged"]
    assert stage["DeploymentId"] == deployment["DeploymentId"]
    assert deployment["AutoDeployed"] and deployment["Description"] == AUTO_MESSAGE
    assert v2.get_stage(ApiId=api_id, StageName="$default")["DeploymentId"] == deployment["DeploymentId"]


def test_quick_create_with_a_url_makes_an_http_proxy_integration_and_update_api_changes_it(v2):
    api_id = v2.create_api(Name="quick-http", ProtocolType="HTTP", Target="https://example.com/api")["ApiId"]
    [integration] = v2.get_integrations(ApiId=api_id)["Items"]
    assert (integration["IntegrationType"], integration["IntegrationMethod"], integration["PayloadFormatVersion"]) == (
        "HTTP_PROXY", "ANY", "1.0")
    assert v2.get_routes(ApiId=api_id)["Items"][0]["RouteKey"] == "$default"
    v2.update_api(ApiId=api_id, Target=FUNCTION, RouteKey="ANY /{proxy+}")
    [integration] = v2.get_integrations(ApiId=api_id)["Items"]
    assert (integration["IntegrationType"], integration["IntegrationUri"]) == ("AWS_PROXY", FUNCTION)
    assert v2.get_routes(ApiId=api_id)["Items"][0]["RouteKey"] == "ANY /{proxy+}"
    assert len(v2.get_deployments(ApiId=api_id)["Items"]) == 2  # the change was deployed to $default


def test_an_http_api_built_call_by_call_deploys_to_its_stages(v2):
    api = v2.create_api(Name="pets", ProtocolType="HTTP", Description="by hand", Version="1",
                        CorsConfiguration={"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET"],
                                           "AllowCredentials": True, "MaxAge": 300})
    api_id = api["ApiId"]
    assert api["CorsConfiguration"] == {"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET"],
                                        "AllowCredentials": True, "MaxAge": 300}
    assert (api["Description"], api["Version"]) == ("by hand", "1")
    lambda_integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=LAMBDA_URI,
                                               PayloadFormatVersion="2.0", TimeoutInMillis=5000)
    assert _no_metadata(lambda_integration) == {
        "ConnectionType": "INTERNET", "IntegrationId": lambda_integration["IntegrationId"], "IntegrationMethod": "POST",
        "IntegrationType": "AWS_PROXY", "IntegrationUri": LAMBDA_URI, "PayloadFormatVersion": "2.0",
        "TimeoutInMillis": 5000}
    http_integration = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                                             IntegrationUri="https://backend.example.com/{proxy}",
                                             RequestParameters={"append:header.x-from": "apiway"})
    assert http_integration["PayloadFormatVersion"] == "1.0" and http_integration["TimeoutInMillis"] == 30000
    jwt = v2.create_authorizer(ApiId=api_id, Name="jwt", AuthorizerType="JWT",
                               IdentitySource=["$request.header.Authorization"],
                               JwtConfiguration={"Issuer": "https://issuer.example.com", "Audience": ["pets"]})
    assert _no_metadata(jwt) == {"AuthorizerId": jwt["AuthorizerId"], "AuthorizerType": "JWT", "Name": "jwt",
                                 "IdentitySource": ["$request.header.Authorization"],
                                 "JwtConfiguration": {"Audience": ["pets"], "Issuer": "https://issuer.example.com"}}
    custom = v2.create_authorizer(ApiId=api_id, Name="lambda", AuthorizerType="REQUEST", AuthorizerUri=LAMBDA_URI,
                                  IdentitySource=["$request.header.X-Token"], AuthorizerPayloadFormatVersion="2.0",
                                  EnableSimpleResponses=True, AuthorizerResultTtlInSeconds=60)
    assert (custom["EnableSimpleResponses"], custom["AuthorizerResultTtlInSeconds"]) == (True, 60)
    dev = v2.create_stage(ApiId=api_id, StageName="dev", StageVariables={"fn": "Pets"})
    assert "DeploymentId" not in dev and "AutoDeploy" not in dev
    live = v2.create_stage(ApiId=api_id, StageName="live", AutoDeploy=True)
    assert live["AutoDeploy"] and live["DeploymentId"]  # switched on: deployed at once

    pets = v2.create_route(ApiId=api_id, RouteKey="GET /pets/{id}", AuthorizationType="JWT",
                           AuthorizerId=jwt["AuthorizerId"], AuthorizationScopes=["pets.read"],
                           Target=f"integrations/{lambda_integration['IntegrationId']}")
    assert _no_metadata(pets) == {"ApiKeyRequired": False, "AuthorizationScopes": ["pets.read"],
                                  "AuthorizationType": "JWT", "AuthorizerId": jwt["AuthorizerId"],
                                  "RouteId": pets["RouteId"], "RouteKey": "GET /pets/{id}",
                                  "Target": f"integrations/{lambda_integration['IntegrationId']}"}
    v2.create_route(ApiId=api_id, RouteKey="ANY /{proxy+}", AuthorizationType="CUSTOM",
                    AuthorizerId=custom["AuthorizerId"], Target=f"integrations/{http_integration['IntegrationId']}")
    v2.create_route(ApiId=api_id, RouteKey="$default", Target=f"integrations/{http_integration['IntegrationId']}")

    # Each change above deployed `live`; `dev` serves only what a deployment gives it.
    live_now = v2.get_stage(ApiId=api_id, StageName="live")
    assert live_now["DeploymentId"] != live["DeploymentId"]
    assert live_now["LastDeploymentStatusMessage"] == (
        f"Successfully deployed stage with deployment ID '{live_now['DeploymentId']}'")
    assert "DeploymentId" not in v2.get_stage(ApiId=api_id, StageName="dev")
    manual = v2.create_deployment(ApiId=api_id, StageName="dev", Description="first")
    assert _no_metadata(manual) == {"AutoDeployed": False, "CreatedDate": manual["CreatedDate"],
                                    "DeploymentId": manual["DeploymentId"], "DeploymentStatus": "DEPLOYED",
                                    "Description": "first"}
    assert v2.get_stage(ApiId=api_id, StageName="dev")["DeploymentId"] == manual["DeploymentId"]
    deployments = v2.get_deployments(ApiId=api_id)["Items"]
    assert manual["DeploymentId"] in {d["DeploymentId"] for d in deployments}
    assert all(d["AutoDeployed"] for d in deployments if d["DeploymentId"] != manual["DeploymentId"])
    assert v2.get_deployment(ApiId=api_id, DeploymentId=manual["DeploymentId"])["Description"] == "first"
    assert v2.update_deployment(ApiId=api_id, DeploymentId=manual["DeploymentId"],
                                Description="renamed")["Description"] == "renamed"
    assert client_error(v2.delete_deployment, ApiId=api_id, DeploymentId=manual["DeploymentId"]) == (
        "BadRequestException", 400, "Active stages pointing to this deployment must be moved or deleted")
    assert sorted(r["RouteKey"] for r in v2.get_routes(ApiId=api_id)["Items"]) == [
        "$default", "ANY /{proxy+}", "GET /pets/{id}"]
    assert {a["Name"] for a in v2.get_authorizers(ApiId=api_id)["Items"]} == {"jwt", "lambda"}
    assert [s["StageName"] for s in v2.get_stages(ApiId=api_id)["Items"]] == ["dev", "live"]


def test_updates_change_what_they_name_and_keep_the_rest(v2):
    api_id = v2.create_api(Name="edit", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                                        IntegrationUri="https://example.com")["IntegrationId"]
    route = v2.create_route(ApiId=api_id, RouteKey="GET /a", Target=f"integrations/{integration}")["RouteId"]
    api = v2.update_api(ApiId=api_id, Name="edited", CorsConfiguration={"AllowOrigins": ["*"], "MaxAge": 10})
    assert (api["Name"], api["CorsConfiguration"]) == ("edited", {"AllowOrigins": ["*"], "MaxAge": 10})
    v2.delete_cors_configuration(ApiId=api_id)
    assert "CorsConfiguration" not in v2.get_api(ApiId=api_id)
    assert v2.update_route(ApiId=api_id, RouteId=route, RouteKey="POST /b")["RouteKey"] == "POST /b"
    updated = v2.update_integration(ApiId=api_id, IntegrationId=integration, TimeoutInMillis=1000)
    assert (updated["TimeoutInMillis"], updated["IntegrationUri"]) == (1000, "https://example.com")
    authorizer = v2.create_authorizer(ApiId=api_id, Name="a", AuthorizerType="JWT",
                                      IdentitySource=["$request.header.Authorization"],
                                      JwtConfiguration={"Issuer": "https://i", "Audience": ["x"]})["AuthorizerId"]
    changed = v2.update_authorizer(ApiId=api_id, AuthorizerId=authorizer,
                                   JwtConfiguration={"Issuer": "https://j", "Audience": ["y", "z"]})
    assert changed["JwtConfiguration"] == {"Issuer": "https://j", "Audience": ["y", "z"]}

    v2.create_stage(ApiId=api_id, StageName="s", StageVariables={"a": "1", "b": "2"},
                    AccessLogSettings={"DestinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:g",
                                       "Format": "$context.requestId $context.status"})
    stage = v2.update_stage(ApiId=api_id, StageName="s", StageVariables={"b": "", "c": "3"},
                            DefaultRouteSettings={"ThrottlingBurstLimit": 5, "ThrottlingRateLimit": 10},
                            RouteSettings={"POST /b": {"ThrottlingBurstLimit": 1}})
    assert stage["StageVariables"] == {"a": "1", "c": "3"}
    assert stage["DefaultRouteSettings"] == {"DetailedMetricsEnabled": False, "ThrottlingBurstLimit": 5,
                                             "ThrottlingRateLimit": 10.0}
    assert stage["RouteSettings"] == {"POST /b": {"ThrottlingBurstLimit": 1}}
    v2.delete_route_settings(ApiId=api_id, StageName="s", RouteKey="POST /b")
    v2.delete_access_log_settings(ApiId=api_id, StageName="s")
    stage = v2.get_stage(ApiId=api_id, StageName="s")
    assert stage["RouteSettings"] == {} and "AccessLogSettings" not in stage
    assert "DeploymentId" not in stage  # nothing deploys a stage without auto-deploy
    on = v2.update_stage(ApiId=api_id, StageName="s", AutoDeploy=True)
    assert on["AutoDeploy"] and on["DeploymentId"]  # switching auto-deploy on deploys at once
    v2.reset_authorizers_cache(ApiId=api_id, StageName="s")

    v2.delete_route(ApiId=api_id, RouteId=route)
    v2.delete_integration(ApiId=api_id, IntegrationId=integration)
    v2.delete_authorizer(ApiId=api_id, AuthorizerId=authorizer)
    v2.delete_stage(ApiId=api_id, StageName="s")
    assert v2.get_routes(ApiId=api_id)["Items"] == [] and v2.get_stages(ApiId=api_id)["Items"] == []


def test_lists_page_with_max_results_and_next_token(v2):
    api_id = v2.create_api(Name="paged", ProtocolType="HTTP")["ApiId"]
    keys = [f"GET /r{i}" for i in range(7)]
    for key in keys:
        v2.create_route(ApiId=api_id, RouteKey=key)
    first = v2.get_routes(ApiId=api_id, MaxResults="3")
    second = v2.get_routes(ApiId=api_id, MaxResults="3", NextToken=first["NextToken"])
    third = v2.get_routes(ApiId=api_id, MaxResults="3", NextToken=second["NextToken"])
    assert [len(p["Items"]) for p in (first, second, third)] == [3, 3, 1]
    assert "NextToken" not in third
    assert [r["RouteKey"] for p in (first, second, third) for r in p["Items"]] == keys
    pages = v2.get_paginator("get_routes").paginate(ApiId=api_id, PaginationConfig={"PageSize": 2})
    assert [r["RouteKey"] for page in pages for r in page["Items"]] == keys
    assert client_error(v2.get_routes, ApiId=api_id, NextToken="garbage")[0] == "BadRequestException"


def test_tags_on_apis_and_stages(v2):
    api_id = v2.create_api(Name="tagged", ProtocolType="HTTP", Tags={"team": "a"})["ApiId"]
    v2.create_stage(ApiId=api_id, StageName="prod", Tags={"env": "prod"})
    api_arn = f"arn:aws:apigateway:us-east-1::/apis/{api_id}"
    stage_arn = f"{api_arn}/stages/prod"
    v2.tag_resource(ResourceArn=api_arn, Tags={"owner": "me"})
    assert v2.get_tags(ResourceArn=api_arn)["Tags"] == {"team": "a", "owner": "me"}
    assert v2.get_api(ApiId=api_id)["Tags"] == {"team": "a", "owner": "me"}
    v2.untag_resource(ResourceArn=api_arn, TagKeys=["team"])
    assert v2.get_tags(ResourceArn=api_arn)["Tags"] == {"owner": "me"}
    v2.tag_resource(ResourceArn=stage_arn, Tags={"cost": "1"})
    assert v2.get_stage(ApiId=api_id, StageName="prod")["Tags"] == {"env": "prod", "cost": "1"}
    assert client_error(v2.get_tags, ResourceArn="arn:aws:apigateway:us-east-1::/apis/missing") == (
        "NotFoundException", 404, "Invalid API identifier specified 123456789012:missing")


def test_delete_api_takes_its_stages_and_deployments(v2):
    api_id = v2.create_api(Name="gone", ProtocolType="HTTP", Target=FUNCTION)["ApiId"]
    v2.delete_api(ApiId=api_id)
    assert api_id not in {a["ApiId"] for a in v2.get_apis()["Items"]}
    missing = ("NotFoundException", 404, f"Invalid API identifier specified 123456789012:{api_id}")
    assert client_error(v2.get_api, ApiId=api_id) == missing
    assert client_error(v2.get_stages, ApiId=api_id) == missing
    # A new API with a new id sees nothing of the old one.
    again = v2.create_api(Name="gone", ProtocolType="HTTP")["ApiId"]
    assert v2.get_stages(ApiId=again)["Items"] == [] and v2.get_deployments(ApiId=again)["Items"] == []


def test_http_and_rest_apis_share_one_id_space_and_stay_apart(v2, server: Server):
    rest = apigateway_client(server.port)
    rest_id = rest.create_rest_api(name="rest")["id"]
    http_id = v2.create_api(Name="http", ProtocolType="HTTP")["ApiId"]
    assert http_id != rest_id
    assert rest_id not in {a["ApiId"] for a in v2.get_apis()["Items"]}
    assert client_error(v2.get_api, ApiId=rest_id)[0] == "NotFoundException"
    assert http_id not in {a["id"] for a in rest.get_rest_apis(limit=500)["items"]}


def test_custom_domains_and_api_mappings_are_shared_with_rest_calls(v2, server: Server):
    rest = apigateway_client(server.port)
    http_id = v2.create_api(Name="mapped", ProtocolType="HTTP", Target=FUNCTION)["ApiId"]
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    domain = v2.create_domain_name(DomainName="api.example.com",
                                   DomainNameConfigurations=[{"CertificateArn": certificate}])
    [config] = domain["DomainNameConfigurations"]
    assert (config["EndpointType"], config["CertificateArn"], config["SecurityPolicy"], config["DomainNameStatus"]) == (
        "REGIONAL", certificate, "TLS_1_2", "AVAILABLE")
    assert config["ApiGatewayDomainName"].endswith(".execute-api.us-east-1.amazonaws.com")
    assert domain["ApiMappingSelectionExpression"] == "$request.basepath"
    # The same domain through the REST calls.
    assert rest.get_domain_name(domainName="api.example.com")["regionalCertificateArn"] == certificate

    mapping = v2.create_api_mapping(DomainName="api.example.com", ApiId=http_id, Stage="$default",
                                    ApiMappingKey="orders/v1")
    assert (mapping["ApiId"], mapping["ApiMappingKey"], mapping["Stage"]) == (http_id, "orders/v1", "$default")
    assert rest.get_base_path_mappings(domainName="api.example.com")["items"] == [
        {"basePath": "orders/v1", "restApiId": http_id, "stage": "$default"}]
    # A base path mapping made through REST's calls is an API mapping too.
    rest_id = rest.create_rest_api(name="shared")["id"]
    root = rest.get_resources(restApiId=rest_id)["items"][0]["id"]
    rest.put_method(restApiId=rest_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    rest.put_integration(restApiId=rest_id, resourceId=root, httpMethod="GET", type="MOCK")
    rest.create_deployment(restApiId=rest_id, stageName="prod")
    rest.create_base_path_mapping(domainName="api.example.com", restApiId=rest_id, stage="prod", basePath="legacy")
    listed = v2.get_api_mappings(DomainName="api.example.com")["Items"]
    assert {(m["ApiId"], m["ApiMappingKey"], m["Stage"]) for m in listed} == {
        (http_id, "orders/v1", "$default"), (rest_id, "legacy", "prod")}
    legacy = next(m for m in listed if m["ApiMappingKey"] == "legacy")
    assert v2.get_api_mapping(DomainName="api.example.com", ApiMappingId=legacy["ApiMappingId"])["ApiId"] == rest_id
    moved = v2.update_api_mapping(DomainName="api.example.com", ApiMappingId=mapping["ApiMappingId"], ApiId=http_id,
                                  ApiMappingKey="orders/v2")
    assert (moved["ApiMappingId"], moved["ApiMappingKey"]) == (mapping["ApiMappingId"], "orders/v2")
    v2.delete_api_mapping(DomainName="api.example.com", ApiMappingId=legacy["ApiMappingId"])
    assert [m["basePath"] for m in rest.get_base_path_mappings(domainName="api.example.com")["items"]] == [
        "orders/v2"]
    v2.tag_resource(ResourceArn="arn:aws:apigateway:us-east-1::/domainnames/api.example.com", Tags={"k": "v"})
    assert v2.get_domain_name(DomainName="api.example.com")["Tags"] == {"k": "v"}
    assert "api.example.com" in {d["DomainName"] for d in v2.get_domain_names()["Items"]}
    v2.delete_domain_name(DomainName="api.example.com")
    assert client_error(rest.get_domain_name, domainName="api.example.com")[0] == "NotFoundException"
    assert client_error(v2.get_api_mappings, DomainName="api.example.com")[0] == "NotFoundException"


def test_websocket_apis_are_stored_with_their_route_selection_expression(v2):
    api = v2.create_api(Name="ws", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")
    assert api["ApiEndpoint"].startswith("wss://") and api["RouteSelectionExpression"] == "$request.body.action"
    route = v2.create_route(ApiId=api["ApiId"], RouteKey="$connect")
    assert route["RouteKey"] == "$connect"
    integration = v2.create_integration(ApiId=api["ApiId"], IntegrationType="MOCK")
    assert (integration["PayloadFormatVersion"], integration["TimeoutInMillis"],
            integration["IntegrationResponseSelectionExpression"]) == ("1.0", 29000,
                                                                       "${integration.response.statuscode}")
    response = v2.create_route_response(ApiId=api["ApiId"], RouteId=route["RouteId"], RouteResponseKey="$default")
    assert response["RouteResponseKey"] == "$default"  # the rest: tests/e2e/test_ws_control.py


def test_state_survives_a_restart(tmp_path: Path):
    first = Server(None, tmp_path / "state.db")
    try:
        client = v2_client(first.port)
        api_id = client.create_api(Name="kept", ProtocolType="HTTP", Target=FUNCTION)["ApiId"]
    finally:
        first.stop()
    second = Server(None, tmp_path / "state.db")
    try:
        client = v2_client(second.port)
        assert client.get_api(ApiId=api_id)["Name"] == "kept"
        assert client.get_stage(ApiId=api_id, StageName="$default")["AutoDeploy"]
    finally:
        second.stop()

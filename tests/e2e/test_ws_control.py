"""The apigatewayv2 control plane for WebSocket APIs with real boto3 against a running apiway: an API built
call by call ($connect with a Lambda REQUEST authorizer, custom and $default routes, route responses,
integrations of every type and their integration responses, models, stages, deployments, auto-deploy),
each part read back, changed and deleted, and the calls AWS refuses, with its codes and wording."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.http_apis import client_error, v2_client
from tests.support import Server

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:{}"
LAMBDA_URI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations"
SCHEMA = '{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", ' \
         '"properties": {"action": {"type": "string"}, "count": {"type": "integer"}}, "required": ["action"]}'


def lambda_uri(name: str) -> str:
    return LAMBDA_URI.format(FUNCTION.format(name))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(None, tmp_path_factory.mktemp("ws-control") / "state.db")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def v2(server: Server) -> Any:
    return v2_client(server.port)


@pytest.fixture()
def api_id(v2: Any) -> Iterator[str]:
    api = v2.create_api(Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")
    yield api["ApiId"]
    v2.delete_api(ApiId=api["ApiId"])


def _items(response: dict[str, Any]) -> list[dict[str, Any]]:
    return response["Items"]


def test_create_get_update_delete_a_websocket_api(v2: Any):
    api = v2.create_api(Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.message.type",
                        ApiKeySelectionExpression="$context.authorizer.usageIdentifierKey",
                        DisableSchemaValidation=True, Description="a chat")
    assert api["ResponseMetadata"]["HTTPStatusCode"] == 201
    api_id = api["ApiId"]
    assert api["ApiEndpoint"] == f"wss://{api_id}.execute-api.us-east-1.amazonaws.com"
    assert (api["ProtocolType"], api["RouteSelectionExpression"], api["ApiKeySelectionExpression"],
            api["DisableSchemaValidation"]) == ("WEBSOCKET", "$request.body.message.type",
                                                "$context.authorizer.usageIdentifierKey", True)
    assert "CorsConfiguration" not in api
    got = v2.get_api(ApiId=api_id)
    assert got["Name"] == "chat" and got["Description"] == "a chat"
    updated = v2.update_api(ApiId=api_id, Name="chat2",
                            RouteSelectionExpression="${request.body.service}-${request.body.action}",
                            ApiKeySelectionExpression="$request.header.x-api-key")
    assert (updated["Name"], updated["RouteSelectionExpression"], updated["ApiKeySelectionExpression"]) == (
        "chat2", "${request.body.service}-${request.body.action}", "$request.header.x-api-key")
    assert api_id in [a["ApiId"] for a in v2.get_apis()["Items"]]
    v2.delete_api(ApiId=api_id)
    assert client_error(v2.get_api, ApiId=api_id)[:2] == ("NotFoundException", 404)


@pytest.mark.parametrize("expression", ["$request.body.action", "$request.body.a.b-c.d_e", "${request.body.action}",
                                        "${request.body.service}-${request.body.action}", "\\$default", "static"])
def test_route_selection_expressions_aws_accepts(v2: Any, expression: str):
    api = v2.create_api(Name="x", ProtocolType="WEBSOCKET", RouteSelectionExpression=expression)
    assert api["RouteSelectionExpression"] == expression
    v2.delete_api(ApiId=api["ApiId"])


@pytest.mark.parametrize("expression", ["$request.header.x", "$request.body", "$request.body.", "${request.body.x",
                                        "$request.body[2]", "${request.header.x}", "$default"])
def test_route_selection_expressions_refused(v2: Any, expression: str):
    code, status, message = client_error(v2.create_api, Name="x", ProtocolType="WEBSOCKET",
                                         RouteSelectionExpression=expression)
    assert (code, status) == ("BadRequestException", 400)
    assert message.startswith(f"Invalid route selection expression: {expression}.")


def test_what_a_websocket_api_cannot_have(v2: Any, api_id: str):
    assert client_error(v2.create_api, Name="x", ProtocolType="WEBSOCKET") == (
        "BadRequestException", 400, "Route selection expression is required for WebSocket APIs.")
    assert client_error(v2.create_api, Name="x", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.a",
                        Target=FUNCTION.format("f"))[:2] == ("BadRequestException", 400)
    assert client_error(v2.create_api, Name="x", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.a",
                        CorsConfiguration={"AllowOrigins": ["*"]})[:2] == ("BadRequestException", 400)
    code, _, message = client_error(v2.create_api, Name="x", ProtocolType="WEBSOCKET",
                                    RouteSelectionExpression="$request.body.a", ApiKeySelectionExpression="$request.x")
    assert code == "BadRequestException" and message.startswith("Invalid API key selection expression: $request.x.")
    assert client_error(v2.update_api, ApiId=api_id, CorsConfiguration={"AllowOrigins": ["*"]}) == (
        "BadRequestException", 400, "CorsConfiguration is supported only for HTTP APIs.")
    assert client_error(v2.export_api, ApiId=api_id, Specification="OAS30", OutputType="JSON") == (
        "BadRequestException", 400, "ExportApi is supported only for HTTP APIs")
    assert client_error(v2.reimport_api, ApiId=api_id, Body='{"openapi": "3.0.1"}') == (
        "BadRequestException", 400, "ReimportApi is supported only for HTTP APIs")


def test_routes_with_a_request_authorizer_on_connect(v2: Any, api_id: str):
    authorizer = v2.create_authorizer(ApiId=api_id, Name="auth", AuthorizerType="REQUEST",
                                      AuthorizerUri=lambda_uri("auth"), AuthorizerResultTtlInSeconds=300,
                                      IdentitySource=["route.request.querystring.token", "route.request.header.Auth"])
    authorizer_id = authorizer["AuthorizerId"]
    assert (authorizer["AuthorizerType"], authorizer["IdentitySource"], authorizer["AuthorizerResultTtlInSeconds"]) == (
        "REQUEST", ["route.request.querystring.token", "route.request.header.Auth"], 300)
    assert "AuthorizerPayloadFormatVersion" not in authorizer
    connect = v2.create_route(ApiId=api_id, RouteKey="$connect", AuthorizationType="CUSTOM",
                              AuthorizerId=authorizer_id, ApiKeyRequired=True,
                              RequestParameters={"route.request.querystring.token": {"Required": True}})
    assert (connect["RouteKey"], connect["AuthorizationType"], connect["AuthorizerId"], connect["ApiKeyRequired"]) == (
        "$connect", "CUSTOM", authorizer_id, True)
    assert connect["RequestParameters"] == {"route.request.querystring.token": {"Required": True}}
    iam = v2.update_route(ApiId=api_id, RouteId=connect["RouteId"], AuthorizationType="AWS_IAM")
    assert iam["AuthorizationType"] == "AWS_IAM" and "AuthorizerId" not in iam
    for key in ("$disconnect", "$default", "sendmessage", "GET /pets"):  # no HTTP route-key syntax applies
        route = v2.create_route(ApiId=api_id, RouteKey=key)
        assert (route["RouteKey"], route["AuthorizationType"]) == (key, "NONE")
    keys = sorted(r["RouteKey"] for r in _items(v2.get_routes(ApiId=api_id)))
    assert keys == ["$connect", "$default", "$disconnect", "GET /pets", "sendmessage"]
    v2.delete_authorizer(ApiId=api_id, AuthorizerId=authorizer_id)  # no route uses it any more


def test_route_refusals(v2: Any, api_id: str):
    authorizer_id = v2.create_authorizer(ApiId=api_id, Name="auth", AuthorizerType="REQUEST",
                                         AuthorizerUri=lambda_uri("auth"),
                                         IdentitySource=["route.request.header.Auth"])["AuthorizerId"]
    auth_only_on_connect = ("BadRequestException", 400,
                            "Currently, authorization is restricted to the $connect route only")
    assert client_error(v2.create_route, ApiId=api_id, RouteKey="sendmessage", AuthorizationType="CUSTOM",
                        AuthorizerId=authorizer_id) == auth_only_on_connect
    assert client_error(v2.create_route, ApiId=api_id, RouteKey="$default",
                        AuthorizationType="AWS_IAM") == auth_only_on_connect
    connect = v2.create_route(ApiId=api_id, RouteKey="$connect", AuthorizationType="CUSTOM", AuthorizerId=authorizer_id)
    assert client_error(v2.update_route, ApiId=api_id, RouteId=connect["RouteId"],
                        RouteKey="other") == auth_only_on_connect
    code, _, message = client_error(v2.create_route, ApiId=api_id, RouteKey="$connect2")
    assert code == "BadRequestException" and message.startswith("Invalid route key $connect2")
    assert client_error(v2.create_route, ApiId=api_id, RouteKey="$connect")[:2] == ("ConflictException", 409)
    code, _, message = client_error(v2.create_route, ApiId=api_id, RouteKey="x", AuthorizationType="JWT",
                                    AuthorizerId=authorizer_id)
    assert code == "BadRequestException" and message.startswith("Unsupported authorization type JWT")
    assert client_error(v2.create_route, ApiId=api_id, RouteKey="x",
                        RequestParameters={"route.request.header.A": {"Required": True}}) == (
        "BadRequestException", 400, "Currently, request parameters are supported only on the $connect route")
    code, _, message = client_error(v2.update_route, ApiId=api_id, RouteId=connect["RouteId"],
                                    RequestParameters={"method.request.header.A": {"Required": True}})
    assert code == "BadRequestException" and message.startswith("Invalid request parameter key method.request.header.A")
    code, _, message = client_error(v2.create_route, ApiId=api_id, RouteKey="x",
                                    RouteResponseSelectionExpression="$request.body.x")
    assert code == "BadRequestException" and "only $default is supported" in message
    code, _, message = client_error(v2.create_route, ApiId=api_id, RouteKey="x", RequestModels={"$default": "Nope"})
    assert code == "BadRequestException" and message.startswith("Invalid model specified: Nope.")


def test_route_responses_make_a_route_two_way(v2: Any, api_id: str):
    v2.create_model(ApiId=api_id, Name="Reply", Schema=SCHEMA)
    route = v2.create_route(ApiId=api_id, RouteKey="echo", RouteResponseSelectionExpression="$default")
    route_id = route["RouteId"]
    assert route["RouteResponseSelectionExpression"] == "$default"
    created = v2.create_route_response(ApiId=api_id, RouteId=route_id, RouteResponseKey="$default",
                                       ModelSelectionExpression="$default", ResponseModels={"$default": "Reply"})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    response_id = created["RouteResponseId"]
    assert (created["RouteResponseKey"], created["ResponseModels"]) == ("$default", {"$default": "Reply"})
    assert v2.get_route_response(ApiId=api_id, RouteId=route_id, RouteResponseId=response_id)["RouteResponseKey"] == \
        "$default"
    [listed] = _items(v2.get_route_responses(ApiId=api_id, RouteId=route_id))
    assert listed["RouteResponseId"] == response_id
    updated = v2.update_route_response(ApiId=api_id, RouteId=route_id, RouteResponseId=response_id,
                                       ResponseParameters={"route.response.header.x": {"Required": False}})
    assert updated["ResponseParameters"] == {"route.response.header.x": {"Required": False}}
    assert client_error(v2.create_route_response, ApiId=api_id, RouteId=route_id,
                        RouteResponseKey="$default")[:2] == ("ConflictException", 409)
    code, _, message = client_error(v2.create_route_response, ApiId=api_id, RouteId=route_id, RouteResponseKey="ok")
    assert (code, message) == ("BadRequestException", "Invalid route response key: ok. Currently, only $default is "
                                                      "supported.")
    code, _, message = client_error(v2.delete_model, ApiId=api_id,
                                    ModelId=_items(v2.get_models(ApiId=api_id))[0]["ModelId"])
    assert code == "ConflictException" and route_id in message
    v2.delete_route_response(ApiId=api_id, RouteId=route_id, RouteResponseId=response_id)
    assert client_error(v2.get_route_response, ApiId=api_id, RouteId=route_id, RouteResponseId=response_id) == (
        "NotFoundException", 404, f"Invalid RouteResponse identifier specified {response_id}")
    v2.create_route_response(ApiId=api_id, RouteId=route_id, RouteResponseKey="$default")
    v2.delete_route(ApiId=api_id, RouteId=route_id)  # its responses go with it


@pytest.mark.parametrize(("kind", "extra"), [
    ("AWS_PROXY", {"IntegrationUri": lambda_uri("send")}),
    ("AWS", {"IntegrationUri": lambda_uri("send"), "RequestTemplates": {"$default": "$input.body"},
             "TemplateSelectionExpression": "\\$default", "ContentHandlingStrategy": "CONVERT_TO_TEXT"}),
    ("HTTP", {"IntegrationUri": "https://example.com/send", "IntegrationMethod": "POST",
              "RequestParameters": {"integration.request.header.x-conn": "context.connectionId",
                                    "integration.request.querystring.v": "stageVariables.version",
                                    "integration.request.header.s": "'static'"}}),
    ("HTTP_PROXY", {"IntegrationUri": "https://example.com/{proxy}", "IntegrationMethod": "ANY"}),
    ("MOCK", {"RequestTemplates": {"$default": '{"statusCode": 200}'}}),
])
def test_integrations_of_every_type(v2: Any, api_id: str, kind: str, extra: dict[str, Any]):
    created = v2.create_integration(ApiId=api_id, IntegrationType=kind, TimeoutInMillis=5000, **extra)
    integration_id = created["IntegrationId"]
    assert (created["IntegrationType"], created["PayloadFormatVersion"], created["TimeoutInMillis"]) == (kind, "1.0",
                                                                                                       5000)
    assert created["IntegrationResponseSelectionExpression"] == "${integration.response.statuscode}"
    assert ("PassthroughBehavior" in created) == (kind not in ("AWS_PROXY", "HTTP_PROXY"))
    for key, value in extra.items():
        assert created[key] == value
    got = v2.get_integration(ApiId=api_id, IntegrationId=integration_id)
    assert got["IntegrationType"] == kind
    updated = v2.update_integration(ApiId=api_id, IntegrationId=integration_id, TimeoutInMillis=29000,
                                    Description="changed")
    assert (updated["TimeoutInMillis"], updated["Description"]) == (29000, "changed")
    route = v2.create_route(ApiId=api_id, RouteKey="send", Target=f"integrations/{integration_id}")
    assert client_error(v2.delete_integration, ApiId=api_id, IntegrationId=integration_id)[0] == "ConflictException"
    v2.delete_route(ApiId=api_id, RouteId=route["RouteId"])
    v2.delete_integration(ApiId=api_id, IntegrationId=integration_id)
    assert client_error(v2.get_integration, ApiId=api_id, IntegrationId=integration_id)[:2] == (
        "NotFoundException", 404)


def test_integration_refusals(server: Server, v2: Any, api_id: str):
    code, _, message = client_error(v2.create_integration, ApiId=api_id, IntegrationType="AWS_PROXY",
                                    IntegrationUri=lambda_uri("f"), TimeoutInMillis=29001)
    assert code == "BadRequestException" and "less than or equal to 29000" in message
    unchecked = v2_client(server.port, parameter_validation=False)  # the server judges what botocore would refuse
    code, _, message = client_error(unchecked.create_integration, ApiId=api_id, IntegrationType="AWS_PROXY",
                                    IntegrationUri=lambda_uri("f"), TimeoutInMillis=49)
    assert code == "BadRequestException" and "greater than or equal to 50" in message
    assert client_error(v2.create_integration, ApiId=api_id, IntegrationType="AWS_PROXY",
                        IntegrationUri=lambda_uri("f"), PayloadFormatVersion="2.0") == (
        "BadRequestException", 400, "Unsupported payload format version 2.0. 1.0 is the only supported value for "
                                    "WebSocket APIs.")
    assert client_error(v2.create_integration, ApiId=api_id, IntegrationType="HTTP") == (
        "BadRequestException", 400, "IntegrationUri is required for HTTP integrations.")
    code, _, message = client_error(v2.create_integration, ApiId=api_id, IntegrationType="MOCK",
                                    ContentHandlingStrategy="CONVERT")
    assert code == "BadRequestException" and "[CONVERT_TO_BINARY, CONVERT_TO_TEXT]" in message
    code, _, message = client_error(v2.create_integration, ApiId=api_id, IntegrationType="MOCK",
                                    RequestParameters={"integration.request.header.a": "method.request.header.b"})
    assert code == "BadRequestException" and message.startswith("Invalid mapping expression specified: "
                                                                "method.request.header.b.")


def test_integration_responses(v2: Any, api_id: str):
    integration_id = v2.create_integration(ApiId=api_id, IntegrationType="AWS",
                                           IntegrationUri=lambda_uri("send"))["IntegrationId"]
    made = {}
    for key in ("$default", "/4\\d\\d/", "200"):
        created = v2.create_integration_response(
            ApiId=api_id, IntegrationId=integration_id, IntegrationResponseKey=key,
            ResponseTemplates={"$default": '{"ok": true}'}, TemplateSelectionExpression="\\$default",
            ContentHandlingStrategy="CONVERT_TO_TEXT")
        assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
        assert (created["IntegrationResponseKey"], created["ResponseTemplates"]) == (key, {"$default": '{"ok": true}'})
        made[key] = created["IntegrationResponseId"]
    listed = _items(v2.get_integration_responses(ApiId=api_id, IntegrationId=integration_id))
    assert sorted(r["IntegrationResponseKey"] for r in listed) == sorted(made)
    one = made["200"]
    assert v2.get_integration_response(ApiId=api_id, IntegrationId=integration_id,
                                       IntegrationResponseId=one)["IntegrationResponseKey"] == "200"
    updated = v2.update_integration_response(ApiId=api_id, IntegrationId=integration_id, IntegrationResponseId=one,
                                             IntegrationResponseKey="/2\\d\\d/")
    assert updated["IntegrationResponseKey"] == "/2\\d\\d/"
    assert client_error(v2.create_integration_response, ApiId=api_id, IntegrationId=integration_id,
                        IntegrationResponseKey="$default")[:2] == ("ConflictException", 409)
    code, _, message = client_error(v2.create_integration_response, ApiId=api_id, IntegrationId=integration_id,
                                    IntegrationResponseKey="/(/")
    assert code == "BadRequestException" and message.startswith("Invalid integration response key: /(/.")
    v2.delete_integration_response(ApiId=api_id, IntegrationId=integration_id, IntegrationResponseId=one)
    assert client_error(v2.get_integration_response, ApiId=api_id, IntegrationId=integration_id,
                        IntegrationResponseId=one)[:2] == ("NotFoundException", 404)
    v2.delete_integration(ApiId=api_id, IntegrationId=integration_id)  # its responses go with it


def test_models(v2: Any, api_id: str):
    created = v2.create_model(ApiId=api_id, Name="Message", Schema=SCHEMA, Description="a message")
    model_id = created["ModelId"]
    assert (created["Name"], created["ContentType"], created["Schema"]) == ("Message", "application/json", SCHEMA)
    assert v2.get_model(ApiId=api_id, ModelId=model_id)["Description"] == "a message"
    assert [m["Name"] for m in _items(v2.get_models(ApiId=api_id))] == ["Message"]
    template = v2.get_model_template(ApiId=api_id, ModelId=model_id)["Value"]
    assert "$inputRoot.action" in template and "$inputRoot.count" in template
    updated = v2.update_model(ApiId=api_id, ModelId=model_id, Name="Msg", Description="changed")
    assert (updated["Name"], updated["Description"]) == ("Msg", "changed")
    route = v2.create_route(ApiId=api_id, RouteKey="send", ModelSelectionExpression="$request.body.kind",
                            RequestModels={"chat": "Msg"})
    assert route["RequestModels"] == {"chat": "Msg"}
    code, _, message = client_error(v2.delete_model, ApiId=api_id, ModelId=model_id)
    assert code == "ConflictException" and route["RouteId"] in message
    assert client_error(v2.create_model, ApiId=api_id, Name="Msg", Schema=SCHEMA)[:2] == ("ConflictException", 409)
    assert client_error(v2.create_model, ApiId=api_id, Name="Bad", Schema="[1]")[:2] == ("BadRequestException", 400)
    assert client_error(v2.create_model, ApiId=api_id, Name="Bad", Schema="{nope")[:2] == ("BadRequestException", 400)
    assert client_error(v2.create_model, ApiId=api_id, Name="a-b", Schema=SCHEMA)[:2] == ("BadRequestException", 400)
    v2.delete_route(ApiId=api_id, RouteId=route["RouteId"])
    v2.delete_model(ApiId=api_id, ModelId=model_id)
    assert client_error(v2.get_model, ApiId=api_id, ModelId=model_id) == (
        "NotFoundException", 404, f"Invalid Model identifier specified {model_id}")


def test_authorizer_refusals(v2: Any, api_id: str):
    base = {"ApiId": api_id, "Name": "a", "AuthorizerUri": lambda_uri("auth")}
    code, _, message = client_error(v2.create_authorizer, AuthorizerType="REQUEST",
                                    IdentitySource=["$request.header.Auth"], **base)
    assert code == "BadRequestException" and message.startswith("Invalid identity source: $request.header.Auth.")
    assert client_error(v2.create_authorizer, AuthorizerType="JWT", IdentitySource=["route.request.header.Auth"],
                        **base) == ("BadRequestException", 400, "JWT authorizers are supported only for HTTP APIs.")
    assert client_error(v2.create_authorizer, AuthorizerType="REQUEST", IdentitySource=["route.request.header.A"],
                        AuthorizerPayloadFormatVersion="2.0", **base) == (
        "BadRequestException", 400, "AuthorizerPayloadFormatVersion is supported only for HTTP APIs.")
    assert client_error(v2.create_authorizer, AuthorizerType="REQUEST", IdentitySource=["route.request.header.A"],
                        EnableSimpleResponses=True, **base)[0] == "BadRequestException"
    assert client_error(v2.create_authorizer, ApiId=api_id, Name="a", AuthorizerType="REQUEST",
                        IdentitySource=["route.request.header.A"]) == (
        "BadRequestException", 400, "AuthorizerUri is required for REQUEST authorizers.")
    code, _, message = client_error(v2.create_authorizer, AuthorizerType="REQUEST",
                                    IdentitySource=["route.request.header.A"], AuthorizerResultTtlInSeconds=3601,
                                    **base)
    assert code == "BadRequestException" and "less than or equal to 3600" in message
    made = v2.create_authorizer(AuthorizerType="REQUEST", IdentitySource=["stageVariables.key", "context.x"], **base)
    changed = v2.update_authorizer(ApiId=api_id, AuthorizerId=made["AuthorizerId"], AuthorizerResultTtlInSeconds=0,
                                   IdentitySource=["route.request.querystring.token"])
    assert changed["IdentitySource"] == ["route.request.querystring.token"]
    assert v2.get_authorizer(ApiId=api_id, AuthorizerId=made["AuthorizerId"])["AuthorizerResultTtlInSeconds"] == 0
    v2.delete_authorizer(ApiId=api_id, AuthorizerId=made["AuthorizerId"])


def test_stages_deployments_and_auto_deploy(v2: Any, api_id: str):
    integration_id = v2.create_integration(ApiId=api_id, IntegrationType="MOCK")["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="$default", Target=f"integrations/{integration_id}")
    deployment = v2.create_deployment(ApiId=api_id, Description="first")
    stage = v2.create_stage(ApiId=api_id, StageName="prod", DeploymentId=deployment["DeploymentId"],
                            StageVariables={"version": "v1"},
                            DefaultRouteSettings={"LoggingLevel": "INFO", "DataTraceEnabled": True,
                                                  "ThrottlingBurstLimit": 10, "ThrottlingRateLimit": 5.0},
                            RouteSettings={"$default": {"ThrottlingBurstLimit": 2, "LoggingLevel": "ERROR"}})
    assert stage["DeploymentId"] == deployment["DeploymentId"]
    assert stage["DefaultRouteSettings"] == {"DataTraceEnabled": True, "DetailedMetricsEnabled": False,
                                             "LoggingLevel": "INFO", "ThrottlingBurstLimit": 10,
                                             "ThrottlingRateLimit": 5.0}
    assert stage["RouteSettings"] == {"$default": {"ThrottlingBurstLimit": 2, "LoggingLevel": "ERROR"}}
    code, _, message = client_error(v2.update_stage, ApiId=api_id, StageName="prod",
                                    DefaultRouteSettings={"LoggingLevel": "DEBUG"})
    assert code == "BadRequestException" and message.startswith("Invalid logging level DEBUG")
    assert client_error(v2.create_stage, ApiId=api_id, StageName="$default") == (
        "BadRequestException", 400, "The $default stage is supported only for HTTP APIs.")

    auto = v2.create_stage(ApiId=api_id, StageName="live", AutoDeploy=True)
    first = auto["DeploymentId"]
    assert auto["AutoDeploy"] and first
    v2.create_route(ApiId=api_id, RouteKey="sendmessage", Target=f"integrations/{integration_id}")
    second = v2.get_stage(ApiId=api_id, StageName="live")["DeploymentId"]
    assert second != first  # a change deploys to the auto-deploying stage
    assert v2.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"] == deployment["DeploymentId"]
    assert v2.get_deployment(ApiId=api_id, DeploymentId=second)["AutoDeployed"]
    assert len(_items(v2.get_deployments(ApiId=api_id))) == 3
    updated = v2.update_stage(ApiId=api_id, StageName="prod", StageVariables={"version": "v2"})
    assert updated["StageVariables"] == {"version": "v2"}
    v2.delete_stage(ApiId=api_id, StageName="prod")
    v2.delete_deployment(ApiId=api_id, DeploymentId=deployment["DeploymentId"])
    assert sorted(s["StageName"] for s in _items(v2.get_stages(ApiId=api_id))) == ["live"]


def test_websocket_parts_are_refused_on_http_apis(v2: Any):
    api_id = v2.create_api(Name="h", ProtocolType="HTTP")["ApiId"]
    route_id = v2.create_route(ApiId=api_id, RouteKey="GET /x")["RouteId"]
    integration_id = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                                           IntegrationUri="https://example.com")["IntegrationId"]
    assert client_error(v2.create_route_response, ApiId=api_id, RouteId=route_id, RouteResponseKey="$default") == (
        "BadRequestException", 400, "Route responses are supported only for WebSocket APIs.")
    assert client_error(v2.get_integration_responses, ApiId=api_id, IntegrationId=integration_id) == (
        "BadRequestException", 400, "Integration responses are supported only for WebSocket APIs.")
    assert client_error(v2.create_model, ApiId=api_id, Name="M", Schema=SCHEMA) == (
        "BadRequestException", 400, "Models are supported only for WebSocket APIs.")
    assert client_error(v2.create_integration, ApiId=api_id, IntegrationType="MOCK")[:2] == (
        "BadRequestException", 400)
    v2.delete_api(ApiId=api_id)

"""What the apigatewayv2 control plane refuses, with real boto3 against a running apiway: each case's error
code, HTTP status and message. Wordings AWS is known to use are checked in
tests/conformance/test_http_control_aws.py; the ones here are apiway's (docs/behaviour.md lists them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.http_apis import client_error, v2_client
from tests.support import Server

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:F"


@pytest.fixture(scope="module")
def v2(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    server = Server(None, tmp_path_factory.mktemp("http-errors") / "state.db")
    yield v2_client(server.port, parameter_validation=False)
    server.stop()


@pytest.fixture(scope="module")
def api(v2) -> dict[str, str]:
    """An HTTP API with an HTTP_PROXY integration, a JWT and a REQUEST authorizer and one route."""
    api_id = v2.create_api(Name="errors", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                                        IntegrationUri="https://example.com")["IntegrationId"]
    jwt = v2.create_authorizer(ApiId=api_id, Name="jwt", AuthorizerType="JWT",
                               IdentitySource=["$request.header.Authorization"],
                               JwtConfiguration={"Issuer": "https://issuer", "Audience": ["a"]})["AuthorizerId"]
    custom = v2.create_authorizer(ApiId=api_id, Name="custom", AuthorizerType="REQUEST", AuthorizerUri=FUNCTION,
                                  IdentitySource=[], AuthorizerPayloadFormatVersion="1.0")["AuthorizerId"]
    route = v2.create_route(ApiId=api_id, RouteKey="GET /pets/{id}", AuthorizationType="JWT", AuthorizerId=jwt,
                            Target=f"integrations/{integration}")["RouteId"]
    return {"api": api_id, "integration": integration, "jwt": jwt, "custom": custom, "route": route}


BAD = ("BadRequestException", 400)


@pytest.mark.parametrize(("key", "fragment"), [
    ("GET pets", "the path must start with '/'"),
    ("FETCH /pets", "the method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY"),
    ("get /pets", "the method must be one of"),
    ("GET /{proxy+}/more", "must be the last segment"),
    ("GET /pets{id}", "a path variable must be a whole segment"),
    ("GET /pets/", "may not contain an empty segment or end with '/'"),
    ("GET //pets", "may not contain an empty segment"),
])
def test_route_keys_aws_refuses(v2, api, key, fragment):
    code, status, message = client_error(v2.create_route, ApiId=api["api"], RouteKey=key)
    assert (code, status) == BAD and message.startswith(f"Unable to create route {key}: ") and fragment in message


@pytest.mark.parametrize("key", ["$default", "GET /", "ANY /{proxy+}", "DELETE /a/{b}/c/{d+}", "PATCH /a.b~c"])
def test_route_keys_aws_takes(v2, api, key):
    route = v2.create_route(ApiId=api["api"], RouteKey=key)
    v2.delete_route(ApiId=api["api"], RouteId=route["RouteId"])


def test_duplicate_route_key_is_a_conflict(v2, api):
    assert client_error(v2.create_route, ApiId=api["api"], RouteKey="GET /pets/{id}") == (
        "ConflictException", 409, "Route with key GET /pets/{id} already exists for this API")
    other = v2.create_route(ApiId=api["api"], RouteKey="GET /other")["RouteId"]
    assert client_error(v2.update_route, ApiId=api["api"], RouteId=other, RouteKey="GET /pets/{id}")[:2] == (
        "ConflictException", 409)
    v2.delete_route(ApiId=api["api"], RouteId=other)


def test_missing_parts_are_not_found(v2, api):
    a = api["api"]
    assert client_error(v2.get_route, ApiId=a, RouteId="nope") == (
        "NotFoundException", 404, "Invalid Route identifier specified nope")
    assert client_error(v2.get_integration, ApiId=a, IntegrationId="nope") == (
        "NotFoundException", 404, "Invalid Integration identifier specified nope")
    assert client_error(v2.get_authorizer, ApiId=a, AuthorizerId="nope") == (
        "NotFoundException", 404, "Invalid Authorizer identifier specified nope")
    assert client_error(v2.get_deployment, ApiId=a, DeploymentId="nope") == (
        "NotFoundException", 404, "Invalid Deployment identifier specified nope")
    assert client_error(v2.get_stage, ApiId=a, StageName="nope") == (
        "NotFoundException", 404, "Invalid stage identifier specified")
    assert client_error(v2.get_domain_name, DomainName="nope.example.com") == (
        "NotFoundException", 404, "Invalid domain name identifier specified")


def test_routes_refer_to_what_exists_and_fits(v2, api):
    a = api["api"]
    assert client_error(v2.create_route, ApiId=a, RouteKey="GET /t", Target="integrations/missing")[:2] == BAD
    assert client_error(v2.create_route, ApiId=a, RouteKey="GET /t", Target="lambda")[:2] == BAD
    assert client_error(v2.create_route, ApiId=a, RouteKey="GET /t", AuthorizationType="JWT") == (
        *BAD, "An authorizerId is required for authorizationType JWT.")
    assert client_error(v2.create_route, ApiId=a, RouteKey="GET /t", AuthorizationType="JWT", AuthorizerId="missing") == (
        *BAD, "Invalid Authorizer identifier specified missing")
    assert client_error(v2.create_route, ApiId=a, RouteKey="GET /t", AuthorizationType="CUSTOM",
                 AuthorizerId=api["jwt"])[2].startswith("Authorization type CUSTOM requires an authorizer of type REQUEST")
    assert client_error(v2.create_route, ApiId=a, RouteKey="GET /t", AuthorizationType="NONE",
                 AuthorizationScopes=["x"])[:2] == BAD
    assert client_error(v2.create_route, ApiId=a, RouteKey="GET /t", AuthorizationType="JWT", AuthorizerId=api["jwt"],
                 AuthorizationScopes=[f"s{i}" for i in range(11)])[:2] == BAD
    assert client_error(v2.create_route, ApiId=a, RouteKey="GET /t", ApiKeyRequired=True) == (
        *BAD, "API keys are not supported for HTTP APIs.")
    assert client_error(v2.create_route, ApiId=a, RouteKey="GET /t", AuthorizationType="COGNITO") == (
        *BAD, "1 validation error detected: Value 'COGNITO' at 'authorizationType' failed to satisfy constraint: "
              "Member must satisfy enum value set: [NONE, AWS_IAM, CUSTOM, JWT]")
    assert client_error(v2.delete_authorizer, ApiId=a, AuthorizerId=api["jwt"]) == (
        "ConflictException", 409,
        f"Cannot delete Authorizer because it is referenced by the following Routes with Ids: [{api['route']}]")
    assert client_error(v2.update_authorizer, ApiId=a, AuthorizerId=api["jwt"], AuthorizerType="REQUEST",
                 AuthorizerUri=FUNCTION, AuthorizerPayloadFormatVersion="2.0")[:2] == BAD  # the route needs a JWT one


def test_integrations_aws_refuses(v2, api):
    a = api["api"]
    assert client_error(v2.create_integration, ApiId=a, IntegrationType="AWS_PROXY", IntegrationUri=FUNCTION) == (
        *BAD, "PayloadFormatVersion is required for AWS_PROXY integrations of HTTP APIs. Supported values: 1.0, 2.0.")
    assert client_error(v2.create_integration, ApiId=a, IntegrationType="AWS_PROXY", IntegrationUri=FUNCTION,
                 PayloadFormatVersion="3.0")[:2] == BAD
    assert client_error(v2.create_integration, ApiId=a, IntegrationType="HTTP_PROXY", IntegrationUri="https://e.com") == (
        *BAD, "IntegrationMethod is required for HTTP_PROXY integrations.")
    assert client_error(v2.create_integration, ApiId=a, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                 IntegrationUri="https://e.com", PayloadFormatVersion="2.0")[:2] == BAD
    assert client_error(v2.create_integration, ApiId=a, IntegrationType="HTTP_PROXY", IntegrationMethod="GET") == (
        *BAD, "IntegrationUri is required for HTTP_PROXY integrations.")
    for timeout in (49, 30001):
        assert client_error(v2.create_integration, ApiId=a, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                     IntegrationUri="https://e.com", TimeoutInMillis=timeout)[:2] == BAD
    assert client_error(v2.create_integration, ApiId=a, IntegrationType="MOCK")[2].startswith(
        "Currently, an API with a protocol type of HTTP may only be associated with proxy integrations")
    assert client_error(v2.create_integration, ApiId=a, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                 IntegrationUri="https://e.com", ConnectionType="VPC_LINK") == (
        *BAD, "ConnectionId must be provided when connectionType is VPC_LINK.")
    assert client_error(v2.create_integration_response, ApiId=a, IntegrationId=api["integration"],
                 IntegrationResponseKey="$default") == (*BAD, "Integration responses are supported only for WebSocket APIs.")


def test_authorizers_aws_refuses(v2, api):
    a = api["api"]
    jwt = {"ApiId": a, "Name": "j", "AuthorizerType": "JWT", "IdentitySource": ["$request.header.Authorization"]}
    assert client_error(v2.create_authorizer, **jwt)[:2] == BAD  # no JwtConfiguration
    assert client_error(v2.create_authorizer, **jwt, JwtConfiguration={"Issuer": "https://i"})[:2] == BAD  # no audience
    assert client_error(v2.create_authorizer, **{**jwt, "IdentitySource": ["$request.header.A", "$request.header.B"]},
                 JwtConfiguration={"Issuer": "https://i", "Audience": ["a"]})[:2] == BAD
    request = {"ApiId": a, "Name": "r", "AuthorizerType": "REQUEST", "IdentitySource": ["$request.header.X"]}
    assert client_error(v2.create_authorizer, **request, AuthorizerPayloadFormatVersion="2.0") == (
        *BAD, "AuthorizerUri is required for REQUEST authorizers.")
    assert client_error(v2.create_authorizer, **request, AuthorizerUri=FUNCTION)[2].startswith(
        "AuthorizerPayloadFormatVersion is required for REQUEST authorizers of HTTP APIs.")
    assert client_error(v2.create_authorizer, **request, AuthorizerUri=FUNCTION, AuthorizerPayloadFormatVersion="1.0",
                 EnableSimpleResponses=True) == (
        *BAD, "EnableSimpleResponses is supported only with authorizer payload format version 2.0.")
    assert client_error(v2.create_authorizer, **request, AuthorizerUri=FUNCTION, AuthorizerPayloadFormatVersion="2.0",
                 AuthorizerResultTtlInSeconds=3601)[:2] == BAD
    assert client_error(v2.create_authorizer, **{**request, "IdentitySource": ["header.X"]}, AuthorizerUri=FUNCTION,
                 AuthorizerPayloadFormatVersion="2.0")[2].startswith("Invalid identity source: header.X.")
    assert client_error(v2.create_authorizer, **{**request, "IdentitySource": []}, AuthorizerUri=FUNCTION,
                 AuthorizerPayloadFormatVersion="2.0", AuthorizerResultTtlInSeconds=60)[:2] == BAD
    assert client_error(v2.create_authorizer, **{**request, "AuthorizerType": "TOKEN"})[:2] == BAD


def test_stages_aws_refuses(v2, api):
    a = api["api"]
    assert client_error(v2.create_stage, ApiId=a, StageName="bad name") == (
        *BAD, "Stage name only allows a-zA-Z0-9_- or $default")
    v2.create_stage(ApiId=a, StageName="one")
    assert client_error(v2.create_stage, ApiId=a, StageName="one") == ("ConflictException", 409, "Stage one already exists")
    assert client_error(v2.create_stage, ApiId=a, StageName="two", DeploymentId="missing") == (
        *BAD, "Deployment id does not exist")
    assert client_error(v2.create_stage, ApiId=a, StageName="two",
                 DefaultRouteSettings={"LoggingLevel": "INFO"}) == (
        *BAD, "Execution logs are not supported on protocolType HTTP")
    assert client_error(v2.create_stage, ApiId=a, StageName="two", AccessLogSettings={
        "DestinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:g", "Format": "$context.status"})[:2] == BAD
    assert client_error(v2.update_stage, ApiId=a, StageName="one", StageVariables={"bad name": "x"})[:2] == BAD
    assert client_error(v2.delete_route_settings, ApiId=a, StageName="one", RouteKey="GET /pets/{id}")[:2] == (
        "NotFoundException", 404)
    for i in range(9):
        v2.create_stage(ApiId=a, StageName=f"s{i}")
    assert client_error(v2.create_stage, ApiId=a, StageName="eleventh")[:2] == ("LimitExceededException", 429)


def test_deployments_and_apis_aws_refuses(v2):
    empty = v2.create_api(Name="empty", ProtocolType="HTTP")["ApiId"]
    assert client_error(v2.create_deployment, ApiId=empty) == (
        *BAD, "Unable to deploy API because no routes exist in this API")
    assert client_error(v2.create_deployment, ApiId=empty, StageName="missing")[:2] == ("NotFoundException", 404)
    assert client_error(v2.create_api, Name="x", ProtocolType="REST") == (
        *BAD, "1 validation error detected: Value 'REST' at 'protocolType' failed to satisfy constraint: Member "
              "must satisfy enum value set: [WEBSOCKET, HTTP]")
    assert client_error(v2.create_api, Name="x", ProtocolType="WEBSOCKET")[:2] == BAD  # no route selection expression
    assert client_error(v2.create_api, Name="x", ProtocolType="HTTP", RouteSelectionExpression="$request.body.a")[:2] == BAD
    assert client_error(v2.create_api, Name="x", ProtocolType="HTTP", Target="not-a-target")[:2] == BAD
    assert client_error(v2.create_api, Name="x", ProtocolType="HTTP", RouteKey="GET /a")[:2] == BAD  # without Target
    assert client_error(v2.create_api, Name="x", ProtocolType="HTTP", CorsConfiguration={"MaxAge": 86401})[:2] == BAD
    assert client_error(v2.update_api, ApiId=empty, Target=FUNCTION)[:2] == BAD  # not made by quick create
    assert client_error(v2.get_routes, ApiId=empty, MaxResults="0")[:2] == BAD
    assert client_error(v2.tag_resource, ResourceArn="arn:aws:apigateway:us-east-1::/vpclinks/x", Tags={"a": "b"}) == (
        *BAD, "Invalid ARN specified in the request")


def test_api_mappings_aws_refuses(v2):
    v2.create_domain_name(DomainName="errors.example.com")
    api_id = v2.create_api(Name="mapped", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=api_id, StageName="mapped")
    base = {"DomainName": "errors.example.com", "ApiId": api_id, "Stage": "mapped"}
    assert client_error(v2.create_api_mapping, **{**base, "ApiId": "missing"}) == (
        *BAD, "Invalid API identifier specified 123456789012:missing")
    assert client_error(v2.create_api_mapping, **base, ApiMappingKey="/lead")[:2] == BAD
    v2.create_api_mapping(**base, ApiMappingKey="v1")
    assert client_error(v2.create_api_mapping, **base, ApiMappingKey="v1") == (
        "ConflictException", 409, "Base path already exists for this domain name")
    assert client_error(v2.get_api_mapping, DomainName="errors.example.com", ApiMappingId="nope") == (
        "NotFoundException", 404, "Invalid API mapping identifier specified nope")
    assert client_error(v2.create_domain_name, DomainName="errors.example.com") == (
        "ConflictException", 409, "The domain name you provided already exists.")
    assert client_error(v2.create_domain_name, DomainName="edge.example.com",
                 DomainNameConfigurations=[{"EndpointType": "EDGE"}])[:2] == BAD

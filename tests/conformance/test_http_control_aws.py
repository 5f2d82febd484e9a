"""apigatewayv2 answers compared with AWS's own: the output members of the AWS CLI's documented examples
(awscli/examples/apigatewayv2/*.rst, outputs captured from AWS and shipped with the CLI) and the error
codes, statuses and messages AWS gave in public reports (source named beside each). Errors whose wording
no AWS source gives are pinned in tests/e2e/test_http_control_errors.py and listed in docs/behaviour.md."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import awscli
import pytest

from tests.http_apis import client_error, v2_client
from tests.support import Server

EXAMPLES = Path(awscli.__file__).parent / "examples" / "apigatewayv2"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:my-function"


@pytest.fixture(scope="module")
def v2(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    server = Server(None, tmp_path_factory.mktemp("http-conformance") / "state.db")
    yield v2_client(server.port)
    server.stop()


def documented_outputs(command: str) -> list[dict]:
    """The JSON outputs of one command's documented examples (those that are valid JSON)."""
    text = (EXAMPLES / f"{command}.rst").read_text()
    outputs = []
    for block in re.findall(r"Output::\n\n((?:    .*\n|\n)+)", text):
        try:
            outputs.append(json.loads(block))
        except json.JSONDecodeError:
            continue
    assert outputs, f"no JSON output documented for {command}"
    return outputs


def documented_keys(command: str, pick=lambda output: True) -> set[str]:
    return set(next(o for o in documented_outputs(command) if pick(o)))


def keys(response: dict) -> set[str]:
    return set(response) - {"ResponseMetadata"}


def assert_error(call, code: str, message: str, status: int) -> None:
    assert client_error(call) == (code, status, message)


# -- output members, as AWS documents them ---------------------------------------------------------------

def test_quick_create_answers_with_the_documented_members(v2):
    documented = documented_keys("create-api", lambda o: o["ProtocolType"] == "HTTP")
    api = v2.create_api(Name="my-http-api", ProtocolType="HTTP", Target=FUNCTION)
    # Documented in 2020; AWS has since added DisableExecuteApiEndpoint, IpAddressType and Tags to the answer.
    assert keys(api) - {"DisableExecuteApiEndpoint", "IpAddressType", "Tags"} == documented
    got = v2.get_api(ApiId=api["ApiId"])
    assert keys(got) >= documented_keys("get-api") and got["RouteSelectionExpression"] == "$request.method $request.path"
    integration = v2.get_integrations(ApiId=api["ApiId"])["Items"][0]
    assert keys(integration) == documented_keys("get-integration")  # the quick-created, API Gateway managed one
    routes = v2.get_routes(ApiId=api["ApiId"])["Items"]
    managed = next(o for o in documented_outputs("get-routes")[0]["Items"] if o.get("ApiGatewayManaged"))
    assert keys(routes[0]) == set(managed) and routes[0]["RouteKey"] == "$default"


def test_created_parts_answer_with_the_documented_members(v2):
    api_id = v2.create_api(Name="parts", ProtocolType="HTTP")["ApiId"]
    route = v2.create_route(ApiId=api_id, RouteKey="POST /signup")
    assert keys(route) == documented_keys("create-route", lambda o: o["RouteKey"] == "POST /signup")
    integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=FUNCTION,
                                        PayloadFormatVersion="2.0")
    documented = documented_keys("create-integration", lambda o: o["IntegrationType"] == "AWS_PROXY")
    assert keys(integration) == documented
    authorizer = v2.create_authorizer(ApiId=api_id, Name="my-jwt-authorizer", AuthorizerType="JWT",
                                      IdentitySource=["$request.header.Authorization"],
                                      JwtConfiguration={"Audience": ["123456abc"], "Issuer": "https://issuer"})
    assert keys(authorizer) == documented_keys("create-authorizer")
    stage = v2.create_stage(ApiId=api_id, StageName="dev")
    assert keys(stage) == documented_keys("create-stage")
    deployment = v2.create_deployment(ApiId=api_id)
    assert keys(deployment) == documented_keys("create-deployment")
    assert set(v2.get_deployments(ApiId=api_id)["Items"][0]) <= {*documented_keys("create-deployment"), "Description"}
    domain = v2.create_domain_name(DomainName="regional.example.com", DomainNameConfigurations=[
        {"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}])
    documented = documented_keys("create-domain-name")
    assert keys(domain) >= documented
    config_keys = set(documented_outputs("create-domain-name")[0]["DomainNameConfigurations"][0])
    assert set(domain["DomainNameConfigurations"][0]) >= config_keys


# -- errors AWS gave, word for word ----------------------------------------------------------------------

def test_unknown_api(v2):
    # aws/aws-sdk-js#2458, aws/aws-sam-cli#7030: "Invalid API identifier specified {account}:{apiId}"
    assert_error(lambda: v2.get_api(ApiId="bwop0s66op"), "NotFoundException",
                 "Invalid API identifier specified 123456789012:bwop0s66op", 404)
    assert_error(lambda: v2.create_integration(ApiId="bwop0s66op", IntegrationType="HTTP_PROXY"),
                 "NotFoundException", "Invalid API identifier specified 123456789012:bwop0s66op", 404)


def test_non_proxy_integration_on_an_http_api(v2):
    # aws/aws-cli#6363
    api_id = v2.create_api(Name="proxy-only", ProtocolType="HTTP")["ApiId"]
    assert_error(lambda: v2.create_integration(ApiId=api_id, IntegrationType="AWS", IntegrationUri=FUNCTION),
                 "BadRequestException", "Currently, an API with a protocol type of HTTP may only be associated with "
                 "proxy integrations (AWS_PROXY, HTTP_PROXY)", 400)


def test_credentials_with_any_origin(v2):
    # aws/aws-cdk#9076
    message = "allow-credentials is not supported if 'allow-origin' is *"
    assert_error(lambda: v2.create_api(Name="cors", ProtocolType="HTTP", CorsConfiguration={
        "AllowCredentials": True, "AllowOrigins": ["*"]}), "BadRequestException", message, 400)
    api_id = v2.create_api(Name="cors", ProtocolType="HTTP")["ApiId"]
    assert_error(lambda: v2.update_api(ApiId=api_id, CorsConfiguration={"AllowCredentials": True,
                                                                         "AllowOrigins": ["https://a.example", "*"]}),
                 "BadRequestException", message, 400)


def test_conflicting_path_variable(v2):
    # plutomi/plutomi#271 (a CloudFormation event quoting AWS)
    api_id = v2.create_api(Name="vars", ProtocolType="HTTP")["ApiId"]
    existing = "GET /public/orgs/{orgId}/stages/{stage_id}/questions"
    v2.create_route(ApiId=api_id, RouteKey=existing)
    new = "GET /public/orgs/{orgId}/stages/{stageId}/questions"
    assert_error(lambda: v2.create_route(ApiId=api_id, RouteKey=new), "ConflictException",
                 f'The provided route key "{new}" has a conflicting variable on the same hierarchical level as '
                 f'"{existing}"', 409)


def test_integration_in_use(v2):
    # milliHQ/terraform-aws-next-js#247
    api_id = v2.create_api(Name="in-use", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                                        IntegrationUri="https://example.com")["IntegrationId"]
    route = v2.create_route(ApiId=api_id, RouteKey="ANY /x", Target=f"integrations/{integration}")["RouteId"]
    assert_error(lambda: v2.delete_integration(ApiId=api_id, IntegrationId=integration), "ConflictException",
                 f"Cannot delete Integration because it is referenced by the following Routes with Ids: [{route}]", 409)


def test_route_settings_for_a_missing_route(v2):
    # terraform-aws-modules/terraform-aws-apigateway-v2#80
    api_id = v2.create_api(Name="settings", ProtocolType="HTTP")["ApiId"]
    assert_error(lambda: v2.create_stage(ApiId=api_id, StageName="dev",
                                         RouteSettings={"GET /some-route": {"ThrottlingBurstLimit": 1}}),
                 "NotFoundException", "Unable to find Route by key GET /some-route within the provided RouteSettings",
                 404)


def test_empty_route_key(v2):
    # goldstack/goldstack#42
    api_id = v2.create_api(Name="keyless", ProtocolType="HTTP")["ApiId"]
    assert_error(lambda: v2.create_route(ApiId=api_id, RouteKey=""), "BadRequestException", "Route key is required",
                 400)


def test_api_mapping_to_a_missing_stage(v2):
    # aws/aws-cdk#9078
    api_id = v2.create_api(Name="unmapped", ProtocolType="HTTP")["ApiId"]
    v2.create_domain_name(DomainName="mapped.example.com")
    assert_error(lambda: v2.create_api_mapping(DomainName="mapped.example.com", ApiId=api_id, Stage="$default"),
                 "BadRequestException", "Invalid stage identifier specified", 400)


def test_integration_limit(v2):
    # serverless/serverless-websockets-plugin#22 (AWS's text, two spaces included)
    api_id = v2.create_api(Name="many", ProtocolType="HTTP")["ApiId"]
    for _ in range(300):
        v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                              IntegrationUri="https://example.com")
    assert_error(lambda: v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                                               IntegrationUri="https://example.com"), "LimitExceededException",
                 "Maximum number of Integrations for this API has been reached.  Please contact AWS if you need "
                 "additional Integrations.", 429)

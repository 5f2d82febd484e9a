"""Control-plane answers that widely used clients rely on, through real boto3 against a running apiway:
authorization types in any case, AWS's wording for unknown stages and key sources, the cross-account
role refusal, and failOnWarnings on a document without paths."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conformance.control_plane import new_api, put_mock_integration
from tests.support import Server

AUTHORIZER_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                  "arn:aws:lambda:us-east-1:123456789012:function:Auth/invocations")
LAMBDA_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
              "arn:aws:lambda:us-east-1:123456789012:function:Fn/invocations")


def error_of(call) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_authorization_type_is_taken_in_any_case(apigw, apigw_server: Server):
    """Zappa and others sent `none` for years: AWS takes it; the method then serves as NONE."""
    api_id, root_id = new_api(apigw, "lower-case-auth")
    method = apigw.put_method(restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="none")
    assert method["authorizationType"] == "NONE"
    put_mock_integration(apigw, api_id, root_id)
    apigw.put_method_response(restApiId=api_id, resourceId=root_id, httpMethod="GET", statusCode="200")
    apigw.put_integration_response(restApiId=api_id, resourceId=root_id, httpMethod="GET", statusCode="200",
                                   responseTemplates={"application/json": '{"ok": true}'})
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    reply = apigw_server.call("GET", api_id, "dev", "/")
    assert (reply.status, reply.json()) == (200, {"ok": True})

    authorizer = apigw.create_authorizer(restApiId=api_id, name="auth", type="TOKEN", authorizerUri=AUTHORIZER_URI,
                                         identitySource="method.request.header.Authorization")["id"]
    custom = apigw.put_method(restApiId=api_id, resourceId=root_id, httpMethod="POST", authorizationType="custom",
                              authorizerId=authorizer)
    assert (custom["authorizationType"], custom["authorizerId"]) == ("CUSTOM", authorizer)
    patched = apigw.update_method(restApiId=api_id, resourceId=root_id, httpMethod="POST", patchOperations=[
        {"op": "replace", "path": "/authorizationType", "value": "aws_iam"}])
    assert patched["authorizationType"] == "AWS_IAM" and "authorizerId" not in patched
    code, message, _ = error_of(lambda: apigw.put_method(restApiId=api_id, resourceId=root_id, httpMethod="PUT",
                                                         authorizationType="nonsense"))
    assert code == "BadRequestException" and message.startswith("Invalid authorization type specified.")


def test_unknown_stage_is_worded_with_a_lower_case_stage(apigw):
    api_id, _ = new_api(apigw, "no-stage")
    assert error_of(lambda: apigw.get_stage(restApiId=api_id, stageName="missing")) == (
        "NotFoundException", "Invalid stage identifier specified", 404)


def test_invalid_api_key_source_is_refused_in_aws_wording(apigw):
    assert error_of(lambda: apigw.create_rest_api(name="bad-source", apiKeySource="not a Source")) == (
        "ValidationException",
        "1 validation error detected: Value 'not a Source' at 'createRestApiInput.apiKeySource' failed to satisfy "
        "constraint: Member must satisfy enum value set: [AUTHORIZER, HEADER]", 400)
    assert apigw.create_rest_api(name="good-source", apiKeySource="AUTHORIZER")["apiKeySource"] == "AUTHORIZER"


def test_cross_account_credentials_role_is_refused(apigw):
    api_id, root_id = new_api(apigw, "pass-role", "GET")
    key = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "GET"}
    foreign = "arn:aws:iam::210987654321:role/invoker"
    assert error_of(lambda: apigw.put_integration(**key, type="AWS_PROXY", integrationHttpMethod="POST",
                                                  uri=LAMBDA_URI, credentials=foreign)) == (
        "AccessDeniedException", "Cross-account pass role is not allowed.", 403)
    own = "arn:aws:iam::123456789012:role/invoker"
    for credentials in (own, "arn:aws:iam::*:user/*"):  # this account's role, or the caller's own credentials
        done = apigw.put_integration(**key, type="AWS_PROXY", integrationHttpMethod="POST", uri=LAMBDA_URI,
                                     credentials=credentials)
        assert done["credentials"] == credentials
    assert error_of(lambda: apigw.update_integration(**key, patchOperations=[
        {"op": "replace", "path": "/credentials", "value": foreign}]))[0] == "AccessDeniedException"
    assert apigw.get_integration(**key)["credentials"] == "arn:aws:iam::*:user/*"


def test_fail_on_warnings_refuses_a_document_without_paths(apigw):
    document = json.dumps({"openapi": "3.0.1", "info": {"title": "no-paths", "version": "1"}}).encode()
    before = {api["id"] for api in apigw.get_rest_apis(limit=500)["items"]}
    expected = ("BadRequestException",
                "Failed to parse the uploaded OpenAPI document due to: 'paths' is a required property", 400)
    assert error_of(lambda: apigw.import_rest_api(body=document, failOnWarnings=True)) == expected
    assert {api["id"] for api in apigw.get_rest_apis(limit=500)["items"]} == before  # nothing was created
    api_id = apigw.import_rest_api(body=document)["id"]  # without failOnWarnings: an API with only its root
    assert [r["path"] for r in apigw.get_resources(restApiId=api_id)["items"]] == ["/"]
    assert error_of(lambda: apigw.put_rest_api(restApiId=api_id, body=document, failOnWarnings=True)) == expected

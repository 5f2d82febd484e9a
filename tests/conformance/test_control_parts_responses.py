"""Authorizers and gateway responses through real boto3 against a running apiway, compared with the
responses and errors recorded from AWS."""

from __future__ import annotations

import re

import pytest

from tests.conformance.control_plane import (
    assert_recorded_error,
    new_api,
    put_mock_integration,
    recorded_content,
    without_metadata,
)

LAMBDA_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012"
              ":function:myApiAuthorizer/invocations")
POOL = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"
TEMPLATE = ('{\n     "message": $context.error.messageString,\n     "type":  "$context.error.responseType",\n'
            '     "stage":  "$context.stage",\n     "resourcePath":  "$context.resourcePath",\n'
            '     "stageVariables.a":  "$stageVariables.a",\n     "statusCode": "\'404\'"\n}')
PARAMETERS = {
    "gatewayresponse.header.x-request-path": "method.request.path.petId",
    "gatewayresponse.header.Access-Control-Allow-Origin": "'a.b.c'",
    "gatewayresponse.header.x-request-query": "method.request.querystring.q",
    "gatewayresponse.header.x-request-header": "method.request.header.Accept",
}
ACCEPT_ONLY = {"gatewayresponse.header.x-request-header": "method.request.header.Accept"}


# -- authorizers -------------------------------------------------------------------------------------------

def test_authorizer_errors_without_api(apigw):
    test = "test_authorizer_crud_no_api"
    assert_recorded_error(lambda: apigw.create_authorizer(
        restApiId="test-fake-rest-id", name="fake-auth-name", type="TOKEN", authorizerUri=LAMBDA_URI,
        identitySource="method.request.header.Authorization"), test, "wrong-rest-api-id-create-authorizer")
    assert_recorded_error(lambda: apigw.get_authorizers(restApiId="test-fake-rest-id"), test,
                          "wrong-rest-api-id-get-authorizers")


def test_authorizer_lifecycle(apigw):
    api_id = apigw.create_rest_api(name="authorizers")["id"]
    token = apigw.create_authorizer(restApiId=api_id, name="token", type="TOKEN", authorizerUri=LAMBDA_URI)
    assert token["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert without_metadata(token) == {"id": token["id"], "name": "token", "type": "TOKEN", "authorizerUri": LAMBDA_URI,
                             "identitySource": "method.request.header.Authorization",
                             "authorizerResultTtlInSeconds": 300}
    request = apigw.create_authorizer(restApiId=api_id, name="request", type="REQUEST", authorizerUri=LAMBDA_URI,
                                      identitySource="method.request.header.X, method.request.querystring.q",
                                      authorizerResultTtlInSeconds=0, authType="custom")
    cognito = apigw.create_authorizer(restApiId=api_id, name="pool", type="COGNITO_USER_POOLS", providerARNs=[POOL])
    assert cognito["providerARNs"] == [POOL] and "authorizerUri" not in cognito
    listed = apigw.get_authorizers(restApiId=api_id)["items"]
    assert [a["id"] for a in listed] == [token["id"], request["id"], cognito["id"]]
    assert without_metadata(apigw.get_authorizer(restApiId=api_id, authorizerId=request["id"])) == without_metadata(request)

    updated = apigw.update_authorizer(restApiId=api_id, authorizerId=token["id"], patchOperations=[
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "60"},
        {"op": "replace", "path": "/identityValidationExpression", "value": "^Bearer .+$"}])
    assert (updated["name"], updated["authorizerResultTtlInSeconds"], updated["identityValidationExpression"]) == (
        "renamed", 60, "^Bearer .+$")
    second_pool = POOL + "2"
    updated = apigw.update_authorizer(restApiId=api_id, authorizerId=cognito["id"], patchOperations=[
        {"op": "add", "path": "/providerARNs/" + second_pool.replace("/", "~1")}])
    assert updated["providerARNs"] == [POOL, second_pool]
    assert apigw.delete_authorizer(restApiId=api_id, authorizerId=request["id"])[
        "ResponseMetadata"]["HTTPStatusCode"] == 202
    with pytest.raises(apigw.exceptions.NotFoundException, match="Invalid Authorizer identifier specified"):
        apigw.get_authorizer(restApiId=api_id, authorizerId=request["id"])


@pytest.mark.parametrize("kwargs, message", [
    ({"type": "TOKEN"}, "Invalid Authorizer URI: null."),
    ({"type": "REQUEST", "authorizerUri": "arn:aws:lambda:us-east-1:1:function:f"}, "Invalid Authorizer URI: arn:aws"),
    ({"type": "COGNITO_USER_POOLS"}, "ProviderARNs must be specified"),
    ({"type": "TOKEN", "authorizerUri": LAMBDA_URI, "authorizerResultTtlInSeconds": 3601}, "between 0 and 3600"),
    ({"type": "REQUEST", "authorizerUri": LAMBDA_URI}, "Identity source must be specified"),
])
def test_authorizer_required_fields(apigw, kwargs, message):
    api_id = apigw.create_rest_api(name="authorizer-rules")["id"]
    with pytest.raises(apigw.exceptions.BadRequestException, match=message):
        apigw.create_authorizer(restApiId=api_id, name="a", **kwargs)


def test_authorizer_type_and_patch_errors(apigw, unchecked):
    api_id = apigw.create_rest_api(name="authorizer-patch")["id"]
    with pytest.raises(apigw.exceptions.ClientError) as info:
        unchecked.create_authorizer(restApiId=api_id, name="a", type="BASIC")
    assert info.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'BASIC' at 'createAuthorizerInput.type' failed to satisfy constraint: "
        "Member must satisfy enum value set: [TOKEN, REQUEST, COGNITO_USER_POOLS, JWT]")
    auth_id = apigw.create_authorizer(restApiId=api_id, name="a", type="TOKEN", authorizerUri=LAMBDA_URI)["id"]
    for patch, message in (
        ({"op": "add", "path": "/name", "value": "x"}, "specified for op 'add'. Please choose supported operations"),
        ({"op": "replace", "path": "/id", "value": "x"}, "Must be one of: [/name, /type, /authType"),
        ({"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "-1"}, "between 0 and 3600"),
        ({"op": "replace", "path": "/authorizerUri", "value": ""}, "Invalid Authorizer URI: null."),
    ):
        with pytest.raises(apigw.exceptions.BadRequestException, match=re.escape(message)):
            apigw.update_authorizer(restApiId=api_id, authorizerId=auth_id, patchOperations=[patch])
    assert apigw.get_authorizer(restApiId=api_id, authorizerId=auth_id)["name"] == "a"  # nothing half-applied


# -- gateway responses -----------------------------------------------------------------------------------

def test_gateway_response_crud_matches_aws(apigw):
    expected = recorded_content("test_gateway_response_crud")
    api_id = apigw.create_rest_api(name="gateway-responses", description="APIGW test GatewayResponse")["id"]
    default = apigw.get_gateway_response(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN")
    assert without_metadata(default) == without_metadata(expected["get-gateway-response-default"])
    put = apigw.put_gateway_response(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="404",
                                     responseParameters=PARAMETERS, responseTemplates={"application/json": TEMPLATE})
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert without_metadata(put) == without_metadata(expected["put-gateway-response"])
    listed = apigw.get_gateway_responses(restApiId=api_id)["items"]
    assert listed == expected["get-gateway-responses"]["items"]  # all 21 types, recorded sorted by type
    assert without_metadata(apigw.get_gateway_response(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN")) == \
        without_metadata(expected["get-gateway-response"])
    deleted = apigw.delete_gateway_response(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert without_metadata(apigw.get_gateway_response(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN")) == \
        without_metadata(expected["get-deleted-gw-response"])


def test_gateway_response_put_defaults_and_families_match_aws(apigw):
    expected = recorded_content("test_gateway_response_put")
    api_id = apigw.create_rest_api(name="gateway-put")["id"]

    def put(key: str, rtype: str = "MISSING_AUTHENTICATION_TOKEN", **kwargs) -> None:
        got = apigw.put_gateway_response(restApiId=api_id, responseType=rtype, **kwargs)
        assert without_metadata(got) == without_metadata(expected[key]), key

    put("put-gateway-response-all-value", statusCode="404", responseParameters=PARAMETERS,
        responseTemplates={"application/json": TEMPLATE})
    put("put-gateway-response-status-only", statusCode="404")
    put("put-gateway-response-response-parameters-only", responseParameters=ACCEPT_ONLY)
    put("put-gateway-response-response-templates-only", responseTemplates={"application/json": TEMPLATE})
    put("put-gateway-response-default-5xx", "DEFAULT_5XX", statusCode="599", responseParameters=ACCEPT_ONLY,
        responseTemplates={"application/json": TEMPLATE})
    put("put-gateway-response-default-ignored", "AUTHORIZER_FAILURE",
        responseParameters={"gatewayresponse.header.foo": "'bar'"})
    assert apigw.get_gateway_responses(restApiId=api_id)["items"] == expected["get-gateway-responses"]["items"]


def test_gateway_response_validation_errors(apigw, unchecked):
    test = "test_gateway_response_validation"
    fake = "apiid123fake"
    api_id = apigw.create_rest_api(name="gateway-validation")["id"]
    for key, call in (
        ("get-gateway-responses-no-api", lambda: unchecked.get_gateway_responses(restApiId=fake)),
        ("get-gateway-response-no-api", lambda: unchecked.get_gateway_response(restApiId=fake,
                                                                                 responseType="DEFAULT_4XX")),
        ("delete-gateway-response-no-api", lambda: unchecked.delete_gateway_response(restApiId=fake,
                                                                                       responseType="DEFAULT_4XX")),
        ("update-gateway-response-no-api", lambda: unchecked.update_gateway_response(
            restApiId=fake, responseType="DEFAULT_4XX", patchOperations=[])),
        ("delete-gateway-response-not-set", lambda: unchecked.delete_gateway_response(restApiId=api_id,
                                                                                        responseType="DEFAULT_4XX")),
        ("get-gateway-response-wrong-response-type", lambda: unchecked.get_gateway_response(
            restApiId=api_id, responseType="FAKE_RESPONSE_TYPE")),
        ("delete-gateway-response-wrong-response-type", lambda: unchecked.delete_gateway_response(
            restApiId=api_id, responseType="FAKE_RESPONSE_TYPE")),
        ("update-gateway-response-wrong-response-type", lambda: unchecked.update_gateway_response(
            restApiId=api_id, responseType="FAKE_RESPONSE_TYPE", patchOperations=[])),
        ("put-gateway-response-wrong-response-type", lambda: unchecked.put_gateway_response(
            restApiId=api_id, responseType="FAKE_RESPONSE_TYPE", statusCode="404", responseParameters={},
            responseTemplates={})),
    ):
        assert_recorded_error(call, test, key, **{"fake-api-id": fake})


def test_update_gateway_response_matches_aws(unchecked):
    test = "test_update_gateway_response"
    expected = recorded_content(test)
    client = unchecked
    api_id = client.create_rest_api(name="gateway-update", description="APIGW test GatewayResponse")["id"]

    def update(*ops: dict, rtype: str = "DEFAULT_4XX") -> dict:
        return client.update_gateway_response(restApiId=api_id, responseType=rtype, patchOperations=list(ops))

    status_444 = {"op": "replace", "path": "/statusCode", "value": "444"}
    assert without_metadata(update(status_444)) == without_metadata(expected["update-gateway-response-not-set"])
    assert without_metadata(client.get_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")) == \
        without_metadata(expected["default-get-gateway-response"])
    templates = {"application/json": '{"application/json": "{\\"message\\":$context.error.messageString}"}'}
    put = client.put_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX", statusCode="404",
                                      responseParameters=PARAMETERS, responseTemplates=templates)
    assert put["statusCode"] == "404" and put["responseParameters"] == PARAMETERS
    xml = ("<gatewayResponse><message>$context.error.messageString</message><type>$context.error.responseType</type>"
           "</gatewayResponse>")
    updated = update(status_444, {"op": "replace", "value": "'example.com'",
                                  "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin"},
                     {"op": "add", "path": "/responseTemplates/application~1xml", "value": xml})
    want = without_metadata(expected["update-gateway-response"])
    assert {k: v for k, v in without_metadata(updated).items() if k != "responseTemplates"} == \
        {k: v for k, v in want.items() if k != "responseTemplates"}
    assert updated["responseTemplates"] == {**templates, "application/xml": xml}
    assert without_metadata(client.get_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")) == without_metadata(updated)
    for key, ops, rtype in (
        ("update-gateway-add-status-code", [{"op": "add", "path": "/statusCode", "value": "444"}], "DEFAULT_4XX"),
        ("update-gateway-remove-status-code", [{"op": "remove", "path": "/statusCode"}], "DEFAULT_4XX"),
        ("update-gateway-replace-invalid-parameter", [{
            "op": "replace", "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin",
            "value": "'example.com'"}], "DEFAULT_5XX"),
        ("update-gateway-no-path", [{"op": "add", "value": "'example.com'"}], "DEFAULT_4XX"),
        ("update-gateway-wrong-op", [{"op": "wrong-op", "path": "/statusCode", "value": "'example.com'"}],
         "DEFAULT_4XX"),
        ("update-gateway-wrong-path", [{"op": "add", "path": "/wrongPath", "value": "'example.com'"}], "DEFAULT_4XX"),
        ("update-gateway-replace-invalid-parameter-0-none",
         [{"op": "replace", "path": "/responseTemplates/application~1xml", "value": None}], "DEFAULT_4XX"),
        ("update-gateway-replace-invalid-parameter-1-none", [{
            "op": "replace", "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin",
            "value": None}], "DEFAULT_4XX"),
    ):
        assert_recorded_error(lambda ops=ops, rtype=rtype: update(*ops, rtype=rtype), test, key)


def test_gateway_response_reaches_the_gateway(apigw, apigw_server):
    """A customised response is what a deployed stage answers with."""
    api_id, root_id = new_api(apigw, "gateway-live", "GET")
    put_mock_integration(apigw, api_id, root_id)
    apigw.put_gateway_response(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="404",
                               responseParameters={"gatewayresponse.header.x-custom": "'yes'"},
                               responseTemplates={"application/json": '{"missing": "$context.error.responseType"}'})
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    reply = apigw_server.call("GET", api_id, "dev", "/nowhere")
    assert (reply.status, reply.header("x-custom"), reply.json()) == (
        404, "yes", {"missing": "MISSING_AUTHENTICATION_TOKEN"})

"""Integration and integration-response control-plane calls through real boto3 against a running
apiway, compared with the responses and errors recorded from AWS."""

from __future__ import annotations

import json

from tests.conformance.control_plane import (
    ACCOUNT_ID,
    assert_like_recorded,
    assert_recorded_error,
    new_api,
    put_mock_integration,
    recorded_content,
)

INTEGRATIONS = "test_apigateway_integrations.snapshot.json"
REGION = "us-east-1"
LAMBDA_URI = (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
              f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:MyLambda/invocations")
MOCK_TEMPLATES = {"application/json": '{"statusCode": 200}'}


# -- integrations ---------------------------------------------------------------------------------------

def test_put_integration_wrong_type(apigw, unchecked):
    api_id, root_id = new_api(apigw, "integration-type")
    assert_recorded_error(lambda: unchecked.put_integration(restApiId=api_id, resourceId=root_id, httpMethod="GET",
                                                            type="HTTPS_PROXY"),
                          "test_put_integration_wrong_type", "put-integration-wrong-type")


def test_put_integration_validation(apigw):
    """Backend method and URI requirements per type."""
    test = "test_put_integration_validation"
    want = recorded_content(test, INTEGRATIONS)
    api_id, root_id = new_api(apigw, "integration-validation", "GET")

    def put(kind: str, uri: str, **kwargs):
        return apigw.put_integration(restApiId=api_id, resourceId=root_id, httpMethod="GET", type=kind, uri=uri,
                                     **kwargs)

    for kind in ("HTTP", "HTTP_PROXY", "AWS"):
        assert_recorded_error(lambda kind=kind: put(kind, "http://example.com"), test,
                              f"required-integration-method-{kind}", snapshot=INTEGRATIONS)
    assert_like_recorded(put("MOCK", "http://example.com"), want["not-required-integration-method-MOCK"])
    for kind in ("HTTP", "HTTP_PROXY"):
        assert_like_recorded(put(kind, "http://example.com", integrationHttpMethod="POST"),
                             want[f"http-method-{kind}"])
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/service-role/testfunction-role-oe783psq"
    s3 = f"arn:aws:apigateway:{REGION}:s3:path/b/k"
    assert_like_recorded(put("AWS", s3, integrationHttpMethod="POST", credentials=role), want["aws-integration-AWS"])
    for kind in ("AWS", "AWS_PROXY"):
        assert_like_recorded(put(kind, LAMBDA_URI, integrationHttpMethod="POST"), want[f"aws-integration-type-{kind}"])
    for key, kind, uri in (
        ("no-s3-support-AWS_PROXY", "AWS_PROXY", s3),
        ("invalid-uri-HTTP", "HTTP", "non-valid-http"),
        ("invalid-uri-HTTP_PROXY", "HTTP_PROXY", "non-valid-http"),
        ("invalid-uri-not-an-arn", "AWS", "non-valid-arn"),
        ("invalid-uri-invalid-arn", "AWS", "arn:aws:iam::0000000000:role/service-role/asdf"),
    ):
        assert_recorded_error(lambda kind=kind, uri=uri: put(kind, uri, integrationHttpMethod="POST"), test, key,
                              snapshot=INTEGRATIONS)


def test_put_integration_on_missing_method_or_resource(apigw):
    test = "test_put_integration_response_validation"
    api_id, root_id = new_api(apigw, "integration-missing", "POST")

    def put(resource_id: str, verb: str):
        return apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=verb,
                                     integrationHttpMethod="GET", type="MOCK", requestTemplates=MOCK_TEMPLATES)

    def put_response(resource_id: str):
        return apigw.put_integration_response(restApiId=api_id, resourceId=resource_id, httpMethod="GET",
                                              statusCode="200", selectionPattern="",
                                              responseTemplates={"application/json": json.dumps({})})

    assert_recorded_error(lambda: put(root_id, "GET"), test, "put-integration-wrong-method")
    assert_recorded_error(lambda: put("badresource", "GET"), test, "put-integration-wrong-resource")
    put(root_id, "POST")
    assert_recorded_error(lambda: put_response(root_id), test, "put-integration-response-wrong-method")
    assert_recorded_error(lambda: put_response("badresource"), test, "put-integration-response-wrong-resource")


def test_integration_request_parameters_must_be_strings(apigw, unchecked):
    test = "test_put_integration_request_parameter_bool_type"
    api_id, root_id = new_api(apigw, "integration-param-types", "GET")
    for key, parameters in (("put-integration-request-param-wrong-type", {True: True}),
                            ("put-integration-request-param-bool-value", {"integration.request.path.testPath": True})):
        assert_recorded_error(lambda parameters=parameters: unchecked.put_integration(
            restApiId=api_id, resourceId=root_id, httpMethod="GET", type="HTTP_PROXY", requestParameters=parameters,
        ), test, key)


def test_get_integration_non_existent(apigw):
    test = "test_get_integration_non_existent"
    api_id, root_id = new_api(apigw, "integration-get", "GET")

    def get(**key: str):
        return apigw.get_integration(**{"restApiId": api_id, "resourceId": root_id, "httpMethod": "GET", **key})

    assert_recorded_error(lambda: get(restApiId="fake-api"), test, "get-integration-no-api")
    assert_recorded_error(lambda: get(resourceId="fake-resource"), test, "get-integration-no-resource")
    assert_recorded_error(lambda: get(httpMethod="POST"), test, "get-integration-no-method")
    assert_recorded_error(get, test, "get-integration-no-integration")


def test_integration_with_vpc_link(apigw):
    want = recorded_content("test_create_integration_with_vpc_link")
    api_id, root_id = new_api(apigw, "integration-vpc-link", "GET")
    key = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "GET"}
    put = apigw.put_integration(**key, type="HTTP_PROXY", integrationHttpMethod="GET",
                                uri=f"http://my-vpclink-test-nlb-1234567890abcdef.{REGION}.amazonaws.com",
                                connectionType="VPC_LINK", connectionId="${stageVariables.vpcLinkId}")
    assert_like_recorded(put, want["put-integration-vpc-link"])
    assert put["cacheNamespace"] == root_id
    assert_like_recorded(apigw.get_integration(**key), want["get-integration-vpc-link"])
    updated = apigw.update_integration(**key, patchOperations=[
        {"op": "replace", "path": "/connectionId", "value": "${stageVariables.vpcLinkIdBeta}"}])
    assert_like_recorded(updated, want["update-integration-vpc-link"])
    assert_like_recorded(apigw.get_integration(**key), want["get-integration-update-vpc-link"])


def test_update_and_delete_integration(apigw):
    api_id, root_id = new_api(apigw, "integration-update", "GET")
    apigw.put_method(restApiId=api_id, resourceId=root_id, httpMethod="POST", authorizationType="NONE",
                     requestParameters={"method.request.querystring.q": False})
    key = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "POST"}
    apigw.put_integration(**key, type="HTTP", integrationHttpMethod="POST", uri="http://example.com/a")
    updated = apigw.update_integration(**key, patchOperations=[
        {"op": "replace", "path": "/uri", "value": "https://example.com/b"},
        {"op": "replace", "path": "/timeoutInMillis", "value": "1000"},
        {"op": "add", "path": "/requestParameters/integration.request.querystring.q",
         "value": "method.request.querystring.q"},
        {"op": "add", "path": "/requestTemplates/application~1json", "value": "$input.body"},
        {"op": "add", "path": "/cacheKeyParameters/method.request.querystring.q"},
        {"op": "replace", "path": "/tlsConfig/insecureSkipVerification", "value": "true"},
    ])
    assert updated["uri"] == "https://example.com/b" and updated["timeoutInMillis"] == 1000
    assert updated["requestParameters"] == {"integration.request.querystring.q": "method.request.querystring.q"}
    assert updated["requestTemplates"] == {"application/json": "$input.body"}
    assert updated["cacheKeyParameters"] == ["method.request.querystring.q"]
    assert updated["tlsConfig"] == {"insecureSkipVerification": True}
    fetched = apigw.get_integration(**key)
    assert {k: v for k, v in fetched.items() if k != "ResponseMetadata"} == {
        k: v for k, v in updated.items() if k != "ResponseMetadata"}
    assert apigw.delete_integration(**key)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert_recorded_error(lambda: apigw.get_integration(**key), "test_get_integration_non_existent",
                          "get-integration-no-integration")


# -- integration responses ------------------------------------------------------------------------------

def _created_response(apigw, name: str, want: dict) -> dict[str, str]:
    """A new API's GET → MOCK with a 200 integration response, checked against the recorded
    `put-integration-response`; returns the response's identifying parameters."""
    api_id, root_id = new_api(apigw, name, "GET")
    put_mock_integration(apigw, api_id, root_id)
    key = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "GET", "statusCode": "200"}
    put = apigw.put_integration_response(**key, responseTemplates={"application/json": '"created"'},
                                         selectionPattern="")
    assert_like_recorded(put, want["put-integration-response"])
    return key


def test_integration_response_lifecycle(apigw):
    want = recorded_content("test_lifecycle_integration_response")
    key = _created_response(apigw, "integration-response-lifecycle", want)
    api_id, root_id = key["restApiId"], key["resourceId"]
    assert_like_recorded(apigw.get_integration_response(**key), want["get-integration-response"])
    updated = apigw.update_integration_response(**key, patchOperations=[
        {"op": "replace", "path": "/selectionPattern", "value": "updated-pattern"}])
    assert_like_recorded(updated, want["update-integration-response"])
    overwritten = apigw.put_integration_response(**key, responseTemplates={"application/json": "overwrite"},
                                                 selectionPattern="overwrite-pattern")
    assert_like_recorded(overwritten, want["overwrite-integration-response"])
    method = apigw.get_method(restApiId=api_id, resourceId=root_id, httpMethod="GET")
    assert_like_recorded(method, want["get-method"])
    assert method["methodIntegration"]["cacheNamespace"] == root_id
    assert_like_recorded(apigw.delete_integration_response(**key), want["delete-integration-response"])


def test_integration_response_templates(apigw, unchecked):
    want = recorded_content("test_put_integration_response_templates")
    api_id, root_id = new_api(apigw, "integration-response-templates", "GET")
    put_mock_integration(apigw, api_id, root_id)
    key = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "GET", "statusCode": "200",
           "selectionPattern": ""}
    assert_like_recorded(unchecked.put_integration_response(**key, responseTemplates={"application/json": None}),
                         want["put-integration-response-template-none"])
    assert_like_recorded(apigw.put_integration_response(**key, responseTemplates={"application/json": ""}),
                         want["put-integration-response-template-empty"])
    assert_like_recorded(apigw.put_integration_response(**key), want["put-integration-no-response-template"])


def test_integration_responses_of_an_http_integration(apigw):
    want = recorded_content("test_put_integration_responses", INTEGRATIONS)
    api_id, root_id = new_api(apigw, "integration-responses-http")
    key = {"restApiId": api_id, "resourceId": root_id}
    for verb in ("GET", "PUT"):
        suffix = verb.lower()
        assert_like_recorded(apigw.put_method(**key, httpMethod=verb, authorizationType="NONE"),
                             want[f"put-method-{suffix}"])
        assert_like_recorded(apigw.put_method_response(**key, httpMethod=verb, statusCode="200"),
                             want[f"put-method-response-{suffix}"])
        assert_like_recorded(apigw.put_integration(**key, httpMethod=verb, type="HTTP", integrationHttpMethod="POST",
                                                   uri="http://localhost:9/post"),
                             want[f"put-integration-{suffix}"])
    response = {**key, "httpMethod": "GET", "statusCode": "200"}
    put = apigw.put_integration_response(**response, selectionPattern="2\\d{2}", responseTemplates={})
    assert_like_recorded(put, want["put-integration-response-get"])
    assert_like_recorded(apigw.get_integration_response(**response), want["get-integration-response-get"])
    assert_like_recorded(apigw.get_method(**key, httpMethod="GET"), want["get-method-get"])
    assert_like_recorded(apigw.delete_integration_response(**response), want["delete-integration-response-get"])
    assert_like_recorded(apigw.get_method(**key, httpMethod="GET"), want["get-method-get-after-int-resp-delete"])
    binary = {**response, "httpMethod": "PUT"}
    put = apigw.put_integration_response(**binary, selectionPattern="2\\d{2}", contentHandling="CONVERT_TO_BINARY")
    assert_like_recorded(put, want["put-integration-response-put"])
    assert_like_recorded(apigw.get_integration_response(**binary), want["get-integration-response-put"])


def test_integration_response_unknown_api_resource_method(apigw):
    api_id, root_id = new_api(apigw, "integration-response-unknown")
    for test, suffix, key in (
        ("test_integration_response_wrong_api", "wrong-api", {"restApiId": "wrong-api", "resourceId": "dummy-value"}),
        ("test_integration_response_wrong_resource", "wrong-resource",
         {"restApiId": api_id, "resourceId": "wrong-resource"}),
        ("test_integration_response_wrong_method", "wrong-method",
         {"restApiId": api_id, "resourceId": root_id, "httpMethod": "wrong-method"}),
    ):
        call = {"httpMethod": "GET", "statusCode": "200", **key}
        assert_recorded_error(lambda call=call: apigw.put_integration_response(**call), test,
                              f"put-integration-response-{suffix}")
        assert_recorded_error(lambda call=call: apigw.get_integration_response(**call), test,
                              f"get-integration-response-{suffix}")


def test_integration_response_invalid_status_code(apigw):
    test = "test_integration_response_invalid_statuscode"
    api_id, root_id = new_api(apigw, "integration-response-status")
    key = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "GET", "statusCode": "wrong"}
    assert_recorded_error(lambda: apigw.put_integration_response(
        **key, responseTemplates={"application/json": '"created"'}, selectionPattern=""),
        test, "put-integration-response-invalid-statusCode")
    assert_recorded_error(lambda: apigw.get_integration_response(**key), test,
                          "get-integration-response-invalid-statusCode")


def test_integration_response_invalid_templates(apigw, unchecked):
    test = "test_integration_response_invalid_responsetemplates"
    api_id, root_id = new_api(apigw, "integration-response-bad-templates", "GET")
    put_mock_integration(apigw, api_id, root_id)
    for n, templates in enumerate(({"application/json": 123}, {123: '{"statusCode": 200}'}), 1):
        assert_recorded_error(lambda templates=templates: unchecked.put_integration_response(
            restApiId=api_id, resourceId=root_id, httpMethod="GET", statusCode="200", selectionPattern="",
            responseTemplates=templates,
        ), test, f"put-integration-response-invalid-responseTemplates-{n}")


def test_integration_response_without_integration_or_status(apigw):
    api_id, root_id = new_api(apigw, "integration-response-missing", "GET")
    key = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "GET"}
    assert_recorded_error(lambda: apigw.get_integration_response(**key, statusCode="200"),
                          "test_integration_response_invalid_integration",
                          "get-integration-response-without-integration")
    put_mock_integration(apigw, api_id, root_id)
    assert_recorded_error(lambda: apigw.get_integration_response(**key, statusCode="201"),
                          "test_integration_response_wrong_status_code", "get-integration-response-wrong-status-code")


def test_delete_integration_response_errors(apigw):
    test = "test_delete_integration_response_errors"
    want = recorded_content(test)
    key = _created_response(apigw, "integration-response-delete", want)
    for name, change in (
        ("non-existent-resource", {"resourceId": "wrong-resource"}),
        ("non-existent-api-id", {"restApiId": "wrong-api"}),
        ("non-existent-method", {"httpMethod": "POST"}),
        ("non-existent-status-code", {"statusCode": "201"}),
        ("bad-method", {"httpMethod": "WRONG"}),
    ):
        assert_recorded_error(lambda change=change: apigw.delete_integration_response(**{**key, **change}), test, name)


def test_update_integration_response_mappings(apigw):
    api_id, root_id = new_api(apigw, "integration-response-update", "GET")
    put_mock_integration(apigw, api_id, root_id)
    key = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "GET", "statusCode": "200"}
    apigw.put_method_response(**key, responseParameters={"method.response.header.X-Id": False})
    apigw.put_integration_response(**key, selectionPattern="")
    updated = apigw.update_integration_response(**key, patchOperations=[
        {"op": "add", "path": "/responseParameters/method.response.header.X-Id", "value": "'abc'"},
        {"op": "add", "path": "/responseTemplates/application~1json", "value": "{}"},
        {"op": "replace", "path": "/contentHandling", "value": "CONVERT_TO_TEXT"},
    ])
    assert updated["responseParameters"] == {"method.response.header.X-Id": "'abc'"}
    assert updated["responseTemplates"] == {"application/json": "{}"}
    assert updated["contentHandling"] == "CONVERT_TO_TEXT"
    removed = apigw.update_integration_response(**key, patchOperations=[
        {"op": "remove", "path": "/responseParameters/method.response.header.X-Id"},
        {"op": "remove", "path": "/responseTemplates/application~1json"},
    ])
    assert "responseParameters" not in removed and "responseTemplates" not in removed


def test_built_method_serves_only_once_deployed(apigw, apigw_server):
    """What these calls build runs through the gateway, and edits wait for the next deployment."""
    api_id, root_id = new_api(apigw, "integration-served")
    pets = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="pets")["id"]
    pet = apigw.create_resource(restApiId=api_id, parentId=pets, pathPart="{id}")["id"]
    key = {"restApiId": api_id, "resourceId": pet, "httpMethod": "GET"}
    apigw.put_method(**key, authorizationType="NONE", requestParameters={"method.request.path.id": True})
    apigw.put_integration(**key, type="MOCK", requestTemplates=MOCK_TEMPLATES,
                          requestParameters={"integration.request.path.id": "method.request.path.id"})
    apigw.put_method_response(**key, statusCode="200", responseParameters={"method.response.header.X-Id": False})
    apigw.put_integration_response(**key, statusCode="200", selectionPattern="",
                                   responseParameters={"method.response.header.X-Id": "'abc'"},
                                   responseTemplates={"application/json": '{"id": "$input.params(\'id\')"}'})
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    served = apigw_server.call("GET", api_id, "dev", "/pets/42")
    assert (served.status, served.header("X-Id"), served.json()) == (200, "abc", {"id": "42"})
    apigw.update_integration_response(**key, statusCode="200", patchOperations=[
        {"op": "replace", "path": "/responseTemplates/application~1json", "value": '{"v": 2}'}])
    assert apigw_server.call("GET", api_id, "dev", "/pets/42").json() == {"id": "42"}
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    assert apigw_server.call("GET", api_id, "dev", "/pets/42").json() == {"v": 2}

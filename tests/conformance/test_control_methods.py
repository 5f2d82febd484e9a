"""Method and method-response control-plane calls through real boto3 against a running apiway,
compared with the responses and errors recorded from AWS."""

from __future__ import annotations

import json

from tests.conformance.control_plane import (
    assert_like_recorded,
    assert_recorded_error,
    new_api,
    put_mock_integration,
    recorded_content,
)

LAMBDA_AUTHORIZER_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                         "arn:aws:lambda:us-east-1:123456789012:function:myApiAuthorizer/invocations")
MY_HEADER = "/responseParameters/method.response.header.my-header"
JSON_MODEL = "/responseModels/application~1json"


def _update(apigw, api_id: str, resource_id: str, verb: str, *patches: dict):
    return apigw.update_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb,
                               patchOperations=list(patches))


def _replace(path: str, value: str) -> dict:
    return {"op": "replace", "path": path, "value": value}


# -- methods ----------------------------------------------------------------------------------------------

def test_method_lifecycle(apigw):
    test = "test_method_lifecycle"
    want = recorded_content(test)
    api_id, root_id = new_api(apigw, "method-lifecycle")
    key = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "ANY"}
    assert_like_recorded(apigw.put_method(**key, authorizationType="NONE"), want["put-base-method-response"])
    assert_like_recorded(apigw.get_method(**key), want["get-base-method-response"])
    assert_like_recorded(apigw.delete_method(**key), want["del-base-method-response"])
    assert_recorded_error(lambda: apigw.get_method(**key), test, "get-deleted-method-response")
    assert_recorded_error(lambda: apigw.delete_method(**key), test, "delete-deleted-method-response")


def test_method_request_parameters(apigw):
    test = "test_method_request_parameters"
    want = recorded_content(test)
    api_id, root_id = new_api(apigw, "method-params")
    put = apigw.put_method(restApiId=api_id, resourceId=root_id, httpMethod="ANY", authorizationType="NONE",
                           requestParameters={"method.request.querystring.q_optional": False,
                                              "method.request.querystring.q_required": True,
                                              "method.request.header.h_optional": False,
                                              "method.request.header.h_required": True})
    assert_like_recorded(put, want["put-method-request-params-response"])
    assert_like_recorded(apigw.get_method(restApiId=api_id, resourceId=root_id, httpMethod="ANY"),
                         want["get-method-request-params-response"])
    assert_recorded_error(lambda: apigw.put_method(
        restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="NONE",
        requestParameters={"method.request.querystring.optional": False, "method.request.header.optional": False},
    ), test, "req-params-same-name")


def test_method_request_parameter_names_are_mapping_expressions(apigw, unchecked):
    test = "test_put_integration_request_parameter_bool_type"
    api_id, root_id = new_api(apigw, "method-param-types")
    bool_method = unchecked.put_method(restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="NONE",
                                       requestParameters={"method.request.path.testPath": True})
    assert_like_recorded(bool_method, recorded_content(test)["bool-method"])
    assert_recorded_error(lambda: unchecked.put_method(
        restApiId=api_id, resourceId=root_id, httpMethod="POST", authorizationType="NONE",
        requestParameters={"method.request.path.testPath": True, True: True},
    ), test, "put-method-request-param-wrong-type")


def test_put_method_validation(apigw):
    test = "test_put_method_validation"
    api_id, root_id = new_api(apigw, "method-validation")

    def put(**kwargs):
        args = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "ANY", "authorizationType": "NONE"}
        return apigw.put_method(**{**args, **kwargs})

    assert_recorded_error(lambda: put(restApiId="fake-api", httpMethod="WRONG"), test, "wrong-api")
    assert_recorded_error(lambda: put(resourceId="fake-resource-id", httpMethod="WRONG"), test, "wrong-resource")
    assert_recorded_error(lambda: put(httpMethod="WRONG"), test, "wrong-method")
    assert_recorded_error(lambda: put(authorizationType="CUSTOM"), test, "missing-authorizer-id")
    assert_recorded_error(lambda: put(requestValidatorId="fake-validator"), test, "invalid-request-validator")
    assert_recorded_error(lambda: put(requestModels={"application/json": "petModel"}), test, "invalid-model-name")


def test_put_method_models_and_the_models_they_hold(apigw):
    test = "test_put_method_model"
    want = recorded_content(test)
    api_id, root_id = new_api(apigw, "method-models")
    for name in ("MySchema", "MySchemaTwo"):
        apigw.create_model(restApiId=api_id, name=name, contentType="application/json", description="",
                           schema=json.dumps({"title": name, "type": "object"}))
    root_any = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "ANY"}
    put = apigw.put_method(**root_any, authorizationType="NONE", requestModels={"application/json": "MySchema"})
    assert_like_recorded(put, want["put-method-request-models"])

    def delete(name: str, key: str):
        assert_recorded_error(lambda: apigw.delete_model(restApiId=api_id, modelName=name), test, key,
                              **{"<name:1>": "MySchema"})

    delete("MySchema", "delete-model-used")
    updated = apigw.update_method(**root_any, patchOperations=[
        _replace("/requestModels/application~1json", "MySchemaTwo")])
    assert_like_recorded(updated, want["update-method-model"])
    assert_like_recorded(apigw.delete_model(restApiId=api_id, modelName="MySchema"), want["delete-model-unused"])
    delete("MySchemaTwo", "delete-model-used-2")
    child = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="test")["id"]
    child_any = {**root_any, "resourceId": child}
    assert_like_recorded(apigw.put_method(**child_any, authorizationType="NONE",
                                          requestModels={"application/json": "MySchemaTwo"}),
                         want["put-method-2-request-models"])
    removed = apigw.update_method(**child_any, patchOperations=[
        {"op": "remove", "path": "/requestModels/application~1json", "value": "MySchemaTwo"}])
    assert_like_recorded(removed, want["update-method-model-2"])
    delete("MySchemaTwo", "delete-model-used-by-method-1")
    assert_like_recorded(apigw.delete_method(**root_any), want["delete-method-using-model-2"])
    assert_like_recorded(apigw.delete_model(restApiId=api_id, modelName="MySchemaTwo"), want["delete-model-unused-2"])


def test_update_method(apigw):
    want = recorded_content("test_update_method")
    api_id, root_id = new_api(apigw, "method-update")
    assert_like_recorded(apigw.put_method(restApiId=api_id, resourceId=root_id, httpMethod="ANY",
                                          authorizationType="NONE"), want["put-method-response"])
    added = _update(apigw, api_id, root_id, "ANY",
                    {"op": "add", "path": "/requestParameters/method.request.querystring.optional", "value": "true"},
                    {"op": "add", "path": "/requestModels/application~1json", "value": "Empty"})
    assert_like_recorded(added, want["update-method-add"])
    replaced = _update(apigw, api_id, root_id, "ANY", _replace("/operationName", "ReplacedOperationName"),
                       _replace("/apiKeyRequired", "true"), _replace("/authorizationType", "AWS_IAM"),
                       _replace("/requestParameters/method.request.querystring.optional", "false"))
    assert_like_recorded(replaced, want["update-method-replace"])
    authorizer = apigw.create_authorizer(restApiId=api_id, name="authorizer-test", type="TOKEN",
                                         authorizerUri=LAMBDA_AUTHORIZER_URI,
                                         identitySource="method.request.header.Authorization")["id"]
    with_authorizer = _update(apigw, api_id, root_id, "ANY", _replace("/authorizerId", authorizer),
                              _replace("/authorizationType", "CUSTOM"))
    assert_like_recorded(with_authorizer, want["update-method-replace-authorizer"])
    assert with_authorizer["authorizerId"] == authorizer
    removed = _update(apigw, api_id, root_id, "ANY",
                      {"op": "remove", "path": "/requestParameters/method.request.querystring.optional", "value": "true"},
                      {"op": "remove", "path": "/requestModels/application~1json", "value": "Empty"})
    assert_like_recorded(removed, want["update-method-remove"])


def test_update_method_validation(apigw):
    test = "test_update_method_validation"
    want = recorded_content(test)
    api_id, root_id = new_api(apigw, "method-update-validation")

    def update(*patches: dict, verb: str = "ANY", **key: str):
        args = {"restApiId": api_id, "resourceId": root_id, "httpMethod": verb, "patchOperations": list(patches)}
        return apigw.update_method(**{**args, **key})

    assert_recorded_error(lambda: update(restApiId="fake-api"), test, "wrong-rest-api")
    assert_recorded_error(lambda: update(resourceId="fake-resource-id"), test, "wrong-resource-id")
    assert_recorded_error(lambda: update(_replace("/operationName", "methodDoesNotExist"), verb="GET"), test,
                          "method-does-not-exist")
    put = apigw.put_method(restApiId=api_id, resourceId=root_id, httpMethod="ANY", authorizationType="NONE",
                           apiKeyRequired=True)
    assert_like_recorded(put, want["put-method-response"])
    for key, patch in (
        ("unsupported-operation", {"op": "add", "path": "/operationName", "value": "operationName"}),
        ("unsupported-operation-2", {"op": "add", "path": "/requestValidatorId", "value": "wrong-id"}),
        ("unsupported-path", {"op": "add", "path": "/httpMethod", "value": "PUT"}),
        ("wrong-path-request-parameters", _replace("/requestParameters", "method.request.querystring.optional=false")),
        ("wrong-path-request-models", {"op": "add", "path": "/requestModels/application/json", "value": "Empty"}),
    ):
        assert_recorded_error(lambda patch=patch: update(patch), test, key)
    assert_like_recorded(update(_replace("/apiKeyRequired", "whatever")), want["wrong-value-type"])
    assert_recorded_error(lambda: update(_replace("/authorizationType", "CUSTOM")), test, "wrong-auth-type")
    assert_like_recorded(update(_replace("/authorizerId", "abc123")), want["skip-auth-id-with-wrong-type"])
    assert_recorded_error(lambda: update(_replace("/authorizationType", "CUSTOM"), _replace("/authorizerId", "abc123")),
                          test, "wrong-auth-id")
    assert_recorded_error(lambda: update(_replace("/requestValidatorId", "fake-id")), test, "wrong-req-validator-id")


# -- method responses -------------------------------------------------------------------------------------

def _mock_get(apigw, name: str, **method_response) -> tuple[str, str]:
    """An API whose root has GET → MOCK integration and, when given, a 200 method response."""
    api_id, root_id = new_api(apigw, name, "GET")
    put_mock_integration(apigw, api_id, root_id)
    if method_response:
        apigw.put_method_response(restApiId=api_id, resourceId=root_id, httpMethod="GET", statusCode="200",
                                  **method_response)
    return api_id, root_id


WITH_HEADER_AND_MODEL = {"responseParameters": {"method.response.header.my-header": False},
                         "responseModels": {"application/json": "Empty"}}


def _update_response(apigw, api_id: str, root_id: str, *patches: dict, status: str = "200", **key: str):
    args = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "GET", "statusCode": status,
            "patchOperations": list(patches)}
    return apigw.update_method_response(**{**args, **key})


def test_method_response_lifecycle(apigw):
    want = recorded_content("test_lifecycle_method_response")
    api_id, root_id = _mock_get(apigw, "method-response-lifecycle")
    key = {"restApiId": api_id, "resourceId": root_id, "httpMethod": "GET", "statusCode": "200"}
    assert_like_recorded(apigw.put_method_response(**key, responseParameters={}, responseModels={}),
                         want["put-method-response"])
    assert_like_recorded(apigw.get_method_response(**key), want["get-integration-response"])
    added = _update_response(apigw, api_id, root_id, {"op": "add", "path": MY_HEADER, "value": "true"},
                             {"op": "add", "path": JSON_MODEL, "value": "Empty"})
    assert_like_recorded(added, want["add-method-responses"])
    replaced = _update_response(apigw, api_id, root_id, _replace(MY_HEADER, "true"), _replace(JSON_MODEL, "Empty"))
    assert_like_recorded(replaced, want["update-method-responses"])
    assert_like_recorded(apigw.get_method(restApiId=api_id, resourceId=root_id, httpMethod="GET"), want["get-method"])
    assert_like_recorded(apigw.delete_method_response(**key), want["delete-method-response"])


def test_update_method_response(apigw):
    want = recorded_content("test_update_method_response")
    api_id, root_id = _mock_get(apigw, "method-response-update", **WITH_HEADER_AND_MODEL)
    removed = _update_response(apigw, api_id, root_id, {"op": "remove", "path": MY_HEADER, "value": "true"},
                               {"op": "remove", "path": JSON_MODEL, "value": "Empty"})
    assert_like_recorded(removed, want["remove-update-method-response"])
    added = _update_response(apigw, api_id, root_id, {"op": "add", "path": MY_HEADER, "value": "true"},
                             {"op": "add", "path": JSON_MODEL, "value": "Empty"})
    assert_like_recorded(added, want["add-update-method-response"])


def test_update_method_response_wrong_operations(apigw):
    api_id, root_id = _mock_get(apigw, "method-response-ops", **WITH_HEADER_AND_MODEL)
    header = {"op": "wrong_op", "path": MY_HEADER, "value": "true"}
    model = {"op": "wrong_op", "path": JSON_MODEL, "value": "Empty"}
    for key, patches in (
        ("update-method-response-wrong-operation-1", [header]),
        ("update-method-response-wrong-operation-2", [model]),
        ("update-method-response-wrong-operation-3", [header, model]),
        ("update-method-response-wrong-operation-4", [header, model, header, model]),
        ("update-method-response-wrong-operation-5", [header, {**model, "op": "remove"}, model]),
    ):
        assert_recorded_error(lambda patches=patches: _update_response(apigw, api_id, root_id, *patches),
                              "test_update_method_response_wrong_operations", key)


def test_update_method_response_negative_tests(apigw):
    test = "test_update_method_response_negative_tests"
    api_id, root_id = _mock_get(apigw, "method-response-negative", **WITH_HEADER_AND_MODEL)
    patch = _replace(MY_HEADER, "true")
    for key, status, extra in (
        ("update-method-response-wrong-statuscode", "201", {}),
        ("update-method-response-invalid-statuscode", "wrong", {}),
        ("update-method-response-wrong-resource", "200", {"resourceId": "wrong"}),
        ("update-method-response-wrong-method", "200", {"httpMethod": "POST"}),
    ):
        assert_recorded_error(lambda status=status, extra=extra: _update_response(
            apigw, api_id, root_id, patch, status=status, **extra), test, key)
    assert_recorded_error(lambda: _update_response(apigw, api_id, root_id, {**patch, "op": "wrong_op"},
                                                   status="wrong"),
                          test, "update-method-response-invalid-statuscode-and-wrong-op")


def test_update_method_response_missing_parameters_and_models(apigw):
    test = "test_update_method_lack_response_parameters_and_models"
    api_id, root_id = _mock_get(apigw, "method-response-lack", responseParameters={}, responseModels={})
    for key, patch in (
        ("update-method-response-operation-without-response-parameters",
         {"op": "remove", "path": MY_HEADER, "value": "true"}),
        ("update-method-response-operation-without-response-models",
         {"op": "remove", "path": JSON_MODEL, "value": "Empty"}),
        ("update-method-response-operation-with-wrong-path",
         {"op": "remove", "path": "/wrong/method.response.header.my-header", "value": "true"}),
    ):
        assert_recorded_error(lambda patch=patch: _update_response(apigw, api_id, root_id, patch), test, key)


def test_update_method_response_unknown_names(apigw):
    test = "test_update_method_wrong_param_names"
    api_id, root_id = _mock_get(apigw, "method-response-names", **WITH_HEADER_AND_MODEL)
    for n, patch in enumerate((
        _replace("/responseParameters/wrong", "true"),
        {"op": "remove", "path": "/responseParameters/wrong", "value": "true"},
        _replace("/responseModels/wrong", "Empty"),
        {"op": "remove", "path": "/responseModels/wrong", "value": "Empty"},
    ), 1):
        assert_recorded_error(lambda patch=patch: _update_response(apigw, api_id, root_id, patch), test,
                              f"update-method-response-operation-with-wrong-param-name-{n}")

"""Request validation (spec §5, §1.9, §1.10): required parameters, then the body against the model for the
request's Content-Type (JSON Schema draft 4, `$ref`s between models), compiled at deploy time.

Ground truth: the AWS-recorded messages and models of `test_api_gateway_request_validator*` (common) and
the circular models of `test_import_with_circular_models_and_request_validation` (import)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from apiway.checks.validation import RequestValidationError, build
from apiway.core.errors import DeployError
from apiway.core.guard import GuardSite
from apiway.core.http import HttpRequest
from apiway.core.invocation import Invocation
from tests.support import BARE_STAGE, recorded, run_guards

API_ID = "valapi0001"
URL = f"https://apigateway.amazonaws.com/restapis/{API_ID}/models/"
COMMON = "tests/aws/services/apigateway/test_apigateway_common.py::TestApiGatewayCommon::"
IMPORT = "tests/aws/services/apigateway/test_apigateway_import.py::TestApiGatewayImportRestApi::"
RECORDED_PARAMS = {"method.request.header.x-header-param": True, "method.request.path.test": True,
                   "method.request.querystring.qs1": True}


def recorded_content(file: str, test: str) -> dict[str, Any]:
    return recorded(file)[test]["recorded-content"]


def recorded_models(file: str, test: str, key: str) -> dict[str, Any]:
    """name → schema of the models AWS listed, with the placeholders put back into model URLs."""
    items = recorded_content(file, test)[key]["items"]
    text = orjson.dumps({m["name"]: m["schema"] for m in items}).decode()
    text = text.replace("<model-base-url>", "https://apigateway.amazonaws.com")
    return orjson.loads(text.replace("<api-id>", API_ID).replace("<rest-id:1>", API_ID))


def definition(models: dict[str, Any], body: bool = True, params: bool = True) -> dict[str, Any]:
    return {
        "restApi": {"id": API_ID, "name": "V"},
        "resources": {},
        "gatewayResponses": {},
        "models": {f"id{i}": {"id": f"id{i}", "name": name, "contentType": "application/json",
                              "schema": schema if isinstance(schema, str) else orjson.dumps(schema).decode()}
                   for i, (name, schema) in enumerate(models.items())},
        "requestValidators": {"val001": {"id": "val001", "name": "basic", "validateRequestBody": body,
                                         "validateRequestParameters": params}},
        "authorizers": {},
    }


def guard_for(models: dict[str, Any] | None = None, request_models: dict[str, str] | None = None,
              parameters: dict[str, bool] | None = None, *, body: bool = True, params: bool = True,
              validator: str | None = "val001") -> Any:
    method: dict[str, Any] = {"httpMethod": "POST", "authorizationType": "NONE", "apiKeyRequired": False}
    if validator:
        method["requestValidatorId"] = validator
    if request_models:
        method["requestModels"] = request_models
    if parameters:
        method["requestParameters"] = parameters
    resource = {"id": "r1", "path": "/nested/{test}"}
    return build(GuardSite(definition(models or {}, body, params), {}, resource, "POST", method,
                           "/nested/{test} POST"))


def invocation(query: str = "", headers: list[tuple[str, str]] | None = None, body: bytes = b"",
               path: dict[str, str] | None = None) -> Invocation:
    request = HttpRequest("POST", "/s/nested/x", query, headers or [], body)
    return Invocation(request, BARE_STAGE, None, {"test": "x"} if path is None else path, "/nested/x",  # type: ignore[arg-type]
                      "/s/nested/x", "req-1")


def outcome(guard: Any, inv: Invocation) -> tuple[str, str, str] | None:
    """None when the request passes, else (response type, message, validationErrorString)."""
    try:
        run_guards([guard], inv)
    except RequestValidationError as err:
        return err.response_type, err.message or "", err.validation_error
    return None


def body_result(guard: Any, body: bytes, content_type: str | None = "application/json") -> tuple | None:
    headers = [("Content-Type", content_type)] if content_type else []
    return outcome(guard, invocation(body=body, headers=headers))


INVALID = ("BAD_REQUEST_BODY", "Invalid request body")


def invalid(result: tuple | None) -> bool:
    return result is not None and result[:2] == INVALID


# -- which methods get a check ------------------------------------------------------------------------------
def test_methods_without_a_validator_or_anything_to_check_cost_nothing() -> None:
    test_schema = {"testSchema": {"type": "object"}}
    assert guard_for(test_schema, {"application/json": "testSchema"}, RECORDED_PARAMS, validator=None) is None
    assert guard_for(test_schema, {"application/json": "testSchema"}, RECORDED_PARAMS, body=False, params=False) is None
    assert guard_for(test_schema, {"application/json": "testSchema"}, body=False) is None  # no parameters to check
    assert guard_for(parameters={"method.request.querystring.q": False}, body=False) is None  # none required
    assert guard_for(test_schema, parameters=RECORDED_PARAMS, params=False) is None  # no models to check


def test_unknown_validator_is_a_deploy_error() -> None:
    with pytest.raises(DeployError, match="Invalid Request Validator identifier specified"):
        guard_for(parameters=RECORDED_PARAMS, validator="nope")


# -- parameters -----------------------------------------------------------------------------------------------
def test_missing_parameters_use_aws_wording_and_order() -> None:
    """Recorded: names listed by the sorted full expressions (header < path < querystring)."""
    content = recorded_content("test_apigateway_common.snapshot.json", COMMON + "test_api_gateway_request_validator")
    renamed = {k.replace("path.test", "path.issuer"): v for k, v in RECORDED_PARAMS.items()}
    guard = guard_for(parameters=renamed, body=False)  # the recording renamed the path parameter
    everything = outcome(guard, invocation())
    assert everything is not None and everything[0] == "BAD_REQUEST_PARAMETERS"
    assert {"message": everything[1]} == content["missing-all-required-request-params-post"]
    guard = guard_for(parameters=RECORDED_PARAMS, body=False)
    assert {"message": outcome(guard, invocation(query="qs1=1"))[1]} == content[
        "missing-required-headers-request-params-get"]
    assert {"message": outcome(guard, invocation(headers=[("x-header-param", "a")]))[1]} == content[
        "missing-required-qs-request-params-get"]
    assert outcome(guard, invocation(query="qs1=1", headers=[("X-Header-Param", "a")])) is None


def test_blank_values_count_as_missing_and_optional_ones_are_not_checked() -> None:
    guard = guard_for(parameters={"method.request.querystring.qs1": True, "method.request.header.h": True,
                                  "method.request.querystring.optional": False}, body=False)
    assert outcome(guard, invocation(query="qs1=", headers=[("h", " ")]))[1] == (
        "Missing required request parameters: [h, qs1]")
    assert outcome(guard, invocation(query="qs1=%20&qs1=a", headers=[("H", "v")])) is None  # last value counts


def test_multi_value_query_string_parameters() -> None:
    guard = guard_for(parameters={"method.request.multivaluequerystring.tag": True}, body=False)
    assert outcome(guard, invocation(query="tag=&tag="))[1] == "Missing required request parameters: [tag]"
    assert outcome(guard, invocation(query="tag=&tag=b")) is None


def test_parameters_are_checked_before_the_body() -> None:
    guard = guard_for({"testSchema": {"type": "object", "required": ["a"]}}, {"application/json": "testSchema"},
                      RECORDED_PARAMS)
    assert outcome(guard, invocation(body=b"not json"))[0] == "BAD_REQUEST_PARAMETERS"
    assert invalid(outcome(guard, invocation(query="qs1=1", headers=[("x-header-param", "a")], body=b"{}")))


# -- bodies -----------------------------------------------------------------------------------------------------
def recorded_test_schema_guard() -> Any:
    models = recorded_models("test_apigateway_common.snapshot.json",
                             COMMON + "test_api_gateway_request_validator_with_ref_models", "get-models-with-ref")
    return models, guard_for(models, {"application/json": "testSchema"})


def test_body_against_the_recorded_model() -> None:
    _, guard = recorded_test_schema_guard()
    assert body_result(guard, b'{"a": 1, "b": 2.5}') is None
    assert body_result(guard, b"") == (*INVALID, '[object has missing required properties (["a","b"])]')
    assert invalid(body_result(guard, b'{"a": "1", "b": 2}'))
    assert invalid(body_result(guard, b"{not json"))
    assert invalid(body_result(guard, b"NaN"))


def test_model_chosen_by_content_type_with_default_fallback() -> None:
    models = {"Strict": {"type": "object", "required": ["a"]}, "Loose": {"type": "object"}}
    guard = guard_for(models, {"application/json": "Strict"})
    assert invalid(body_result(guard, b"{}", None))  # no Content-Type: application/json
    assert invalid(body_result(guard, b"{}", "Application/JSON; charset=utf-8"))
    assert body_result(guard, b"anything", "text/plain") is None  # no model for the type: not validated
    guard = guard_for(models, {"application/json": "Strict", "$default": "Loose"})
    assert body_result(guard, b"{}", "text/plain") is None
    assert invalid(body_result(guard, b"[]", "text/plain"))


def test_builtin_models_need_no_declaration() -> None:
    guard = guard_for({}, {"application/json": "Empty"})
    assert body_result(guard, b'{"x": 1}') is None
    assert invalid(body_result(guard, b"[1]"))  # AWS's Empty model is an object schema


def test_references_by_model_url_and_document_pointer() -> None:
    """Recorded: `testSchemaList` is an array of `$ref` model URLs to `testSchema`."""
    models, _ = recorded_test_schema_guard()
    guard = guard_for(models, {"application/json": "testSchemaList"})
    assert body_result(guard, b'[{"a": 1, "b": 2}]') is None
    assert invalid(body_result(guard, b'[{"a": 1}]'))
    for ref in ("#/definitions/testSchema", "#/components/schemas/testSchema"):
        guard = guard_for({**models, "List": {"type": "array", "items": {"$ref": ref}}}, {"application/json": "List"})
        assert invalid(body_result(guard, b'[{"a": 1}]')), ref


def test_one_of_with_a_referenced_model() -> None:
    models = recorded_models("test_apigateway_common.snapshot.json",
                             COMMON + "test_api_gateway_request_validator_with_ref_one_ofmodels", "get-models-with-ref")
    guard = guard_for(models, {"application/json": "TestModel"})
    assert body_result(guard, b'{"status": null}') is None
    assert body_result(guard, b'{"status": {"Status": "ok", "Order": 1}}') is None
    assert invalid(body_result(guard, b"{}"))
    assert body_result(guard, b'{"status": {"Status": "ok"}}') == (
        *INVALID, "[instance failed to match exactly one schema (matched 0 out of 2)]")


def test_circular_models() -> None:
    models = recorded_models("test_apigateway_import.snapshot.json",
                             IMPORT + "test_import_with_circular_models_and_request_validation", "get-models")
    guard = guard_for(models, {"application/json": "Person"})
    person = {"name": "p", "b": 1, "house": {"contains": [{"name": "q", "b": 2, "house": {"contains": [
        {"name": "r", "b": 3}]}}]}}
    assert body_result(guard, orjson.dumps(person)) is None
    person["house"]["contains"][0]["house"]["contains"] = []  # minItems 1
    assert invalid(body_result(guard, orjson.dumps(person)))


def test_a_model_keeps_its_own_definitions() -> None:
    """`#/definitions/x` means the model's own section when it has one, another model otherwise."""
    models = {"Outer": {"definitions": {"Inner": {"type": "string"}}, "type": "object",
                        "properties": {"a": {"$ref": "#/definitions/Inner"}, "b": {"$ref": "#/definitions/Inner2"},
                                       "c": {"$ref": "#/properties/a"}}},
              "Inner": {"type": "integer"}, "Inner2": {"type": "boolean"}}
    guard = guard_for(models, {"application/json": "Outer"})
    assert body_result(guard, b'{"a": "s", "b": true, "c": "t"}') is None
    assert invalid(body_result(guard, b'{"a": 1}'))
    assert invalid(body_result(guard, b'{"b": 1}'))
    assert invalid(body_result(guard, b'{"c": 1}'))


# -- draft 4 ------------------------------------------------------------------------------------------------------
def test_draft_4_even_when_a_model_names_another_dialect() -> None:
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
              "properties": {"n": {"type": "number", "minimum": 5, "exclusiveMinimum": True},
                             "i": {"type": "integer"}}}
    guard = guard_for({"M": schema}, {"application/json": "M"})
    assert body_result(guard, b'{"n": 5.5, "i": 3}') is None
    assert body_result(guard, b'{"n": 5}') == (
        *INVALID, "[numeric instance is not strictly greater than the required minimum 5]")
    assert invalid(body_result(guard, b'{"i": 1.0}'))  # draft 4: an integer has no fraction part
    assert body_result(guard, b'{"i": 123456789012345678901234567890}') is None  # beyond 64 bits is still JSON


@pytest.mark.parametrize(("schema", "body", "detail"), [
    ({"type": "integer"}, b'"5"', 'instance type (string) does not match any allowed primitive type (allowed: ["integer"])'),
    ({"type": "object", "required": ["name"]}, b"{}", 'object has missing required properties (["name"])'),
    ({"enum": ["a", "b"]}, b'"c"', 'instance value ("c") not found in enum (possible values: ["a","b"])'),
    ({"minimum": 3}, b"1", "numeric instance is lower than the required minimum (minimum: 3, found: 1)"),
    ({"maxLength": 2}, b'"abc"', 'string "abc" is too long (length: 3, maximum allowed: 2)'),
    ({"type": "object", "properties": {}, "additionalProperties": False}, b'{"x": 1}',
     'object instance has properties which are not allowed by the schema: ["x"]'),
])
def test_validation_error_string(schema: dict, body: bytes, detail: str) -> None:
    guard = guard_for({"M": {"$schema": "http://json-schema.org/draft-04/schema#", **schema}},
                      {"application/json": "M"})
    assert body_result(guard, body) == (*INVALID, f"[{detail}]")


# -- deploy-time errors --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("models", "message"), [
    ({"Bad": {"type": "object", "properties": {"a": {"pattern": "("}}}}, "model 'Bad': invalid JSON schema"),
    ({"Bad": "{not json"}, "model 'Bad': the schema is not JSON"),
    ({"Bad": {"items": {"$ref": URL + "Nope"}}}, "model 'Bad' refers to unknown model 'Nope'"),
    ({"Bad": {"$ref": "http://example.invalid/schema.json"}}, "model 'Bad': unsupported $ref"),
    ({"Bad": {"id": "http://example.invalid/", "items": {"$ref": "#/x"}}}, "model 'Bad': invalid JSON schema"),
    ({}, "unknown model 'Bad'"),
    ({"Bad": {"items": {"$ref": URL + "Worse"}}, "Worse": {"pattern": "("}}, "model 'Worse': invalid JSON schema"),
])
def test_models_that_cannot_compile_fail_the_deployment(models: dict, message: str) -> None:
    with pytest.raises(DeployError, match=message.replace("$", r"\$").replace("(", r"\(")) as exc:
        guard_for(models, {"application/json": "Bad"})
    assert str(exc.value).startswith("/nested/{test} POST: ")

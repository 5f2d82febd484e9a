"""Models and request validators through real boto3 against a running apiway, compared with the
responses and errors recorded from AWS."""

from __future__ import annotations

import json

import pytest

from apiway.vtl.builtins import template_variables
from apiway.vtl.engine import compile_vtl
from tests.conformance.control_plane import assert_recorded_error, recorded_content, without_metadata

MODELS = "test_model_validation"
CALC_SCHEMA = ('{\n\t"title": "Calc output",\n\t"type": "object",\n\t"properties": {\n\t\t"a": {"type": "number"},\n'
               '\t\t"b": {"type": "number"},\n\t\t"op": {"description": "operation of +, -, * or /", "type": "string"},'
               '\n\t\t"c": {"type": "number"}\n\t},\n\t"required": ["a", "b", "op"]\n}\n')


def _comparable(model: dict) -> dict:
    """A model as the recordings hold it: schema parsed, volatile id and name left out."""
    return {k: json.loads(v) if k == "schema" and isinstance(v, str) else v
            for k, v in without_metadata(model).items() if k not in ("id", "name")}


def _same_shape(got: dict, recorded: dict) -> None:
    assert set(without_metadata(got)) == set(without_metadata(recorded))


# -- models ----------------------------------------------------------------------------------------------

def test_model_lifecycle_matches_aws(apigw):
    expected = recorded_content("test_model_lifecycle")
    api_id = apigw.create_rest_api(name="models", description="testing resource model lifecycle")["id"]
    created = apigw.create_model(restApiId=api_id, name="CalcOutput", contentType="application/json",
                                 description="Calc output model", schema=CALC_SCHEMA)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert _comparable(created) == _comparable(expected["create-model"])
    assert created["schema"] == CALC_SCHEMA  # stored as sent

    listed = sorted(apigw.get_models(restApiId=api_id)["items"], key=lambda m: m["name"])
    assert [m["name"] for m in listed] == ["CalcOutput", "Empty", "Error"]
    for got, want in zip(listed, expected["get-models"]["items"], strict=True):
        got_schema, want_schema = json.loads(got["schema"]), want["schema"]
        want_schema["title"] = want_schema["title"].replace("<name:2>", "Empty").replace("<name:3>", "Error")
        assert got_schema == want_schema
        assert {k: v for k, v in got.items() if k not in ("id", "name", "schema")} == \
            {k: v for k, v in want.items() if k not in ("id", "name", "schema")}
        assert len(got["id"]) == 6 and got["id"].isalnum()

    assert _comparable(apigw.get_model(restApiId=api_id, modelName="CalcOutput")) == _comparable(expected["get-model"])
    deleted = apigw.delete_model(restApiId=api_id, modelName="CalcOutput")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202


def test_model_validation_errors(apigw):
    for key, call in (
        ("create-model-wrong-id", lambda: apigw.create_model(
            restApiId="abcde0", name="MySchema", contentType="application/json", description="Test model",
            schema=json.dumps({"title": "MySchema", "type": "object"}))),
        ("get-models-wrong-id", lambda: apigw.get_models(restApiId="abcde0")),
        ("get-model-wrong-id", lambda: apigw.get_model(restApiId="abcde0", modelName="MySchema")),
        ("del-model-wrong-id", lambda: apigw.delete_model(restApiId="abcde0", modelName="MySchema")),
    ):
        assert_recorded_error(call, MODELS, key)
    api_id = apigw.create_rest_api(name="model-validation")["id"]
    schema = json.dumps({"title": "MySchema", "type": "object"})
    created = apigw.create_model(restApiId=api_id, name="MySchema", contentType="application/json",
                                 description="", schema=schema)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201 and "description" not in created
    for key, kwargs in (
        ("create-model-already-exists", {"name": "MySchema", "schema": schema}),
        ("create-model-empty-name", {"name": "", "schema": schema}),
        ("create-model-empty-schema", {"name": "MyEmptySchema", "schema": ""}),
        ("create-model-no-schema-json", {"name": "MyEmptySchema"}),
        ("create-model-no-schema-xml", {"name": "MyEmptySchemaXml", "contentType": "application/xml"}),
    ):
        assert_recorded_error(lambda kwargs=kwargs: apigw.create_model(
            restApiId=api_id, **{"contentType": "application/json", "description": "", **kwargs}), MODELS, key)


def test_update_model_matches_aws(apigw):
    test = "test_update_model"
    expected = recorded_content(test)
    ops = [{"op": "replace", "path": "/schema", "value": json.dumps({"title": "Updated schema", "type": "object"})},
           {"op": "replace", "path": "/description", "value": ""}]
    assert_recorded_error(lambda: apigw.update_model(restApiId="abcde0", modelName="mySchema", patchOperations=ops),
                          test, "update-model-wrong-id")
    api_id = apigw.create_rest_api(name="update-model")["id"]
    created = apigw.create_model(restApiId=api_id, name="MySchema", contentType="application/json", description="",
                                 schema=json.dumps({"title": "MySchema", "type": "object"}))
    recorded_create = _comparable(expected["create-model"])
    recorded_create["schema"]["title"] = "MySchema"
    assert _comparable(created) == recorded_create
    updated = apigw.update_model(restApiId=api_id, modelName="MySchema", patchOperations=ops)
    assert _comparable(updated) == _comparable(expected["update-model"])
    for key, patch in (
        ("update-model-invalid-op", {"op": "add", "path": "/wrong-path", "value": "not supported op"}),
        ("update-model-invalid-path", {"op": "replace", "path": "/name", "value": "invalid"}),
        ("update-model-empty-schema", {"op": "replace", "path": "/schema", "value": ""}),
    ):
        assert_recorded_error(lambda patch=patch: apigw.update_model(
            restApiId=api_id, modelName="MySchema", patchOperations=[patch]), test, key)


def test_model_rules_not_recorded(apigw):
    """Name and schema rules worded from AWS's documentation and published error reports, not from the
    recordings; a built-in model is protected while used, like any other (recorded)."""
    api_id = apigw.create_rest_api(name="model-rules")["id"]
    with pytest.raises(apigw.exceptions.BadRequestException, match="Model name must be alphanumeric: my-model"):
        apigw.create_model(restApiId=api_id, name="my-model", contentType="application/json", schema="{}")
    with pytest.raises(apigw.exceptions.BadRequestException, match="Invalid model schema specified"):
        apigw.create_model(restApiId=api_id, name="Broken", contentType="application/json", schema="{not json")
    apigw.put_method(restApiId=api_id, resourceId=_root(apigw, api_id), httpMethod="ANY", authorizationType="NONE",
                     requestModels={"application/json": "Error"})
    assert_recorded_error(lambda: apigw.delete_model(restApiId=api_id, modelName="Error"), "test_put_method_model",
                          "delete-model-used", **{"<name:1>": "Error"})
    apigw.delete_model(restApiId=api_id, modelName="Empty")  # built-in models go when nothing uses them
    assert [m["name"] for m in apigw.get_models(restApiId=api_id)["items"]] == ["Error"]


def _root(apigw, api_id: str) -> str:
    return apigw.get_rest_api(restApiId=api_id)["rootResourceId"]


def _model_url(api_id: str, name: str) -> str:
    return f"https://apigateway.amazonaws.com/restapis/{api_id}/models/{name}"


def test_flatten_and_default_template(apigw):
    api_id = apigw.create_rest_api(name="templates")["id"]
    apigw.create_model(restApiId=api_id, name="Tag", contentType="application/json", schema=json.dumps(
        {"type": "object", "properties": {"key": {"type": "string"}, "weight": {"type": "number"}}}))
    apigw.create_model(restApiId=api_id, name="Pet", contentType="application/json", schema=json.dumps(
        {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                          "tags": {"type": "array", "items": {"$ref": _model_url(api_id, "Tag")}}}}))
    plain = apigw.get_model(restApiId=api_id, modelName="Pet")
    assert _model_url(api_id, "Tag") in plain["schema"]
    flat = json.loads(apigw.get_model(restApiId=api_id, modelName="Pet", flatten=True)["schema"])
    assert flat["properties"]["tags"]["items"] == {"$ref": "#/definitions/Tag"}
    assert flat["definitions"]["Tag"]["properties"]["key"] == {"type": "string"}

    template = apigw.get_model_template(restApiId=api_id, modelName="Pet")["value"]
    assert template.splitlines()[0] == "#set($inputRoot = $input.path('$'))"
    for piece in ('"id" : $inputRoot.id,', '"name" : "$inputRoot.name",', "#foreach($elem in $inputRoot.tags)",
                  '"key" : "$elem.key",', '"weight" : $elem.weight', "#if($foreach.hasNext),#end"):
        assert piece in template
    # the template rebuilds a payload of the model's shape (rendered with apiway's own VTL engine)
    pet = {"id": 7, "name": "rex", "tags": [{"key": "a", "weight": 2}, {"key": "b", "weight": 0.5}]}
    rendered = compile_vtl(template).render(template_variables(json.dumps(pet).encode(), {}, {}, None))
    assert json.loads(rendered) == pet
    with pytest.raises(apigw.exceptions.NotFoundException, match="Invalid model name specified: Nope"):
        apigw.get_model_template(restApiId=api_id, modelName="Nope")


# -- request validators ----------------------------------------------------------------------------------

VALIDATORS = "test_request_validator_lifecycle"


def test_request_validator_lifecycle_matches_aws(apigw):
    expected = recorded_content(VALIDATORS)
    api_id = apigw.create_rest_api(name="validators", description="my api")["id"]
    created = apigw.create_request_validator(restApiId=api_id, name="test-validator")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    _same_shape(created, expected["create-request-validator"])
    assert (created["validateRequestBody"], created["validateRequestParameters"]) == (False, False)
    validator_id = created["id"]
    assert without_metadata(apigw.get_request_validator(restApiId=api_id, requestValidatorId=validator_id)) == without_metadata(created)
    assert apigw.get_request_validators(restApiId=api_id)["items"] == [without_metadata(created)]

    def update(*ops: dict) -> dict:
        return apigw.update_request_validator(restApiId=api_id, requestValidatorId=validator_id,
                                              patchOperations=list(ops))

    with_value = update({"op": "replace", "path": "/validateRequestBody", "value": "true"})
    assert with_value["validateRequestBody"] == expected["update-request-validator-with-value"]["validateRequestBody"]
    without_value = update({"op": "replace", "path": "/validateRequestBody"})
    assert without_value["validateRequestBody"] is False
    assert apigw.delete_request_validator(restApiId=api_id, requestValidatorId=validator_id)[
        "ResponseMetadata"]["HTTPStatusCode"] == 202
    assert_recorded_error(lambda: apigw.get_request_validator(restApiId=api_id, requestValidatorId=validator_id),
                          VALIDATORS, "get-deleted-request-validator")
    assert apigw.get_request_validators(restApiId=api_id)["items"] == []


def test_request_validator_errors(apigw):
    assert_recorded_error(lambda: apigw.create_request_validator(
        restApiId="test-fake-rest-id", name="test-validator", validateRequestBody=True,
        validateRequestParameters=False), "test_validators_crud_no_api", "wrong-rest-api-id-create-validator")
    assert_recorded_error(lambda: apigw.get_request_validators(restApiId="test-fake-rest-id"),
                          "test_validators_crud_no_api", "wrong-rest-api-id-get-validators")
    assert_recorded_error(lambda: apigw.get_request_validators(restApiId="api_id"),
                          "test_invalid_get_request_validators", "get-invalid-request-validators")
    assert_recorded_error(lambda: apigw.create_request_validator(restApiId="api_id", name="v"),
                          "test_create_request_validator_invalid_api_id", "invalid-create-request-validator")
    api_id = apigw.create_rest_api(name="validator-errors", description="my api")["id"]
    validator_id = apigw.create_request_validator(restApiId=api_id, name="test-validator")["id"]
    for test, key, call in (
        ("test_invalid_get_request_validator", "get-request-validators-invalid-api-id",
         lambda: apigw.get_request_validator(restApiId="api_id", requestValidatorId=validator_id)),
        ("test_invalid_get_request_validator", "get-request-validators-invalid-validator-id",
         lambda: apigw.get_request_validator(restApiId=api_id, requestValidatorId="validator_id")),
        ("test_invalid_delete_request_validator", "delete-request-validator-invalid-api-id",
         lambda: apigw.delete_request_validator(restApiId="api_id", requestValidatorId=validator_id)),
        ("test_invalid_delete_request_validator", "delete-request-validator-invalid-validator-id",
         lambda: apigw.delete_request_validator(restApiId=api_id, requestValidatorId="validator_id")),
    ):
        assert_recorded_error(call, test, key)
    test = "test_invalid_update_request_validator_operations"
    for key, patch in (
        ("update-request-validator-invalid-add-operation", {"op": "add", "path": "/validateRequestBody",
                                                            "value": "true"}),
        ("update-request-validator-invalid-remove-operation", {"op": "remove", "path": "/validateRequestBody",
                                                               "value": "true"}),
        ("update-request-validator-invalid-path", {"op": "replace", "path": "/invalidPath", "value": "true"}),
        ("update-request-validator-empty-name-value", {"op": "replace", "path": "/name"}),
    ):
        assert_recorded_error(lambda patch=patch: apigw.update_request_validator(
            restApiId=api_id, requestValidatorId=validator_id, patchOperations=[patch]), test, key)


"""Documentation parts and versions through real boto3 against a running apiway, compared with the
responses and errors recorded from AWS."""

from __future__ import annotations

import json

import pytest

from tests.conformance.control_plane import (
    assert_recorded_error,
    new_api,
    put_mock_integration,
    recorded_content,
    without_metadata,
)

# The OpenAPI document of the recorded import (an API with four documentation parts).
DOCUMENT = {
    "openapi": "3.0.0",
    "info": {"description": "description", "version": "1", "title": "doc"},
    "paths": {"/": {"get": {"description": "Method description.", "responses": {"200": {
        "description": "200 response",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}}}}}},
    "x-amazon-apigateway-documentation": {"version": "1.0.3", "documentationParts": [
        {"location": {"type": "API"}, "properties": {
            "description": "API description",
            "info": {"description": "API info description 4", "version": "API info version 3"}}},
        {"location": {"type": "METHOD", "method": "GET"}, "properties": {"description": "Method description."}},
        {"location": {"type": "MODEL", "name": "Empty"}, "properties": {"title": "Empty Schema"}},
        {"location": {"type": "RESPONSE", "method": "GET", "statusCode": "200"},
         "properties": {"description": "200 response"}},
    ]},
    "servers": [{"url": "/"}],
    "components": {"schemas": {"Empty": {"type": "object", "title": "Empty Schema"}}},
}
SAMPLE = '{ "description": "Sample API description" }'
UPDATED = '{ "description": "Updated Sample API description" }'


def _comparable(part: dict) -> dict:
    """A part as the recordings hold it: properties parsed, the volatile id left out."""
    return {"location": part["location"], "properties": json.loads(part["properties"])
            if isinstance(part["properties"], str) else part["properties"]}


def _recorded_parts(items: list[dict]) -> list[dict]:
    return [json.loads(json.dumps(_comparable(p)).replace("<name:1>", "Empty")) for p in items]


def _api(apigw) -> str:
    return apigw.create_rest_api(name="docs", description="this is my api")["id"]


def test_documentation_part_lifecycle_matches_aws(apigw):
    expected = recorded_content("test_documentation_part_lifecycle")
    api_id = _api(apigw)
    created = apigw.create_documentation_part(restApiId=api_id, location={"type": "API"}, properties=SAMPLE)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert _comparable(created) == _comparable(expected["create-documentation-part"])
    part_id = created["id"]
    assert without_metadata(apigw.get_documentation_part(restApiId=api_id, documentationPartId=part_id)) == without_metadata(created)
    assert apigw.get_documentation_parts(restApiId=api_id)["items"] == [without_metadata(created)]
    updated = apigw.update_documentation_part(restApiId=api_id, documentationPartId=part_id, patchOperations=[
        {"op": "replace", "path": "/properties", "value": UPDATED}])
    assert _comparable(updated) == _comparable(expected["update-documentation-part"])
    assert _comparable(apigw.get_documentation_part(restApiId=api_id, documentationPartId=part_id)) == \
        _comparable(expected["get-documentation-part-after-update"])
    deleted = apigw.delete_documentation_part(restApiId=api_id, documentationPartId=part_id)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202


def test_documentation_part_errors(apigw):
    assert_recorded_error(lambda: apigw.create_documentation_part(
        restApiId="test-fake-rest-id", location={"type": "API"}, properties='{"info": {}}'),
        "test_doc_parts_crud_no_api", "wrong-rest-api-id-create-doc-part")
    assert_recorded_error(lambda: apigw.get_documentation_parts(restApiId="test-fake-rest-id"),
                          "test_doc_parts_crud_no_api", "wrong-rest-api-id-get-doc-parts")
    assert_recorded_error(lambda: apigw.get_documentation_parts(restApiId="api_id"),
                          "test_invalid_get_documentation_parts", "get-inavlid-documentation-parts")
    api_id = _api(apigw)
    part_id = apigw.create_documentation_part(restApiId=api_id, location={"type": "API"}, properties=SAMPLE)["id"]
    replace = [{"op": "replace", "path": "/properties", "value": UPDATED}]
    for test, key, call in (
        ("test_invalid_get_documentation_part", "get-documentation-part-invalid-api-id",
         lambda: apigw.get_documentation_part(restApiId="api_id", documentationPartId=part_id)),
        ("test_invalid_get_documentation_part", "get-documentation-part-invalid-doc-id",
         lambda: apigw.get_documentation_part(restApiId=api_id, documentationPartId="documentation_part_id")),
        ("test_invalid_update_documentation_part", "update-documentation-part-invalid-api-id",
         lambda: apigw.update_documentation_part(restApiId="api_id", documentationPartId=part_id,
                                                 patchOperations=replace)),
        ("test_invalid_update_documentation_part", "update-documentation-part-invalid-add-operation",
         lambda: apigw.update_documentation_part(restApiId=api_id, documentationPartId=part_id, patchOperations=[
             {"op": "add", "path": "/properties", "value": UPDATED}])),
        ("test_invalid_update_documentation_part", "update-documentation-part-invalid-path",
         lambda: apigw.update_documentation_part(restApiId=api_id, documentationPartId=part_id, patchOperations=[
             {"op": "replace", "path": "/invalidPath", "value": UPDATED}])),
        ("test_invalid_create_documentation_part_operations", "create_documentation_part_invalid_api_id",
         lambda: apigw.create_documentation_part(restApiId="api_id", location={"type": "API"}, properties=SAMPLE)),
        ("test_invalid_create_documentation_part_operations", "create_documentation_part_invalid_location_type",
         lambda: apigw.create_documentation_part(restApiId=api_id, location={"type": "INVALID"}, properties=SAMPLE)),
        ("test_invalid_delete_documentation_part", "delete_documentation_part_wrong_api_id",
         lambda: apigw.delete_documentation_part(restApiId="api_id", documentationPartId=part_id)),
    ):
        assert_recorded_error(call, test, key)
    apigw.delete_documentation_part(restApiId=api_id, documentationPartId=part_id)
    assert_recorded_error(lambda: apigw.delete_documentation_part(restApiId=api_id, documentationPartId=part_id),
                          "test_invalid_delete_documentation_part", "delete_already_deleted_documentation_part")


def test_locations_filters_and_conflicts(apigw):
    api_id = _api(apigw)

    def create(location: dict, properties: str = '{"description": "x"}') -> dict:
        return apigw.create_documentation_part(restApiId=api_id, location=location, properties=properties)

    method = create({"type": "METHOD", "path": "/pets", "method": "GET"})
    assert method["location"] == {"type": "METHOD", "path": "/pets", "method": "GET"}
    response = create({"type": "RESPONSE"})
    assert response["location"] == {"type": "RESPONSE", "path": "/", "method": "*", "statusCode": "*"}
    model = create({"type": "MODEL", "name": "Pet"})
    with pytest.raises(apigw.exceptions.ConflictException, match="Documentation part already exists"):
        create({"type": "MODEL", "name": "Pet"})
    for location, properties in (({"type": "MODEL"}, "{}"), ({"type": "API", "path": "/"}, "{}"),
                                 ({"type": "API"}, "not json")):
        with pytest.raises(apigw.exceptions.BadRequestException):
            create(location, properties)

    def ids(**filters: str) -> list[str]:
        return [p["id"] for p in apigw.get_documentation_parts(restApiId=api_id, **filters)["items"]]

    assert ids() == [method["id"], response["id"], model["id"]]
    assert ids(type="MODEL") == [model["id"]]
    assert ids(path="/pets") == [method["id"]]
    assert ids(nameQuery="Pe") == [model["id"]]
    assert ids(locationStatus="DOCUMENTED") == ids() and ids(locationStatus="UNDOCUMENTED") == []
    assert ids(limit=2) == [method["id"], response["id"]]


def test_import_documentation_parts_matches_aws(apigw):
    expected = recorded_content("test_import_documentation_parts")
    body = json.dumps(DOCUMENT)
    api_id = apigw.import_rest_api(body=body, failOnWarnings=True)["id"]
    parts = apigw.get_documentation_parts(restApiId=api_id)["items"]
    assert [_comparable(p) for p in parts] == _recorded_parts(expected["get-documentations-parts-after-api-imports"]
                                                                ["items"])
    for part in parts:
        apigw.delete_documentation_part(restApiId=api_id, documentationPartId=part["id"])
    imported = apigw.import_documentation_parts(restApiId=api_id, mode="overwrite", body=body)
    assert imported["ResponseMetadata"]["HTTPStatusCode"] == 200 and len(imported["ids"]) == 4
    parts = apigw.get_documentation_parts(restApiId=api_id)["items"]
    assert [p["id"] for p in parts] == imported["ids"]
    assert [_comparable(p) for p in parts] == _recorded_parts(expected["get-documentations-parts-after-import"]
                                                                ["items"])
    # merge keeps a part at the same location (its id) and replaces its content
    second = json.loads(body)
    second["x-amazon-apigateway-documentation"]["documentationParts"] = [
        {"location": {"type": "API"}, "properties": {"description": "v2"}},
        {"location": {"type": "RESOURCE", "path": "/pets"}, "properties": {"description": "pets"}}]
    merged = apigw.import_documentation_parts(restApiId=api_id, mode="merge", body=json.dumps(second))
    assert merged["ids"][0] == imported["ids"][0] and merged["ids"][1] not in imported["ids"]
    assert len(apigw.get_documentation_parts(restApiId=api_id)["items"]) == 5


def test_import_documentation_parts_bad_files(apigw):
    api_id = _api(apigw)
    test = "test_import_documentation_parts_bad_file"
    for key, body in (("import-documentation-parts-bad-yaml-file", "openapi: [3.0.0\ninfo: {"),
                      ("import-documentation-parts-bad-json-file", '{"openapi": "3.0.0", "info": ')):
        assert_recorded_error(lambda body=body: apigw.import_documentation_parts(restApiId=api_id, body=body),
                              test, key)


def test_documentation_versions_match_aws(apigw):
    expected = recorded_content("test_documentation_parts_and_versions", "test_apigateway_common.snapshot.json")
    api_id = apigw.create_rest_api(name="doc-versions")["id"]
    created = apigw.create_documentation_version(restApiId=api_id, documentationVersion="v123")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert set(without_metadata(created)) == set(without_metadata(expected["create-version-response"]))
    updated = apigw.update_documentation_version(restApiId=api_id, documentationVersion="v123", patchOperations=[
        {"op": "replace", "path": "/description", "value": "doc version new"}])
    assert (updated["version"], updated["description"]) == ("v123", "doc version new")
    assert set(without_metadata(updated)) == set(without_metadata(expected["update-version-response"]))
    assert without_metadata(apigw.get_documentation_version(restApiId=api_id, documentationVersion="v123")) == without_metadata(updated)
    assert [v["version"] for v in apigw.get_documentation_versions(restApiId=api_id)["items"]] == ["v123"]
    with pytest.raises(apigw.exceptions.ConflictException):
        apigw.create_documentation_version(restApiId=api_id, documentationVersion="v123")
    with pytest.raises(apigw.exceptions.BadRequestException, match="Must be one of: \\[/description\\]"):
        apigw.update_documentation_version(restApiId=api_id, documentationVersion="v123", patchOperations=[
            {"op": "replace", "path": "/version", "value": "v2"}])
    assert apigw.delete_documentation_version(restApiId=api_id, documentationVersion="v123")[
        "ResponseMetadata"]["HTTPStatusCode"] == 202
    with pytest.raises(apigw.exceptions.NotFoundException, match="Invalid Documentation version specified"):
        apigw.get_documentation_version(restApiId=api_id, documentationVersion="v123")


def test_documentation_version_published_on_a_stage(apigw):
    api_id, root_id = new_api(apigw, "doc-stage", "GET")
    put_mock_integration(apigw, api_id, root_id)
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    with pytest.raises(apigw.exceptions.NotFoundException, match="Invalid stage identifier specified"):
        apigw.create_documentation_version(restApiId=api_id, documentationVersion="v1", stageName="prod")
    apigw.create_documentation_version(restApiId=api_id, documentationVersion="v1", stageName="dev")
    assert apigw.get_stage(restApiId=api_id, stageName="dev")["documentationVersion"] == "v1"

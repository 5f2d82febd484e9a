"""RestApi control-plane calls through real boto3 against a running apiway, errors compared with
the ones recorded from AWS."""

from __future__ import annotations

import pytest

from tests.conformance.control_plane import assert_recorded_error, recorded_content

OPS = "[add, remove, move, test, replace, copy]"


def test_create_defaults_match_aws(apigw):
    expected = recorded_content("test_create_rest_api_verify_defaults")
    for key, types in (("create-with-edge-default", None), ("create-with-regional-default", ["REGIONAL"]),
                       ("create-with-private-default", ["PRIVATE"])):
        kwargs = {"endpointConfiguration": {"types": types}} if types else {}
        got = apigw.create_rest_api(name=f"defaults-{key}", **kwargs)
        want = expected[key]
        for field in ("apiKeySource", "disableExecuteApiEndpoint", "endpointConfiguration"):
            assert got[field] == want[field], field
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 201
        assert len(got["id"]) == 10 and got["id"].isalnum() and got["id"].islower()


@pytest.mark.parametrize("key, kwargs", [
    ("create-with-empty-ip-address-type-and-wrong-type", {"endpointConfiguration": {"types": ["wrong"]}}),
])
def test_create_verify_defaults_errors(apigw, key, kwargs):
    assert_recorded_error(lambda: apigw.create_rest_api(name="x", **kwargs), "test_create_rest_api_verify_defaults",
                          key)


@pytest.mark.parametrize("key, kwargs", [
    ("create-empty-desc", {"description": ""}),
    ("string-compression-size", {"minimumCompressionSize": -1}),
])
def test_create_optional_param_errors(apigw, key, kwargs):
    assert_recorded_error(lambda: apigw.create_rest_api(name="x", **kwargs),
                          "test_create_rest_api_with_optional_params", key)


@pytest.mark.parametrize("key, config", [
    ("create-with-empty-types", {"types": []}),
    ("create-with-invalid-ip-address-type", {"types": ["EDGE"], "ipAddressType": "wrong"}),
    ("create-with-invalid-types", {"types": ["wrong"]}),
    ("create-with-invalid-ip-address-type-and-types", {"types": ["wrong"], "ipAddressType": "wrong"}),
])
def test_create_endpoint_configuration_errors(apigw, key, config):
    assert_recorded_error(lambda: apigw.create_rest_api(name="x", endpointConfiguration=config),
                          "test_create_rest_api_with_endpoint_configuration", key)


@pytest.mark.parametrize("key, config", [
    ("create-with-private-type-and-ipv4-ip-address-type", {"types": ["PRIVATE"], "ipAddressType": "ipv4"}),
    ("create-with-private-type-and-wrong-ip-address-type", {"types": ["PRIVATE"], "ipAddressType": "wrong"}),
])
def test_create_private_errors(apigw, key, config):
    assert_recorded_error(lambda: apigw.create_rest_api(name="x", endpointConfiguration=config),
                          "test_create_rest_api_private_type", key)


def test_unknown_api_ids(apigw):
    assert_recorded_error(lambda: apigw.update_rest_api(restApiId="api_id", patchOperations=[]),
                          "test_update_rest_api_invalid_api_id", "not-found-update-rest-api")
    api_id = apigw.create_rest_api(name="lower", description="lower case api")["id"]
    assert_recorded_error(lambda: apigw.get_rest_api(restApiId=api_id.upper()), "test_get_api_case_insensitive",
                          "get-api-upper-case", **{"<upper-id>": api_id.upper()})


def test_patch_binary_media_types_and_compression(apigw):
    api_id = apigw.create_rest_api(name="patch", description="this is my api")["id"]
    expected = recorded_content("test_update_rest_api_operation_add_remove")
    got = apigw.update_rest_api(restApiId=api_id, patchOperations=[
        {"op": "add", "path": "/binaryMediaTypes/image~1png"}, {"op": "add", "path": "/binaryMediaTypes/image~1jpeg"}])
    assert got["binaryMediaTypes"] == expected["update-rest-api-add"]["binaryMediaTypes"]
    got = apigw.update_rest_api(restApiId=api_id, patchOperations=[
        {"op": "replace", "path": "/binaryMediaTypes/image~1png", "value": "image/gif"}])
    assert sorted(got["binaryMediaTypes"]) == sorted(expected["update-rest-api-replace"]["binaryMediaTypes"])
    for key in ("update-rest-api-add-base-path", "update-rest-api-remove-base-path"):
        op = "add" if "add" in key else "remove"
        assert_recorded_error(lambda op=op: apigw.update_rest_api(restApiId=api_id, patchOperations=[
            {"op": op, "path": "/binaryMediaTypes", "value": "image/png"}]), "test_update_rest_api_behaviour", key)
    got = apigw.update_rest_api(restApiId=api_id, patchOperations=[
        {"op": "replace", "path": "/minimumCompressionSize", "value": "10"}])
    assert got["minimumCompressionSize"] == 10
    got = apigw.update_rest_api(restApiId=api_id, patchOperations=[
        {"op": "replace", "path": "/minimumCompressionSize", "value": ""}])
    assert "minimumCompressionSize" not in got
    for key, patch in (
        ("set-negative-compression", {"op": "replace", "path": "/minimumCompressionSize", "value": "-1"}),
        ("set-string-compression", {"op": "replace", "path": "/minimumCompressionSize", "value": "test"}),
        ("unsupported-operation", {"op": "add", "path": "/minimumCompressionSize", "value": "10"}),
    ):
        assert_recorded_error(lambda patch=patch: apigw.update_rest_api(restApiId=api_id, patchOperations=[patch]),
                              "test_update_rest_api_compression", key)


def test_patch_op_enum_errors_are_concatenated(apigw):
    api_id = apigw.create_rest_api(name="ops")["id"]
    wrong = {"op": "wrong", "path": "/endpointConfiguration/ipAddressType", "value": "ipv4"}
    assert_recorded_error(lambda: apigw.update_rest_api(restApiId=api_id, patchOperations=[wrong, wrong, wrong]),
                          "test_update_rest_api_concatenation_of_errors",
                          "update-rest-api-wrong-operations-on-type-and-on-ip-address-type")


def test_patch_endpoint_configuration(apigw):
    api = apigw.create_rest_api(name="ip", endpointConfiguration={"types": ["REGIONAL"]})
    api_id = api["id"]
    got = apigw.update_rest_api(restApiId=api_id, patchOperations=[
        {"op": "replace", "path": "/endpointConfiguration/types/REGIONAL", "value": "PRIVATE"}])
    assert got["endpointConfiguration"] == {"ipAddressType": "dualstack", "types": ["PRIVATE"]}
    test = "test_update_rest_api_ip_address_type"
    for key, patch in (
        ("update-rest-api-replace-to-ipv4-within-private-type",
         {"op": "replace", "path": "/endpointConfiguration/ipAddressType", "value": "ipv4"}),
        ("update-rest-api-wrong-ipAddressType",
         {"op": "replace", "path": "/endpointConfiguration/ipAddressType", "value": "wrong"}),
        ("update-rest-api-wrong-type",
         {"op": "replace", "path": "/endpointConfiguration/types/PRIVATE", "value": "wrong"}),
        ("update-rest-api-invalid-operation-on-ipAddressType",
         {"op": "add", "path": "/endpointConfiguration/ipAddressType", "value": "dualstack"}),
        ("update-rest-api-invalid-operation-on-type",
         {"op": "add", "path": "/endpointConfiguration/types/PRIVATE", "value": "EDGE"}),
    ):
        assert_recorded_error(lambda patch=patch: apigw.update_rest_api(restApiId=api_id, patchOperations=[patch]),
                              test, key)


def test_list_paginates_and_delete_stops_listing(apigw):
    ids = [apigw.create_rest_api(name=f"page-{i}")["id"] for i in range(5)]
    seen, position = [], None
    while True:
        page = apigw.get_rest_apis(limit=2, **({"position": position} if position else {}))
        assert len(page["items"]) <= 2
        seen += [a["id"] for a in page["items"]]
        position = page.get("position")
        if not position:
            break
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    assert apigw.delete_rest_api(restApiId=ids[0])["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert ids[0] not in {a["id"] for a in apigw.get_rest_apis(limit=500)["items"]}


def test_unimplemented_operation_names_itself(apigw):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        apigw.get_domain_name_access_associations()
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert "GetDomainNameAccessAssociations" in err["Error"]["Message"]

"""API keys, usage plans, usage plan keys and usage through real boto3 against a running apiway,
compared with the responses and errors recorded from AWS."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError

from apiway.store import usage
from apiway.store.sqlite import SqliteStore
from tests.conformance.control_plane import assert_like_recorded, assert_recorded_error, recorded_content

EXTENDED = "test_apigateway_extended.snapshot.json"
COMMON = "test_apigateway_common.snapshot.json"
MOCK_API = """{"openapi": "3.0.1", "info": {"title": "keyed", "version": "1"}, "paths": {"/test": {"get": {
  "security": [{"api_key": []}],
  "responses": {"200": {"description": "ok"}},
  "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\\"statusCode\\": 200}"},
    "responses": {"default": {"statusCode": "200"}}}}}},
  "components": {"securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}}}"""


def like(got: Any, test: str, key: str, snapshot: str = EXTENDED) -> None:
    assert_like_recorded(got, recorded_content(test, snapshot)[key])


def stage(apigw, name: str = "dev") -> str:
    """A REST API with one deployed stage; returns its id."""
    api_id = apigw.import_rest_api(body=MOCK_API.encode())["id"]
    apigw.create_deployment(restApiId=api_id, stageName=name)
    return api_id


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def delete_all_keys(apigw) -> None:
    for key in apigw.get_api_keys(limit=500)["items"]:
        apigw.delete_api_key(apiKey=key["id"])


# -- API keys -----------------------------------------------------------------------------------------

def test_list_api_keys_filters_and_pages_as_aws(apigw):
    test = "test_get_api_keys"
    delete_all_keys(apigw)
    like(apigw.get_api_keys(), test, "get-api-keys")
    first = apigw.create_api_key(name="test-key-aaaa1111")
    like(first, test, "create-api-key")
    assert len(first["value"]) == 40 and first["value"].isalnum()
    like(apigw.get_api_keys(), test, "get-api-keys-after-create-1")
    for key, query in (("get-api-keys-wrong-name-query", "test-key-bbbb2222"),
                       ("get-api-keys-prefix-name-query", "test-key"), ("get-api-keys-prefix-name-query-cased", "TEST-KEY"),
                       ("get-api-keys-postfix-name-query", "st-key-aaaa1111"), ("get-api-keys-infix-name-query", "st-key")):
        like(apigw.get_api_keys(nameQuery=query), test, key)
    second = apigw.create_api_key(name="test-key-bbbb2222")
    like(second, test, "create-api-key-2")
    listed = apigw.get_api_keys()
    like(listed, test, "get-api-keys-after-create-2")
    assert ids(listed) == [second["id"], first["id"]]  # newest first, as recorded
    like(apigw.get_api_keys(nameQuery="test-key-bbbb2222"), test, "get-api-keys-name-query")
    like(apigw.get_api_keys(nameQuery="test-key"), test, "get-api-keys-prefix-name-query-2")
    page_1 = apigw.get_api_keys(limit=1)
    like(page_1, test, "get-apis-keys-pagination")
    page_2 = apigw.get_api_keys(limit=1, position=page_1["position"])
    like(page_2, test, "get-apis-keys-pagination-2")
    assert ids(page_1) + ids(page_2) == ids(listed)
    values = {k["id"]: k["value"] for k in apigw.get_api_keys(includeValues=True)["items"]}
    assert values == {first["id"]: first["value"], second["id"]: second["value"]}


def test_create_api_key_names_values_and_defaults(apigw):
    assert_recorded_error(lambda: apigw.create_api_key(name="a" * 1025), "test_create_api_key_with_invalid_name",
                          "create-api-key-name-too-long", snapshot=EXTENDED)
    like(apigw.create_api_key(name=""), "test_create_api_key_with_invalid_name", "create-api-key-empty-name")
    like(apigw.create_api_key(), "test_create_api_key_with_invalid_name", "create-api-key-no-name")
    test = "test_create_api_key_with_invalid_value"
    assert_recorded_error(lambda: apigw.create_api_key(value="short"), test, "create-api-key-short-value",
                          snapshot=EXTENDED)
    assert_recorded_error(lambda: apigw.create_api_key(value="a" * 129), test,
                          "create-api-key-invalid-value-too-long", snapshot=EXTENDED)
    like(apigw.create_api_key(value=""), test, "create-api-key-empty-value")
    assert_recorded_error(lambda: apigw.create_api_key(description="a" * 125001),
                          "test_update_api_key_invalid_description_length", "create-api-key-description-too-long",
                          snapshot=EXTENDED)
    given = apigw.create_api_key(name="given", value="v" * 30, enabled=True, customerId="cust-1",
                                 description="mine", tags={"team": "a"})
    assert (given["value"], given["enabled"], given["customerId"], given["tags"]) == ("v" * 30, True, "cust-1",
                                                                                       {"team": "a"})
    with pytest.raises(ClientError) as info:
        apigw.create_api_key(value="v" * 30)
    assert info.value.response["Error"]["Code"] == "ConflictException"
    assert [k["id"] for k in apigw.get_api_keys(customerId="cust-1")["items"]] == [given["id"]]


def test_get_api_key_hides_the_value_unless_asked(apigw):
    key = apigw.create_api_key(name="hidden")
    got = apigw.get_api_key(apiKey=key["id"])
    assert "value" not in got and got["tags"] == {}
    assert apigw.get_api_key(apiKey=key["id"], includeValue=True)["value"] == key["value"]
    with pytest.raises(ClientError) as info:
        apigw.get_api_key(apiKey="missing")
    assert (info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]) == (
        "NotFoundException", "Invalid API Key identifier specified")


def test_update_api_key_as_aws(apigw):
    key = apigw.create_api_key(name="key-enabled-false", enabled=False)
    like(apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/name", "value": "new"}]),
         "test_negative_get_usage_plan_api_keys", "update-api-key-name")
    unnamed = apigw.create_api_key()
    like(apigw.update_api_key(apiKey=unnamed["id"], patchOperations=[
        {"op": "replace", "path": "/enabled", "value": "not-a-boolean"}]),
        "test_update_api_key_invalid_enabled_type", "update-api-key-invalid-enabled-type")
    assert_recorded_error(lambda: apigw.update_api_key(apiKey=key["id"], patchOperations=[
        {"op": "replace", "path": "/description", "value": "a" * 125001}]),
        "test_update_api_key_invalid_description_length", "update-api-key-description-too-long", snapshot=EXTENDED)
    assert_recorded_error(lambda: apigw.update_api_key(apiKey=key["id"], patchOperations=[
        {"op": "replace", "path": "/id", "value": "new-id"}]),
        "test_update_api_key_immutable_field", "update-api-key-immutable-field", snapshot=EXTENDED)
    got = apigw.update_api_key(apiKey=key["id"], patchOperations=[
        {"op": "replace", "path": "/enabled", "value": "true"}, {"op": "replace", "path": "/customerId", "value": "c"},
        {"op": "replace", "path": "/description", "value": "d"}])
    assert (got["enabled"], got["customerId"], got["description"]) == (True, "c", "d")
    api_id = stage(apigw)
    got = apigw.update_api_key(apiKey=key["id"], patchOperations=[
        {"op": "add", "path": "/stages", "value": f"{api_id}/dev"}])
    assert got["stageKeys"] == [f"{api_id}/dev"]
    got = apigw.update_api_key(apiKey=key["id"], patchOperations=[
        {"op": "remove", "path": "/stages", "value": f"{api_id}/dev"}])
    assert got["stageKeys"] == []


def test_get_api_keys_ignores_a_non_positive_limit(apigw):
    delete_all_keys(apigw)
    like(apigw.get_api_keys(limit=-1), "test_negative_get_usage_plan_api_keys", "get-api-keys-invalid-limit")


def test_import_api_keys_from_csv(apigw):
    plan = apigw.create_usage_plan(name="imported")
    body = ("Name,key,description,Enabled,usageplanIds\n"
            f"first,{'a' * 25},An imported key,TRUE,{plan['id']}\n"
            "second,short,,true,\n"
            f"third,{'c' * 25},,false,'{plan['id']}'\n")
    result = apigw.import_api_keys(body=body.encode(), format="csv")
    assert len(result["ids"]) == 2 and len(result["warnings"]) == 1
    first = apigw.get_api_key(apiKey=result["ids"][0], includeValue=True)
    assert (first["name"], first["value"], first["description"], first["enabled"]) == (
        "first", "a" * 25, "An imported key", True)
    assert apigw.get_api_key(apiKey=result["ids"][1])["enabled"] is False
    assert sorted(ids(apigw.get_usage_plan_keys(usagePlanId=plan["id"]))) == sorted(result["ids"])
    again = apigw.import_api_keys(body=f"key,name\n{'a' * 25},renamed\n".encode(), format="csv")
    assert again["ids"] == result["ids"][:1]  # the same value is the same key, overwritten
    assert apigw.get_api_key(apiKey=again["ids"][0])["name"] == "renamed"
    with pytest.raises(ClientError) as info:
        apigw.import_api_keys(body=body.encode(), format="csv", failOnWarnings=True)
    assert info.value.response["Error"]["Code"] == "BadRequestException"


# -- usage plans and their keys ---------------------------------------------------------------------

def test_usage_plan_crud_as_aws(apigw):
    test = "test_usage_plan_crud"
    api_id = stage(apigw)
    created = apigw.create_usage_plan(name="crud", description="this is my usage plan",
                                      apiStages=[{"apiId": api_id, "stage": "dev"}])
    like(created, test, "create-usage-plan", COMMON)
    plan_id = created["id"]
    like(apigw.get_usage_plan(usagePlanId=plan_id), test, "get-usage-plan", COMMON)
    listed = apigw.get_usage_plans()
    listed["items"] = [p for p in listed["items"] if p["id"] == plan_id]
    like(listed, test, "get-usage-plans", COMMON)
    updated = apigw.update_usage_plan(usagePlanId=plan_id, patchOperations=[
        {"op": "replace", "path": "/throttle/burstLimit", "value": "100"},
        {"op": "replace", "path": "/throttle/rateLimit", "value": "200"},
        {"op": "replace", "path": "/quota/limit", "value": "5000"},
        {"op": "replace", "path": "/quota/period", "value": "MONTH"}])
    like(updated, test, "update-usage-plan", COMMON)
    like(apigw.get_usage_plan(usagePlanId=plan_id), test, "get-usage-plan-after-update", COMMON)
    listed = apigw.get_usage_plans()
    listed["items"] = [p for p in listed["items"] if p["id"] == plan_id]
    like(listed, test, "get-usage-plans-after-update", COMMON)

    def remove_stage(value: str | None, plan: str = plan_id):
        patch = {"op": "remove", "path": "/apiStages", **({"value": value} if value is not None else {})}
        return lambda: apigw.update_usage_plan(usagePlanId=plan, patchOperations=[patch])

    ids_ = {"<id:1>": plan_id, "<api-id:1>": api_id}
    assert_recorded_error(remove_stage(f"{api_id}:dev", "wrongid"), test, "update-wrong-id", snapshot=COMMON)
    assert_recorded_error(remove_stage(None), test, "update-wrong-api-stages-no-value", snapshot=COMMON)
    assert_recorded_error(remove_stage(f"{api_id}b:dev"), test, "update-wrong-api-stages-wrong-api",
                          snapshot=COMMON, **ids_)
    assert_recorded_error(remove_stage(f"{api_id}:fakestagename"), test, "update-wrong-api-stages-wrong-stage",
                          snapshot=COMMON, **ids_)
    assert_recorded_error(remove_stage("wrongvalue"), test, "update-wrong-api-stages-wrong-value", snapshot=COMMON)


def test_usage_plan_with_key_as_aws(apigw):
    test = "test_api_key_required_for_methods"
    api_id = stage(apigw)
    plan = apigw.create_usage_plan(name="keyed", description="Test Usage Plan for API key",
                                   quota={"limit": 10, "period": "DAY", "offset": 0},
                                   throttle={"rateLimit": 2, "burstLimit": 1},
                                   apiStages=[{"apiId": api_id, "stage": "dev"}], tags={"tag_key": "tag_value"})
    like(plan, test, "create-usage-plan", COMMON)
    key = apigw.create_api_key(name="testApiKey", enabled=True)
    like(key, test, "create-api-key", COMMON)
    like(apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY"), test,
         "create-usage-plan-key", COMMON)
    like(apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled",
                                                                   "value": "false"}]),
         test, "update-api-key-disabled", COMMON)
    assert ids(apigw.get_usage_plans(keyId=key["id"])) == [plan["id"]]
    with pytest.raises(ClientError) as info:
        apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    other = apigw.create_usage_plan(name="same stage", apiStages=[{"apiId": api_id, "stage": "dev"}])
    with pytest.raises(ClientError) as info:  # one plan per API stage for a key
        apigw.create_usage_plan_key(usagePlanId=other["id"], keyId=key["id"], keyType="API_KEY")
    assert info.value.response["Error"]["Code"] == "ConflictException"


def test_usage_plan_keys_as_aws(apigw):
    test = "test_get_usage_plan_api_keys"
    first = apigw.create_api_key(name="test-key-1111")
    second = apigw.create_api_key(name="test-key-2222")
    plan = apigw.create_usage_plan(name="usage-plan-keys")
    like(plan, test, "create-usage-plan")
    like(apigw.get_usage_plan_keys(usagePlanId=plan["id"]), test, "get-up-keys-before-create")
    like(apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=first["id"], keyType="API_KEY"), test,
         "create-up-key")
    like(apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=second["id"], keyType="API_KEY"), test,
         "create-up-key-2")
    listed = apigw.get_usage_plan_keys(usagePlanId=plan["id"])
    like(listed, test, "get-up-keys")
    assert ids(listed) == [second["id"], first["id"]]
    for key, query in (("get-up-keys-name-query", "test-key"), ("get-up-keys-name-query-cased", "TEST-key"),
                       ("get-up-keys-name-query-key-name", "test-key-1111"), ("get-up-keys-bad-query", "nothing")):
        like(apigw.get_usage_plan_keys(usagePlanId=plan["id"], nameQuery=query), test, key)
    got = apigw.get_usage_plan_key(usagePlanId=plan["id"], keyId=first["id"])
    assert (got["id"], got["type"], got["value"]) == (first["id"], "API_KEY", first["value"])
    apigw.delete_usage_plan_key(usagePlanId=plan["id"], keyId=second["id"])
    assert ids(apigw.get_usage_plan_keys(usagePlanId=plan["id"])) == [first["id"]]
    apigw.delete_api_key(apiKey=first["id"])  # leaves every plan it was in
    like(apigw.get_usage_plan_keys(usagePlanId=plan["id"]), test, "get-up-keys-after-delete")
    like(apigw.get_usage_plan_keys(usagePlanId="bad-id"), test, "get-up-keys-bad-usage-plan")
    with pytest.raises(ClientError) as info:
        apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId="missing", keyType="API_KEY")
    assert info.value.response["Error"]["Message"] == "Invalid API Key identifier specified"


def test_create_usage_plan_settings_and_checks(apigw):
    like(apigw.create_usage_plan(name="throttled", throttle={"rateLimit": 10, "burstLimit": 20}),
         "test_create_usage_plan_with_throttle", "create-usage-plan-burst-gt-rate")
    api_id = stage(apigw)
    plan = apigw.create_usage_plan(name="methods", apiStages=[
        {"apiId": api_id, "stage": "dev", "throttle": {"/test/GET": {"burstLimit": 5, "rateLimit": 1}}}])
    assert plan["apiStages"][0]["throttle"] == {"/test/GET": {"burstLimit": 5, "rateLimit": 1.0}}
    for stages, code in (([{"apiId": api_id, "stage": "nope"}], "NotFoundException"),
                         ([{"apiId": "", "stage": "dev"}], "BadRequestException")):
        with pytest.raises(ClientError) as info:
            apigw.create_usage_plan(name="bad", apiStages=stages)
        assert info.value.response["Error"]["Code"] == code
    with pytest.raises(ClientError) as info:
        apigw.create_usage_plan(name="bad", quota={"limit": 1, "period": "YEAR"})
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_update_usage_plan_stages_and_method_throttles(apigw):
    api_id = stage(apigw)
    plan_id = apigw.create_usage_plan(name="patched")["id"]

    def update(*ops: dict[str, str]) -> dict[str, Any]:
        return apigw.update_usage_plan(usagePlanId=plan_id, patchOperations=list(ops))

    got = update({"op": "add", "path": "/apiStages", "value": f"{api_id}:dev"})
    assert got["apiStages"] == [{"apiId": api_id, "stage": "dev"}]
    throttle_path = f"/apiStages/{api_id}:dev/throttle/~1test/GET"
    got = update({"op": "replace", "path": f"{throttle_path}/rateLimit", "value": "5"},
                 {"op": "replace", "path": f"{throttle_path}/burstLimit", "value": "7"})
    assert got["apiStages"][0]["throttle"] == {"/test/GET": {"burstLimit": 7, "rateLimit": 5.0}}
    got = update({"op": "remove", "path": throttle_path})
    assert "throttle" not in got["apiStages"][0]
    got = update({"op": "replace", "path": "/name", "value": "renamed"}, {"op": "replace", "path": "/productCode",
                                                                          "value": "p"},
                 {"op": "replace", "path": "/quota/limit", "value": "3"}, {"op": "replace", "path": "/quota/period",
                                                                          "value": "WEEK"})
    assert (got["name"], got["productCode"], got["quota"]) == ("renamed", "p", {"limit": 3, "offset": 0,
                                                                                "period": "WEEK"})
    got = update({"op": "remove", "path": "/quota"}, {"op": "remove", "path": "/productCode"})
    assert "quota" not in got and "productCode" not in got
    with pytest.raises(ClientError) as info:
        update({"op": "remove", "path": f"/apiStages/{api_id}:dev"})
    assert info.value.response["Error"]["Message"] == (
        f"Invalid patch path  '/apiStages/{api_id}:dev' specified for op 'remove'. Must be one of: [/apiStages, "
        "/quota, /throttle, /productCode, /apiStages/<apidId:stageName>/throttle/<resourcePath>/<httpMethod>, "
        "/apiStages/<apidId:stageName>/throttle]")
    with pytest.raises(ClientError) as info:  # a plan still serving API stages cannot go
        apigw.delete_usage_plan(usagePlanId=plan_id)
    assert info.value.response["Error"]["Message"] == (
        f"Cannot delete Usage Plan {plan_id} because there are API Stages associated with it, including {api_id}:dev")
    update({"op": "remove", "path": "/apiStages", "value": f"{api_id}:dev"})
    assert apigw.delete_usage_plan(usagePlanId=plan_id)["ResponseMetadata"]["HTTPStatusCode"] == 202
    with pytest.raises(ClientError):
        apigw.get_usage_plan(usagePlanId=plan_id)


# -- usage ----------------------------------------------------------------------------------------------

def test_get_and_update_usage(apigw):
    plan = apigw.create_usage_plan(name="metered", quota={"limit": 100, "period": "MONTH"})
    key = apigw.create_api_key(name="metered")
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    today = dt.datetime.now(dt.UTC).date()
    start = (today - dt.timedelta(days=1)).isoformat()
    got = apigw.get_usage(usagePlanId=plan["id"], startDate=start, endDate=today.isoformat())
    assert (got["usagePlanId"], got["startDate"], got["endDate"]) == (plan["id"], start, today.isoformat())
    assert got["items"][key["id"]][-1] == [0, 100]
    updated = apigw.update_usage(usagePlanId=plan["id"], keyId=key["id"], patchOperations=[
        {"op": "replace", "path": "/remaining", "value": "42"}])
    assert updated["items"] == {key["id"]: [[0, 42]]}
    got = apigw.get_usage(usagePlanId=plan["id"], keyId=key["id"], startDate=today.isoformat(),
                          endDate=today.isoformat())
    assert got["items"] == {key["id"]: [[0, 42]]}
    for start_date, end_date in (("2024-13-01", "2024-12-31"), ("2024-02-02", "2024-02-01")):
        with pytest.raises(ClientError) as info:
            apigw.get_usage(usagePlanId=plan["id"], startDate=start_date, endDate=end_date)
        assert info.value.response["Error"]["Code"] == "BadRequestException"


def test_usage_counters_follow_periods_and_resets(tmp_path):
    store = SqliteStore(tmp_path / "state.db")
    week = {"limit": 10, "offset": 0, "period": "WEEK"}
    # 2024-06-01 is a Saturday: its week began on Sunday 2024-05-26, the next one on 2024-06-02
    assert usage.record_use(store, "p", "k", "2024-06-01", 3) == 3
    usage.record_use(store, "p", "k", "2024-06-01")
    usage.record_use(store, "p", "k", "2024-06-02", 2)
    assert usage.usage(store, "p", "k", "2024-06-01") == 4
    days = usage.daily(store, "p", "k", dt.date(2024, 5, 31), dt.date(2024, 6, 2), week)
    assert days == [[0, 10], [4, 6], [2, 8]]
    usage.set_remaining(store, "p", "k", "2024-06-02", 50)
    usage.record_use(store, "p", "k", "2024-06-02")
    assert usage.remaining(store, "p", "k", "2024-06-02", week) == 49
    assert usage.remaining(store, "p", "k", "2024-06-03", week) == 49
    month = {"limit": 10, "offset": 4, "period": "MONTH"}
    assert usage.remaining(store, "p", "k", "2024-06-01", month, first_day=dt.date(2024, 6, 1)) == 2
    assert usage.remaining(store, "p", "k", "2024-07-01", month, first_day=dt.date(2024, 6, 1)) == 10
    assert usage.remaining(store, "p", "k", "2024-06-01", None) == 0
    usage.forget(store, "p", "k")
    assert usage.usage(store, "p", "k", "2024-06-01") == 0
    store.close()

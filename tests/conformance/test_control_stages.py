"""Deployments, stages and TestInvokeMethod through real boto3 against a running apiway: responses and
errors compared with the ones recorded from AWS (ids and dates normalised on both sides)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conformance.control_plane import assert_recorded_error, recorded_content

CANARY = "test_apigateway_canary.snapshot.json"
COMMON = "test_apigateway_common.snapshot.json"
INVALID_PATH = "Invalid method setting path: {}. Must be one of: ["


# -- helpers ------------------------------------------------------------------------------------------------

def normalise(value: Any, ids: dict[str, str]) -> Any:
    """This run's response in the recording's terms: ids → their placeholders, dates → "datetime"."""
    if isinstance(value, dict):
        return {k: normalise(v, ids) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [normalise(v, ids) for v in value]
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, str):
        return ids.get(value, value)
    return value


def assert_recorded(got: dict[str, Any], want: dict[str, Any], **ids: str) -> None:
    """Same fields and values as recorded; `ids` maps this run's ids to the recording's placeholders."""
    assert normalise(got, {v: k for k, v in ids.items()}) == normalise(want, {})
    assert got["ResponseMetadata"]["HTTPStatusCode"] == want["ResponseMetadata"]["HTTPStatusCode"]


def mock(template: dict[str, Any] | str) -> dict[str, Any]:
    """An OpenAPI operation on a MOCK integration answering 200 with `template`."""
    text = template if isinstance(template, str) else json.dumps(template)
    return {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": text}}}}}


def document(paths: dict[str, Any]) -> bytes:
    return json.dumps({"openapi": "3.0.1", "info": {"title": "stages", "version": "1"}, "paths": paths}).encode()


def root_api(apigw, template: dict[str, Any] | str | None = None) -> str:
    """An API whose GET / is a MOCK answering with `template`."""
    body = document({"/": {"get": mock(template or {"statusCode": 200, "message": "default deployment"})}})
    return apigw.import_rest_api(body=body)["id"]


def replace_template(apigw, api_id: str, template: dict[str, Any]) -> None:
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=document({"/": {"get": mock(template)}}))


def update(apigw, api_id: str, stage: str, *ops: dict[str, str]) -> dict[str, Any]:
    return apigw.update_stage(restApiId=api_id, stageName=stage, patchOperations=list(ops))


# -- deployments ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("create_stage_manually", [True, False])
def test_create_delete_deployments(apigw, create_stage_manually):
    test = f"test_create_delete_deployments[{create_stage_manually}]"
    want = recorded_content(test, COMMON)
    api_id = root_api(apigw)
    kwargs = {} if create_stage_manually else {"stageName": "s1"}

    def deploy() -> str:
        deployment_id = apigw.create_deployment(restApiId=api_id, **kwargs)["id"]
        if create_stage_manually:
            apigw.create_stage(restApiId=api_id, stageName="s1", deploymentId=deployment_id)
        return deployment_id

    deployment_id = deploy()
    ids = {"<deployment-id:1>": deployment_id}
    assert_recorded(apigw.get_deployment(restApiId=api_id, deploymentId=deployment_id), want["get-deployment"], **ids)
    assert_recorded(apigw.get_stages(restApiId=api_id), want["get-stages"], **ids)
    for i in range(3):
        assert_recorded_error(lambda d=deployment_id: apigw.delete_deployment(restApiId=api_id, deploymentId=d),
                              test, f"delete-deployment-error-{i}", snapshot=COMMON)
        apigw.delete_stage(restApiId=api_id, stageName="s1")
        apigw.delete_deployment(restApiId=api_id, deploymentId=deployment_id)
        deployment_id = deploy()
        ids = {f"<id:{i + 1}>": deployment_id}
        assert_recorded(apigw.get_deployments(restApiId=api_id), want[f"get-deployments-{i}"], **ids)
        assert_recorded(apigw.get_stages(restApiId=api_id), want[f"get-stages-{i}"], **ids)


def test_create_update_deployments(apigw):
    test = "test_create_update_deployments"
    want = recorded_content(test, COMMON)
    api_id = root_api(apigw)
    first = apigw.create_deployment(restApiId=api_id)["id"]
    apigw.create_stage(restApiId=api_id, stageName="s1", deploymentId=first)
    ids = {"<deployment-id:1>": first}
    assert_recorded(apigw.get_deployment(restApiId=api_id, deploymentId=first), want["get-deployment-1"], **ids)
    assert_recorded(apigw.get_stages(restApiId=api_id), want["get-stages"], **ids)
    assert_recorded_error(lambda: apigw.delete_deployment(restApiId=api_id, deploymentId=first), test,
                          "delete-deployment-error", snapshot=COMMON)
    second = apigw.create_deployment(restApiId=api_id, stageName="s1")["id"]
    ids["<deployment-id:2>"] = second
    assert_recorded(apigw.get_deployment(restApiId=api_id, deploymentId=first), want["get-deployment-1-after-update"],
                    **ids)
    assert_recorded(apigw.get_deployment(restApiId=api_id, deploymentId=second), want["get-deployment-2"], **ids)
    assert_recorded(apigw.get_stages(restApiId=api_id), want["get-stages-after-update"], **ids)
    assert_recorded(apigw.delete_deployment(restApiId=api_id, deploymentId=first), want["delete-deployment-1"])
    assert_recorded_error(lambda: apigw.delete_deployment(restApiId=api_id, deploymentId=second), test,
                          "delete-deployment-2-error", snapshot=COMMON)


def test_deployment_description_and_api_summary(apigw):
    want = recorded_content("test_update_rest_api_deployment", "test_apigateway_basic.snapshot.json")["after-update"]
    api_id = root_api(apigw)
    deployment_id = apigw.create_deployment(restApiId=api_id, description="old")["id"]
    got = apigw.update_deployment(restApiId=api_id, deploymentId=deployment_id, patchOperations=[
        {"op": "replace", "path": "/description", "value": "new-description"}])
    assert_recorded(got, want, **{"<id:1>": deployment_id})
    summary = apigw.get_deployment(restApiId=api_id, deploymentId=deployment_id, embed=["apisummary"])["apiSummary"]
    assert summary == {"/": {"GET": {"authorizationType": "NONE", "apiKeyRequired": False}}}


def test_deploying_needs_methods_and_integrations(apigw):
    empty = apigw.create_rest_api(name="empty")["id"]
    with pytest.raises(ClientError) as info:
        apigw.create_deployment(restApiId=empty, stageName="dev")
    assert info.value.response["Error"]["Message"] == "The REST API doesn't contain any methods"
    no_integration = apigw.import_rest_api(body=document({"/": {"get": {"responses": {"200": {"description": "ok"}}}}}))
    with pytest.raises(ClientError) as info:
        apigw.create_deployment(restApiId=no_integration["id"], stageName="dev")
    assert info.value.response["Error"]["Code"] == "BadRequestException"
    assert "No integration defined for method" in info.value.response["Error"]["Message"]
    assert apigw.get_stages(restApiId=no_integration["id"])["item"] == []  # nothing written


# -- stages ----------------------------------------------------------------------------------------------------

def documented_stage(apigw, want: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """Stage s1, described and documented, of a new API's deployment, checked against the recorded
    `create-stage`: (API id, the deployment id as the recording's placeholder)."""
    api_id = root_api(apigw)
    deployment_id = apigw.create_deployment(restApiId=api_id)["id"]
    ids = {"<deployment-id:1>": deployment_id}
    got = apigw.create_stage(restApiId=api_id, stageName="s1", deploymentId=deployment_id, description="my stage",
                             documentationVersion="v123")
    assert_recorded(got, want["create-stage"], **ids)
    return api_id, ids


def test_create_update_stages(apigw):
    test = "test_create_update_stages"
    want = recorded_content(test, COMMON)
    api_id, ids = documented_stage(apigw, want)
    for key, path in (("error-update-doc-version", "/documentation_version"), ("error-update-tags", "/tags/tag1")):
        assert_recorded_error(lambda path=path: update(apigw, api_id, "s1", {"op": "replace", "path": path,
                                                                             "value": "v"}),
                              test, key, snapshot=COMMON)
    got = update(apigw, api_id, "s1",
                 {"op": "replace", "path": "/description", "value": "stage new"},
                 {"op": "replace", "path": "/variables/var1", "value": "test"},
                 {"op": "replace", "path": "/variables/var2", "value": "test2"},
                 {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "123"},
                 {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
                 {"op": "replace", "path": "/tracingEnabled", "value": "true"},
                 {"op": "replace", "path": "/test/GET/throttling/burstLimit", "value": "124"})
    assert_recorded(got, want["update-stage"], **ids)
    assert_recorded(apigw.get_stage(restApiId=api_id, stageName="s1"), want["get-stage"], **ids)
    got = update(apigw, api_id, "s1", {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "100"})
    assert_recorded(got, want["update-stage-override"], **ids)


def test_update_stage_remove_wildcard(apigw):
    test = "test_update_stage_remove_wildcard"
    want = recorded_content(test, COMMON)
    api_id, ids = documented_stage(apigw, want)
    assert_recorded(apigw.get_stage(restApiId=api_id, stageName="s1"), want["get-stage"], **ids)
    assert_recorded_error(lambda: update(apigw, api_id, "s1", {"op": "remove", "path": "/*/*"}), test, "delete-error",
                          snapshot=COMMON)
    got = update(apigw, api_id, "s1", {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"})
    assert_recorded(got, want["update-stage"], **ids)
    assert_recorded(update(apigw, api_id, "s1", {"op": "remove", "path": "/*/*"}), want["update-stage-reset"], **ids)
    assert_recorded(apigw.get_stage(restApiId=api_id, stageName="s1"), want["get-stage-after-reset"], **ids)


def test_method_settings_keys_and_fields(apigw):
    api_id = root_api(apigw)
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    got = update(apigw, api_id, "dev",
                 {"op": "replace", "path": "/~1pets~1{id}/GET/logging/loglevel", "value": "INFO"},
                 {"op": "replace", "path": "/pets/{id}/GET/metrics/enabled", "value": "true"},
                 {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "12.5"},
                 {"op": "replace", "path": "/*/*/caching/ttlInSeconds", "value": "60"},
                 {"op": "replace", "path": "/*/*/caching/unauthorizedCacheControlHeaderStrategy",
                  "value": "FAIL_WITH_403"})
    settings = got["methodSettings"]
    assert set(settings) == {"pets/{id}/GET", "*/*"}  # both spellings of a resource path name one method
    assert settings["pets/{id}/GET"]["loggingLevel"] == "INFO" and settings["pets/{id}/GET"]["metricsEnabled"]
    assert settings["*/*"]["throttlingRateLimit"] == 12.5 and settings["*/*"]["cacheTtlInSeconds"] == 60
    assert settings["*/*"]["unauthorizedCacheControlHeaderStrategy"] == "FAIL_WITH_403"
    with pytest.raises(ClientError) as info:
        update(apigw, api_id, "dev", {"op": "replace", "path": "/*/*/metrics/enabled", "value": "maybe"})
    assert info.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(ClientError) as info:
        update(apigw, api_id, "dev", {"op": "replace", "path": "/*/*/metrics/other", "value": "true"})
    assert info.value.response["Error"]["Message"].startswith(INVALID_PATH.format("/*/*/metrics/other"))


def test_get_stages_filters_by_deployment_id(apigw):
    want = recorded_content("test_get_stages_filters_by_deployment_id")
    api_id = root_api(apigw)
    first = apigw.create_deployment(restApiId=api_id)["id"]
    second = apigw.create_deployment(restApiId=api_id)["id"]
    apigw.create_stage(restApiId=api_id, stageName="stage1", deploymentId=first)
    apigw.create_stage(restApiId=api_id, stageName="stage2", deploymentId=second)
    ids = {"<deployment-id:1>": first, "<deployment-id:2>": second}
    assert_recorded(apigw.get_stages(restApiId=api_id), want["all-stages"], **ids)
    assert_recorded(apigw.get_stages(restApiId=api_id, deploymentId=first), want["stages-deploy1"], **ids)
    assert_recorded(apigw.get_stages(restApiId=api_id, deploymentId=second), want["stages-deploy2"], **ids)


def _access_log_stage(apigw, want: dict[str, Any]) -> tuple[str, dict[str, str]]:
    api_id = root_api(apigw)
    deployment = apigw.create_deployment(restApiId=api_id)
    ids = {"<id:1>": deployment["id"]}
    assert_recorded(deployment, want["create-deployment"], **ids)
    got = apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployment["id"], description="dev stage")
    assert_recorded(got, want["create-stage"], **ids)
    return api_id, ids


ARN = "arn:aws:logs:us-east-1:123456789012:log-group:stage-logs"


def test_stage_access_log_settings(apigw):
    want = recorded_content("test_stage_access_log_settings")
    api_id, ids = _access_log_stage(apigw, want)
    ids |= {"<log-group-arn>": ARN, "<log-group-arn>a": ARN + "a"}
    got = update(apigw, api_id, "dev", {"op": "add", "path": "/accessLogSettings/destinationArn", "value": ARN})
    assert_recorded(got, want["update-stage-access-log-dest-add"], **ids)
    got = update(apigw, api_id, "dev",
                 {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": ARN + "a"})
    assert_recorded(got, want["update-stage-access-log-dest-replace"], **ids)
    got = update(apigw, api_id, "dev", {"op": "add", "path": "/accessLogSettings/format",
                                        "value": "$context.requestId $context.identity.sourceIp"})
    assert_recorded(got, want["update-stage-access-log-format-add"], **ids)
    got = update(apigw, api_id, "dev", {"op": "remove", "path": "/accessLogSettings"})
    assert_recorded(got, want["update-stage-access-log-remove-all"], **ids)


@pytest.mark.parametrize("key, op, path", [
    ("invalid-path-add", "add", "/accessLogSettings/randomValue"),
    ("invalid-path-remove", "remove", "/accessLogSettings/randomValue"),
    ("invalid-path-replace", "replace", "/accessLogSettings/randomValue"),
    ("star-and-add", "add", "/accessLogSettings/*"),
    ("star-and-remove", "remove", "/accessLogSettings/*"),
    ("star-and-replace", "replace", "/accessLogSettings/*"),
    ("root-and-add", "add", "/accessLogSettings"),
    ("root-and-replace", "replace", "/accessLogSettings"),
    ("update-stage-access-log-dest-remove", "remove", "/accessLogSettings/destinationArn"),
])
def test_stage_access_log_settings_validation(apigw, key, op, path):
    api_id, _ = _access_log_stage(apigw, recorded_content("test_stage_access_log_settings_validation"))
    assert_recorded_error(lambda: update(apigw, api_id, "dev", {"op": op, "path": path, "value": ARN}),
                          "test_stage_access_log_settings_validation", key)


def test_stage_access_log_settings_empty_values(apigw):
    test = "test_stage_access_log_settings_validation"
    want = recorded_content(test)
    api_id, ids = _access_log_stage(apigw, want)
    got = update(apigw, api_id, "dev", {"op": "add", "path": "/accessLogSettings/destinationArn", "value": ARN})
    assert_recorded(got, want["update-stage-access-log-dest-add"], **ids, **{"<log-group-arn>": ARN})
    for key, field in (("update-stage-access-log-destinationArn-empty", "destinationArn"),
                       ("update-stage-access-log-format-empty", "format")):
        assert_recorded_error(lambda field=field: update(apigw, api_id, "dev", {
            "op": "replace", "path": f"/accessLogSettings/{field}", "value": ""}), test, key)


def test_stage_errors(apigw):
    api_id = root_api(apigw)
    deployment_id = apigw.create_deployment(restApiId=api_id, stageName="dev")["id"]
    for call, code in (
        (lambda: apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployment_id), "Conflict"),
        (lambda: apigw.get_stage(restApiId=api_id, stageName="nope"), "NotFound"),
        (lambda: apigw.delete_stage(restApiId=api_id, stageName="nope"), "NotFound"),
        (lambda: apigw.flush_stage_cache(restApiId=api_id, stageName="nope"), "NotFound"),
        (lambda: apigw.create_stage(restApiId=api_id, stageName="x", deploymentId="nope"), "NotFound"),
        (lambda: apigw.create_stage(restApiId=api_id, stageName="x", deploymentId=deployment_id,
                                    variables={"bad-name": "v"}), "BadRequest"),
        (lambda: update(apigw, api_id, "dev", {"op": "replace", "path": "/variables/v", "value": "a b"}), "BadRequest"),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == f"{code}Exception"
    assert apigw.flush_stage_cache(restApiId=api_id, stageName="dev")["ResponseMetadata"]["HTTPStatusCode"] == 202
    got = apigw.flush_stage_authorizers_cache(restApiId=api_id, stageName="dev")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert apigw.delete_stage(restApiId=api_id, stageName="dev")["ResponseMetadata"]["HTTPStatusCode"] == 202


# -- canary ----------------------------------------------------------------------------------------------------

def test_canary_create_update_stages(apigw):
    want = recorded_content("test_create_update_stages", CANARY)
    api_id = root_api(apigw)
    first = apigw.create_deployment(restApiId=api_id)
    replace_template(apigw, api_id, {"statusCode": 200, "message": "second deployment"})
    second = apigw.create_deployment(restApiId=api_id)
    ids = {"<deployment-id:2>": first["id"], "<deployment-id:1>": second["id"]}
    assert_recorded(first, want["create-deployment-1"], **ids)
    assert_recorded(second, want["create-deployment-2"], **ids)
    got = apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=first["id"], description="dev stage",
                             variables={"testVar": "default"}, canarySettings={
                                 "deploymentId": second["id"], "percentTraffic": 50,
                                 "stageVariableOverrides": {"testVar": "canary"}})
    assert_recorded(got, want["create-stage"], **ids)
    assert_recorded(apigw.get_stage(restApiId=api_id, stageName="dev"), want["get-stage"], **ids)
    got = update(apigw, api_id, "dev",
                 {"op": "replace", "path": "/canarySettings/stageVariableOverrides/testVar", "value": "updated"})
    assert_recorded(got, want["update-stage-canary-settings-overrides"], **ids)
    got = update(apigw, api_id, "dev", {"op": "remove", "path": "/canarySettings"})
    assert_recorded(got, want["update-stage-remove-canary-settings"], **ids)
    assert_recorded(apigw.get_stage(restApiId=api_id, stageName="dev"), want["get-stage-after-remove"], **ids)


def deployed_once(apigw, want: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """A new API with one deployment, checked against the recorded `create-deployment`: (API id,
    deployment id, the deployment id as the recording's placeholder)."""
    api_id = root_api(apigw)
    first = apigw.create_deployment(restApiId=api_id)
    ids = {"<deployment-id:1>": first["id"]}
    assert_recorded(first, want["create-deployment"], **ids)
    return api_id, first["id"], ids


def test_create_canary_deployment_with_stage(apigw):
    want = recorded_content("test_create_canary_deployment_with_stage", CANARY)
    api_id, first_id, ids = deployed_once(apigw, want)
    got = apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=first_id, description="dev stage",
                             variables={"testVar": "default"})
    assert_recorded(got, want["create-stage"], **ids)
    canary = apigw.create_deployment(restApiId=api_id, stageName="dev", canarySettings={
        "percentTraffic": 50, "stageVariableOverrides": {"testVar": "canary"}})
    ids["<deployment-id:2>"] = canary["id"]
    assert_recorded(canary, want["create-canary-deployment"], **ids)
    assert_recorded(apigw.get_stage(restApiId=api_id, stageName="dev"), want["get-stage"], **ids)


def test_create_canary_deployment(apigw):
    test = "test_create_canary_deployment"
    want = recorded_content(test, CANARY)
    api_id, first_id, ids = deployed_once(apigw, want)
    got = apigw.create_stage(restApiId=api_id, stageName="dev1", deploymentId=first_id, description="dev stage",
                             variables={"testVar": "default"}, canarySettings={
                                 "deploymentId": first_id, "percentTraffic": 40,
                                 "stageVariableOverrides": {"testVar": "canary1"}})
    assert_recorded(got, want["create-stage"], **ids)
    canary = apigw.create_deployment(restApiId=api_id, stageName="dev1", canarySettings={
        "percentTraffic": 50, "stageVariableOverrides": {"testVar": "canary2"}})
    ids["<deployment-id:2>"] = canary["id"]
    assert_recorded(canary, want["create-canary-deployment"], **ids)
    assert_recorded(apigw.get_stage(restApiId=api_id, stageName="dev1"), want["get-stage-1"], **ids)
    got = apigw.create_stage(restApiId=api_id, stageName="dev2", deploymentId=first_id, description="dev stage",
                             variables={"testVar": "default"}, canarySettings={
                                 "deploymentId": canary["id"], "percentTraffic": 60,
                                 "stageVariableOverrides": {"testVar": "canary-overridden"}})
    assert_recorded(got, want["create-stage-2"], **ids)
    assert_recorded_error(lambda: apigw.create_stage(restApiId=api_id, stageName="dev3", deploymentId=first_id,
                                                     description="dev stage", canarySettings={"deploymentId": "deploy"}),
                          test, "bad-canary-deployment-id", snapshot=CANARY)


def test_create_canary_deployment_by_stage_update(apigw):
    want = recorded_content("test_create_canary_deployment_by_stage_update", CANARY)
    api_id, first_id, ids = deployed_once(apigw, want)
    second = apigw.create_deployment(restApiId=api_id)
    ids["<deployment-id:2>"] = second["id"]
    assert_recorded(second, want["create-deployment-2"], **ids)
    got = apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=first_id, description="dev stage",
                             variables={"testVar": "default"})
    assert_recorded(got, want["create-stage"], **ids)
    got = update(apigw, api_id, "dev", {"op": "replace", "path": "/canarySettings/deploymentId", "value": second["id"]})
    assert_recorded(got, want["update-stage-with-deployment"], **ids)
    assert_recorded(update(apigw, api_id, "dev", {"op": "remove", "path": "/canarySettings"}),
                    want["remove-stage-canary"], **ids)
    got = update(apigw, api_id, "dev", {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "50"})
    assert_recorded(got, want["update-stage-with-percent"], **ids)
    assert_recorded(apigw.get_stage(restApiId=api_id, stageName="dev"), want["get-stage"], **ids)


@pytest.mark.parametrize("key, stage", [
    ("create-canary-deployment-no-stage", None),
    ("create-canary-deployment-empty-stage", ""),
    ("create-canary-deployment-non-existing-stage", "non-existing"),
])
def test_create_canary_deployment_validation(apigw, key, stage):
    api_id = root_api(apigw)
    kwargs = {} if stage is None else {"stageName": stage}
    assert_recorded_error(lambda: apigw.create_deployment(restApiId=api_id, canarySettings={
        "percentTraffic": 50, "stageVariableOverrides": {"testVar": "canary"}}, **kwargs),
        "test_create_canary_deployment_validation", key, snapshot=CANARY)


def test_update_stage_canary_deployment_validation(apigw):
    test = "test_update_stage_canary_deployment_validation"
    want = recorded_content(test, CANARY)
    api_id = root_api(apigw)
    first = apigw.create_deployment(restApiId=api_id, stageName="dev")
    assert_recorded(apigw.get_stage(restApiId=api_id, stageName="dev"), want["get-stage"],
                    **{"<deployment-id:1>": first["id"]})
    apigw.create_deployment(restApiId=api_id, stageName="dev", canarySettings={
        "percentTraffic": 50, "stageVariableOverrides": {"testVar": "canary"}})
    for key, op in (
        ("update-stage-canary-settings-remove-overrides",
         {"op": "remove", "path": "/canarySettings/stageVariableOverrides"}),
        ("update-stage-canary-settings-bad-path", {"op": "remove", "path": "/canarySettings/badPath"}),
        ("update-stage-canary-settings-bad-path-2", {"op": "replace", "path": "/canarySettings", "value": "test"}),
        ("update-stage-canary-settings-replace-bad-path",
         {"op": "replace", "path": "/canarySettings/badPath", "value": "badPath"}),
    ):
        assert_recorded_error(lambda op=op: update(apigw, api_id, "dev", op), test, key, snapshot=CANARY)
    second = apigw.create_deployment(restApiId=api_id, stageName="dev2")["id"]
    for key, op in (
        ("update-stage-add-deployment", {"op": "add", "path": "/canarySettings/deploymentId", "value": second}),
        ("update-stage-no-deployment", {"op": "replace", "path": "/canarySettings/deploymentId", "value": "deploy"}),
    ):
        assert_recorded_error(lambda op=op: update(apigw, api_id, "dev2", op), test, key, snapshot=CANARY)


PROMOTE = ({"op": "replace", "value": "0.0", "path": "/canarySettings/percentTraffic"},
           {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
           {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"})


def test_update_stage_with_copy_ops(apigw):
    test = "test_update_stage_with_copy_ops"
    want = recorded_content(test, CANARY)
    api_id = root_api(apigw)
    first = apigw.create_deployment(restApiId=api_id, stageName="dev",
                                    variables={"testVar": "test", "testVar2": "test2"})
    ids = {"<deployment-id:1>": first["id"]}
    assert_recorded(first, want["deployment-1"], **ids)
    assert_recorded_error(lambda: update(
        apigw, api_id, "dev", {"op": "copy", "path": "/canarySettings/stageVariableOverrides", "from": "/variables"},
        {"op": "copy", "path": "/canarySettings/deploymentId", "from": "/deploymentId"}),
        test, "copy-with-bad-statement", snapshot=CANARY)
    assert_recorded_error(lambda: update(apigw, api_id, "dev", *PROMOTE[1:]), test, "copy-with-no-replace",
                          snapshot=CANARY)
    assert_recorded(update(apigw, api_id, "dev", *PROMOTE), want["update-stage-with-copy"], **ids)
    canary = apigw.create_deployment(restApiId=api_id, stageName="dev", canarySettings={
        "percentTraffic": 50, "stageVariableOverrides": {"testVar": "override"}})
    ids["<deployment-id:2>"] = canary["id"]
    assert_recorded(canary, want["deployment-canary"], **ids)
    assert_recorded(apigw.get_stage(restApiId=api_id, stageName="dev"), want["get-stage"], **ids)
    assert_recorded(update(apigw, api_id, "dev", *PROMOTE), want["update-stage-with-copy-2"], **ids)


def test_canary_stage_base_deployment_serves(apigw, apigw_server):
    """The base deployment answers with the stage's own variables while a 0 % canary is attached."""
    want = recorded_content("test_invoking_canary_deployment", CANARY)
    template = {"statusCode": 200, "message": "default deployment", "variable": "$stageVariables.testVar",
                "nonExistingDefault": "$stageVariables.noStageVar", "nonOverridden": "$stageVariables.defaultVar",
                "isCanary": "$context.isCanaryRequest"}
    api_id = root_api(apigw, template)
    first = apigw.create_deployment(restApiId=api_id, stageName="dev",
                                    variables={"testVar": "default", "defaultVar": "default"})
    replace_template(apigw, api_id, {**template, "message": "canary deployment"})
    second = apigw.create_deployment(restApiId=api_id, stageName="dev", canarySettings={
        "percentTraffic": 0, "stageVariableOverrides": {"testVar": "canary", "noStageVar": "canary"}})
    ids = {"<deployment-id:2>": first["id"], "<deployment-id:1>": second["id"]}
    assert_recorded(first, want["create-deployment-1"], **ids)
    assert_recorded(second, want["create-deployment-2"], **ids)
    assert apigw_server.call("GET", api_id, "dev", "/").json() == want["response-deployment-1"]
    got = update(apigw, api_id, "dev", {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "100.0"})
    assert_recorded(got, want["update-stage"], **ids)


# -- TestInvokeMethod --------------------------------------------------------------------------------------------

_STAMP = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d UTC \d{4} : ", re.M)
_STAMPED = "DDD MMM dd hh:mm:ss UTC yyyy : "


def as_recorded(got: dict[str, Any], request_id: str) -> dict[str, Any]:
    """A TestInvokeMethod answer in the recording's form: body parsed, log split into numbered lines with
    timestamps and the request id normalised."""
    own_id = re.match(r"Execution log for request (\S+)", got["log"]).group(1)  # type: ignore[union-attr]
    log = _STAMP.sub(_STAMPED, got["log"]).replace(own_id, request_id)
    return {**got, "body": json.loads(got["body"]), "latency": "<latency>",
            "log": {f"line{i:02d}": line for i, line in enumerate(log.split("\n"))}}


@pytest.fixture(scope="module")
def pets_api(apigw) -> tuple[str, dict[str, str]]:
    """The API TestInvokeMethod was recorded with: GET /pets, GET and POST /pets/{petId} on MOCKs."""
    pet = mock({"petId": "$input.params('petId')"})
    body = document({"/pets": {"get": mock({"pets": "all the pets"})}, "/pets/{petId}": {"get": pet, "post": pet}})
    api_id = apigw.import_rest_api(body=body)["id"]
    return api_id, {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api_id)["items"]}


@pytest.mark.parametrize("n, key, path, method, kwargs", [
    (1, "test-invoke-method-get-pets", "/pets", "GET", {"pathWithQueryString": "/pets"}),
    (2, "test-invoke-method-get-pets-bad-path", "/pets", "GET", {"pathWithQueryString": "/random/test"}),
    (3, "test-invoke-method-get-pets-id", "/pets/{petId}", "GET", {"pathWithQueryString": "/pets/123"}),
    (4, "test-invoke-method-get-pets-id-no-path", "/pets/{petId}", "GET", {}),
    (5, "test-invoke-method-get-pets-id-bad-path", "/pets/{petId}", "GET", {"pathWithQueryString": "/random/test"}),
    (6, "test-invoke-method-get-with-qs", "/pets/{petId}", "GET", {"pathWithQueryString": "/pets/123?foo=bar"}),
    (7, "test-invoke-method-post-with-body", "/pets/{petId}", "POST",
     {"pathWithQueryString": "/pets/123", "body": json.dumps({"foo": "bar"})}),
])
def test_invoke_test_method(apigw, pets_api, n, key, path, method, kwargs):
    api_id, resources = pets_api
    got = apigw.test_invoke_method(restApiId=api_id, resourceId=resources[path], httpMethod=method, **kwargs)
    want = recorded_content("test_invoke_test_method")[key]
    assert_recorded(as_recorded(got, f"<request-id-{n}>"), want)


def test_invoke_test_method_errors(apigw, pets_api):
    api_id, resources = pets_api
    test = "test_invoke_test_method"
    assert_recorded_error(lambda: apigw.test_invoke_method(restApiId=api_id, resourceId=resources["/pets"],
                                                           httpMethod="POST"), test, "resource-method-not-found")
    assert_recorded_error(lambda: apigw.test_invoke_method(restApiId=api_id, resourceId="invalid_res",
                                                           httpMethod="POST"), test, "resource-id-not-found")
    assert_recorded_error(lambda: apigw.test_invoke_method(restApiId="invalid_api", resourceId="invalid_res",
                                                           httpMethod="POST"), test, "rest-api-not-found")


def test_failed_invoke_test_method(apigw):
    want = recorded_content("test_failed_invoke_test_method")["test-invoke-failure"]
    unreachable = {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": {
        "type": "http", "httpMethod": "GET", "uri": "http://127.0.0.1:1/"}}
    api_id = apigw.import_rest_api(body=document({"/": {"get": unreachable}}))["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    got = as_recorded(apigw.test_invoke_method(restApiId=api_id, resourceId=root, httpMethod="GET"),
                      "<request-id-1>")
    # Why the endpoint failed is worded by the integration; the rest is AWS's log line for line.
    assert got["log"].pop("line07").startswith(_STAMPED + "Execution failed due to configuration error: ")
    want = {**want, "log": {k: v for k, v in want["log"].items() if k != "line07"}}
    assert_recorded(got, want)

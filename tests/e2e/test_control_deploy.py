"""Deploying through the control plane, end to end: real boto3 against a real `apiway serve`, and real
invocations of what the stages serve. A deployment is a snapshot: later API changes wait for the next
one, while stage changes (variables, re-pointing, deletion) take effect on the very next request."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conformance.control_plane import assert_recorded_error
from tests.e2e.echo_backend import EchoServer
from tests.support import Server


def api_document(version: str, backend: EchoServer) -> bytes:
    """GET /greeting answers from a MOCK naming the version and a stage variable; GET /echo proxies to
    the echo backend under a path taken from a stage variable."""
    template = json.dumps({"version": version, "stage": "$context.stage", "who": "$stageVariables.who"})
    greeting = {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": template}}}}}
    echo = {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": {
        "type": "http_proxy", "httpMethod": "GET", "uri": f"http://{backend.address}/${{stageVariables.prefix}}/x"}}
    return json.dumps({"openapi": "3.0.1", "info": {"title": "deploy", "version": version},
                       "paths": {"/greeting": {"get": greeting}, "/echo": {"get": echo}}}).encode()


def greeting(server: Server, api_id: str, stage: str) -> dict:
    reply = server.call("GET", api_id, stage, "/greeting")
    assert reply.status == 200, reply.body
    return reply.json()


def test_deploy_serves_snapshot_and_stage_changes_apply_at_once(apigw, apigw_server, backend):
    api_id = apigw.import_rest_api(body=api_document("v1", backend))["id"]
    first = apigw.create_deployment(restApiId=api_id, stageName="dev", variables={"who": "alice", "prefix": "one"})
    assert greeting(apigw_server, api_id, "dev") == {"version": "v1", "stage": "dev", "who": "alice"}
    assert apigw_server.call("GET", api_id, "dev", "/echo").json()["path"] == "/one/x"

    # Changing the API changes nothing live until it is deployed again.
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=api_document("v2", backend))
    assert greeting(apigw_server, api_id, "dev")["version"] == "v1"
    second = apigw.create_deployment(restApiId=api_id, stageName="dev", description="second")
    assert greeting(apigw_server, api_id, "dev") == {"version": "v2", "stage": "dev", "who": "alice"}

    # Stage variables are read by the very next request.
    apigw.update_stage(restApiId=api_id, stageName="dev", patchOperations=[
        {"op": "replace", "path": "/variables/who", "value": "bob"},
        {"op": "replace", "path": "/variables/prefix", "value": "two"}])
    assert greeting(apigw_server, api_id, "dev")["who"] == "bob"
    assert apigw_server.call("GET", api_id, "dev", "/echo").json()["path"] == "/two/x"

    # Another stage on the old deployment serves the old snapshot beside the new one.
    apigw.create_stage(restApiId=api_id, stageName="prod", deploymentId=first["id"], variables={"who": "carol"})
    assert greeting(apigw_server, api_id, "prod") == {"version": "v1", "stage": "prod", "who": "carol"}

    # Rolling a stage back is re-pointing it.
    apigw.update_stage(restApiId=api_id, stageName="dev", patchOperations=[
        {"op": "replace", "path": "/deploymentId", "value": first["id"]}])
    assert greeting(apigw_server, api_id, "dev")["version"] == "v1"

    # A deleted stage answers 403 on the next request; the other stage still serves.
    assert apigw.delete_stage(restApiId=api_id, stageName="dev")["ResponseMetadata"]["HTTPStatusCode"] == 202
    gone = apigw_server.call("GET", api_id, "dev", "/greeting")
    assert gone.status == 403 and gone.json() == {"message": "Forbidden"}
    assert greeting(apigw_server, api_id, "prod")["version"] == "v1"

    # Deployments in use cannot be deleted; unused ones can.
    assert_recorded_error(lambda: apigw.delete_deployment(restApiId=api_id, deploymentId=first["id"]),
                          "test_create_update_deployments", "delete-deployment-error",
                          snapshot="test_apigateway_common.snapshot.json")
    assert apigw.delete_deployment(restApiId=api_id, deploymentId=second["id"])["ResponseMetadata"][
        "HTTPStatusCode"] == 202
    assert [d["id"] for d in apigw.get_deployments(restApiId=api_id)["items"]] == [first["id"]]


def test_test_invoke_runs_the_undeployed_definition(apigw, apigw_server, backend):
    api_id = apigw.import_rest_api(body=api_document("v1", backend))["id"]
    apigw.create_deployment(restApiId=api_id, stageName="live", variables={"who": "alice"})
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=api_document("draft", backend))
    resources = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api_id)["items"]}

    got = apigw.test_invoke_method(restApiId=api_id, resourceId=resources["/greeting"], httpMethod="GET",
                                   stageVariables={"who": "tester"})
    assert got["status"] == 200
    assert json.loads(got["body"]) == {"version": "draft", "stage": "test-invoke-stage", "who": "tester"}
    assert "Method completed with status: 200" in got["log"]
    assert greeting(apigw_server, api_id, "live")["version"] == "v1"  # the stage still serves its snapshot

    got = apigw.test_invoke_method(restApiId=api_id, resourceId=resources["/echo"], httpMethod="GET",
                                   pathWithQueryString="/echo?q=1", headers={"X-Test": "yes"},
                                   stageVariables={"prefix": "tried"})
    echoed = json.loads(got["body"])
    assert (got["status"], echoed["path"], echoed["query"]) == (200, "/tried/x", "q=1")
    assert ["X-Test", "yes"] in echoed["headers"]
    assert "Method request query string: {q=1}" in got["log"]


def test_invalid_stage_changes_write_nothing(apigw, apigw_server, backend):
    api_id = apigw.import_rest_api(body=api_document("v1", backend))["id"]
    apigw.create_deployment(restApiId=api_id, stageName="dev", variables={"who": "alice"})
    with pytest.raises(ClientError):
        apigw.update_stage(restApiId=api_id, stageName="dev", patchOperations=[
            {"op": "replace", "path": "/variables/who", "value": "bob"},
            {"op": "replace", "path": "/nope", "value": "x"}])
    assert apigw.get_stage(restApiId=api_id, stageName="dev")["variables"] == {"who": "alice"}
    assert greeting(apigw_server, api_id, "dev")["who"] == "alice"

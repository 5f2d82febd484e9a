"""Canary releases on a stage (spec §1.7.2), end to end: real boto3 against a real `apiway serve`.

A stage's `canarySettings` send `percentTraffic` percent of its requests to the canary deployment, whose
requests see the stage variables with `stageVariableOverrides` applied and `$context.isCanaryRequest`
true; promotion (UpdateStage copy + remove) serves the canary as the stage from the next request on.
The responses are compared with AWS's recorded ones (INDEX row 13)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Server, apigateway_client, recorded

STAGE = "dev"
REQUESTS = 10_000


def document(message: str) -> bytes:
    """GET / answers, from a MOCK, what the recorded AWS test's template prints."""
    template = json.dumps({
        "statusCode": 200, "message": message, "variable": "$stageVariables.testVar",
        "nonExistingDefault": "$stageVariables.noStageVar", "nonOverridden": "$stageVariables.defaultVar",
        "isCanary": "$context.isCanaryRequest", "deploymentId": "$context.deploymentId",
    })
    get = {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": template}}}}}
    return json.dumps({"openapi": "3.0.1", "info": {"title": "canary", "version": "1"},
                       "paths": {"/": {"get": get}}}).encode()


class Client:
    """One keep-alive connection to the stage: ten thousand requests without ten thousand handshakes."""

    def __init__(self, server: Server, api_id: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        self.host = f"{api_id}.execute-api.localhost:{server.port}"

    def get(self) -> dict:
        self.conn.request("GET", f"/{STAGE}/", headers={"Host": self.host})
        resp = self.conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body
        return json.loads(body)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def canary_api(apigw, apigw_server: Server) -> Iterator[tuple[str, str, str, Client]]:
    """The recorded AWS setup: stage `dev` with testVar/defaultVar on a first deployment, then a canary
    deployment of a changed API at 0% with overrides testVar=canary, noStageVar=canary."""
    api_id = apigw.import_rest_api(body=document("default deployment"))["id"]
    base = apigw.create_deployment(restApiId=api_id, stageName=STAGE,
                                   variables={"testVar": "default", "defaultVar": "default"})["id"]
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=document("canary deployment"))
    canary = apigw.create_deployment(restApiId=api_id, stageName=STAGE, canarySettings={
        "percentTraffic": 0, "stageVariableOverrides": {"testVar": "canary", "noStageVar": "canary"}})["id"]
    client = Client(apigw_server, api_id)
    yield api_id, base, canary, client
    client.close()


def set_percent(apigw, api_id: str, percent: float) -> None:
    apigw.update_stage(restApiId=api_id, stageName=STAGE, patchOperations=[
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": str(percent)}])


def test_responses_match_aws_recordings_at_0_and_100_percent(apigw, canary_api):
    """Recorded row 13: at 0% every request gets the base deployment (a missing stage variable renders
    empty, isCanaryRequest "false"); at 100% the canary's, with the overrides and "true"."""
    api_id, base, canary, client = canary_api
    snapshot = recorded("test_apigateway_canary.snapshot.json")
    key = "tests/aws/services/apigateway/test_apigateway_canary.py::TestCanaryDeployments::test_invoking_canary_deployment"
    expected = snapshot[key]["recorded-content"]

    first = client.get()
    assert first.pop("deploymentId") == base
    assert first == expected["response-deployment-1"]

    set_percent(apigw, api_id, 100)
    second = client.get()
    assert second.pop("deploymentId") == canary
    assert second == expected["response-canary-deployment"]


def test_ten_percent_of_requests_reach_the_canary(apigw, canary_api):
    """percentTraffic 10: of 10,000 requests, 10% ± 1 percentage point land on the canary, and every
    canary answer comes from the canary deployment with its variables."""
    api_id, base, canary, client = canary_api
    set_percent(apigw, api_id, 10)
    canary_hits = 0
    for _ in range(REQUESTS):
        answer = client.get()
        if answer["isCanary"] == "true":
            canary_hits += 1
            assert (answer["deploymentId"], answer["variable"]) == (canary, "canary")
        else:
            assert (answer["deploymentId"], answer["variable"], answer["isCanary"]) == (base, "default", "false")
    assert abs(canary_hits / REQUESTS - 0.10) <= 0.01, canary_hits


def test_promotion_serves_the_canary_as_the_stage_at_once(apigw, canary_api):
    """Promotion as the console does it (spec §1.7.2): copy the canary's deployment id and variable
    overrides into the stage, remove canarySettings. The very next request is the promoted deployment,
    no longer a canary request."""
    api_id, _, canary, client = canary_api
    set_percent(apigw, api_id, 50)
    stage = apigw.update_stage(restApiId=api_id, stageName=STAGE, patchOperations=[
        {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
        {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
        {"op": "remove", "path": "/canarySettings"}])
    assert stage["deploymentId"] == canary and "canarySettings" not in stage
    for _ in range(50):
        answer = client.get()
        assert answer["deploymentId"] == canary
        assert answer["isCanary"] == "false"
        assert (answer["message"], answer["variable"], answer["nonExistingDefault"]) == (
            "canary deployment", "canary", "canary")


def test_removing_the_canary_sends_everything_to_the_stage(apigw, canary_api):
    api_id, base, _, client = canary_api
    set_percent(apigw, api_id, 100)
    assert client.get()["isCanary"] == "true"
    apigw.update_stage(restApiId=api_id, stageName=STAGE, patchOperations=[{"op": "remove", "path": "/canarySettings"}])
    answer = client.get()
    assert (answer["deploymentId"], answer["isCanary"]) == (base, "false")


CONTEXT_HANDLER = """
import json
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"])}
"""
CONTEXT_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
               "arn:aws:lambda:us-east-1:123456789012:function:Context/invocations")


@pytest.fixture(scope="module")
def lambda_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with one inline function that answers the requestContext it was sent."""
    root: Path = tmp_path_factory.mktemp("canary-lambda")
    (root / "context.py").write_text(CONTEXT_HANDLER)
    (root / "apiway.yaml").write_text("functions:\n  Context: {handler: context.py:handler, mode: inline}\n")
    server = Server(root / "apiway.yaml", root / "state.db")
    yield server
    server.stop()


def test_lambda_proxy_event_carries_is_canary_request_on_canary_stages(lambda_server: Server):
    """Spec §3.1: `requestContext.isCanaryRequest` is a key of canary stages' events: true when the canary
    served the request, false when the stage's own deployment did; a stage without a canary has no such key."""
    client = apigateway_client(lambda_server.port)
    get = {"x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": CONTEXT_URI}}
    document = json.dumps({"openapi": "3.0.1", "info": {"title": "ctx", "version": "1"},
                           "paths": {"/": {"get": get}}}).encode()
    api_id = client.import_rest_api(body=document)["id"]
    client.create_deployment(restApiId=api_id, stageName=STAGE)
    client.create_deployment(restApiId=api_id, stageName="plain")

    def context(stage: str) -> dict:
        reply = lambda_server.call("GET", api_id, stage, "/")
        assert reply.status == 200, reply.body
        return reply.json()

    assert "isCanaryRequest" not in context(STAGE)  # no canary yet
    canary = client.create_deployment(restApiId=api_id, stageName=STAGE, canarySettings={"percentTraffic": 0})["id"]
    base = context(STAGE)
    assert base["isCanaryRequest"] is False and base["deploymentId"] != canary
    set_percent(client, api_id, 100)
    served = context(STAGE)
    assert served["isCanaryRequest"] is True and served["deploymentId"] == canary
    assert "isCanaryRequest" not in context("plain")
    client.update_stage(restApiId=api_id, stageName=STAGE, patchOperations=[{"op": "remove", "path": "/canarySettings"}])
    assert "isCanaryRequest" not in context(STAGE)

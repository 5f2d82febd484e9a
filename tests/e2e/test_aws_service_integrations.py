"""AWS service integrations end to end: `apiway serve` sends REST APIs' AWS integrations (SQS, DynamoDB, S3,
SNS, Step Functions, EventBridge, Kinesis) and HTTP APIs' integration subtypes to a `moto_server` started here,
SigV4-signed with the credentials of the environment; the services' answers (errors too) go through the
integration responses. A service without an endpoint is listed at start-up and answers 500."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.support import Server, free_port, recorded, request

ACCOUNT = "123456789012"  # moto's account
ARN = "arn:aws:apigateway:us-east-1"
QUEUE_PATH = f"{ACCOUNT}/orders"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:checkout"
FAKE_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
RECORDED = "tests/aws/services/apigateway/"


def _recorded(service: str, test: str) -> dict:
    """What AWS answered through API Gateway in the recorded run of `test`."""
    name = f"test_apigateway_{service}"
    return recorded(f"{name}.snapshot.json")[f"{RECORDED}{name}.py::{test}"]["recorded-content"]


def _integration(service: str, style: str, rest: str, template: str | None = None, method: str = "POST",
                 **extra: object) -> dict:
    integration: dict = {"type": "aws", "httpMethod": method, "uri": f"{ARN}:{service}:{style}/{rest}",
                         "credentials": f"arn:aws:iam::{ACCOUNT}:role/apigateway",
                         "responses": {"default": {"statusCode": "200"},
                                       "4\\d{2}": {"statusCode": "400", "selectionPattern": "4\\d{2}"}}}
    if template is not None:
        integration["requestTemplates"] = {"application/json": template}
    integration.update(extra)
    return integration


def _op(integration: dict, params: list[dict] | None = None) -> dict:
    return {"parameters": params or [], "responses": {"200": {"description": "ok"}, "400": {"description": "bad"}},
            "x-amazon-apigateway-integration": integration}


PATH_KEY = [{"name": "key", "in": "path", "required": True, "type": "string"}]
PATH_ID = [{"name": "id", "in": "path", "required": True, "type": "string"}]
REST_API = {
    "swagger": "2.0", "info": {"title": "Shop", "version": "1"},
    "x-amazon-apigateway-binary-media-types": ["image/png"],
    "paths": {
        "/orders": {"post": _op(_integration(
            "sqs", "path", QUEUE_PATH, "Action=SendMessage&MessageBody=$util.urlEncode($input.body)",
            requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
            responses={"default": {"statusCode": "200",
                                   "responseTemplates": {"application/json": '{"message": "great success!"}'}}}))},
        "/items": {"post": _op(_integration("dynamodb", "action", "PutItem", json.dumps(
            {"TableName": "$input.path('$.table')", "Item": {"id": {"S": "$input.path('$.id')"}}})))},
        "/items/{id}": {"get": _op(_integration("dynamodb", "action", "Query", json.dumps(
            {"TableName": "items", "KeyConditionExpression": "id = :v",
             "ExpressionAttributeValues": {":v": {"S": "$input.params('id')"}}})), PATH_ID)},
        "/files/{key}": {
            "put": _op(_integration("s3", "path", "pictures/{key}", method="PUT", requestParameters={
                "integration.request.path.key": "method.request.path.key",
                "integration.request.header.Content-Type": "method.request.header.Content-Type"}), PATH_KEY),
            "get": _op(_integration("s3", "path", "pictures/{key}", method="GET", requestParameters={
                "integration.request.path.key": "method.request.path.key"}, responses={"default": {
                    "statusCode": "200", "responseParameters": {
                        "method.response.header.Content-Type": "integration.response.header.Content-Type"}}}),
                PATH_KEY)},
        "/pictures/{key}": {"get": _op(_integration("pictures.s3", "path", "{key}", method="GET", requestParameters={
            "integration.request.path.key": "method.request.path.key"}), PATH_KEY)},
        "/alerts": {"post": _op(_integration("sns", "action", "Publish", requestParameters={
            "integration.request.querystring.TopicArn": f"'{TOPIC}'",
            "integration.request.querystring.Message": "method.request.querystring.message"}),
            [{"name": "message", "in": "query", "type": "string"}])},
        "/checkout": {"post": _op(_integration("states", "action", "StartExecution", json.dumps(
            {"stateMachineArn": MACHINE, "input": "$util.escapeJavaScript($input.body)"})))},
        "/events": {"post": _op(_integration("events", "action", "PutEvents", json.dumps(
            {"Entries": [{"Source": "shop", "DetailType": "order", "EventBusName": "default",
                          "Detail": "$util.escapeJavaScript($input.body)"}]})))},
        "/clicks": {"post": _op(_integration("kinesis", "action", "PutRecord", json.dumps(
            {"StreamName": "clicks", "PartitionKey": "k", "Data": "$util.base64Encode($input.body)"})))},
    },
}


def _subtype(subtype: str, parameters: dict[str, str]) -> dict:
    return {"x-amazon-apigateway-integration": {
        "type": "aws_proxy", "integrationSubtype": subtype, "payloadFormatVersion": "1.0",
        "credentials": f"arn:aws:iam::{ACCOUNT}:role/apigateway", "requestParameters": parameters}}


def _http_api(moto_url: str) -> dict:
    return {
        "openapi": "3.0.1", "info": {"title": "Hooks", "version": "1"},
        "paths": {
            "/enqueue": {"post": _subtype("SQS-SendMessage", {
                "QueueUrl": f"{moto_url}/{QUEUE_PATH}", "MessageBody": "$request.body.message",
                "DelaySeconds": "0"})},
            "/publish": {"post": _subtype("EventBridge-PutEvents", {
                "Source": "hooks", "DetailType": "$request.header.x-kind", "Detail": "$request.body"})},
            "/run": {"post": _subtype("StepFunctions-StartExecution", {
                "StateMachineArn": MACHINE, "Input": "$request.body", "Name": "$request.querystring.name"})},
        },
    }


@pytest.fixture(scope="module")
def moto(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-p", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if request(port, "GET", "/moto-api/data.json").status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto_server did not start: {log.read_text()}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def _client(service: str, moto_url: str):
    return boto3.client(service, endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def resources(moto: str) -> dict[str, str]:
    queue = _client("sqs", moto).create_queue(QueueName="orders")["QueueUrl"]
    _client("dynamodb", moto).create_table(
        TableName="items", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    _client("s3", moto).create_bucket(Bucket="pictures")
    _client("sns", moto).create_topic(Name="alerts")
    _client("stepfunctions", moto).create_state_machine(
        name="checkout", roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))
    _client("kinesis", moto).create_stream(StreamName="clicks", ShardCount=1)
    return {"queue": queue}


def _write_project(root: Path, moto_url: str, project: str = "") -> Path:
    (root / "shop.json").write_text(json.dumps(REST_API))
    (root / "hooks.json").write_text(json.dumps(_http_api(moto_url)))
    path = root / "apiway.yaml"
    path.write_text("apis:\n  - openapi: shop.json\n  - openapi: hooks.json\n    kind: http\n" + project)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory, moto: str, resources: dict[str, str]) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("shop")
    srv = Server(_write_project(root, moto), root / "state", env={**FAKE_ENV, "AWS_ENDPOINT_URL": moto})
    try:
        yield srv
    finally:
        srv.stop()


def _messages(moto: str, queue: str) -> list[str]:
    got = _client("sqs", moto).receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [m["Body"] for m in got.get("Messages", [])]


def test_sqs_send_message_from_a_mapping_template(server: Server, moto: str, resources: dict[str, str]) -> None:
    reply = server.call("POST", server.api_ids["Shop"], "dev", "/orders", body='{"order": 7, "note": "a&b=c"}',
                        headers={"Content-Type": "application/json"})
    assert reply.status == 200, reply.body
    assert reply.json() == _recorded("sqs", "test_sqs_aws_integration")["sqs-aws-integration-with-payload"]
    assert _messages(moto, resources["queue"]) == ['{"order": 7, "note": "a&b=c"}']


def test_dynamodb_put_item_and_query(server: Server) -> None:
    api = server.api_ids["Shop"]
    headers = {"Content-Type": "application/json"}
    for item in ("test", "test2"):
        reply = server.call("POST", api, "dev", "/items", body=json.dumps({"table": "items", "id": item}),
                            headers=headers)
        want = _recorded("dynamodb", "test_rest_api_to_dynamodb_integration[PutItem]")["result-put-item"]
        assert (reply.status, reply.json()) == (want["status_code"], want["content"])
    reply = server.call("GET", api, "dev", "/items/test2")
    want = _recorded("dynamodb", "test_rest_api_to_dynamodb_integration[Query]")["result-test2"]
    assert (reply.status, reply.json()) == (want["status_code"], want["content"])
    assert reply.header("Content-Type") == want["headers"]["content-type"]


def test_a_service_error_selects_the_integration_response(server: Server) -> None:
    reply = server.call("POST", server.api_ids["Shop"], "dev", "/items", body='{"table": "nope", "id": "x"}',
                        headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.json()["__type"].endswith("ResourceNotFoundException")


def test_s3_put_object_and_get_object_binary(server: Server, moto: str) -> None:
    api = server.api_ids["Shop"]
    reply = server.call("PUT", api, "dev", "/files/cat.png", body=PNG, headers={"Content-Type": "image/png"})
    assert reply.status == 200, reply.body
    stored = _client("s3", moto).get_object(Bucket="pictures", Key="cat.png")
    assert (stored["Body"].read(), stored["ContentType"]) == (PNG, "image/png")
    reply = server.call("GET", api, "dev", "/files/cat.png", headers={"Accept": "image/png"})
    assert (reply.status, reply.body, reply.header("Content-Type")) == (200, PNG, "image/png")
    # The bucket may also be the ARN's subdomain: `pictures.s3:path/{key}`.
    reply = server.call("GET", api, "dev", "/pictures/cat.png", headers={"Accept": "image/png"})
    assert (reply.status, reply.body) == (200, PNG)


def test_sns_publish(server: Server) -> None:
    reply = server.call("POST", server.api_ids["Shop"], "dev", "/alerts?message=disk%20full")
    assert reply.status == 200, reply.body
    assert b"<PublishResponse" in reply.body and b"<MessageId>" in reply.body


def test_step_functions_start_execution(server: Server, moto: str) -> None:
    reply = server.call("POST", server.api_ids["Shop"], "dev", "/checkout", body='{"cart": [1, 2]}',
                        headers={"Content-Type": "application/json"})
    assert reply.status == 200, reply.body
    want = _recorded("stepfunctions", "TestApigatewayStepfunctions::test_apigateway_with_step_function_integration"
                                      "[StartExecution]")["start_execution_response"]
    assert reply.json().keys() == want.keys()
    execution = _client("stepfunctions", moto).describe_execution(executionArn=reply.json()["executionArn"])
    assert json.loads(execution["input"]) == {"cart": [1, 2]}


def test_eventbridge_put_events(server: Server) -> None:
    reply = server.call("POST", server.api_ids["Shop"], "dev", "/events", body='{"id": 1}',
                        headers={"Content-Type": "application/json"})
    assert reply.status == 200, reply.body
    answer = reply.json()
    want = _recorded("eventbridge", "test_apigateway_to_eventbridge")["eventbridge-put-events-response"]
    assert answer.keys() == want.keys() and answer["FailedEntryCount"] == want["FailedEntryCount"]
    assert [entry.keys() for entry in answer["Entries"]] == [entry.keys() for entry in want["Entries"]]


def test_kinesis_put_record(server: Server, moto: str) -> None:
    reply = server.call("POST", server.api_ids["Shop"], "dev", "/clicks", body='{"x": 3}',
                        headers={"Content-Type": "application/json"})
    assert reply.status == 200, reply.body
    answer = reply.json()
    want = _recorded("kinesis", "test_apigateway_to_kinesis[PutRecord]")["apigateway_response"]
    assert want.keys() <= answer.keys()
    kinesis = _client("kinesis", moto)
    iterator = kinesis.get_shard_iterator(StreamName="clicks", ShardId=answer["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert [r["Data"] for r in records] == [b'{"x": 3}']


def _http_call(server: Server, path: str, **kw) -> object:
    return request(server.port, "POST", path, [("Host", f"{server.api_ids['Hooks']}.execute-api.localhost"),
                                               *kw.pop("headers", [])], **kw)


def test_http_api_sqs_send_message(server: Server, moto: str, resources: dict[str, str]) -> None:
    reply = _http_call(server, "/enqueue", body='{"message": "hello"}',
                       headers=[("Content-Type", "application/json")])
    assert reply.status == 200, reply.body
    assert "MessageId" in reply.json()
    assert _messages(moto, resources["queue"]) == ["hello"]


def test_http_api_eventbridge_put_events(server: Server) -> None:
    reply = _http_call(server, "/publish", body='{"a": 1}', headers=[("x-kind", "signup")])
    assert reply.status == 200, reply.body
    assert reply.json()["FailedEntryCount"] == 0


def test_http_api_step_functions_start_execution(server: Server, moto: str) -> None:
    reply = _http_call(server, "/run?name=run-1", body='{"n": 5}')
    assert reply.status == 200, reply.body
    arn = reply.json()["executionArn"]
    assert arn.endswith(":run-1")
    execution = _client("stepfunctions", moto).describe_execution(executionArn=arn)
    assert json.loads(execution["input"]) == {"n": 5}


def test_methods_without_an_endpoint_are_listed_at_start(tmp_path: Path, moto: str) -> None:
    env = {**FAKE_ENV, "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_SQS": moto}
    srv = Server(_write_project(tmp_path, moto), tmp_path / "state", env=env)
    try:
        warnings = [line for line in srv.stderr().splitlines() if "no endpoint for AWS service" in line]
        named = {line.split(": ")[2] for line in warnings}
        assert {"POST /items", "GET /files/{key}", "POST /alerts", "POST /publish", "POST /run"} <= named
        assert not any("/orders" in line or "/enqueue" in line for line in warnings)
        reply = srv.call("POST", srv.api_ids["Shop"], "dev", "/checkout", body="{}",
                         headers={"Content-Type": "application/json"})
        assert reply.status == 500
        assert reply.json() == {"message": "Internal server error"}
    finally:
        srv.stop()


def test_the_project_files_aws_endpoint(tmp_path: Path, moto: str, resources: dict[str, str]) -> None:
    project = _write_project(tmp_path, moto, f"aws:\n  endpoint: {moto}\n  region: us-east-1\n")
    srv = Server(project, tmp_path / "state", env={**FAKE_ENV, "AWS_ENDPOINT_URL": ""})
    try:
        assert "no endpoint" not in srv.stderr()
        api = srv.api_ids["Shop"]
        reply = srv.call("POST", api, "dev", "/items", body='{"table": "items", "id": "from-project"}',
                         headers={"Content-Type": "application/json"})
        assert reply.status == 200, reply.body
        assert srv.call("GET", api, "dev", "/items/from-project").json()["Count"] == 1
    finally:
        srv.stop()

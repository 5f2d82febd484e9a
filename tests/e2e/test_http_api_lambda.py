"""HTTP APIs end to end over the Lambda proxy: a real `apiway serve` with the project's functions and HTTP APIs in
its state file — payload 2.0 and 1.0 events as the functions receive them, 2.0 response inference, cookies,
function failures and the integration timeout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http_apis import http_api, invoke, lambda_proxy, store_http_api
from tests.support import Reply, Server

API = "httplambda1"

FUNCTIONS = """import asyncio, json

def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json", "x-fn": "echo"},
            "cookies": ["a=1; Path=/", "b=2"], "body": json.dumps(event)}

def echo_v1(event, context):
    return {"statusCode": 201, "multiValueHeaders": {"x-many": ["1", "2"]}, "body": json.dumps(event)}

def bare(event, context):
    return {"pets": [event["rawPath"]]}

def text(event, context):
    return "Hello from Lambda!"

def fail(event, context):
    raise RuntimeError("handler failed")

def malformed(event, context):
    return {"statusCode": "teapot"}

async def slow(event, context):
    await asyncio.sleep(1.5)
    return {"statusCode": 200, "body": "late"}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("http_api_lambda")
    (root / "fns.py").write_text(FUNCTIONS)
    names = ("echo", "echo_v1", "bare", "text", "fail", "malformed", "slow")
    (root / "apiway.yaml").write_text("functions:\n" + "".join(
        f"  {name.title().replace('_', '')}: {{handler: fns.py:{name}, mode: inline}}\n" for name in names))
    routes = {
        "ANY /v2/{proxy+}": lambda_proxy("Echo"),
        # The function by the full invocation ARN of API Gateway, a stage variable naming it.
        "GET /v1/{id}": {"integrationType": "AWS_PROXY", "payloadFormatVersion": "1.0",
                         "integrationUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                           "arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.v1}"
                                           "/invocations"},
        "GET /bare": lambda_proxy("Bare"),
        "GET /text": lambda_proxy("Text"),
        "GET /fail": lambda_proxy("Fail"),
        "GET /malformed": lambda_proxy("Malformed"),
        "GET /slow": lambda_proxy("Slow", timeoutInMillis=300),
        "GET /missing": lambda_proxy("NoSuchFunction"),
        "GET /mapped": lambda_proxy("Echo", requestParameters={"append:header.x-added": "$context.requestId",
                                                              "overwrite:querystring.q": "mapped"}),
    }
    store_http_api(root / "state" / "state.db", http_api(API, routes, name="Functions"),
                   {"prod": {"stageVariables": {"v1": "EchoV1"}}})
    server = Server(root / "apiway.yaml", root / "state" / "state.db")
    yield server
    server.stop()


def call(gateway: Server, method: str, path: str, **kw) -> Reply:
    return invoke(gateway.port, API, method, path, **kw)


def test_payload_2_0_event_and_response(gateway):
    reply = call(gateway, "POST", "/prod/v2/pets/1?a=1&a=2", body='{"x": 1}',
                 headers=[("Content-Type", "application/json"), ("Cookie", "c1=v1; c2=v2"), ("X-Multi", "1"),
                          ("X-Multi", "2")])
    assert reply.status == 200
    event = reply.json()
    assert event["version"] == "2.0" and event["routeKey"] == "ANY /v2/{proxy+}"
    assert event["rawPath"] == "/prod/v2/pets/1" and event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["pathParameters"] == {"proxy": "pets/1"}
    assert event["cookies"] == ["c1=v1", "c2=v2"] and event["headers"]["x-multi"] == "1,2"
    assert event["body"] == '{"x": 1}' and event["isBase64Encoded"] is False
    assert event["stageVariables"] == {"v1": "EchoV1"}
    context = event["requestContext"]
    assert (context["stage"], context["http"]["method"], context["apiId"]) == ("prod", "POST", API)
    assert context["requestId"] == reply.header("apigw-requestid")
    assert reply.header("x-fn") == "echo"
    assert [v for k, v in reply.headers if k.lower() == "set-cookie"] == ["a=1; Path=/", "b=2"]


def test_payload_1_0_event_and_response(gateway):
    reply = call(gateway, "GET", "/prod/v1/7?q=x")
    assert reply.status == 201
    event = reply.json()
    assert event["version"] == "1.0" and event["resource"] == "/v1/{id}"
    assert event["path"] == "/prod/v1/7" and event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "7"} and event["queryStringParameters"] == {"q": "x"}
    assert event["requestContext"]["requestId"] == reply.header("apigw-requestid")
    assert (reply.header("x-many") or "").replace(" ", "") == "1,2"  # multiValueHeaders joined


def test_payload_2_0_infers_a_response_from_any_other_json(gateway):
    bare = call(gateway, "GET", "/prod/bare")
    assert (bare.status, bare.json()) == (200, {"pets": ["/prod/bare"]})
    assert bare.header("Content-Type") == "application/json"
    text = call(gateway, "GET", "/prod/text")
    assert (text.status, text.body) == (200, b"Hello from Lambda!")


@pytest.mark.parametrize("path", ["/prod/fail", "/prod/malformed", "/prod/missing"])
def test_function_failures_are_500_internal_server_error(gateway, path):
    reply = call(gateway, "GET", path)
    assert (reply.status, reply.json()) == (500, {"message": "Internal Server Error"})
    assert reply.header("apigw-requestid")


def test_a_function_slower_than_the_integration_timeout_is_503(gateway):
    reply = call(gateway, "GET", "/prod/slow")
    assert (reply.status, reply.json()) == (503, {"message": "Service Unavailable"})


def test_request_parameter_mapping_reaches_the_event(gateway):
    reply = call(gateway, "GET", "/prod/mapped?q=sent")
    event = reply.json()
    assert event["headers"]["x-added"] == reply.header("apigw-requestid")
    assert event["queryStringParameters"] == {"q": "mapped"}

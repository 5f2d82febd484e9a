"""WebSocket stages compiled from real definitions (runtime/ws_compile.py) and their events run
(runtime/ws_run.py): Lambda handlers in files run by the project's function runner, HTTP backends on real
sockets, the shared state's buckets and usage plans as the gateway has them."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from apiway.auth.identities import Identities, parse_identity
from apiway.core.errors import DeployError
from apiway.core.invocation import Completion
from apiway.runtime.ws_run import WsClose, run_connect, run_disconnect, run_message
from apiway.store.kinds import API_KEY, USAGE_PLAN, USAGE_PLAN_KEY
from apiway.store.sqlite import SqliteStore
from tests.e2e.echo_backend import EchoServer, header_values
from tests.websocket_apis import (
    API,
    HOST,
    INVOKE_URI,
    Lambdas,
    connection,
    lambda_aws,
    lambda_proxy,
    mock,
    stage,
    ws_api,
)

HANDLERS = '''
import json, os

def _note(event):
    with open(os.environ["CALLS"], "a") as f:
        f.write(json.dumps(event) + "\\n")

def connect(event, context):
    _note(event)
    query = event.get("queryStringParameters") or {}
    if "refuse" in query:
        return {"statusCode": int(query["refuse"]), "body": "no"}
    return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "chat", "X-Other": "dropped"}}

def echo(event, context):
    _note(event)
    return {"statusCode": 200, "body": json.dumps({"route": event["requestContext"]["routeKey"],
                                                   "body": event.get("body"),
                                                   "b64": event.get("isBase64Encoded")})}

def plain(event, context):
    _note(event)
    return "hello there"

def boom(event, context):
    _note(event)
    raise ValueError("boom")

def nonproxy(event, context):
    _note(event)
    return {"seen": event}

def failing(event, context):
    raise Exception("bad input: " + str(event))

async def slow(event, context):
    import asyncio
    await asyncio.sleep(0.5)
    return {"statusCode": 200, "body": "late"}

def gate(event, context):
    _note(event)
    headers = event.get("headers") or {}
    token = headers.get("Auth") or (event.get("queryStringParameters") or {}).get("token")
    if token == "boom":
        raise Exception("authorizer crashed")
    if token == "unauthorized":
        raise Exception("Unauthorized")
    effect = "Allow" if token in ("good", "keyed") else "Deny"
    answer = {"principalId": "user-1", "context": {"team": "blue", "level": 3},
              "policyDocument": {"Version": "2012-10-17", "Statement": [
                  {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]}}
    if token == "keyed":
        answer["usageIdentifierKey"] = "key-value-0001"
    return answer
'''
NAMES = ("connect", "echo", "plain", "boom", "nonproxy", "failing", "slow", "gate")


@pytest.fixture
def lambdas(tmp_path: Path) -> Iterator[Lambdas]:
    found = Lambdas(tmp_path, HANDLERS, NAMES)
    yield found
    asyncio.run(found.close())


def frame(data: bytes | None) -> Any:
    assert data is not None
    return orjson.loads(data)


def chat_api(**api_fields: Any) -> Any:
    return ws_api({
        "$connect": {"integration": lambda_proxy("connect")},
        "$disconnect": {"integration": lambda_proxy("echo")},
        "$default": {"integration": lambda_proxy("echo"), "two_way": True},
        "send": {"integration": lambda_proxy("echo"), "two_way": True},
        "quiet": {"integration": lambda_proxy("echo")},
        "plain": {"integration": lambda_proxy("plain"), "two_way": True},
        "boom": {"integration": lambda_proxy("boom"), "two_way": True},
    }, **api_fields)


# -- $connect ------------------------------------------------------------------------------------------------

def test_connect_accepts_with_the_chosen_subprotocol_only_and_sends_the_event(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(chat_api())
        conn = connection("name=me&name=you&x=1")
        response = await run_connect(runtime, conn)
        assert response.status == 200
        assert response.headers == [("Sec-WebSocket-Protocol", "chat")]
        event = lambdas.calls()[-1]
        assert event["queryStringParameters"] == {"name": "you", "x": "1"}
        assert event["multiValueQueryStringParameters"] == {"name": ["me", "you"], "x": ["1"]}
        assert event["requestContext"]["eventType"] == "CONNECT"
        assert event["requestContext"]["routeKey"] == "$connect"
        assert "Connection" not in event["headers"] and event["headers"]["Sec-WebSocket-Version"] == "13"
    asyncio.run(scenario())


def test_connect_refused_with_the_integrations_status_or_500_on_failure(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(chat_api())
        refused = await run_connect(runtime, connection("refuse=403"))
        assert refused.status == 403
        failing = lambdas.compile(ws_api({"$connect": {"integration": lambda_proxy("boom")}}))
        response = await run_connect(failing, connection())
        assert response.status == 500 and orjson.loads(response.body) == {"message": "Internal server error"}
        assert ("Content-Type", "application/json") in response.headers
    asyncio.run(scenario())


def test_no_connect_route_accepts(lambdas: Lambdas) -> None:
    runtime = lambdas.compile(ws_api({"$default": {"integration": mock()}}))
    response = asyncio.run(run_connect(runtime, connection()))
    assert response.status == 200 and response.headers == []


# -- messages ------------------------------------------------------------------------------------------------

def test_route_selection_two_way_and_one_way(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(chat_api())
        conn = connection()
        assert frame(await run_message(runtime, conn, b'{"action": "send", "x": 1}', True)) == {
            "route": "send", "body": '{"action": "send", "x": 1}', "b64": False}
        assert frame(await run_message(runtime, conn, b'{"action": "nope"}', True))["route"] == "$default"
        assert frame(await run_message(runtime, conn, b"not json", True))["route"] == "$default"
        assert frame(await run_message(runtime, conn, b'{"action": "$connect"}', True))["route"] == "$default"
        assert await run_message(runtime, conn, b'{"action": "quiet"}', True) is None
        event = lambdas.calls()[-1]
        context = event["requestContext"]
        assert context["routeKey"] == "quiet" and context["eventType"] == "MESSAGE"
        assert context["messageId"] and context["messageId"] != context["requestId"]
        assert "headers" not in event
    asyncio.run(scenario())


def test_a_non_proxy_answer_is_sent_as_its_text(lambdas: Lambdas) -> None:
    runtime = lambdas.compile(chat_api())
    assert asyncio.run(run_message(runtime, connection(), b'{"action": "plain"}', True)) == b"hello there"


def test_no_default_route_answers_forbidden_and_failures_internal_server_error(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(ws_api({"send": {"integration": lambda_proxy("echo"), "two_way": True},
                                          "boom": {"integration": lambda_proxy("boom")}}))
        conn = connection()
        forbidden = frame(await run_message(runtime, conn, b'{"action": "other"}', True))
        assert forbidden["message"] == "Forbidden" and forbidden["connectionId"] == conn.connection_id
        assert len(forbidden["requestId"]) == 16
        failed = frame(await run_message(runtime, conn, b'{"action": "boom"}', True))
        assert failed["message"] == "Internal server error" and failed["connectionId"] == conn.connection_id
    asyncio.run(scenario())


def test_nested_and_interpolated_selection_expressions(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        nested = lambdas.compile(ws_api({"chat": {"integration": lambda_proxy("echo"), "two_way": True},
                                         "$default": {"integration": mock()}},
                                        routeSelectionExpression="$request.body.message.type"))
        assert frame(await run_message(nested, connection(), b'{"message": {"type": "chat"}}', True))["route"] == "chat"
        text = lambdas.compile(ws_api({"room-join": {"integration": lambda_proxy("echo"), "two_way": True}},
                                      routeSelectionExpression="${request.body.service}-${request.body.action}"))
        answer = frame(await run_message(text, connection(), b'{"service": "room", "action": "join"}', True))
        assert answer["route"] == "room-join"
    asyncio.run(scenario())


def test_mock_two_way_route_renders_its_integration_response(lambdas: Lambdas) -> None:
    definition = ws_api({"$default": {
        "integration": mock(requestTemplates={"$default": '{"statusCode": 200}'},
                            templateSelectionExpression="\\$default",
                            integrationResponseSelectionExpression="${integration.response.statuscode}"),
        "responses": [{"integrationResponseKey": "/2\\d\\d/",
                       "responseTemplates": {"$default": '{"echo": "$input.path(\'$.text\')", '
                                                         '"cid": "$context.connectionId", '
                                                         '"route": "$context.routeKey"}'},
                       "templateSelectionExpression": "\\$default"}],
        "two_way": True}})
    runtime = lambdas.compile(definition)
    answer = asyncio.run(run_message(runtime, connection(), b'{"text": "hi"}', True))
    assert frame(answer) == {"echo": "", "cid": "Conn1234abcd=", "route": "$default"}


def test_disconnect_runs_with_the_close_and_never_raises(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(chat_api())
        conn = connection()
        await run_disconnect(runtime, conn, 1001, "going away")
        event = lambdas.calls()[-1]
        assert event["requestContext"]["disconnectStatusCode"] == 1001
        assert event["requestContext"]["disconnectReason"] == "going away"
        assert event["requestContext"]["eventType"] == "DISCONNECT"
        assert event["headers"]["Host"] == conn.domain_name
        failing = lambdas.compile(ws_api({"$disconnect": {"integration": lambda_proxy("boom")}}))
        await run_disconnect(failing, conn, 1006, "")
    asyncio.run(scenario())


def test_unknown_function_fails_a_strict_deployment(lambdas: Lambdas) -> None:
    with pytest.raises(DeployError, match="unknown function"):
        lambdas.compile(ws_api({"$default": {"integration": lambda_proxy("missing")}}))
    with pytest.raises(DeployError, match="integrationType"):
        lambdas.compile(ws_api({"$default": {"integration": {"integrationType": "VPC"}}}))


# -- binary --------------------------------------------------------------------------------------------------

def test_binary_closes_1003_unless_the_integration_converts(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(chat_api())
        with pytest.raises(WsClose) as closed:
            await run_message(runtime, connection(), b"\x00\x01\x02", False)
        assert closed.value.code == 1003
        converting = lambdas.compile(ws_api({"$default": {
            "integration": lambda_proxy("echo", contentHandlingStrategy="CONVERT_TO_TEXT"), "two_way": True}}))
        answer = frame(await run_message(converting, connection(), b"\x00\x01\x02", False))
        assert base64.b64decode(answer["body"]) == b"\x00\x01\x02"
        as_binary = lambdas.compile(ws_api({"$default": {
            "integration": lambda_proxy("echo", contentHandlingStrategy="CONVERT_TO_BINARY"), "two_way": True}}))
        answer = frame(await run_message(as_binary, connection(), b"\xff\xfe", False))
        assert answer["b64"] is True and base64.b64decode(answer["body"]) == b"\xff\xfe"
        no_default = lambdas.compile(ws_api({"send": {"integration": lambda_proxy("echo")}}))
        with pytest.raises(WsClose):
            await run_message(no_default, connection(), b"\x00", False)
    asyncio.run(scenario())


# -- stage ---------------------------------------------------------------------------------------------------

def test_the_stage_is_a_websocket_stage(lambdas: Lambdas) -> None:
    runtime = lambdas.compile(chat_api(), stage("dev", stageVariables={"v": "1"}))
    assert runtime.kind == "WEBSOCKET" and runtime.stage_name == "dev" and runtime.variables == {"v": "1"}
    assert set(runtime.routes) == {"$connect", "$disconnect", "$default", "send", "quiet", "plain", "boom"}
    assert runtime.routes["send"].two_way and not runtime.routes["quiet"].two_way
    assert runtime.router.match("/", "GET") is None


# -- AWS (Lambda non-proxy) ----------------------------------------------------------------------------------

def aws_api() -> Any:
    return ws_api({"$default": {
        "integration": lambda_aws(
            "nonproxy", templateSelectionExpression="${request.body.kind}",
            requestTemplates={"greet": '{"greeting": $input.json(\'$.name\'), "cid": "$context.connectionId"}',
                              "$default": '{"raw": $input.json(\'$\')}'},
            integrationResponseSelectionExpression="${integration.response.statuscode}"),
        "responses": [{"integrationResponseKey": "$default",
                       "responseTemplates": {"$default": '{"answer": $input.json(\'$.seen\')}'}}],
        "two_way": True},
        "fail": {"integration": lambda_aws(
            "failing", integrationResponseSelectionExpression="${integration.response.statuscode}"),
            "responses": [{"integrationResponseKey": "/bad input.*/",
                           "responseTemplates": {"$default": '{"error": "$input.path(\'$.errorMessage\')"}'}},
                          {"integrationResponseKey": "$default"}],
            "two_way": True}})


def test_aws_request_template_chosen_by_its_selection_expression(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(aws_api())
        conn = connection()
        answer = frame(await run_message(runtime, conn, b'{"kind": "greet", "name": "ann"}', True))
        assert answer == {"answer": {"greeting": "ann", "cid": "Conn1234abcd="}}
        answer = frame(await run_message(runtime, conn, b'{"kind": "other"}', True))
        assert answer == {"answer": {"raw": {"kind": "other"}}}
    asyncio.run(scenario())


def test_aws_function_error_selects_by_its_error_message(lambdas: Lambdas) -> None:
    answer = frame(asyncio.run(run_message(lambdas.compile(aws_api()), connection(), b'{"action": "fail"}', True)))
    assert answer["error"].startswith("bad input: ")


def test_aws_passthrough_behaviour_never_refuses_without_a_template(lambdas: Lambdas) -> None:
    definition = ws_api({"$default": {"integration": lambda_aws(
        "nonproxy", passthroughBehavior="NEVER", templateSelectionExpression="${request.body.kind}",
        requestTemplates={"known": "{}"}), "two_way": True}})
    answer = frame(asyncio.run(run_message(lambdas.compile(definition), connection(), b'{"kind": "x"}', True)))
    assert answer["message"] == "Unsupported Media Type"


# -- the $connect authorizer ---------------------------------------------------------------------------------

def gated_api(ttl: int | None = None, sources: list[str] | None = None, **route: Any) -> Any:
    definition = ws_api({"$connect": {"integration": lambda_proxy("connect"),
                                      "route": {"authorizationType": "CUSTOM", "authorizerId": "au1", **route}},
                         "$default": {"integration": lambda_proxy("echo"), "two_way": True}})
    authorizer: dict[str, Any] = {"authorizerId": "au1", "name": "gate", "authorizerType": "REQUEST",
                                  "authorizerUri": INVOKE_URI.format("gate"),
                                  "identitySource": sources or ["route.request.header.Auth"]}
    if ttl is not None:
        authorizer["authorizerResultTtlInSeconds"] = ttl
    definition["authorizers"]["au1"] = authorizer
    return definition


def gate_calls(lambdas: Lambdas) -> list[dict[str, Any]]:
    return [c for c in lambdas.calls() if c.get("type") == "REQUEST"]


def test_authorizer_allows_and_its_context_stays_with_the_connection(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(gated_api())
        conn = connection(headers=[("Auth", "good")])
        response = await run_connect(runtime, conn)
        assert response.status == 200
        assert conn.authorizer == {"principalId": "user-1", "team": "blue", "level": 3}
        event = gate_calls(lambdas)[-1]
        assert event["methodArn"].endswith(f":{API}/prod/$connect") and event["headers"]["Auth"] == "good"
        connect_event = lambdas.calls()[-1]
        assert connect_event["requestContext"]["authorizer"]["principalId"] == "user-1"
        await run_message(runtime, conn, b"{}", True)
        assert lambdas.calls()[-1]["requestContext"]["authorizer"]["team"] == "blue"
    asyncio.run(scenario())


@pytest.mark.parametrize(("headers", "status", "message", "called"), [
    ([("Auth", "bad")], 403, "Forbidden", True),
    ([], 401, "Unauthorized", False),
    ([("Auth", "unauthorized")], 401, "Unauthorized", True),
    ([("Auth", "boom")], 500, "Internal server error", True),
])
def test_authorizer_refusals(lambdas: Lambdas, headers: list[tuple[str, str]], status: int, message: str,
                             called: bool) -> None:
    conn = connection(headers=headers)
    response = asyncio.run(run_connect(lambdas.compile(gated_api()), conn))
    assert response.status == status and orjson.loads(response.body) == {"message": message}
    assert bool(gate_calls(lambdas)) is called
    assert not [c for c in lambdas.calls() if c.get("requestContext", {}).get("eventType") == "CONNECT"
                and "type" not in c]  # the integration never ran
    assert conn.authorizer is None


def test_authorizer_identity_from_the_query_string_and_cached_by_its_values(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(gated_api(ttl=300, sources=["route.request.querystring.token"]))
        for _ in range(3):
            assert (await run_connect(runtime, connection("token=good"))).status == 200
        assert len(gate_calls(lambdas)) == 1
        assert (await run_connect(runtime, connection("token=bad"))).status == 403
        assert (await run_connect(runtime, connection("token=bad"))).status == 403
        assert len(gate_calls(lambdas)) == 2
        lambdas.clock.advance(301)
        assert (await run_connect(runtime, connection("token=good"))).status == 200
        assert len(gate_calls(lambdas)) == 3
    asyncio.run(scenario())


def test_without_a_ttl_every_connection_calls_the_authorizer(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(gated_api())
        for _ in range(2):
            await run_connect(runtime, connection(headers=[("Auth", "good")]))
        assert len(gate_calls(lambdas)) == 2
    asyncio.run(scenario())


def test_only_connect_takes_an_authorizer(lambdas: Lambdas) -> None:
    definition = gated_api()
    definition["routes"]["r1"]["authorizationType"] = "CUSTOM"
    definition["routes"]["r1"]["authorizerId"] = "au1"
    with pytest.raises(DeployError, match="only the \\$connect route"):
        lambdas.compile(definition)


# -- API keys and throttling ---------------------------------------------------------------------------------

def keyed_api(**api_fields: Any) -> Any:
    return ws_api({"$connect": {"integration": lambda_proxy("connect"), "route": {"apiKeyRequired": True}},
                   "$default": {"integration": lambda_proxy("echo"), "two_way": True}}, **api_fields)


def with_key(lambdas: Lambdas, tmp_path: Path, value: str = "key-value-0001", **plan: Any) -> SqliteStore:
    store = SqliteStore(tmp_path / "state.db")
    store.put_record(API_KEY, "k1", {"id": "k1", "value": value, "enabled": True})
    store.put_record(USAGE_PLAN, "p1", {"id": "p1", "name": "p1", "apiStages": [{"apiId": API, "stage": "prod"}],
                                        "_createdDay": "2023-11-14", **plan})
    store.put_record(USAGE_PLAN_KEY, "p1/k1", {"usagePlanId": "p1", "keyId": "k1"})
    lambdas.access.load(store)
    return store


def test_api_key_from_the_header(lambdas: Lambdas, tmp_path: Path) -> None:
    async def scenario() -> None:
        store = with_key(lambdas, tmp_path)
        runtime = lambdas.compile(keyed_api())
        assert (await run_connect(runtime, connection())).status == 403
        assert (await run_connect(runtime, connection(headers=[("x-api-key", "wrong")]))).status == 403
        conn = connection(headers=[("x-api-key", "key-value-0001")])
        assert (await run_connect(runtime, conn)).status == 200
        assert conn.api_key == "key-value-0001" and conn.identity is not None
        assert conn.identity["apiKeyId"] == "k1"
        store.close()
    asyncio.run(scenario())


def test_api_key_from_the_authorizers_usage_identifier_key(lambdas: Lambdas, tmp_path: Path) -> None:
    async def scenario() -> None:
        store = with_key(lambdas, tmp_path)
        definition = gated_api(apiKeyRequired=True)
        definition["api"]["apiKeySelectionExpression"] = "$context.authorizer.usageIdentifierKey"
        runtime = lambdas.compile(definition)
        assert (await run_connect(runtime, connection(headers=[("Auth", "good")]))).status == 403
        conn = connection(headers=[("Auth", "keyed")])
        assert (await run_connect(runtime, conn)).status == 200
        assert conn.api_key == "key-value-0001"
        store.close()
    asyncio.run(scenario())


def test_usage_plan_throttle_refuses_connections(lambdas: Lambdas, tmp_path: Path) -> None:
    async def scenario() -> None:
        store = with_key(lambdas, tmp_path, throttle={"rateLimit": 1, "burstLimit": 1})
        runtime = lambdas.compile(keyed_api())
        headers = [("x-api-key", "key-value-0001")]
        assert (await run_connect(runtime, connection(headers=headers))).status == 200
        refused = await run_connect(runtime, connection(headers=headers))
        assert refused.status == 429 and orjson.loads(refused.body) == {"message": "Too Many Requests"}
        store.close()
    asyncio.run(scenario())


def test_route_throttling_answers_messages_with_an_error_frame(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        record = stage(defaultRouteSettings={"throttlingBurstLimit": 5, "throttlingRateLimit": 5},
                       routeSettings={"send": {"throttlingBurstLimit": 1, "throttlingRateLimit": 1}})
        runtime = lambdas.compile(chat_api(), record)
        conn = connection()
        assert frame(await run_message(runtime, conn, b'{"action": "send"}', True))["route"] == "send"
        throttled = frame(await run_message(runtime, conn, b'{"action": "send"}', True))
        assert throttled["message"] == "Too Many Requests" and throttled["connectionId"] == conn.connection_id
        assert frame(await run_message(runtime, conn, b'{"action": "other"}', True))["route"] == "$default"
        lambdas.clock.advance(1.0)
        assert frame(await run_message(runtime, conn, b'{"action": "send"}', True))["route"] == "send"
    asyncio.run(scenario())


def test_connect_throttled_by_the_default_route_settings(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(chat_api(), stage(defaultRouteSettings={"throttlingBurstLimit": 0,
                                                                          "throttlingRateLimit": 0}))
        refused = await run_connect(runtime, connection())
        assert refused.status == 429
    asyncio.run(scenario())


# -- request parameters and models ---------------------------------------------------------------------------

def test_required_request_parameters_of_connect(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        definition = ws_api({"$connect": {"integration": lambda_proxy("connect"), "route": {"requestParameters": {
            "route.request.header.X-Room": {"required": True},
            "route.request.querystring.user": {"required": True},
            "route.request.querystring.opt": {"required": False}}}}})
        runtime = lambdas.compile(definition)
        assert (await run_connect(runtime, connection("user=a"))).status == 400
        assert (await run_connect(runtime, connection("", [("X-Room", "1")]))).status == 400
        assert (await run_connect(runtime, connection("user=a", [("X-Room", "1")]))).status == 200
    asyncio.run(scenario())


def test_request_models_validate_messages(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        definition = ws_api({"send": {"integration": lambda_proxy("echo"), "two_way": True, "route": {
            "modelSelectionExpression": "\\$default", "requestModels": {"$default": "Message"}}}})
        definition["models"] = {"m1": {"modelId": "m1", "name": "Message", "contentType": "application/json",
                                       "schema": orjson.dumps({
                                           "$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
                                           "required": ["action", "text"],
                                           "properties": {"text": {"type": "string"}}}).decode()}}
        runtime = lambdas.compile(definition)
        conn = connection()
        invalid = frame(await run_message(runtime, conn, b'{"action": "send"}', True))
        assert invalid["message"] == "Invalid request body" and invalid["connectionId"] == conn.connection_id
        assert frame(await run_message(runtime, conn, b'{"action": "send", "text": "x"}', True))["route"] == "send"
        definition["api"]["disableSchemaValidation"] = True
        unchecked = lambdas.compile(definition)
        assert frame(await run_message(unchecked, conn, b'{"action": "send"}', True))["route"] == "send"
    asyncio.run(scenario())


# -- HTTP backends and timeouts ------------------------------------------------------------------------------

@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer().start()
    yield server
    server.stop()


def test_http_proxy_sends_the_message_and_answers_with_the_backends_body(lambdas: Lambdas, echo: EchoServer) -> None:
    async def scenario() -> None:
        definition = ws_api({
            "$connect": {"integration": {"integrationType": "HTTP_PROXY", "integrationMethod": "GET",
                                         "integrationUri": f"http://{echo.address}/connect"}},
            "$default": {"integration": {"integrationType": "HTTP_PROXY", "integrationMethod": "POST",
                                         "integrationUri": "http://${stageVariables.backend}/messages"},
                         "two_way": True}})
        runtime = lambdas.compile(definition, stage(stageVariables={"backend": echo.address}))
        conn = connection("room=1", [("X-Custom", "yes")])
        assert (await run_connect(runtime, conn)).status == 200
        seen = echo.requests[-1]
        assert seen["method"] == "GET" and header_values(seen, "X-Custom") == ["yes"]
        answer = frame(await run_message(runtime, conn, b'{"hello": "world"}', True))
        assert answer["method"] == "POST" and answer["path"] == "/messages"
        assert answer["body"] == '{"hello": "world"}'
    asyncio.run(lambdas.within(scenario()))


def test_http_proxy_connect_refused_with_the_backends_status(lambdas: Lambdas, echo: EchoServer) -> None:
    definition = ws_api({"$connect": {"integration": {"integrationType": "HTTP_PROXY", "integrationMethod": "GET",
                                                      "integrationUri": f"http://{echo.address}/status/401"}}})
    response = asyncio.run(lambdas.within(run_connect(lambdas.compile(definition), connection())))
    assert response.status == 401


def test_http_integration_with_templates_and_integration_responses(lambdas: Lambdas, echo: EchoServer) -> None:
    definition = ws_api({"$default": {
        "integration": {"integrationType": "HTTP", "integrationMethod": "PUT",
                        "integrationUri": f"http://{echo.address}/items",
                        "templateSelectionExpression": "\\$default",
                        "requestTemplates": {"$default": '{"item": $input.json(\'$.item\'), '
                                                         '"cid": "$context.connectionId"}'},
                        "integrationResponseSelectionExpression": "${integration.response.statuscode}"},
        "responses": [{"integrationResponseKey": "200",
                       "responseTemplates": {"$default": '{"sent": $input.path(\'$.body\'), '
                                                         '"method": "$input.path(\'$.method\')"}'}}],
        "two_way": True}})
    answer = asyncio.run(lambdas.within(run_message(lambdas.compile(definition), connection(), b'{"item": 7}', True)))
    assert frame(answer) == {"sent": {"item": 7, "cid": "Conn1234abcd="}, "method": "PUT"}


def test_integration_timeout_answers_an_error_frame(lambdas: Lambdas, echo: EchoServer) -> None:
    async def scenario() -> None:
        definition = ws_api({
            "slow": {"integration": lambda_proxy("slow", timeoutInMillis=100), "two_way": True},
            "$default": {"integration": {"integrationType": "HTTP_PROXY", "integrationMethod": "POST",
                                         "timeoutInMillis": 100,
                                         "integrationUri": f"http://{echo.address}/x?echo_sleep=0.5"},
                         "two_way": True}})
        runtime = lambdas.compile(definition)
        for message in (b'{"action": "slow"}', b"{}"):
            answer = frame(await run_message(runtime, connection(), message, True))
            assert answer["message"] == "Endpoint request timed out"
    asyncio.run(lambdas.within(scenario()))


# -- AWS_IAM on $connect -------------------------------------------------------------------------------------

def test_iam_signed_upgrade_header_or_presigned_query(lambdas: Lambdas) -> None:
    allowed = ("AKIAALICE00000000001", "alice-secret", "arn:aws:iam::123456789012:user/alice")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke",
         "Resource": f"arn:aws:execute-api:us-east-1:123456789012:{API}/prod/$connect"}]}
    lambdas.deps.identities = Identities([parse_identity({"access_key_id": allowed[0],
                                                          "secret_access_key": allowed[1], "arn": allowed[2],
                                                          "policies": [policy]})])
    runtime = lambdas.compile(ws_api({"$connect": {"integration": lambda_proxy("connect"),
                                                   "route": {"authorizationType": "AWS_IAM"}}}))
    lambdas.clock.epoch = time.time() - lambdas.clock.now  # signatures carry the real time

    def signed(secret: str, presign: bool = False) -> Any:
        request = AWSRequest(method="GET", url=f"https://{HOST}/prod", data=b"")
        creds = Credentials(allowed[0], secret)
        if presign:
            SigV4QueryAuth(creds, "execute-api", "us-east-1", expires=60).add_auth(request)
            return connection(urlsplit(request.url).query)
        SigV4Auth(creds, "execute-api", "us-east-1").add_auth(request)
        return connection(headers=[(k, v) for k, v in request.headers.items() if k.lower() != "host"])

    async def scenario() -> None:
        assert (await run_connect(runtime, connection())).status == 403
        assert (await run_connect(runtime, signed("wrong"))).status == 403
        conn = signed(allowed[1])
        assert (await run_connect(runtime, conn)).status == 200
        assert conn.identity is not None and conn.identity["userArn"] == allowed[2]
        assert lambdas.calls()[-1]["requestContext"]["identity"]["accessKey"] == allowed[0]
        assert (await run_connect(runtime, signed(allowed[1], presign=True))).status == 200
    asyncio.run(scenario())


def test_mock_connect_status_from_its_request_template(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        template = '#if($input.params("pass") == "yes"){"statusCode": 200}#else{"statusCode": 403}#end'
        runtime = lambdas.compile(ws_api({"$connect": {"integration": mock(
            requestTemplates={"$default": template}, templateSelectionExpression="\\$default")}}))
        assert (await run_connect(runtime, connection("pass=yes"))).status == 200
        assert (await run_connect(runtime, connection("pass=no"))).status == 403
    asyncio.run(scenario())


def test_a_route_without_an_integration_answers_internal_server_error(lambdas: Lambdas) -> None:
    runtime = lambdas.compile(ws_api({"$default": {"two_way": True}}))
    answer = frame(asyncio.run(run_message(runtime, connection(), b"{}", True)))
    assert answer["message"] == "Internal server error"


def test_http_integration_converts_binary_messages_to_text(lambdas: Lambdas, echo: EchoServer) -> None:
    definition = ws_api({"$default": {"integration": {
        "integrationType": "HTTP_PROXY", "integrationMethod": "POST", "integrationUri": f"http://{echo.address}/bin",
        "contentHandlingStrategy": "CONVERT_TO_TEXT"}, "two_way": True}})
    answer = asyncio.run(lambdas.within(run_message(lambdas.compile(definition), connection(), b"\x00\xff", False)))
    assert frame(answer)["body"] == base64.b64encode(b"\x00\xff").decode()


# -- observers -----------------------------------------------------------------------------------------------

def test_each_event_that_ran_a_route_is_told_to_the_stages_observers(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(chat_api())
        seen: list[Any] = []
        runtime.observers = (lambda *parts: seen.append(Completion(*parts)),)
        conn = connection()
        await run_connect(runtime, conn)
        await run_connect(runtime, connection("refuse=403"))
        await run_message(runtime, conn, b'{"action": "send"}', True)
        await run_message(runtime, conn, b'{"action": "boom"}', True)
        await run_disconnect(runtime, conn, 1000, "bye")
        got = [(c.invocation.event_type, c.invocation.route_key, c.response.status, c.error_type) for c in seen]
        assert got == [("CONNECT", "$connect", 200, None), ("CONNECT", "$connect", 403, None),
                       ("MESSAGE", "send", 200, None), ("MESSAGE", "boom", 500, "INTEGRATION_FAILURE"),
                       ("DISCONNECT", "$disconnect", 200, None)]
        assert all(c.invocation.status == c.response.status and c.latency_ms >= 0 for c in seen)
        assert seen[2].invocation.integration_latency_ms is not None
        assert seen[2].invocation.notes is not None  # an observed stage's events carry notes
        assert seen[0].request is conn.request and seen[2].request.body == b'{"action": "send"}'
    asyncio.run(scenario())


def test_events_no_route_took_are_told_too(lambdas: Lambdas) -> None:
    async def scenario() -> None:
        runtime = lambdas.compile(ws_api({"send": {"integration": lambda_proxy("echo"), "two_way": True}}))
        seen: list[Any] = []
        runtime.observers = (lambda *parts: seen.append(Completion(*parts)),)
        conn = connection()
        assert (await run_connect(runtime, conn)).status == 200
        assert frame(await run_message(runtime, conn, b'{"action": "other"}', True))["message"] == "Forbidden"
        await run_disconnect(runtime, conn, 1001, "going away")
        got = [(c.invocation.event_type, c.invocation.route_key, c.response.status, c.error_type) for c in seen]
        assert got == [("CONNECT", "$connect", 200, None), ("MESSAGE", "$default", 403, "MISSING_AUTHENTICATION_TOKEN"),
                       ("DISCONNECT", "$disconnect", 200, None)]
        assert seen[2].invocation.disconnect_code == 1001
        assert {c.invocation.connection.connection_id for c in seen} == {conn.connection_id}
    asyncio.run(scenario())

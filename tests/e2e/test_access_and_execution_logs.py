"""Access and execution logs over a real `apiway serve`: REST, HTTP and WebSocket stages configured with boto3 as on
AWS (`accessLogSettings`, methodSettings' logging level and data trace), their requests made over real sockets,
and the lines read back from the log groups the server wrote (and from its stdout with `--access-log -`)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from apiway.observe.log_groups import LogGroups
from tests.http_apis import v2_client
from tests.support import Server, apigateway_client, request_log_lines

FUNCTIONS = '''
import json


def hello(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"hello": (event.get("pathParameters") or {}).get("id")})}


def fail(event, context):
    raise RuntimeError("the function broke")


def auth(event, context):
    effect = "Allow" if event["authorizationToken"] == "allow" else "Deny"
    return {"principalId": "user-1", "context": {"role": "admin"},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]}}


def ws(event, context):
    return {"statusCode": 200, "body": "ok"}
'''
PROJECT = """functions:
  Hello: {handler: fns.py:hello, mode: inline}
  Fail: {handler: fns.py:fail, mode: inline}
  Ws: {handler: fns.py:ws, mode: inline}
  Auth: {handler: fns.py:auth, mode: inline}
"""
LAMBDA_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:"
              "function:{}/invocations")
GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:{}"
REST_FORMAT = " ".join(f"$context.{name}" for name in (
    "requestId", "extendedRequestId", "apiId", "stage", "httpMethod", "resourcePath", "path", "status",
    "responseLength", "protocol", "identity.sourceIp", "identity.userAgent", "identity.caller",
    "integration.integrationStatus", "integrationStatus", "error.responseType", "accountId", "domainName",
    "domainPrefix", "deploymentId", "isCanaryRequest", "resourceId", "requestTimeEpoch", "integrationLatency",
    "responseLatency", "authorizer.principalId")) + ' [$context.requestTime] "$context.error.message"'
SECRET_TOKEN = "Bearer my-very-secret-token-1234"
SECRET_KEY = "k3y-that-must-not-leak-5678"
API_KEY = "usage-plan-key-0123456789abcdef"


class Setup:
    def __init__(self, server: Server, rest_id: str, http_id: str, ws_id: str) -> None:
        self.server = server
        self.rest_id = rest_id
        self.http_id = http_id
        self.ws_id = ws_id
        self.groups = LogGroups(server.state.parent / "logs" / "groups")

    def messages(self, group: str, count: int, where: Callable[[str], bool] = lambda m: True) -> list[str]:
        """The group's messages that pass `where`, once there are `count` of them (the writer flushes apart)."""
        deadline = time.monotonic() + 10
        found: list[str] = []
        while time.monotonic() < deadline:
            found = [e["message"] for e in self.groups.tail(group, 0, 10_000) if where(e["message"])]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{group}: {len(found)} of {count} messages: {found}")

    def lines(self, group: str, request_id: str) -> list[str]:
        """A request's execution-log lines, without their `(requestId) ` prefix, once it completed."""
        return request_log_lines(self.groups, group, request_id)


def _rest_api(port: int) -> str:
    client = apigateway_client(port)
    api_id = client.create_rest_api(name="logged")["id"]
    root = next(r["id"] for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    pets = client.create_resource(restApiId=api_id, parentId=root, pathPart="pets")["id"]
    pet = client.create_resource(restApiId=api_id, parentId=pets, pathPart="{id}")["id"]
    broken = client.create_resource(restApiId=api_id, parentId=root, pathPart="fail")["id"]
    keyed = client.create_resource(restApiId=api_id, parentId=root, pathPart="keyed")["id"]
    guarded = client.create_resource(restApiId=api_id, parentId=root, pathPart="guarded")["id"]
    authorizer = client.create_authorizer(restApiId=api_id, name="tokens", type="TOKEN",
                                          authorizerUri=LAMBDA_URI.format("Auth"), authorizerResultTtlInSeconds=0,
                                          identitySource="method.request.header.Authorization")["id"]
    for resource, function in ((pet, "Hello"), (broken, "Fail"), (keyed, "Hello"), (guarded, "Hello")):
        client.put_method(restApiId=api_id, resourceId=resource, httpMethod="GET", apiKeyRequired=resource == keyed,
                          **({"authorizationType": "CUSTOM", "authorizerId": authorizer} if resource == guarded
                             else {"authorizationType": "NONE"}))
        client.put_integration(restApiId=api_id, resourceId=resource, httpMethod="GET", type="AWS_PROXY",
                               integrationHttpMethod="POST", uri=LAMBDA_URI.format(function))
    client.create_deployment(restApiId=api_id, stageName="prod")
    client.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": GROUP_ARN.format("rest-access")},
        {"op": "replace", "path": "/accessLogSettings/format", "value": REST_FORMAT},
        {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
        {"op": "replace", "path": "/*/*/logging/dataTrace", "value": "true"},
        {"op": "replace", "path": "/~1fail/GET/logging/loglevel", "value": "ERROR"},
        {"op": "replace", "path": "/~1fail/GET/logging/dataTrace", "value": "false"},
    ])
    # /keyed: one request a burst, then throttled
    plan = client.create_usage_plan(name="one", apiStages=[{"apiId": api_id, "stage": "prod"}],
                                    throttle={"burstLimit": 1, "rateLimit": 0.001})["id"]
    key = client.create_api_key(name="k", enabled=True, value=API_KEY)["id"]
    client.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
    return api_id


def _http_api(port: int) -> str:
    v2 = v2_client(port)
    api_id = v2.create_api(Name="logged-http", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
                                        IntegrationUri=LAMBDA_URI.format("Hello"))["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /items/{id}", Target=f"integrations/{integration}")
    from apiway.telemetry.access_log import JSON
    v2.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True, AccessLogSettings={
        "DestinationArn": GROUP_ARN.format("http-access"),
        "Format": JSON[:-2] + ', "routeKey":"$context.routeKey", "dataProcessed":"$context.dataProcessed", '
                              '"integrationStatus":"$context.integration.integrationStatus", '
                              '"errorType":"$context.error.responseType" }'})
    v2.create_deployment(ApiId=api_id, StageName="prod")
    return api_id


def _ws_api(port: int) -> str:
    v2 = v2_client(port)
    api_id = v2.create_api(Name="logged-ws", ProtocolType="WEBSOCKET",
                           RouteSelectionExpression="$request.body.action")["ApiId"]
    for route_key in ("$connect", "$disconnect", "$default"):
        integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                            IntegrationUri=LAMBDA_URI.format("Ws"))["IntegrationId"]
        v2.create_route(ApiId=api_id, RouteKey=route_key, Target=f"integrations/{integration}")
    fmt = " ".join(f"$context.{name}" for name in (
        "requestId", "eventType", "routeKey", "connectionId", "status", "integrationLatency", "connectedAt",
        "disconnectStatusCode", "messageDirection", "stage", "apiId", "identity.sourceIp"))
    v2.create_stage(ApiId=api_id, StageName="prod",
                    AccessLogSettings={"DestinationArn": GROUP_ARN.format("ws-access"), "Format": fmt},
                    DefaultRouteSettings={"LoggingLevel": "INFO", "DataTraceEnabled": True})
    v2.create_deployment(ApiId=api_id, StageName="prod")
    return api_id


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root: Path = tmp_path_factory.mktemp("logs")
    (root / "fns.py").write_text(FUNCTIONS)
    (root / "apiway.yaml").write_text(PROJECT)
    server = Server(root / "apiway.yaml", root / "state.db", extra_args=["--access-log", "-"])
    try:
        yield Setup(server, _rest_api(server.port), _http_api(server.port), _ws_api(server.port))
    finally:
        server.stop()


def _header(reply: Any, name: str) -> str:
    value = reply.header(name)
    assert value is not None, name
    return value


def test_rest_access_log_lines_hold_each_context_variable(setup: Setup):
    server, api = setup.server, setup.rest_id
    ok = server.call("GET", api, "prod", "/pets/7", headers={"User-Agent": "logs-test/1"})
    failed = server.call("GET", api, "prod", "/fail", headers={"User-Agent": "logs-test/1"})
    missing = server.call("GET", api, "prod", "/nowhere", headers={"User-Agent": "logs-test/1"})
    assert (ok.status, failed.status, missing.status) == (200, 502, 403)
    ids = [_header(r, "x-amzn-RequestId") for r in (ok, failed, missing)]
    lines = {line.split(" ", 1)[0]: line for line in setup.messages("rest-access", 3, lambda m: m.split(" ", 1)[0] in ids)}
    host = f"{api}.execute-api.localhost:{server.port}"
    pattern = re.compile(r"^(.*) (\d{13}) (\d+|-) (\d+|-) - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000)\] \"(.*)\"$")

    def fields(reply: Any, request_id: str) -> tuple[list[str], re.Match[str]]:
        match = pattern.match(lines[request_id])
        assert match is not None, lines[request_id]
        return match.group(1).split(" "), match

    head, match = fields(ok, ids[0])
    assert head == [ids[0], _header(ok, "x-amz-apigw-id"), api, "prod", "GET", "/pets/{id}", "/prod/pets/7", "200",
                    str(len(ok.body)), "HTTP/1.1", "127.0.0.1", "logs-test/1", "-", "200", "200", "-",
                    "123456789012", host, api, head[19], "false", head[21]]
    assert abs(int(match.group(2)) - time.time() * 1000) < 60_000
    assert match.group(6) == "-"

    head, match = fields(failed, ids[1])
    assert head[4:8] == ["GET", "/fail", "/prod/fail", "502"]
    assert head[13:16] == ["200", "200", "INTEGRATION_FAILURE"]
    assert match.group(6) == "Internal server error"

    head, match = fields(missing, ids[2])
    # no method matched: what the request itself says, the rest unset
    assert head[:8] == [ids[2], _header(missing, "x-amz-apigw-id"), api, "prod", "GET", "-", "/prod/nowhere", "403"]
    assert head[15] == "MISSING_AUTHENTICATION_TOKEN"
    assert match.group(6) == "Missing Authentication Token"


def test_rest_execution_log_at_info_with_data_trace_masks_secrets(setup: Setup):
    server, api = setup.server, setup.rest_id
    reply = server.call("GET", api, "prod", "/pets/42?color=red",
                        headers={"Authorization": SECRET_TOKEN, "x-api-key": SECRET_KEY})
    assert reply.status == 200
    request_id = _header(reply, "x-amzn-RequestId")
    group = f"API-Gateway-Execution-Logs_{api}/prod"
    lines = setup.lines(group, request_id)
    steps = [line.split(":", 1)[0] for line in lines]
    for step in ("Extended Request Id", "Starting execution for request", "HTTP Method", "Method request path",
                 "Method request query string", "Method request headers",
                 "Method request body before transformations", "Endpoint request URI",
                 "Endpoint request body after transformations", "Sending request to https",
                 "Received response. Status", "Endpoint response body before transformations",
                 "Method response body after transformations", "Method response headers",
                 "Successfully completed execution", "Method completed with status"):
        assert step in steps, (step, lines)
    assert steps.index("Starting execution for request") < steps.index("Endpoint request URI") < \
        steps.index("Method completed with status")
    assert "HTTP Method: GET, Resource Path: /pets/42" in lines
    assert "Method request path: {id=42}" in lines
    assert "Method request query string: {color=red}" in lines
    assert "Method completed with status: 200" in lines
    headers = next(line for line in lines if line.startswith("Method request headers: "))
    assert SECRET_TOKEN not in headers and SECRET_KEY not in headers
    assert f"Authorization={'*' * (len(SECRET_TOKEN) - 4)}1234" in headers
    assert f"x-api-key={'*' * (len(SECRET_KEY) - 4)}5678" in headers
    everything = "\n".join(e["message"] for e in setup.groups.tail(group, 0, 10_000))
    assert "my-very-secret-token" not in everything and "must-not-leak" not in everything
    # the proxy event is longer than an event may be: cut at AWS's 1 KB
    event_line = next(line for line in lines if line.startswith("Endpoint request body after transformations"))
    assert event_line.endswith(" [TRUNCATED]")
    assert len(f"({request_id}) {event_line}".encode()) <= 1024 + len(" [TRUNCATED]")


def test_rest_execution_log_at_error_writes_only_the_failure(setup: Setup):
    server, api = setup.server, setup.rest_id
    reply = server.call("GET", api, "prod", "/fail")
    assert reply.status == 502
    request_id = _header(reply, "x-amzn-RequestId")
    group = f"API-Gateway-Execution-Logs_{api}/prod"
    lines = setup.lines(group, request_id)
    assert lines[0].startswith("Lambda execution failed with status 200 due to customer function error: ")
    assert "the function broke" in lines[0]
    assert lines[1:] == ["Gateway response type: INTEGRATION_FAILURE with status code: 502",
                         "Method completed with status: 502"]


def test_rest_execution_log_of_api_key_and_throttling_decisions(setup: Setup):
    server, api = setup.server, setup.rest_id
    group = f"API-Gateway-Execution-Logs_{api}/prod"
    replies = [server.call("GET", api, "prod", "/keyed", headers=headers)
               for headers in ({}, {"x-api-key": API_KEY}, {"x-api-key": API_KEY})]
    assert [r.status for r in replies] == [403, 200, 429]
    ids = [_header(r, "x-amzn-RequestId") for r in replies]
    missing, allowed, throttled = (setup.lines(group, rid) for rid in ids)
    assert "API Key not authorized because method 'GET /keyed' requires API Key and API key is missing" in missing
    assert "Gateway response type: INVALID_API_KEY with status code: 403" in missing
    masked = "*" * (len(API_KEY) - 4) + API_KEY[-4:]
    assert f"Verifying Usage Plan for request: {ids[1]}. API Key: {masked} API Stage: {api}/prod" in allowed
    assert f"Usage Plan check succeeded for API Key {masked} and API Stage {api}/prod" in allowed
    assert allowed[-1] == "Method completed with status: 200"
    assert "Gateway response type: THROTTLED with status code: 429" in throttled
    assert throttled[-1] == "Method completed with status: 429"
    everything = "\n".join(e["message"] for e in setup.groups.tail(group, 0, 10_000))
    assert API_KEY not in everything


def test_lambda_authorizer_steps_in_both_logs(setup: Setup):
    server, api = setup.server, setup.rest_id
    group = f"API-Gateway-Execution-Logs_{api}/prod"
    replies = [server.call("GET", api, "prod", "/guarded", headers=headers)
               for headers in ({"Authorization": "allow"}, {"Authorization": "deny"}, {})]
    assert [r.status for r in replies] == [200, 403, 401]
    ids = [_header(r, "x-amzn-RequestId") for r in replies]
    allowed, denied, anonymous = (setup.lines(group, rid) for rid in ids)
    assert any(line.startswith("Starting authorizer: ") and line.endswith(f" for request: {ids[0]}") for line in allowed)
    assert allowed.index("Successfully completed authorizer execution") < \
        allowed.index(f"Starting execution for request: {ids[0]}")
    assert "The client is not authorized to perform this operation." in denied
    assert f"Unauthorized request: {ids[2]}" in anonymous
    lines = {line.split(" ", 1)[0]: line.split(" ") for line in setup.messages(
        "rest-access", 3, lambda m: m.split(" ", 1)[0] in ids)}
    assert lines[ids[0]][25] == "user-1"
    assert lines[ids[1]][15] == "ACCESS_DENIED" and lines[ids[2]][15] == "UNAUTHORIZED"


def test_access_log_lines_also_go_to_stdout(setup: Setup):
    reply = setup.server.call("GET", setup.rest_id, "prod", "/pets/stdout")
    request_id = _header(reply, "x-amzn-RequestId")
    deadline = time.monotonic() + 10
    assert setup.server.proc.stdout is not None
    while time.monotonic() < deadline and request_id not in setup.server.output:
        setup.server.output += (setup.server.proc.stdout.read() or b"").decode()
        time.sleep(0.05)
    line = next(line for line in setup.server.output.splitlines() if line.startswith(request_id))
    assert " /prod/pets/stdout 200 " in line


def test_http_api_access_log_in_the_json_preset(setup: Setup):
    server, api = setup.server, setup.http_id
    ok = server.call("GET", api, "prod", "/items/9", headers={"User-Agent": "logs-test/2"})
    missing = server.call("GET", api, "prod", "/nothing")
    assert (ok.status, missing.status) == (200, 404)
    ids = [_header(r, "apigw-requestid") for r in (ok, missing)]
    entries = {e["requestId"]: e for e in map(json.loads, setup.messages(
        "http-access", 2, lambda m: json.loads(m)["requestId"] in ids))}
    first = entries[ids[0]]
    assert re.fullmatch(r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000", first.pop("requestTime"))
    assert first == {"requestId": ids[0], "extendedRequestId": ids[0], "ip": "127.0.0.1", "caller": "-",
                     "user": "-", "httpMethod": "GET", "resourcePath": "GET /items/{id}", "status": "200",
                     "protocol": "HTTP/1.1", "responseLength": str(len(ok.body)), "routeKey": "GET /items/{id}",
                     "dataProcessed": str(len(ok.body)), "integrationStatus": "200", "errorType": "-"}
    second = entries[ids[1]]
    assert (second["status"], second["routeKey"], second["errorType"]) == ("404", "-", "MISSING_AUTHENTICATION_TOKEN")


def test_websocket_access_and_execution_logs_per_event(setup: Setup):
    server, api = setup.server, setup.ws_id

    async def session() -> None:
        async with connect(f"ws://{api}.execute-api.localhost:{server.port}/prod", host="127.0.0.1",
                           port=server.port, ping_interval=None, open_timeout=10) as ws:
            await ws.send(json.dumps({"action": "anything", "secret": "x"}))
            await asyncio.sleep(0.2)

    asyncio.run(session())
    lines = [line.split(" ") for line in setup.messages("ws-access", 3)]
    by_event = {line[1]: line for line in lines}
    assert set(by_event) == {"CONNECT", "MESSAGE", "DISCONNECT"}
    connection = by_event["CONNECT"][3]
    for event, route in (("CONNECT", "$connect"), ("MESSAGE", "$default"), ("DISCONNECT", "$disconnect")):
        line = by_event[event]
        assert line[2:5] == [route, connection, "200"], line
        assert line[9:] == ["prod", api, "127.0.0.1"]
        assert line[8] == "IN"
    assert by_event["DISCONNECT"][7] == "1000"
    assert by_event["CONNECT"][7] == "-"
    group = f"/aws/apigateway/{api}/prod"
    messages = setup.messages(group, 3, lambda m: "Method completed with status: 200" in m)
    assert any("WebSocket Event Type: MESSAGE, Route Key: $default" in m
               for m in [e["message"] for e in setup.groups.tail(group, 0, 10_000)]), messages


def test_a_project_files_stage_logs_and_traces(serve, tmp_path: Path) -> None:
    """`access_log` (a console preset by name, a log group) and `tracing` on a project file's REST stage."""
    (tmp_path / "api.yaml").write_text(json.dumps({"openapi": "3.0.1", "info": {"title": "proj", "version": "1"},
        "paths": {"/ping": {"get": {"x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200"}}}}}}}))
    (tmp_path / "apiway.yaml").write_text(
        "apis:\n  - openapi: api.yaml\n    id: projlogged\n    stages:\n"
        "      prod: {access_log: {format: JSON, group: proj-access}, tracing: true}\n")
    server: Server = serve(tmp_path / "apiway.yaml")
    reply = server.call("GET", "projlogged", "prod", "/ping", headers={"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793"})
    assert reply.status == 200
    (line,) = Setup(server, "", "", "").messages("proj-access", 1)
    record = json.loads(line)
    assert record["requestId"] == reply.header("x-amzn-RequestId") and record["status"] == "200"
    assert record["httpMethod"] == "GET" and record["resourcePath"] == "/ping"
    stage = apigateway_client(server.port).get_stage(restApiId="projlogged", stageName="prod")
    assert stage["tracingEnabled"] is True
    assert stage["accessLogSettings"]["destinationArn"].endswith(":log-group:proj-access")


def test_a_project_files_access_log_needs_a_group(tmp_path: Path) -> None:
    from apiway.config import load_project
    from apiway.model.documents import DocumentError

    (tmp_path / "api.yaml").write_text('{"openapi": "3.0.1", "info": {"title": "x", "version": "1"}, "paths": {}}')
    (tmp_path / "apiway.yaml").write_text(
        "apis:\n  - openapi: api.yaml\n    stages:\n      prod:\n        access_log: {format: CLF}\n")
    with pytest.raises(DocumentError) as failed:
        load_project(tmp_path / "apiway.yaml")
    assert "access_log" in str(failed.value) and "log group name is required" in str(failed.value)
    assert ":5:" in str(failed.value) or "line 5" in str(failed.value)

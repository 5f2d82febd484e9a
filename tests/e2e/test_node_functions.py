"""Node.js functions served end to end: the machine's `node` runs CommonJS, ES module and callback handlers
through the Lambda Runtime API; results and errors come back through Lambda's Invoke API and API Gateway,
console lines in Lambda's format reach the server's stderr and log group `/aws/lambda/{name}`."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.support import REPO, Server, function_proxy_api, until

COMMONJS = """const os = require("os");
let calls = 0;
console.log("cold start");
exports.handler = async (event, context) => {
  calls += 1;
  console.log("event", event.pathParameters ? event.pathParameters.proxy : JSON.stringify(event));
  console.warn("careful");
  console.error("bad", new Error("shown"));
  return { statusCode: 200, body: JSON.stringify({ calls, pid: process.pid, requestId: context.awsRequestId,
    functionName: context.functionName, version: context.functionVersion, memory: context.memoryLimitInMB,
    arn: context.invokedFunctionArn, group: context.logGroupName, stream: context.logStreamName,
    remaining: context.getRemainingTimeInMillis(), waits: context.callbackWaitsForEmptyEventLoop,
    trace: process.env._X_AMZN_TRACE_ID || null, env: process.env.GREETING }) };
};
"""
ESM = """export const handler = async (event) => ({ esm: true, got: event });
"""
MJS = """import path from "node:path";
export async function handler(event) { return { mjs: path.basename("/a/b.txt") }; }
"""
CALLBACK = """module.exports.handler = function (event, context, callback) {
  setTimeout(() => callback(null, { callback: true, n: event.n + 1 }), 5);
};
module.exports.fails = function (event, context, callback) { callback(new RangeError("out of range")); };
"""
THROWS = """class OrderError extends Error { constructor(m) { super(m); this.name = "OrderError"; } }
exports.handler = async () => { throw new OrderError("no such order"); };
"""
BROKEN = """const missing = require("no-such-package");
exports.handler = async () => missing();
"""
PROJECT = """apis:
  - openapi: api.yaml
    id: nodeapi001
functions:
  Hello: {handler: src/hello.handler, runtime: nodejs20.x, environment: {GREETING: hi}}
  Esm: {handler: esm/app.handler, runtime: nodejs}
  Mjs: {handler: lib.handler, runtime: nodejs22.x}
  Callback: {handler: cb.handler, runtime: nodejs}
  CallbackError: {handler: cb.fails, runtime: nodejs}
  Throws: {handler: throws.handler, runtime: nodejs}
  Broken: {handler: broken.handler, runtime: nodejs}
  Missing: {handler: hello.nothing, runtime: nodejs}
  Slow: {handler: slow.handler, runtime: nodejs, timeout: 1}
  Forgotten: {handler: slow.forgotten, runtime: nodejs}
  Exits: {handler: crash.exits, runtime: nodejs}
  Hog: {handler: crash.hog, runtime: nodejs}
"""
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def write_project(root: Path) -> Path:
    (root / "src").mkdir()
    (root / "esm").mkdir()
    (root / "api.yaml").write_text(function_proxy_api("Node", "Hello"))
    (root / "src" / "hello.js").write_text(COMMONJS)
    (root / "esm" / "package.json").write_text('{"type": "module"}')
    (root / "esm" / "app.js").write_text(ESM)
    (root / "lib.mjs").write_text(MJS)
    (root / "cb.js").write_text(CALLBACK)
    (root / "throws.js").write_text(THROWS)
    (root / "broken.js").write_text(BROKEN)
    (root / "hello.js").write_text("exports.other = () => 1;\n")
    (root / "slow.js").write_text("exports.handler = () => new Promise((r) => setTimeout(r, 60000));\n"
                                  "exports.forgotten = () => new Promise(() => {});\n")
    (root / "crash.js").write_text("exports.exits = async () => process.exit(3);\n"
                                   "exports.hog = async () => { const a = []; for (;;) a.push(new Array(1e5).fill(1)); };\n")
    (root / "apiway.yaml").write_text(PROJECT)
    return root / "apiway.yaml"


def client(service: str, server: Server) -> Any:
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{server.port}", region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x",
                        config=Config(retries={"total_max_attempts": 1}))


def invoke(lam: Any, name: str, payload: object, **kw: Any) -> tuple[dict[str, Any], Any]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), **kw)
    return response, json.loads(response["Payload"].read())


def test_node_handlers_results_and_errors(serve, tmp_path: Path) -> None:
    server: Server = serve(write_project(tmp_path))
    lam = client("lambda", server)

    response, body = invoke(lam, "Esm", {"a": 1})
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert body == {"esm": True, "got": {"a": 1}}
    assert invoke(lam, "Mjs", {})[1] == {"mjs": "b.txt"}
    assert invoke(lam, "Callback", {"n": 1})[1] == {"callback": True, "n": 2}

    # Errors as Lambda's Node.js runtime reports them: errorType, errorMessage and the stack as `trace`
    response, body = invoke(lam, "Throws", {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "OrderError" and body["errorMessage"] == "no such order"
    assert body["trace"][0] == "OrderError: no such order" and "throws.js" in body["trace"][1]
    _, body = invoke(lam, "CallbackError", {})
    assert (body["errorType"], body["errorMessage"]) == ("RangeError", "out of range")

    response, body = invoke(lam, "Broken", {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"].startswith("Error: Cannot find module 'no-such-package'\nRequire stack:\n- ")
    _, body = invoke(lam, "Missing", {})
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert body["errorMessage"] == "hello.nothing is undefined or not exported"

    response, body = invoke(lam, "Slow", {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
    # nothing left to run and no result (a promise nothing will settle): the event loop empties, the result is null
    response, body = invoke(lam, "Forgotten", {})
    assert "FunctionError" not in response and body is None

    # crashes and the memory limit end the environment as Lambda's do; the next call starts a fresh one
    _, body = invoke(lam, "Exits", {})
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith(" Error: Runtime exited with error: exit status 3")
    _, body = invoke(lam, "Hog", {})
    assert body["errorType"] == "Runtime.ExitError" and "signal:" in body["errorMessage"]
    assert invoke(lam, "Esm", {"again": 1})[1] == {"esm": True, "got": {"again": 1}}
    assert server.proc.poll() is None


def test_node_function_behind_api_gateway_with_context_trace_and_logs(serve, tmp_path: Path) -> None:
    server: Server = serve(write_project(tmp_path))
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    first = server.call("GET", "nodeapi001", "dev", "/first", headers={"X-Amzn-Trace-Id": trace})
    second = server.call("GET", "nodeapi001", "dev", "/second")
    assert first.status == second.status == 200, first.body
    one, two = first.json(), second.json()
    assert two["calls"] == one["calls"] + 1 and two["pid"] == one["pid"]  # the warm environment was reused
    assert one["functionName"] == "Hello" and one["version"] == "$LATEST" and one["memory"] == "128"
    assert one["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:Hello"
    assert one["group"] == "/aws/lambda/Hello" and re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}",
                                                                  one["stream"])
    assert 0 < one["remaining"] <= 3000 and one["waits"] is True and one["env"] == "hi"
    assert one["trace"].startswith("Root=1-5759e988-bd862e3fe1be46a994272793;")
    assert two["trace"].startswith("Root=1-") and two["trace"] != one["trace"]  # each invocation its own

    # console lines: `<ISO time>\t<request id>\t<LEVEL>\t<message>`, in the log group and on stderr
    logs = client("logs", server)
    rid = one["requestId"]
    events = until(lambda: [e["message"] for e in logs.filter_log_events(
        logGroupName="/aws/lambda/Hello", filterPattern=f'"{rid}"')["events"]])
    assert re.fullmatch(rf"{ISO}\t{rid}\tINFO\tevent first", events[1]), events
    assert re.fullmatch(rf"{ISO}\t{rid}\tWARN\tcareful", events[2])
    assert re.match(rf"{ISO}\t{rid}\tERROR\tbad Error: shown", events[3])
    assert events[0] == f"START RequestId: {rid} Version: $LATEST" and events[-2] == f"END RequestId: {rid}"
    assert until(lambda: [e for e in logs.filter_log_events(logGroupName="/aws/lambda/Hello",
                                                            filterPattern='"cold start"')["events"]])
    server.stop()
    stderr = server.stderr()
    assert re.search(rf"^\[Hello\] {ISO}\tundefined\tINFO\tcold start$", stderr, re.M), stderr
    assert re.search(rf"^\[Hello\] {ISO}\t{rid}\tINFO\tevent first$", stderr, re.M)


def test_tail_log_of_a_node_invocation(serve, tmp_path: Path) -> None:
    server: Server = serve(write_project(tmp_path))
    response, _ = invoke(client("lambda", server), "Throws", {}, LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    assert re.search(rf"{ISO}\t\S+\tERROR\tInvoke Error \t\{{\"errorType\":\"OrderError\"", log), log
    assert "REPORT RequestId:" in log


def test_missing_node_is_a_clear_start_up_error(tmp_path: Path) -> None:
    write_project(tmp_path)
    (tmp_path / "state").mkdir()
    try:
        Server(tmp_path / "apiway.yaml", tmp_path / "state" / "state.db", env={"PATH": str(tmp_path / "nowhere")})
    except RuntimeError as exc:
        assert "function Hello (runtime nodejs): `node` is not on PATH" in str(exc)
    else:
        raise AssertionError("the server started without node")


SAM_TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: nodejs20.x, Timeout: 5}
Resources:
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: orders/
      Handler: src/app.list
      Environment: {Variables: {TABLE: orders}}
      Events:
        List: {Type: Api, Properties: {Path: /orders, Method: get}}
  PingFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      InlineCode: |
        exports.handler = async () => ({ statusCode: 200, body: "pong" });
      Events:
        Ping: {Type: HttpApi, Properties: {Path: /ping, Method: get}}
"""


def test_sam_template_with_node_functions(serve, tmp_path: Path) -> None:
    (tmp_path / "orders" / "src").mkdir(parents=True)
    (tmp_path / "orders" / "package.json").write_text('{"type": "module"}')
    (tmp_path / "orders" / "src" / "app.js").write_text(
        "export const list = async (event) => ({ statusCode: 200, body: JSON.stringify({ table: process.env.TABLE,"
        " path: event.path }) });\n")
    (tmp_path / "template.yaml").write_text(SAM_TEMPLATE)
    server: Server = serve(tmp_path / "template.yaml")
    orders = server.call("GET", server.api_ids["ServerlessRestApi"], "Prod", "/orders")
    assert orders.status == 200, orders.body
    assert orders.json() == {"table": "orders", "path": "/orders"}
    ping = server.call("GET", server.api_ids["ServerlessHttpApi"], "$default", "/ping")
    assert ping.status == 200 and ping.body == b"pong"


@pytest.mark.skipif(os.environ.get("APIWAY_TEST_SERVER") == "uvicorn",
                    reason="--watch runs in the native server's loop; `serve --server uvicorn --watch` refuses")
def test_watch_reloads_a_changed_node_function(serve, tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "api.yaml").write_text(function_proxy_api("Watched", "Watched"))
    version = 'exports.handler = async () => ({{ statusCode: 200, body: "{}" }});\n'
    (tmp_path / "fn" / "app.js").write_text(version.format("one"))
    (tmp_path / "apiway.yaml").write_text("apis:\n  - openapi: api.yaml\n    id: watched001\n"
                                          "functions:\n  Watched: {handler: fn/app.handler, runtime: nodejs}\n")
    server: Server = serve(tmp_path / "apiway.yaml", "--watch")
    assert server.call("GET", "watched001", "dev", "/x").body == b"one"
    (tmp_path / "fn" / "app.js").write_text(version.format("two, a longer body"))
    assert until(lambda: server.call("GET", "watched001", "dev", "/x").body == b"two, a longer body")


def test_node_example(serve) -> None:
    server: Server = serve(REPO / "examples" / "node-app" / "apiway.yaml")
    order = server.call("GET", "nodeapp0001", "dev", "/orders/42")
    assert order.status == 200 and order.json()["id"] == 42 and order.json()["shop"] == "corner"
    assert server.call("GET", "nodeapp0001", "dev", "/orders/x").status == 502
    assert server.call("GET", "nodeapp0001", "dev", "/status").json()["node"].startswith("v")
    assert server.call("GET", "nodeapp0001", "dev", "/legacy").body == b"called back"

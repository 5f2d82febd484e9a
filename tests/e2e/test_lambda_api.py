"""Lambda's control plane on the gateway's port, driven by boto3's own `lambda` client (and the AWS CLI once):
functions made from zips built here, run in worker mode, published as versions, called through aliases by an
HTTP API and by a REST API (an alias named by a stage variable), kept across a restart."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support import Server, apigateway_client, request

ACCOUNT = "123456789012"
ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-role"

HANDLER = '''
import json, os

def handler(event, context):
    body = {"answer": ANSWER, "version": context.function_version, "name": context.function_name,
            "greeting": os.environ.get("GREETING")}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
'''


def package(answer: str) -> bytes:
    """A function's zip, made here: `app.handler` answers `answer`."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("app.py", HANDLER.replace("ANSWER", repr(answer)))
    return data.getvalue()


def clients(server: Server, service: str):
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{server.port}", region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x",
                        config=Config(retries={"total_max_attempts": 1}))


def answer(server: Server, api_id: str, path: str) -> tuple[int, dict]:
    reply = request(server.port, "GET", path, {"Host": f"{api_id}.execute-api.localhost:{server.port}"})
    return reply.status, (reply.json() if reply.status == 200 else {"body": reply.body.decode()})


def create(lam, name: str, answer_text: str, **extra) -> dict:
    return lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                               Code={"ZipFile": package(answer_text)}, **extra)


def error(call, *args, **kw) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as raised:
        call(*args, **kw)
    found = raised.value.response
    return found["ResponseMetadata"]["HTTPStatusCode"], found["Error"]["Code"], found["Error"]["Message"]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    (tmp_path / "state").mkdir(exist_ok=True)
    return tmp_path / "state" / "state.db"


def test_http_api_through_an_alias_follows_publish_and_update_alias(state: Path) -> None:
    server = Server(None, state)
    try:
        lam, v2 = clients(server, "lambda"), clients(server, "apigatewayv2")
        made = create(lam, "greeter", "one", Environment={"Variables": {"GREETING": "hello"}}, Timeout=5,
                      MemorySize=256)
        assert made["FunctionArn"] == ARN + "greeter" and made["Version"] == "$LATEST"
        assert (made["Runtime"], made["Handler"], made["Timeout"], made["MemorySize"], made["State"]) == (
            "python3.11", "app.handler", 5, 256, "Active")
        assert made["Environment"] == {"Variables": {"GREETING": "hello"}} and made["CodeSize"] > 0
        one = lam.publish_version(FunctionName="greeter", Description="first")
        assert (one["Version"], one["FunctionArn"]) == ("1", ARN + "greeter:1")
        alias = lam.create_alias(FunctionName="greeter", Name="live", FunctionVersion="1")
        assert alias["AliasArn"] == ARN + "greeter:live"

        api = v2.create_api(Name="aliased", ProtocolType="HTTP", Target=ARN + "greeter:live")
        status, body = answer(server, api["ApiId"], "/anything")
        assert (status, body["answer"], body["version"], body["name"], body["greeting"]) == (
            200, "one", "1", "greeter", "hello")

        lam.update_function_code(FunctionName="greeter", ZipFile=package("two"))
        assert answer(server, api["ApiId"], "/x")[1]["answer"] == "one"  # the alias still names version 1
        two = lam.publish_version(FunctionName="greeter")
        assert two["Version"] == "2"
        assert lam.publish_version(FunctionName="greeter")["Version"] == "2"  # nothing new: the same version
        lam.update_alias(FunctionName="greeter", Name="live", FunctionVersion="2")
        status, body = answer(server, api["ApiId"], "/x")
        assert (status, body["answer"], body["version"]) == (200, "two", "2")

        # Invoke by name, version, alias and ARN; version 1 is immutable.
        for name, expected, version in (("greeter", "two", "$LATEST"), ("greeter:1", "one", "1"),
                                        ("greeter:live", "two", "2"), (ARN + "greeter:1", "one", "1")):
            response = lam.invoke(FunctionName=name)
            assert response["ExecutedVersion"] == version
            assert json.loads(json.loads(response["Payload"].read())["body"])["answer"] == expected
        response = lam.invoke(FunctionName="greeter", Qualifier="1")
        assert json.loads(json.loads(response["Payload"].read())["body"])["answer"] == "one"

        # An alias that is gone: the integration answers 500, as AWS does when the function cannot be found.
        lam.delete_alias(FunctionName="greeter", Name="live")
        assert answer(server, api["ApiId"], "/x")[0] == 500
    finally:
        server.stop()


def test_rest_api_picks_the_alias_from_a_stage_variable(state: Path) -> None:
    server = Server(None, state)
    try:
        lam, apigw = clients(server, "lambda"), apigateway_client(server.port)
        create(lam, "shop", "blue")
        lam.publish_version(FunctionName="shop")
        lam.update_function_code(FunctionName="shop", ZipFile=package("green"))
        lam.publish_version(FunctionName="shop")
        lam.create_alias(FunctionName="shop", Name="blue", FunctionVersion="1")
        lam.create_alias(FunctionName="shop", Name="green", FunctionVersion="2")
        api = apigw.create_rest_api(name="stages")
        root = apigw.get_resources(restApiId=api["id"])["items"][0]["id"]
        apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE")
        uri = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
               f"{ARN}shop:${{stageVariables.alias}}/invocations")
        apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=uri)
        apigw.create_deployment(restApiId=api["id"], stageName="prod", variables={"alias": "blue"})
        apigw.create_deployment(restApiId=api["id"], stageName="beta", variables={"alias": "green"})
        apigw.create_deployment(restApiId=api["id"], stageName="gone", variables={"alias": "missing"})
        assert server.call("GET", api["id"], "prod", "/").json()["answer"] == "blue"
        assert server.call("GET", api["id"], "beta", "/").json()["answer"] == "green"
        assert server.call("GET", api["id"], "gone", "/").status == 500

        # A function made after the deployment: the stage calls it from then on.
        late = apigw.create_rest_api(name="late")
        late_root = apigw.get_resources(restApiId=late["id"])["items"][0]["id"]
        apigw.put_method(restApiId=late["id"], resourceId=late_root, httpMethod="GET", authorizationType="NONE")
        apigw.put_integration(restApiId=late["id"], resourceId=late_root, httpMethod="GET", type="AWS_PROXY",
                              integrationHttpMethod="POST",
                              uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{ARN}later"
                                  "/invocations")
        apigw.create_deployment(restApiId=late["id"], stageName="prod")
        assert server.call("GET", late["id"], "prod", "/").status == 500
        create(lam, "later", "here now")
        assert server.call("GET", late["id"], "prod", "/").json()["answer"] == "here now"
    finally:
        server.stop()


def test_get_list_delete_errors_and_policy(state: Path) -> None:
    server = Server(None, state)
    try:
        lam = clients(server, "lambda")
        for i in range(3):
            create(lam, f"fn-{i}", str(i))
        got = lam.get_function(FunctionName="fn-1")
        assert got["Configuration"]["FunctionName"] == "fn-1" and got["Code"]["RepositoryType"] == "S3"
        assert lam.get_function_configuration(FunctionName=ARN + "fn-2")["Handler"] == "app.handler"
        first = lam.list_functions(MaxItems=2)
        assert [f["FunctionName"] for f in first["Functions"]] == ["fn-0", "fn-1"] and first["NextMarker"]
        rest = lam.list_functions(MaxItems=2, Marker=first["NextMarker"])
        assert [f["FunctionName"] for f in rest["Functions"]] == ["fn-2"] and "NextMarker" not in rest
        pages = lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 1})
        assert [f["FunctionName"] for page in pages for f in page["Functions"]] == ["fn-0", "fn-1", "fn-2"]

        updated = lam.update_function_configuration(FunctionName="fn-0", Timeout=30, Description="slow")
        assert (updated["Timeout"], updated["Description"]) == (30, "slow")
        lam.publish_version(FunctionName="fn-0")
        lam.create_alias(FunctionName="fn-0", Name="prod", FunctionVersion="1", Description="production")
        assert lam.get_alias(FunctionName="fn-0", Name="prod")["Description"] == "production"
        assert [a["Name"] for a in lam.list_aliases(FunctionName="fn-0")["Aliases"]] == ["prod"]
        assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="fn-0")["Versions"]] == [
            "$LATEST", "1"]

        # Permissions are kept (not enforced).
        added = lam.add_permission(FunctionName="fn-0", StatementId="apigw", Action="lambda:InvokeFunction",
                                   Principal="apigateway.amazonaws.com",
                                   SourceArn="arn:aws:execute-api:us-east-1:123456789012:abc/*")
        assert json.loads(added["Statement"])["Principal"] == {"Service": "apigateway.amazonaws.com"}
        policy = json.loads(lam.get_policy(FunctionName="fn-0")["Policy"])
        assert [s["Sid"] for s in policy["Statement"]] == ["apigw"]
        assert error(lam.add_permission, FunctionName="fn-0", StatementId="apigw", Action="lambda:InvokeFunction",
                     Principal="apigateway.amazonaws.com")[:2] == (409, "ResourceConflictException")
        lam.remove_permission(FunctionName="fn-0", StatementId="apigw")
        assert error(lam.get_policy, FunctionName="fn-0")[:2] == (404, "ResourceNotFoundException")
        assert error(lam.remove_permission, FunctionName="fn-0", StatementId="apigw")[:2] == (
            404, "ResourceNotFoundException")

        # Errors as Lambda answers them.
        assert error(lam.get_function, FunctionName="nope") == (
            404, "ResourceNotFoundException", f"Function not found: {ARN}nope")
        assert error(create, lam, "fn-1", "again") == (409, "ResourceConflictException", "Function already exist: fn-1")
        assert error(lam.create_function, FunctionName="bad", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                     Code={"ZipFile": b"not a zip"}) == (
            400, "InvalidParameterValueException",
            "Could not unzip uploaded file. Please check your file, then try to upload again.")
        assert error(lam.create_alias, FunctionName="fn-0", Name="prod", FunctionVersion="1") == (
            409, "ResourceConflictException", f"Alias already exists: {ARN}fn-0:prod")
        assert error(lam.create_alias, FunctionName="fn-0", Name="next", FunctionVersion="9") == (
            404, "ResourceNotFoundException", f"Function not found: {ARN}fn-0:9")
        assert error(lam.get_alias, FunctionName="fn-0", Name="none") == (
            404, "ResourceNotFoundException", f"Cannot find alias arn: {ARN}fn-0:none")
        assert error(lam.delete_function, FunctionName="fn-0", Qualifier="1")[:2] == (409, "ResourceConflictException")
        assert error(lam.invoke, FunctionName="fn-0:none")[:2] == (404, "ResourceNotFoundException")
        assert error(lam.update_function_configuration, FunctionName="fn-0", Timeout=901)[:2] == (
            400, "ValidationException")
        assert error(lam.create_function, FunctionName="jv", Runtime="java21", Role=ROLE, Handler="index.handler",
                     Code={"ZipFile": package("x")})[:2] == (400, "InvalidParameterValueException")
        escaping = io.BytesIO()
        with zipfile.ZipFile(escaping, "w") as archive:
            archive.writestr("../outside.py", "x = 1")
        assert error(lam.create_function, FunctionName="escape", Runtime="python3.11", Role=ROLE,
                     Handler="app.handler", Code={"ZipFile": escaping.getvalue()})[:2] == (
            400, "InvalidParameterValueException")
        assert not list(state.parent.rglob("outside.py"))
        assert error(lam.get_function, FunctionName="escape")[:2] == (404, "ResourceNotFoundException")
        raw = request(server.port, "POST", "/2015-03-31/functions", {"Content-Type": "application/json"}, "{oops")
        assert raw.status == 400 and raw.header("x-amzn-ErrorType") == "InvalidRequestContentException"

        lam.delete_function(FunctionName="fn-1")
        assert error(lam.get_function, FunctionName="fn-1")[:2] == (404, "ResourceNotFoundException")
        assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["fn-0", "fn-2"]
    finally:
        server.stop()


def test_functions_survive_a_restart_and_the_cli_reads_them(state: Path, tmp_path: Path) -> None:
    server = Server(None, state)
    try:
        lam = clients(server, "lambda")
        create(lam, "keeper", "kept")
        lam.publish_version(FunctionName="keeper")
        lam.create_alias(FunctionName="keeper", Name="live", FunctionVersion="1")
        lam.update_function_code(FunctionName="keeper", ZipFile=package("newer"))
    finally:
        server.stop()
    server = Server(None, state)
    try:
        lam = clients(server, "lambda")
        for name, expected in (("keeper:live", "kept"), ("keeper", "newer")):
            payload = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
            assert json.loads(payload["body"])["answer"] == expected
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
               "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"}
        done = subprocess.run([str(Path(sys.executable).with_name("aws")), "lambda", "get-alias", "--function-name",
                               "keeper", "--name", "live", "--endpoint-url", f"http://127.0.0.1:{server.port}",
                               "--output", "json"], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["FunctionVersion"] == "1"
    finally:
        server.stop()


def test_a_provided_runtime_runs_the_bootstrap_in_its_zip(state: Path) -> None:
    source = Path(__file__).parent.parent / "unit" / "fixtures" / "runtimes" / "urllib_bootstrap"
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        entry = zipfile.ZipInfo("bootstrap")
        entry.external_attr = 0o100755 << 16  # executable, as `zip` keeps it
        archive.writestr(entry, source.read_bytes())
    server = Server(None, state)
    try:
        lam = clients(server, "lambda")
        lam.create_function(FunctionName="custom", Runtime="provided.al2023", Role=ROLE, Handler="echo.handler",
                            Code={"ZipFile": data.getvalue()})
        response = lam.invoke(FunctionName="custom", Payload=b'{"ping": 1}')
        assert "FunctionError" not in response
        assert json.loads(response["Payload"].read()) == {"handler": "echo.handler", "echo": {"ping": 1}}
    finally:
        server.stop()



def test_a_nodejs_function_from_a_zip(state: Path) -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("src/index.mjs", "export const handler = async (event, context) =>\n"
                         "  ({echo: event, name: context.functionName, version: context.functionVersion});\n")
    server = Server(None, state)
    try:
        lam = clients(server, "lambda")
        made = lam.create_function(FunctionName="noder", Runtime="nodejs20.x", Role=ROLE, Handler="src/index.handler",
                                   Code={"ZipFile": data.getvalue()}, Publish=True)
        assert made["Runtime"] == "nodejs20.x" and made["Version"] == "1"
        response = lam.invoke(FunctionName="noder:1", Payload=b'{"ping": 1}')
        assert "FunctionError" not in response
        assert json.loads(response["Payload"].read()) == {"echo": {"ping": 1}, "name": "noder", "version": "1"}
    finally:
        server.stop()


GATE = '''
def handler(event, context):
    return {"isAuthorized": event["headers"].get("x-token") == TOKEN}
'''


def test_an_authorizer_named_by_alias_follows_it(state: Path) -> None:
    def gate(token: str) -> bytes:
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as archive:
            archive.writestr("gate.py", GATE.replace("TOKEN", repr(token)))
        return data.getvalue()

    server = Server(None, state)
    try:
        lam, v2 = clients(server, "lambda"), clients(server, "apigatewayv2")
        create(lam, "backend", "guarded")
        lam.create_function(FunctionName="gate", Runtime="python3.12", Role=ROLE, Handler="gate.handler",
                            Code={"ZipFile": gate("old")}, Publish=True)
        lam.update_function_code(FunctionName="gate", ZipFile=gate("new"), Publish=True)
        lam.create_alias(FunctionName="gate", Name="live", FunctionVersion="1")
        api = v2.create_api(Name="guarded", ProtocolType="HTTP", Target=ARN + "backend")
        authorizer = v2.create_authorizer(
            ApiId=api["ApiId"], Name="gate", AuthorizerType="REQUEST", IdentitySource=["$request.header.x-token"],
            AuthorizerUri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{ARN}gate:live/invocations",
            AuthorizerPayloadFormatVersion="2.0", EnableSimpleResponses=True)["AuthorizerId"]
        route = next(r for r in v2.get_routes(ApiId=api["ApiId"])["Items"] if r["RouteKey"] == "$default")
        v2.update_route(ApiId=api["ApiId"], RouteId=route["RouteId"], AuthorizationType="CUSTOM",
                        AuthorizerId=authorizer)

        def status(token: str) -> int:
            return request(server.port, "GET", "/", {"Host": f"{api['ApiId']}.execute-api.localhost:{server.port}",
                                                     "x-token": token}).status

        assert (status("old"), status("new")) == (200, 403)
        lam.update_alias(FunctionName="gate", Name="live", FunctionVersion="2")
        assert (status("old"), status("new")) == (403, 200)
    finally:
        server.stop()

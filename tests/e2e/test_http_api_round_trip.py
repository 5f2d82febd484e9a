"""ImportApi → ExportApi → ImportApi answers identically: an HTTP API built call by call with boto3 (Lambda routes
over payload 2.0 and 1.0 sharing an integration, HTTP_PROXY routes with parameter mapping and a timeout, the
`$default` route, JWT, Lambda and IAM authorization, CORS) is exported in JSON and in YAML, each export imported
as a new API, all three deployed to a stage alike, and the same requests — errors included — get the same
status, body and headers from each over real sockets."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.e2e.authorizer_support import OidcProvider
from tests.e2e.echo_backend import EchoServer
from tests.support import Reply, Server, request

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
INVOKE = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + ARN + "/invocations"
BACKEND = "http://${stageVariables.backend}"
ORIGIN = "https://shop.example"
ALICE = ("AKIAALICE00000000001", "alice-secret", "arn:aws:iam::123456789012:user/alice")
STAGE = "live"

FUNCTIONS = """import json, time

def items(event, context):
    rc = event["requestContext"]
    seen = {"routeKey": event["routeKey"], "rawPath": event["rawPath"], "stage": rc["stage"],
            "query": event.get("queryStringParameters"), "params": event.get("pathParameters"),
            "body": event.get("body"), "authorizer": rc.get("authorizer"),
            "headers": {k: v for k, v in event["headers"].items() if k.startswith("x-") and not k.startswith(("x-amz", "x-forwarded-port"))}}
    return {"statusCode": 200, "headers": {"content-type": "application/json", "x-fn": "items"},
            "cookies": ["seen=1; Path=/"], "body": json.dumps(seen)}

def legacy(event, context):
    seen = {"resource": event["resource"], "path": event["path"], "method": event["httpMethod"],
            "query": event["multiValueQueryStringParameters"], "body": event["body"],
            "authorizer": event["requestContext"].get("authorizer")}
    return {"statusCode": 201, "multiValueHeaders": {"x-many": ["a", "b"]}, "body": json.dumps(seen)}

def authorize(event, context):
    token = event["headers"].get("x-token", "")
    return {"isAuthorized": token.startswith("allow"), "context": {"token": token, "route": event["routeKey"]}}

def fail(event, context):
    raise RuntimeError("failed on purpose")
"""
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:*:*/*"}]}
PROJECT = {"functions": {name.title(): {"handler": f"fns.py:{name}", "mode": "inline"}
                         for name in ("items", "legacy", "authorize", "fail")},
           "iam": {"identities": [{"access_key_id": ALICE[0], "secret_access_key": ALICE[1], "arn": ALICE[2],
                                   "policies": [ALLOW_ALL]}]}}
# What the requests below get, in order: each kind of answer, errors included.
STATUSES = [200, 401, 401, 403, 200, 200, 401, 403, 201, 202, 418, 503, 500, 403, 200, 200, 204, 200, 200, 401, 200]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("http-round-trip")
    (root / "fns.py").write_text(FUNCTIONS)
    (root / "apiway.yaml").write_bytes(orjson.dumps(PROJECT))
    server = Server(root / "apiway.yaml", root / "state.db")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def v2(server: Server):
    return boto3.client("apigatewayv2", endpoint_url=f"http://127.0.0.1:{server.port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}))


def build(v2, issuer: OidcProvider) -> str:
    """The original API, call by call."""
    cors = {"AllowOrigins": [ORIGIN], "AllowMethods": ["GET", "POST", "DELETE"], "AllowHeaders": ["x-token"],
            "ExposeHeaders": ["x-fn"], "MaxAge": 120}
    api_id = v2.create_api(Name="Shop", ProtocolType="HTTP", Version="3", Description="round trip",
                           CorsConfiguration=cors)["ApiId"]

    def integration(**fields: Any) -> str:
        return "integrations/" + v2.create_integration(ApiId=api_id, **fields)["IntegrationId"]

    items = integration(IntegrationType="AWS_PROXY", IntegrationUri=ARN.format("Items"), PayloadFormatVersion="2.0",
                        RequestParameters={"append:header.x-route": "$context.routeKey",
                                           "overwrite:querystring.fixed": "yes"})
    legacy = integration(IntegrationType="AWS_PROXY", IntegrationUri=INVOKE.format("Legacy"),
                         PayloadFormatVersion="1.0")
    failing = integration(IntegrationType="AWS_PROXY", IntegrationUri=ARN.format("Fail"), PayloadFormatVersion="2.0")
    proxy = integration(IntegrationType="HTTP_PROXY", IntegrationMethod="ANY", IntegrationUri=BACKEND + "/up/{proxy}",
                        PayloadFormatVersion="1.0",
                        RequestParameters={"append:header.x-item": "$request.querystring.item",
                                           "overwrite:querystring.mode": "mapped",
                                           "remove:header.x-secret": "''",
                                           "overwrite:path": "/mapped/${request.path.proxy}"},
                        ResponseParameters={"200": {"overwrite:statuscode": "202",
                                                    "append:header.x-mapped": "$response.header.X-Echo-Method"},
                                            "418": {"overwrite:header.x-teapot": "short"}})
    deleting = integration(IntegrationType="HTTP_PROXY", IntegrationMethod="DELETE",
                           IntegrationUri=BACKEND + "/items/{id}", PayloadFormatVersion="1.0")
    slow = integration(IntegrationType="HTTP_PROXY", IntegrationMethod="GET", IntegrationUri=BACKEND + "/slow",
                       PayloadFormatVersion="1.0", TimeoutInMillis=300)
    fallback = integration(IntegrationType="HTTP_PROXY", IntegrationMethod="ANY", IntegrationUri=BACKEND + "/base",
                           PayloadFormatVersion="1.0")
    jwt = v2.create_authorizer(ApiId=api_id, Name="oidc", AuthorizerType="JWT",
                               IdentitySource=["$request.header.Authorization"],
                               JwtConfiguration={"Issuer": issuer.issuer, "Audience": ["shop"]})["AuthorizerId"]
    simple = v2.create_authorizer(ApiId=api_id, Name="simple", AuthorizerType="REQUEST",
                                  AuthorizerUri=INVOKE.format("Authorize"), IdentitySource=["$request.header.x-token"],
                                  AuthorizerPayloadFormatVersion="2.0", EnableSimpleResponses=True,
                                  AuthorizerResultTtlInSeconds=0)["AuthorizerId"]
    routes: list[dict[str, Any]] = [
        {"RouteKey": "GET /items", "Target": items},
        {"RouteKey": "GET /items/{id}", "Target": items, "AuthorizationType": "JWT", "AuthorizerId": jwt,
         "AuthorizationScopes": ["items/read"]},
        {"RouteKey": "DELETE /items/{id}", "Target": deleting},
        {"RouteKey": "POST /legacy", "Target": legacy, "AuthorizationType": "CUSTOM", "AuthorizerId": simple},
        {"RouteKey": "ANY /proxy/{proxy+}", "Target": proxy},
        {"RouteKey": "GET /slow", "Target": slow},
        {"RouteKey": "GET /fail", "Target": failing},
        {"RouteKey": "GET /iam", "Target": items, "AuthorizationType": "AWS_IAM"},
        {"RouteKey": "$default", "Target": fallback},
    ]
    for route in routes:
        v2.create_route(ApiId=api_id, **route)
    return api_id


def deploy(v2, api_id: str, backend: EchoServer) -> None:
    v2.create_stage(ApiId=api_id, StageName=STAGE, StageVariables={"backend": backend.address})
    v2.create_deployment(ApiId=api_id, StageName=STAGE)


def export(v2, api_id: str, output: str, **kw: Any) -> str:
    return v2.export_api(ApiId=api_id, Specification="OAS30", OutputType=output, IncludeExtensions=True,
                         **kw)["body"].read().decode()


def requests(issuer: OidcProvider) -> list[tuple[str, str, dict[str, str], str | None]]:
    """The same requests for every API: each route, its errors, CORS."""
    good = f"Bearer {issuer.token(aud='shop', scope='items/read')}"
    return [
        ("GET", "/items?q=1", {"X-Custom": "a"}, None),
        ("GET", "/items/7", {}, None),
        ("GET", "/items/7", {"Authorization": f"Bearer {issuer.token(aud='elsewhere', scope='items/read')}"}, None),
        ("GET", "/items/7", {"Authorization": f"Bearer {issuer.token(aud='shop', scope='other')}"}, None),
        ("GET", "/items/7?a=1&a=2", {"Authorization": good}, None),
        ("DELETE", "/items/7", {}, None),
        ("POST", "/legacy", {}, None),
        ("POST", "/legacy", {"x-token": "deny"}, None),
        ("POST", "/legacy?v=1&v=2", {"x-token": "allow-1", "Content-Type": "application/json"}, '{"n": 1}'),
        ("PUT", "/proxy/a/b?mode=sent&item=3", {"X-Secret": "s"}, "payload"),
        ("GET", "/proxy/t?echo_status=418", {}, None),
        ("GET", "/slow?echo_sleep=1", {}, None),
        ("GET", "/fail", {}, None),
        ("GET", "/iam", {}, None),
        ("GET", "/nowhere/else?x=1", {}, None),
        ("POST", "/items", {}, "to the default route"),
        ("OPTIONS", "/items/7", {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                 "Access-Control-Request-Headers": "x-token"}, None),
        ("GET", "/items", {"Origin": ORIGIN}, None),
        ("GET", "/items", {"Origin": "https://elsewhere.test"}, None),
        ("GET", "/items/7", {"Origin": ORIGIN}, None),
    ]


def signed(server: Server, api_id: str) -> Reply:
    """`GET /iam` signed with SigV4 for this API's host."""
    host = f"{api_id}.execute-api.localhost:{server.port}"
    sig = AWSRequest(method="GET", url=f"http://{host}/{STAGE}/iam", headers={})
    SigV4Auth(Credentials(ALICE[0], ALICE[1]), "execute-api", "us-east-1").add_auth(sig)
    return request(server.port, "GET", f"/{STAGE}/iam", list({**dict(sig.headers.items()), "Host": host}.items()))


COMPARED_HEADERS = ("content-type", "access-control-allow-origin", "access-control-allow-methods",
                    "access-control-allow-headers", "access-control-expose-headers", "access-control-max-age",
                    "www-authenticate", "x-fn", "x-many", "x-mapped", "x-teapot", "x-echo-method", "set-cookie")


def view(reply: Reply, api_id: str, port: int) -> dict[str, Any]:
    """What must be the same whichever API answered: status, the headers that matter, and the body with the API's
    id and the gateway's port made neutral (the echo backend's record without what differs between any two
    requests)."""
    text = reply.body.decode().replace(api_id, "{api}").replace(f":{port}", ":{port}")
    body: Any = text
    with contextlib.suppress(ValueError):  # not every answer is JSON (a preflight's is empty)
        body = json.loads(text)
    if isinstance(body, dict) and "connection" in body:
        body = {k: body[k] for k in ("method", "path", "query", "body")} | {"headers": [
            [name.lower(), value] for name, value in body["headers"]
            if name.lower() not in ("x-amzn-trace-id", "host", "x-forwarded-for", "x-forwarded-port")]}
    headers = {name: [v for k, v in reply.headers if k.lower() == name] for name in COMPARED_HEADERS}
    return {"status": reply.status, "headers": {k: v for k, v in headers.items() if v}, "body": body}


def answers(server: Server, api_id: str, issuer_requests: list) -> list[dict[str, Any]]:
    host = f"{api_id}.execute-api.localhost:{server.port}"
    out = []
    for method, path, headers, body in issuer_requests:
        reply = request(server.port, method, f"/{STAGE}{path}", [("Host", host), *headers.items()], body=body)
        out.append({"request": f"{method} {path}", **view(reply, api_id, server.port)})
    out.append({"request": "signed GET /iam", **view(signed(server, api_id), api_id, server.port)})
    return out


@pytest.fixture(scope="module")
def original(server: Server, v2, backend: EchoServer, issuer: OidcProvider) -> str:
    api_id = build(v2, issuer)
    deploy(v2, api_id, backend)
    return api_id


def test_an_exported_api_imported_again_answers_identically(server: Server, v2, backend: EchoServer,
                                                            issuer: OidcProvider, original: str) -> None:
    as_json = export(v2, original, "JSON", StageName=STAGE)
    as_yaml = export(v2, original, "YAML")
    assert json.loads(as_json) == {**yaml.safe_load(as_yaml), "servers": json.loads(as_json)["servers"],
                                   "info": json.loads(as_json)["info"]}  # the stage's deployment is the API now
    copies = []
    for text in (as_json, as_yaml):
        imported = v2.import_api(Body=text)
        assert "Warnings" not in imported, imported["Warnings"]
        assert (imported["Name"], imported["Version"], imported["CorsConfiguration"]) == (
            "Shop", "3", v2.get_api(ApiId=original)["CorsConfiguration"])
        deploy(v2, imported["ApiId"], backend)
        copies.append(imported["ApiId"])

    sent = requests(issuer)
    expected = answers(server, original, sent)
    assert len(expected) >= 15
    assert [a["status"] for a in expected] == STATUSES  # the requests do reach every kind of answer
    for copy in copies:
        assert answers(server, copy, sent) == expected
    # And the copies export as the original does, ids and dates aside.
    for copy in copies:
        assert neutral(export(v2, copy, "JSON"), copy) == neutral(export(v2, original, "JSON"), original)


def test_an_export_served_from_a_project_file_answers_identically(server: Server, v2, backend: EchoServer,
                                                                  issuer: OidcProvider, original: str,
                                                                  tmp_path: Path) -> None:
    """The same export as a project's API document, served by a second `apiway serve` with the same functions
    and identities and the stage given its variable in the project file."""
    (tmp_path / "fns.py").write_text(FUNCTIONS)
    (tmp_path / "shop.yaml").write_text(export(v2, original, "YAML", StageName=STAGE))
    project = {**PROJECT, "apis": [{"openapi": "shop.yaml", "stages": {STAGE: {"variables": {
        "backend": backend.address}}}}]}
    (tmp_path / "apiway.yaml").write_bytes(orjson.dumps(project))
    second = Server(tmp_path / "apiway.yaml", tmp_path / "state.db")
    try:
        served = second.api_ids["Shop"]
        sent = requests(issuer)
        expected = answers(server, original, sent)
        assert [a["status"] for a in expected] == STATUSES
        assert answers(second, served, sent) == expected
    finally:
        second.stop()


def neutral(text: str, api_id: str) -> dict[str, Any]:
    """An export with its API id made neutral and shared integrations written in place (their names hold ids)."""
    doc = json.loads(text.replace(api_id, "{api}"))
    shared = doc.get("components", {}).pop("x-amazon-apigateway-integrations", {})
    text = json.dumps(doc)
    for name, integration in shared.items():
        text = text.replace(json.dumps({"$ref": f"#/components/x-amazon-apigateway-integrations/{name}"}),
                            json.dumps(integration))
    return json.loads(text)

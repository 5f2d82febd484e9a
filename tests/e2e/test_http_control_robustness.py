"""Bad input to the apigatewayv2 control plane gets an AWS-style error, never a 500: every operation of the model
is called over real HTTP with the ids of a real HTTP API (and of a WebSocket API) and with mistyped, missing and
random members, unknown ids and junk bodies."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from botocore.loaders import Loader

from apiway.control.protocol import ServiceModel
from apiway.control.registry import HANDLERS, V2
from tests.http_apis import v2_client
from tests.support import Server, request

SEED = 20261126
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:Fn"
JUNK: list[Any] = [None, "", "x" * 300, -1, 0, 10**12, 1.5, True, [], {}, ["a"], {"a": "b"}, {"a": 1}, "../../etc",
                   "%00", "{proxy+}", "*", "😀", "$default", "GET /x/{proxy+}", "ANY /{a}/{a}", "integrations/nope",
                   "http://127.0.0.1:9/x", LAMBDA, "$request.header.Authorization", "1.0", "2.0", "HTTP_PROXY",
                   {"allowOrigins": ["*"], "allowCredentials": True}, {"maxAge": "x"}, {"issuer": 3},
                   {"append:header.x": "$request.body.a"}, {"200": {"overwrite:statuscode": "x"}}]


STRINGS: list[str] = ["", "x" * 300, "value", "😀", "%00", "../../etc", "*", "$default", "$connect", "GET /x",
                      "GET /x/{proxy+}", "ANY /{a}/{a}", "POST /{p+}/y", "/x", "integrations/nope", LAMBDA,
                      f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{LAMBDA}/invocations",
                      "http://127.0.0.1:9/x", "https://{a}.example/{proxy}", "1.0", "2.0", "3.0", "HTTP_PROXY",
                      "AWS_PROXY", "MOCK", "JWT", "REQUEST", "CUSTOM", "AWS_IAM", "NONE", "$request.header.x",
                      "$request.querystring.q", "$request.body.a", "$context.requestId", "$stageVariables.v",
                      "route.request.header.x", "${request.path.a}", "SQS-SendMessage", "dev", "OAS30", "YAML",
                      "prepend", "split", "1", "-1", "30001", "2026-01-01T00:00:00Z",
                      json.dumps({"openapi": "3.0.1", "info": {"title": "T"}, "paths": {"/a": {"get": {
                          "x-amazon-apigateway-integration": {"type": "http_proxy", "uri": "http://127.0.0.1:9/a",
                                                              "payloadFormatVersion": "1.0"}}}}}),
                      "openapi: 3.0.1\ninfo: {title: Y}\npaths: {/b: {post: {}}}\n", "swagger: '2.0'\n", "{}"]


def _plausible(shape_name: str, shapes: dict[str, Any], rng: random.Random, depth: int = 0) -> Any:
    """A value of the shape's JSON type (so that it passes the wire checks and reaches the handler), drawn from
    values that mean something to some member: ids, route keys, URIs, selection expressions, edge numbers."""
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        required = set(shape.get("required", ()))
        return {member.get("locationName", name): _plausible(member["shape"], shapes, rng, depth + 1)
                for name, member in shape["members"].items()
                if "location" not in member and rng.random() < (0.9 if name in required else 0.4)}
    if kind == "list":
        return [_plausible(shape["member"]["shape"], shapes, rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == "map":
        keys = ["key", "$default", "GET /r/{id}", "200", "append:header.x", "overwrite:path", "remove:querystring.q",
                "overwrite:statuscode", "route.request.header.x", "x" * 200, ""]
        return {rng.choice(keys): _plausible(shape["value"]["shape"], shapes, rng, depth + 1)
                for _ in range(rng.randint(0, 3))}
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("integer", "long"):
        return rng.choice([-1, 0, 1, 49, 50, 29_999, 30_000, 30_001, 86_400, 86_401, 3600, 10**12])
    if kind in ("double", "float"):
        return rng.choice([-1.5, 0.0, 0.5, 1e12, 10])
    if shape.get("enum") and rng.random() < 0.7:
        return rng.choice(shape["enum"])
    return rng.choice(STRINGS)


def _api_ids(v2, protocol: str) -> dict[str, str]:
    """A deployed API of the protocol with one of each part, and the URI labels naming them."""
    if protocol == "HTTP":
        api = v2.create_api(Name="robust", ProtocolType="HTTP",
                            CorsConfiguration={"AllowOrigins": ["https://a.example"], "MaxAge": 10})
        integration = v2.create_integration(ApiId=api["ApiId"], IntegrationType="HTTP_PROXY",
                                            IntegrationMethod="ANY", IntegrationUri="http://127.0.0.1:9/x",
                                            PayloadFormatVersion="1.0")
        route_key = "GET /r/{id}"
        authorizer = v2.create_authorizer(ApiId=api["ApiId"], Name="jwt", AuthorizerType="JWT",
                                          IdentitySource=["$request.header.Authorization"],
                                          JwtConfiguration={"Issuer": "https://issuer.example", "Audience": ["a"]})
    else:
        api = v2.create_api(Name="robust-ws", ProtocolType="WEBSOCKET",
                            RouteSelectionExpression="$request.body.action")
        integration = v2.create_integration(ApiId=api["ApiId"], IntegrationType="MOCK")
        route_key = "$connect"
        authorizer = {"AuthorizerId": "nope"}
    route = v2.create_route(ApiId=api["ApiId"], RouteKey=route_key,
                            Target=f"integrations/{integration['IntegrationId']}")
    deployment = v2.create_deployment(ApiId=api["ApiId"])
    v2.create_stage(ApiId=api["ApiId"], StageName="dev", DeploymentId=deployment["DeploymentId"],
                    RouteSettings={route_key: {"ThrottlingBurstLimit": 5}})
    return {"apiId": api["ApiId"], "integrationId": integration["IntegrationId"], "routeId": route["RouteId"],
            "authorizerId": authorizer["AuthorizerId"], "deploymentId": deployment["DeploymentId"],
            "stageName": "dev", "routeKey": route_key, "specification": "OAS30",
            "requestParameterKey": "route.request.header.x",
            "resource-arn": f"arn:aws:apigateway:us-east-1::/apis/{api['ApiId']}"}


@pytest.fixture(scope="module")
def id_sets(apigw_server: Server) -> list[dict[str, str]]:
    v2 = v2_client(apigw_server.port)
    domain = v2.create_domain_name(DomainName="api.robust.example",
                                   DomainNameConfigurations=[{"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/x",
                                                              "EndpointType": "REGIONAL"}])
    sets = [_api_ids(v2, "HTTP"), _api_ids(v2, "WEBSOCKET")]
    mapping = v2.create_api_mapping(DomainName=domain["DomainName"], ApiId=sets[0]["apiId"], Stage="dev",
                                    ApiMappingKey="v1")
    for ids in sets:
        ids.update(domainName=domain["DomainName"], apiMappingId=mapping["ApiMappingId"])
    return sets


def _path(template: str, ids: dict[str, str], rng: random.Random) -> str:
    def label(m: re.Match) -> str:
        if rng.random() < 0.8:
            return ids.get(m.group(1), "x").replace("/", "%2F").replace(" ", "%20")
        return rng.choice(["nope", "%2F", "A" * 200, "%00", "..", "%ZZ", "$default", "%24default"])
    return re.sub(r"\{([A-Za-z0-9_-]+)\+?\}", label, template)


def _body(rng: random.Random, shape_name: str | None, shapes: dict[str, Any], attempt: int) -> bytes:
    body: Any = _plausible(shape_name, shapes, rng) if shape_name else {}
    if isinstance(body, dict) and attempt % 3 == 1:  # some members of the wrong JSON type
        for name in list(body):
            if rng.random() < 0.3:
                body[name] = rng.choice(JUNK)
    if attempt % 6 == 5:
        body = rng.choice([[], "x", 3, None, {"name": {"deep": [[[]]]}}, {"body": 3}])
    return json.dumps(body).encode() if attempt % 7 != 6 else rng.choice([b"{not json", b"\xff\xfe", b"[" * 300])


def _query(rng: random.Random, shape_name: str | None, shapes: dict[str, Any], static: str) -> str:
    """The operation's query members, each present or not, with plausible or odd values."""
    members = shapes[shape_name]["members"].values() if shape_name else ()
    parts = [static] if static else []
    for member in members:
        if member.get("location") == "querystring" and rng.random() < 0.7:
            value = rng.choice(["", "0", "1", "101", "x", "%%%", "true", "maybe", "JSON", "YAML", "dev", "nope",
                                "1.0", "ignore", "prepend", "split", "a,b", "%E6%97%A5"])
            parts.append(f"{member['locationName']}={value}")
    return "?" + "&".join(parts) if parts else ""


def test_no_apigatewayv2_operation_answers_500_to_bad_input(apigw_server: Server, id_sets) -> None:
    model = ServiceModel("apigatewayv2")
    rng = random.Random(SEED)
    raw = Loader().load_service_model("apigatewayv2", "service-2")["operations"]
    # Deletes last, so that the other calls meet the APIs and their parts.
    operations = sorted((op for ops in model.routes.values() for op in ops),
                        key=lambda o: (o.name.startswith("Delete"), o.name))
    failures, statuses = [], {}
    for op in operations:
        uri = raw[op.name]["http"]["requestUri"]
        path, _, query = uri.partition("?")
        shape_name = raw[op.name].get("input", {}).get("shape")
        for attempt in range(40):
            ids = id_sets[attempt % 3 == 2]  # a third of the calls on the WebSocket API
            data = _body(rng, shape_name, model.shapes, attempt)
            target = _path(path, ids, rng) + _query(rng, shape_name, model.shapes, query)
            reply = request(apigw_server.port, op.method, target, {"Content-Type": "application/json"}, data)
            statuses[reply.status] = statuses.get(reply.status, 0) + 1
            if reply.status == 501:  # not implemented (an operation, or a WebSocket part): says so
                assert json.loads(reply.body)["message"].startswith("apiway does not implement ")
                if op.name not in HANDLERS[V2]:
                    break
                continue
            if reply.status >= 500:
                failures.append(f"{op.name} {op.method} {target[:120]} -> {reply.status} {reply.body[:200]!r} "
                                f"for {data[:300]!r}")
            elif reply.status >= 400:
                assert reply.header("x-amzn-ErrorType"), (op.name, reply.status, reply.body[:200])
                assert "message" in json.loads(reply.body), (op.name, reply.body[:200])
    assert not failures, "\n".join(failures[:20])
    # Deep enough to mean something: many calls got past validation and did their work.
    assert sum(n for status, n in statuses.items() if status < 300) > 400, statuses
    assert apigw_server.proc.poll() is None
    assert "Traceback" not in apigw_server.stderr()
    assert isinstance(v2_client(apigw_server.port).get_apis()["Items"], list)

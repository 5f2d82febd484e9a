"""An HTTP API built call by call with a real boto3 `apigatewayv2` client against a real `apiway serve`, called
over real sockets after every change: quick create over a worker-mode function, Lambda routes with payload 2.0
and 1.0, an HTTP_PROXY route with request and response parameter mapping in front of a real backend, a JWT
authorizer (a local OpenID Connect issuer) with scopes, a caching Lambda authorizer with simple responses, CORS,
route throttling, and a named stage that serves only what CreateDeployment gives it beside the auto-deploying
`$default` stage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.e2e.authorizer_support import OidcProvider
from tests.e2e.echo_backend import EchoServer, header_values
from tests.support import Reply, Server, request

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
INVOKE = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + ARN + "/invocations"
ORIGIN = "https://app.example.com"

FUNCTIONS = """import json, os

CALLS = {"authorize": 0}

def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json", "x-fn": "echo"},
            "body": json.dumps(event)}

def echo_v1(event, context):
    return {"statusCode": 201, "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"x-many": ["a", "b"]}, "body": json.dumps(event)}

def authorize(event, context):
    CALLS["authorize"] += 1
    token = event["headers"].get("x-token", "")
    return {"isAuthorized": token.startswith("allow"),
            "context": {"token": token, "calls": CALLS["authorize"], "route": event["routeKey"]}}

def hello(event, context):
    return {"route": event["routeKey"], "path": event["rawPath"], "stage": event["requestContext"]["stage"],
            "pid": os.getpid(), "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}
"""
PROJECT = """functions:
  Echo: {handler: fns.py:echo, mode: inline}
  EchoV1: {handler: fns.py:echo_v1, mode: inline}
  Authorize: {handler: fns.py:authorize, mode: inline}
  Hello: {handler: fns.py:hello, mode: worker}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("http-journey")
    (root / "fns.py").write_text(FUNCTIONS)
    (root / "apiway.yaml").write_text(PROJECT)
    server = Server(root / "apiway.yaml", root / "state.db")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def v2(server: Server):
    return boto3.client("apigatewayv2", endpoint_url=f"http://127.0.0.1:{server.port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}))


class Api:
    """The API under construction: its id, and calls to it over a real socket by its host name."""

    def __init__(self, server: Server, api_id: str) -> None:
        self.server, self.id = server, api_id
        self.host = f"{api_id}.execute-api.localhost:{server.port}"

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, body: str | None = None) -> Reply:
        return request(self.server.port, method, path, [("Host", self.host), *(headers or {}).items()], body=body)


def _error(reply: Reply, status: int, message: str) -> None:
    """An HTTP API's own error: the fixed body, JSON, with the request id."""
    assert (reply.status, reply.json()) == (status, {"message": message}), (reply.status, reply.body)
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("apigw-requestid")


def test_an_http_api_built_call_by_call_answers_after_every_change(server: Server, v2, backend: EchoServer,
                                                                   issuer: OidcProvider) -> None:
    api = _quick_create(server, v2)
    echo = _lambda_routes(api, v2)
    _http_proxy_route(api, v2, backend)
    _jwt_authorizer(api, v2, issuer)
    _lambda_authorizer(api, v2)
    _cors(api, v2, backend, issuer)
    _route_throttling(api, v2)
    _named_stage(api, v2, issuer, echo)
    _later_changes(api, v2, issuer, backend)


def _quick_create(server: Server, v2) -> Api:
    """Quick create over a worker-mode function: a `$default` route and an auto-deployed `$default` stage."""
    created = v2.create_api(Name="journey", ProtocolType="HTTP", Target=ARN.format("Hello"))
    api = Api(server, created["ApiId"])
    reply = api.call("GET", "/anything/at/all?x=1")
    assert reply.status == 200, reply.body
    assert reply.header("Content-Type") == "application/json"  # a bare object, inferred as JSON
    answer = reply.json()
    assert {k: answer[k] for k in ("route", "path", "stage", "name")} == {
        "route": "$default", "path": "/anything/at/all", "stage": "$default", "name": "Hello"}
    assert answer["pid"] != server.proc.pid  # a worker process, not the gateway
    assert api.call("POST", "/").json()["route"] == "$default"
    return api


def _lambda_routes(api: Api, v2) -> str:
    """`GET /items/{id}` over payload 2.0 and `POST /legacy` over payload 1.0, each answering at once."""
    echo = v2.create_integration(ApiId=api.id, IntegrationType="AWS_PROXY", IntegrationUri=INVOKE.format("Echo"),
                                 PayloadFormatVersion="2.0")["IntegrationId"]
    v2.create_route(ApiId=api.id, RouteKey="GET /items/{id}", Target=f"integrations/{echo}")
    reply = api.call("GET", "/items/42?tag=a&tag=b&q=%2Fx", {"X-Custom": "one", "Cookie": "c1=v1; c2=v2",
                                                              "User-Agent": "journey/1"})
    assert (reply.status, reply.header("x-fn")) == (200, "echo"), reply.body
    event = reply.json()
    assert {k: event[k] for k in ("version", "routeKey", "rawPath", "rawQueryString", "queryStringParameters",
                                  "pathParameters", "cookies", "isBase64Encoded")} == {
        "version": "2.0", "routeKey": "GET /items/{id}", "rawPath": "/items/42",
        "rawQueryString": "tag=a&tag=b&q=%2Fx", "queryStringParameters": {"tag": "a,b", "q": "/x"},
        "pathParameters": {"id": "42"}, "cookies": ["c1=v1", "c2=v2"], "isBase64Encoded": False}
    assert "body" not in event and "stageVariables" not in event and "cookie" not in event["headers"]
    assert (event["headers"]["host"], event["headers"]["x-custom"]) == (api.host, "one")
    context = event["requestContext"]
    assert context["http"] == {"method": "GET", "path": "/items/42", "protocol": "HTTP/1.1",
                               "sourceIp": "127.0.0.1", "userAgent": "journey/1"}
    assert (context["apiId"], context["stage"], context["routeKey"], context["accountId"]) == (
        api.id, "$default", "GET /items/{id}", "123456789012")
    assert context["requestId"] == reply.header("apigw-requestid")
    assert "authorizer" not in context
    assert api.call("GET", "/items/42/more").json()["route"] == "$default"  # still the quick-created route
    assert api.call("POST", "/items/42").json()["route"] == "$default"

    legacy = v2.create_integration(ApiId=api.id, IntegrationType="AWS_PROXY", IntegrationUri=ARN.format("EchoV1"),
                                   PayloadFormatVersion="1.0")["IntegrationId"]
    v2.create_route(ApiId=api.id, RouteKey="POST /legacy", Target=f"integrations/{legacy}")
    reply = api.call("POST", "/legacy?a=1&a=2", {"Content-Type": "application/json", "X-Custom": "two"},
                     body='{"n": 1}')
    assert reply.status == 201, reply.body
    assert (reply.header("x-many") or "").replace(" ", "") == "a,b"
    event = reply.json()
    assert {k: event[k] for k in ("version", "resource", "path", "httpMethod", "body", "isBase64Encoded",
                                  "queryStringParameters", "multiValueQueryStringParameters", "pathParameters",
                                  "stageVariables")} == {
        "version": "1.0", "resource": "/legacy", "path": "/legacy", "httpMethod": "POST", "body": '{"n": 1}',
        "isBase64Encoded": False, "queryStringParameters": {"a": "2"},
        "multiValueQueryStringParameters": {"a": ["1", "2"]}, "pathParameters": None, "stageVariables": None}
    assert event["headers"]["X-Custom"] == "two"  # payload 1.0 keeps the client's header casing
    context = event["requestContext"]
    assert (context["httpMethod"], context["resourcePath"], context["stage"], context["apiId"]) == (
        "POST", "/legacy", "$default", api.id)
    assert context["requestId"] == reply.header("apigw-requestid")
    return echo


def _http_proxy_route(api: Api, v2, backend: EchoServer) -> None:
    """`ANY /proxy/{proxy+}` to the backend with the request's header, query string and path mapped, and the
    backend's answer mapped by status."""
    proxy = v2.create_integration(
        ApiId=api.id, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
        IntegrationUri=f"http://{backend.address}/up/{{proxy}}", PayloadFormatVersion="1.0",
        RequestParameters={"append:header.x-route": "$context.routeKey",
                           "append:header.x-item": "$request.querystring.item",
                           "overwrite:querystring.mode": "mapped",
                           "overwrite:path": "/mapped/${request.path.proxy}"},
        ResponseParameters={"200": {"append:header.x-backend-method": "$response.header.X-Echo-Method",
                                    "overwrite:statuscode": "202"},
                            "418": {"overwrite:header.x-teapot": "short and stout"}},
    )["IntegrationId"]
    v2.create_route(ApiId=api.id, RouteKey="ANY /proxy/{proxy+}", Target=f"integrations/{proxy}")
    before = len(backend.requests)
    reply = api.call("PUT", "/proxy/a/b?mode=sent&item=7&keep=1", {"X-Route": "client"}, body="payload")
    assert (reply.status, reply.header("x-backend-method")) == (202, "PUT"), reply.body
    assert reply.header("X-Echo-Method") == "PUT" and reply.header("Server") == "echo-backend/1.0"
    record = reply.json()
    assert (record["method"], record["path"], record["body"]) == ("PUT", "/mapped/a/b", "payload")
    assert sorted(record["query"].split("&")) == ["item=7", "keep=1", "mode=mapped"]
    assert header_values(record, "x-route") == ["client", "ANY /proxy/{proxy+}"]  # appended to the client's
    assert header_values(record, "x-item") == ["7"]
    assert header_values(record, "host") == [backend.address]
    assert len(backend.requests) == before + 1

    teapot = api.call("GET", "/proxy/t?echo_status=418")
    assert (teapot.status, teapot.header("x-teapot")) == (418, "short and stout")
    assert teapot.header("x-backend-method") is None  # the 200 mapping is not the 418's

    # `overwrite:path` replaces the URI's path and keeps its query string, whether the client sends one or not.
    files = v2.create_integration(ApiId=api.id, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                                  IntegrationUri=f"http://{backend.address}/store?bucket=b1", PayloadFormatVersion="1.0",
                                  RequestParameters={"overwrite:path": "/files/${request.path.name}"})["IntegrationId"]
    v2.create_route(ApiId=api.id, RouteKey="GET /files/{name}", Target=f"integrations/{files}")
    for sent, query in (("/files/a.txt", "bucket=b1"), ("/files/a.txt?v=2", "bucket=b1&v=2")):
        record = api.call("GET", sent).json()
        assert (record["path"], record["query"]) == ("/files/a.txt", query), sent


def _jwt_authorizer(api: Api, v2, issuer: OidcProvider) -> None:
    """A JWT authorizer with a scope on `GET /items/{id}`: 401 without a valid token, 403 without the scope."""
    jwt = v2.create_authorizer(ApiId=api.id, Name="oidc", AuthorizerType="JWT",
                               IdentitySource=["$request.header.Authorization"],
                               JwtConfiguration={"Issuer": issuer.issuer, "Audience": ["journey"]})["AuthorizerId"]
    route = _route_id(v2, api, "GET /items/{id}")
    v2.update_route(ApiId=api.id, RouteId=route, AuthorizationType="JWT", AuthorizerId=jwt,
                    AuthorizationScopes=["items/read"])
    _error(api.call("GET", "/items/1"), 401, "Unauthorized")
    wrong = api.call("GET", "/items/1", {"Authorization": f"Bearer {issuer.token(aud='other', scope='items/read')}"})
    _error(wrong, 401, "Unauthorized")
    assert wrong.header("www-authenticate") == (
        'Bearer scope="items/read" error="invalid_token" error_description="the token does not have a valid '
        'audience"')
    unscoped = api.call("GET", "/items/1", {"Authorization": f"Bearer {issuer.token(aud='journey', scope='x')}"})
    _error(unscoped, 403, "Forbidden")
    assert 'error="insufficient_scope"' in (unscoped.header("www-authenticate") or "")

    token = issuer.token(aud="journey", scope="items/read items/write", email="ann@example.com")
    reply = api.call("GET", "/items/1", {"Authorization": f"Bearer {token}"})
    assert reply.status == 200, reply.body
    authorizer = reply.json()["requestContext"]["authorizer"]
    assert authorizer["jwt"]["scopes"] == ["items/read", "items/write"]
    claims = authorizer["jwt"]["claims"]
    assert (claims["sub"], claims["aud"], claims["iss"], claims["email"]) == (
        "user-1", "journey", issuer.issuer, "ann@example.com")
    assert api.call("POST", "/legacy").status == 201  # other routes stay open


def _lambda_authorizer(api: Api, v2) -> None:
    """A REQUEST authorizer with simple responses and a result cache on `POST /legacy` (payload 1.0)."""
    custom = v2.create_authorizer(ApiId=api.id, Name="simple", AuthorizerType="REQUEST",
                                  AuthorizerUri=INVOKE.format("Authorize"), IdentitySource=["$request.header.x-token"],
                                  AuthorizerPayloadFormatVersion="2.0", EnableSimpleResponses=True,
                                  AuthorizerResultTtlInSeconds=300)["AuthorizerId"]
    v2.update_route(ApiId=api.id, RouteId=_route_id(v2, api, "POST /legacy"), AuthorizationType="CUSTOM",
                    AuthorizerId=custom)
    _error(api.call("POST", "/legacy"), 401, "Unauthorized")  # no identity source: the function is not called
    _error(api.call("POST", "/legacy", {"x-token": "deny-me"}), 403, "Forbidden")
    first = api.call("POST", "/legacy", {"x-token": "allow-1"})
    assert first.status == 201, first.body
    # Payload 1.0 carries the authorizer's context flat (docs/behaviour.md).
    assert first.json()["requestContext"]["authorizer"] == {"token": "allow-1", "calls": 2,
                                                            "route": "POST /legacy"}
    cached = api.call("POST", "/legacy", {"x-token": "allow-1"})
    assert cached.json()["requestContext"]["authorizer"]["calls"] == 2  # the cached answer: not called again
    _error(api.call("POST", "/legacy", {"x-token": "deny-me"}), 403, "Forbidden")  # denials are cached too
    other = api.call("POST", "/legacy", {"x-token": "allow-2"})
    assert other.json()["requestContext"]["authorizer"]["calls"] == 3


def _cors(api: Api, v2, backend: EchoServer, issuer: OidcProvider) -> None:
    """CORS on the API: preflights answered by the gateway before routes and authorizers, the configured headers
    on actual requests in place of the backend's."""
    cors = {"AllowOrigins": [ORIGIN], "AllowMethods": ["GET", "POST", "PUT"], "AllowHeaders": ["authorization",
                                                                                               "x-token"],
            "ExposeHeaders": ["x-fn"], "MaxAge": 300, "AllowCredentials": True}
    assert v2.update_api(ApiId=api.id, CorsConfiguration=cors)["CorsConfiguration"] == cors
    before = len(backend.requests)
    for path in ("/items/1", "/legacy", "/proxy/x"):  # a JWT route, a Lambda-authorized route, the backend's
        preflight = api.call("OPTIONS", path, {"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                                               "Access-Control-Request-Headers": "authorization"})
        assert (preflight.status, preflight.body) == (204, b""), (path, preflight.status, preflight.body)
        assert {name: preflight.header(name) for name in (
            "Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
            "Access-Control-Max-Age", "Access-Control-Allow-Credentials")} == {
            "Access-Control-Allow-Origin": ORIGIN, "Access-Control-Allow-Methods": "GET,POST,PUT",
            "Access-Control-Allow-Headers": "authorization,x-token", "Access-Control-Max-Age": "300",
            "Access-Control-Allow-Credentials": "true"}
    assert len(backend.requests) == before  # no preflight reached the backend

    token = issuer.token(aud="journey", scope="items/read")
    actual = api.call("GET", "/items/1", {"Origin": ORIGIN, "Authorization": f"Bearer {token}"})
    assert actual.status == 200
    assert (actual.header("Access-Control-Allow-Origin"), actual.header("Access-Control-Expose-Headers"),
            actual.header("Access-Control-Allow-Credentials")) == (ORIGIN, "x-fn", "true")
    backend_says = api.call("GET", "/proxy/c?echo_header=Access-Control-Allow-Origin:*", {"Origin": ORIGIN})
    assert backend_says.status == 202
    assert [v for k, v in backend_says.headers if k.lower() == "access-control-allow-origin"] == [ORIGIN]
    stranger = api.call("GET", "/proxy/c?echo_header=Access-Control-Allow-Origin:*", {"Origin": "https://evil.test"})
    assert stranger.header("Access-Control-Allow-Origin") is None  # the backend's own is ignored too
    refused = api.call("GET", "/items/1", {"Origin": ORIGIN})
    _error(refused, 401, "Unauthorized")
    assert refused.header("Access-Control-Allow-Origin") == ORIGIN  # on the gateway's own errors too


def _route_throttling(api: Api, v2) -> None:
    """Route settings on `$default` throttle that route at once, and only it; deleting them lifts the limit."""
    v2.update_stage(ApiId=api.id, StageName="$default",
                    RouteSettings={"ANY /proxy/{proxy+}": {"ThrottlingBurstLimit": 2, "ThrottlingRateLimit": 0.01}})
    assert [api.call("GET", "/proxy/t").status for _ in range(2)] == [202, 202]
    _error(api.call("GET", "/proxy/t"), 429, "Too Many Requests")
    _error(api.call("POST", "/proxy/other"), 429, "Too Many Requests")  # one bucket for the route, any method
    assert api.call("GET", "/somewhere").status == 200  # the $default route is not limited
    assert api.call("POST", "/legacy", {"x-token": "allow-1"}).status == 201
    v2.delete_route_settings(ApiId=api.id, StageName="$default", RouteKey="ANY /proxy/{proxy+}")
    assert api.call("GET", "/proxy/t").status == 202


def _named_stage(api: Api, v2, issuer: OidcProvider, echo: str) -> None:
    """A `prod` stage without auto-deploy serves nothing until CreateDeployment, then only what that deployment
    holds, while `$default` takes every change at once."""
    v2.create_stage(ApiId=api.id, StageName="prod", StageVariables={"tier": "gold"})
    # No deployment yet: `prod` is no stage to the router, and `$default` takes the whole path.
    answer = api.call("GET", "/prod/anything").json()
    assert (answer["route"], answer["path"], answer["stage"]) == ("$default", "/prod/anything", "$default")
    deployment = v2.create_deployment(ApiId=api.id, StageName="prod", Description="first")["DeploymentId"]
    assert v2.get_stage(ApiId=api.id, StageName="prod")["DeploymentId"] == deployment
    token = issuer.token(aud="journey", scope="items/read")
    reply = api.call("GET", "/prod/items/9", {"Authorization": f"Bearer {token}"})
    assert reply.status == 200, reply.body
    event = reply.json()
    assert (event["rawPath"], event["requestContext"]["stage"], event["stageVariables"]) == (
        "/prod/items/9", "prod", {"tier": "gold"})
    _error(api.call("GET", "/prod/items/9"), 401, "Unauthorized")  # the authorizer deployed with the route
    mapped = api.call("GET", "/prod/proxy/p/q")
    assert mapped.status == 202 and mapped.json()["path"] == "/mapped/p/q"
    assert api.call("GET", "/prod/elsewhere").json()["stage"] == "prod"  # the quick-created $default route

    # A new route, open: served on $default at once, on prod only after the next deployment.
    v2.create_route(ApiId=api.id, RouteKey="GET /new", Target=f"integrations/{echo}")
    assert api.call("GET", "/new").json()["routeKey"] == "GET /new"
    assert api.call("GET", "/prod/new").json()["route"] == "$default"  # prod's own $default route answers
    v2.update_route(ApiId=api.id, RouteId=_route_id(v2, api, "GET /items/{id}"), AuthorizationType="NONE")
    assert api.call("GET", "/items/3").status == 200  # $default: open now
    _error(api.call("GET", "/prod/items/3"), 401, "Unauthorized")  # prod: still the JWT route it was given
    v2.create_deployment(ApiId=api.id, StageName="prod")
    new = api.call("GET", "/prod/new")
    assert (new.status, new.json()["routeKey"], new.json()["rawPath"]) == (200, "GET /new", "/prod/new")
    opened = api.call("GET", "/prod/items/3")
    assert opened.status == 200 and "authorizer" not in opened.json()["requestContext"]
    # The CORS configuration went to prod with its deployments.
    preflight = api.call("OPTIONS", "/prod/new", {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert (preflight.status, preflight.header("Access-Control-Allow-Origin")) == (204, ORIGIN)
    assert json.loads(api.call("GET", "/proxy/last").body)["path"] == "/mapped/last"
    assert v2.get_stage(ApiId=api.id, StageName="$default")["AutoDeploy"] is True


def _later_changes(api: Api, v2, issuer: OidcProvider, backend: EchoServer) -> None:
    """Changes to authorizers, integrations, CORS, routes and stages: `$default` at once, `prod` by its stage's
    own settings at once and by the API's only at its next deployment."""
    calls = api.call("POST", "/legacy", {"x-token": "allow-1"}).json()["requestContext"]["authorizer"]["calls"]
    assert api.call("POST", "/legacy", {"x-token": "allow-1"}).json()["requestContext"]["authorizer"]["calls"] == calls
    v2.reset_authorizers_cache(ApiId=api.id, StageName="$default")
    fresh = api.call("POST", "/legacy", {"x-token": "allow-1"}).json()["requestContext"]["authorizer"]["calls"]
    assert fresh > calls  # the cache was flushed: the function was asked again

    jwt = next(a["AuthorizerId"] for a in v2.get_authorizers(ApiId=api.id)["Items"] if a["Name"] == "oidc")
    v2.update_route(ApiId=api.id, RouteId=_route_id(v2, api, "GET /items/{id}"), AuthorizationType="JWT",
                    AuthorizerId=jwt, AuthorizationScopes=["items/read"])
    mobile = f"Bearer {issuer.token(aud='mobile', scope='items/read')}"
    _error(api.call("GET", "/items/1", {"Authorization": mobile}), 401, "Unauthorized")
    v2.update_authorizer(ApiId=api.id, AuthorizerId=jwt,
                         JwtConfiguration={"Issuer": issuer.issuer, "Audience": ["journey", "mobile"]})
    assert api.call("GET", "/items/1", {"Authorization": mobile}).status == 200

    # The integration behind the proxy route (the API has two HTTP_PROXY integrations; ids are random).
    proxy = next(r["Target"] for r in v2.get_routes(ApiId=api.id)["Items"]
                 if r["RouteKey"] == "ANY /proxy/{proxy+}").removeprefix("integrations/")
    v2.update_integration(ApiId=api.id, IntegrationId=proxy, ResponseParameters={})
    plain = api.call("GET", "/proxy/t")
    assert (plain.status, plain.header("x-backend-method")) == (200, None)  # the response mapping is gone
    assert plain.json()["path"] == "/mapped/t"  # the request mapping stays

    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    v2.delete_cors_configuration(ApiId=api.id)
    before = len(backend.requests)
    options = api.call("OPTIONS", "/proxy/x", preflight)  # no CORS: an OPTIONS request like any other
    assert options.status == 200 and options.header("Access-Control-Allow-Origin") is None
    assert options.json()["method"] == "OPTIONS" and len(backend.requests) == before + 1
    kept = api.call("OPTIONS", "/prod/proxy/x", preflight)  # prod keeps the CORS of its deployment
    assert (kept.status, kept.header("Access-Control-Allow-Origin")) == (204, ORIGIN)

    v2.update_stage(ApiId=api.id, StageName="prod", StageVariables={"tier": "silver"})
    assert api.call("GET", "/prod/items/2").json()["stageVariables"] == {"tier": "silver"}  # no deployment needed
    v2.delete_route(ApiId=api.id, RouteId=_route_id(v2, api, "POST /legacy"))
    assert api.call("POST", "/legacy", {"x-token": "allow-1"}).json()["route"] == "$default"
    assert api.call("POST", "/prod/legacy", {"x-token": "allow-1"}).status == 201  # until prod's next deployment
    v2.delete_stage(ApiId=api.id, StageName="prod")
    gone = api.call("GET", "/prod/items/2").json()
    assert (gone["route"], gone["stage"], gone["path"]) == ("$default", "$default", "/prod/items/2")
    v2.delete_api(ApiId=api.id)
    gone_api = api.call("GET", "/items/1")  # an API id the gateway does not know (docs/behaviour.md)
    assert (gone_api.status, gone_api.json()) == (403, {"message": "Forbidden"})


def _route_id(v2, api: Api, key: str) -> str:
    return next(r["RouteId"] for r in v2.get_routes(ApiId=api.id)["Items"] if r["RouteKey"] == key)

"""Lambda (TOKEN, REQUEST) and Cognito user pool authorizers end to end against `apiway serve`, with
real authorizer functions (inline and worker mode) and a real JWKS server.

AWS behaviour from the spec (§8.1 to §8.3, §1.8, §1.12): 401 `{"message":"Unauthorized"}` for a missing
or malformed identity or a function raising "Unauthorized", 403 `{"Message": …}` for a denying policy,
500 `{"message": null}` for a broken authorizer; cached policies are re-evaluated per method ARN."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.authorizer_support import POOL, POOL_ARN, Jwks, fn_uri, lambda_authorizer
from tests.support import Reply, Server, apigateway_client

API = "authzapi1"
STAGE = "dev"

ARN_BASE = f"arn:aws:execute-api:us-east-1:123456789012:{API}/{STAGE}"


SCHEMES = {
    "token": lambda_authorizer("token", "TokenAuth", "method.request.header.Authorization", 300,
                                identityValidationExpression=r"Bearer [a-z]+(\.[a-z0-9]+)?"),
    "tokenNoCache": lambda_authorizer("token", "NoCacheAuth", "method.request.header.Authorization", 0),
    "request": lambda_authorizer("request", "RequestAuth", "method.request.header.X-User, "
                                  "method.request.querystring.tenant, stageVariables.zone, context.httpMethod", 300),
    "requestNoCache": lambda_authorizer("request", "RequestAuth", "method.request.header.X-User", 0),
    "cognito": {"type": "apiKey", "name": "Authorization", "in": "header",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": [POOL_ARN]}},
}
MOCK_TEMPLATE = ('{"principal": "$context.authorizer.principalId", "user": "$context.authorizer.user", '
                 '"n": "$context.authorizer.n", "admin": "$context.authorizer.admin", '
                 '"email": "$context.authorizer.claims.email"}')


def _mock(security: str, scopes: list[str] | None = None) -> dict:
    return {"security": [{security: scopes or []}], "responses": {"200": {"description": "OK"}},
            "x-amazon-apigateway-integration": {
                "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                "responses": {"default": {"statusCode": "200",
                                          "responseTemplates": {"application/json": MOCK_TEMPLATE}}}}}


def _proxy(security: str) -> dict:
    return {"security": [{security: []}], "responses": {"200": {"description": "OK"}},
            "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST",
                                                "uri": fn_uri("Backend")}}


OPENAPI = {
    "openapi": "3.0.1",
    "info": {"title": "Authorizers"},
    "x-amazon-apigateway-api-key-source": "AUTHORIZER",
    "components": {"securitySchemes": SCHEMES},
    "paths": {
        "/pets": {"get": _mock("token")},
        "/orders": {"get": _mock("token")},
        "/proxy": {"get": _proxy("token")},
        "/nocache": {"get": _mock("tokenNoCache")},
        "/req/{id}": {"get": _proxy("request")},
        "/reqnocache": {"get": _proxy("requestNoCache")},
        "/cognito": {"get": _proxy("cognito")},
        "/cognito-mock": {"get": _mock("cognito")},
        "/scoped": {"get": _mock("cognito", ["pets/read", "pets/write"])},
    },
}

AUTHORIZERS = """import json, os

def _log(event):
    with open(os.environ["AUTH_LOG"], "a") as f:
        f.write(json.dumps(event) + "\\n")

def _policy(effect, resource, action="execute-api:Invoke"):
    return {"Version": "2012-10-17", "Statement": [{"Action": action, "Effect": effect, "Resource": resource}]}

def token(event, context):
    _log(event)
    verb = event["authorizationToken"].split(" ", 1)[1].split(".")[0]
    arn = event["methodArn"]
    base = "/".join(arn.split("/")[:2])
    if verb == "allow":
        return {"principalId": "alice", "usageIdentifierKey": "key-of-alice",
                "policyDocument": _policy("Allow", [base + "/GET/pets", base + "/GET/proxy", base + "/GET/nocache"]),
                "context": {"user": "alice", "n": 7, "admin": True}}
    if verb == "star":
        return {"principalId": "bob", "policyDocument": _policy("Allow", base + "/*", "execute-api:*")}
    if verb == "deny":
        return {"principalId": "eve", "policyDocument": _policy("Deny", arn)}
    if verb == "unauthorized":
        raise Exception("Unauthorized")
    if verb == "crash":
        raise RuntimeError("authorizer bug")
    if verb == "noprincipal":
        return {"policyDocument": _policy("Allow", arn)}
    if verb == "nested":
        return {"principalId": "x", "policyDocument": _policy("Allow", arn), "context": {"a": {"b": 1}}}
    return {"principalId": "mallory", "policyDocument": _policy("Allow", base + "/POST/*")}

def request(event, context):
    _log(event)
    user = (event["headers"] or {}).get("X-User")
    if user != "ok":
        return {"principalId": "nobody", "policyDocument": _policy("Deny", event["methodArn"])}
    tenant = (event["queryStringParameters"] or {}).get("tenant")
    return {"principalId": "req-user", "policyDocument": _policy("Allow", event["methodArn"]),
            "context": {"tenant": tenant}}

def backend(event, context):
    rc = event["requestContext"]
    return {"statusCode": 200, "body": json.dumps({"authorizer": rc.get("authorizer"),
                                                   "apiKey": rc["identity"].get("apiKey")})}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, jwks: Jwks) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("authorizers")
    (work / "api.json").write_bytes(orjson.dumps(OPENAPI))
    (work / "authz.py").write_text(AUTHORIZERS)
    (work / "logs").mkdir()

    def fn(handler: str, mode: str, log: str = "") -> dict:
        return {"handler": f"authz.py:{handler}", "mode": mode,
                "environment": {"AUTH_LOG": str(work / "logs" / f"{log or handler}.log")}}

    project = {
        "apis": [{"openapi": "api.json", "id": API, "stages": {STAGE: {"variables": {"zone": "eu"}}}}],
        "functions": {"TokenAuth": fn("token", "inline"), "NoCacheAuth": fn("token", "inline", "nocache"),
                      "RequestAuth": fn("request", "worker"), "Backend": fn("backend", "inline")},
        "cognito": {"user_pools": {POOL: {"jwks_url": jwks.url}}},
    }
    (work / "apiway.yaml").write_bytes(orjson.dumps(project))
    (work / "state").mkdir()
    server = Server(work / "apiway.yaml", work / "state" / "state.db")
    server.logs = work / "logs"  # type: ignore[attr-defined]
    yield server
    server.stop()


def invocations(gateway: Server, log: str) -> list[dict]:
    path: Path = gateway.logs / f"{log}.log"  # type: ignore[attr-defined]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def tokens_seen(gateway: Server, log: str, token: str) -> int:
    return sum(1 for e in invocations(gateway, log) if e.get("authorizationToken") == token)


def get(gateway: Server, path: str, token: str | None = None, **headers: str) -> Reply:
    if token is not None:
        headers["Authorization"] = token
    return gateway.call("GET", API, STAGE, path, headers=headers)


def assert_error(reply: Reply, status: int, body: dict, error_type: str) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.json() == body
    assert reply.header("x-amzn-ErrorType") == error_type


UNAUTHORIZED = ({"message": "Unauthorized"}, "UnauthorizedException")


# -- TOKEN -----------------------------------------------------------------------------------------


def test_token_allow_reaches_a_mock_template_with_the_context(gateway):
    """§8.2: principalId and context values reach `$context.authorizer.*`; the event is the TOKEN
    event with the request's method ARN."""
    reply = get(gateway, "/pets", "Bearer allow.t1")
    assert reply.status == 200, reply.body
    assert reply.json() == {"principal": "alice", "user": "alice", "n": "7", "admin": "true", "email": ""}
    [event] = [e for e in invocations(gateway, "token") if e["authorizationToken"] == "Bearer allow.t1"]
    assert event == {"type": "TOKEN", "authorizationToken": "Bearer allow.t1", "methodArn": f"{ARN_BASE}/GET/pets"}


def test_token_context_and_usage_key_reach_a_lambda_proxy_event(gateway):
    """The proxy event's requestContext.authorizer keeps the context's JSON types plus principalId and
    integrationLatency; with apiKeySource AUTHORIZER the usageIdentifierKey is the caller's API key."""
    body = get(gateway, "/proxy", "Bearer allow.t2").json()
    authorizer = body["authorizer"]
    assert isinstance(authorizer.pop("integrationLatency"), int)
    assert authorizer == {"user": "alice", "n": 7, "admin": True, "principalId": "alice"}
    assert body["apiKey"] == "key-of-alice"


def test_missing_or_empty_token_is_401_without_invoking(gateway):
    before = len(invocations(gateway, "token"))
    assert_error(get(gateway, "/pets"), 401, *UNAUTHORIZED)
    assert_error(get(gateway, "/pets", ""), 401, *UNAUTHORIZED)
    assert len(invocations(gateway, "token")) == before


def test_token_not_matching_the_validation_expression_is_401_without_invoking(gateway):
    assert_error(get(gateway, "/pets", "Token allow.t3"), 401, *UNAUTHORIZED)
    assert_error(get(gateway, "/pets", "Bearer allow.t3 and more"), 401, *UNAUTHORIZED)  # the whole token must match
    assert tokens_seen(gateway, "token", "Token allow.t3") == 0


def test_explicit_and_implicit_deny_are_403_with_a_capital_m(gateway):
    assert_error(get(gateway, "/pets", "Bearer deny.t4"), 403,
                 {"Message": "User is not authorized to access this resource with an explicit deny"},
                 "AccessDeniedException")
    assert_error(get(gateway, "/pets", "Bearer other.t4"), 403,
                 {"Message": "User is not authorized to access this resource"}, "AccessDeniedException")


def test_function_raising_unauthorized_is_401(gateway):
    assert_error(get(gateway, "/pets", "Bearer unauthorized.t5"), 401, *UNAUTHORIZED)


@pytest.mark.parametrize("verb", ["crash", "noprincipal", "nested"])
def test_crashing_or_malformed_authorizer_is_500_with_a_null_message(gateway, verb):
    assert_error(get(gateway, "/pets", f"Bearer {verb}.t6"), 500, {"message": None},
                 "AuthorizerConfigurationException")


def test_wildcard_policy_allows_every_method(gateway):
    assert get(gateway, "/orders", "Bearer star.t7").status == 200
    assert get(gateway, "/pets", "Bearer star.t7").json()["principal"] == "bob"


# -- caching ---------------------------------------------------------------------------------------


def test_result_is_cached_per_token_and_reevaluated_per_method_arn(gateway):
    """§8.2: one invocation per token within the TTL; the cached policy (GET /pets only) denies
    GET /orders without a new invocation."""
    for _ in range(3):
        assert get(gateway, "/pets", "Bearer allow.t8").status == 200
    assert tokens_seen(gateway, "token", "Bearer allow.t8") == 1
    assert_error(get(gateway, "/orders", "Bearer allow.t8"), 403,
                 {"Message": "User is not authorized to access this resource"}, "AccessDeniedException")
    assert tokens_seen(gateway, "token", "Bearer allow.t8") == 1
    assert get(gateway, "/pets", "Bearer allow.t9").status == 200  # another token is another entry
    assert tokens_seen(gateway, "token", "Bearer allow.t9") == 1


def test_ttl_zero_invokes_every_time(gateway):
    for _ in range(3):
        assert get(gateway, "/nocache", "Bearer allow.t10").status == 200
    assert tokens_seen(gateway, "nocache", "Bearer allow.t10") == 3


def test_flush_stage_authorizers_cache_through_boto3(gateway):
    """FlushStageAuthorizersCache (DELETE /restapis/{id}/stages/{stage}/cache/authorizers) empties the
    stage's results: the next request invokes the authorizer again."""
    assert get(gateway, "/pets", "Bearer allow.t11").status == 200
    assert get(gateway, "/pets", "Bearer allow.t11").status == 200
    assert tokens_seen(gateway, "token", "Bearer allow.t11") == 1
    apigateway_client(gateway.port).flush_stage_authorizers_cache(restApiId=API, stageName=STAGE)
    assert get(gateway, "/pets", "Bearer allow.t11").status == 200
    assert tokens_seen(gateway, "token", "Bearer allow.t11") == 2


# -- REQUEST ---------------------------------------------------------------------------------------


def test_request_authorizer_gets_the_request_event_and_caches_by_every_source(gateway):
    reply = get(gateway, "/req/42?tenant=acme&x=1", **{"X-User": "ok"})
    assert reply.status == 200, reply.body
    assert reply.json()["authorizer"]["tenant"] == "acme"
    assert reply.json()["authorizer"]["principalId"] == "req-user"
    [event] = [e for e in invocations(gateway, "request") if e["path"] == "/req/42"]
    assert list(event)[:2] == ["type", "methodArn"]
    assert event["type"] == "REQUEST" and event["methodArn"] == f"{ARN_BASE}/GET/req/42"
    assert (event["resource"], event["httpMethod"]) == ("/req/{id}", "GET")
    assert event["headers"]["X-User"] == "ok" and event["multiValueHeaders"]["X-User"] == ["ok"]
    assert event["queryStringParameters"] == {"tenant": "acme", "x": "1"}
    assert event["multiValueQueryStringParameters"] == {"tenant": ["acme"], "x": ["1"]}
    assert event["pathParameters"] == {"id": "42"} and event["stageVariables"] == {"zone": "eu"}
    assert event["requestContext"]["resourcePath"] == "/req/{id}" and "body" not in event
    # the same identity values (another path, another unrelated parameter) come from the cache...
    assert get(gateway, "/req/42?tenant=acme&x=2", **{"X-User": "ok"}).status == 200
    # ...but the cached policy names /req/42 only: /req/43 is denied from the cache
    assert get(gateway, "/req/43?tenant=acme", **{"X-User": "ok"}).status == 403
    assert len(invocations(gateway, "request")) == 1
    assert get(gateway, "/req/42?tenant=other", **{"X-User": "ok"}).status == 200  # another tenant: invoked
    assert len(invocations(gateway, "request")) == 2


def test_request_authorizer_missing_identity_source_is_401_when_caching(gateway):
    before = len(invocations(gateway, "request"))
    assert_error(get(gateway, "/req/1?tenant=acme"), 401, *UNAUTHORIZED)
    assert_error(get(gateway, "/req/1", **{"X-User": "ok"}), 401, *UNAUTHORIZED)
    assert_error(get(gateway, "/req/1?tenant=", **{"X-User": "ok"}), 401, *UNAUTHORIZED)
    assert len(invocations(gateway, "request")) == before


def test_request_authorizer_without_caching_is_invoked_even_without_its_sources(gateway):
    before = len(invocations(gateway, "request"))
    assert_error(get(gateway, "/reqnocache"), 403,
                 {"Message": "User is not authorized to access this resource with an explicit deny"},
                 "AccessDeniedException")
    assert get(gateway, "/reqnocache", **{"X-User": "ok"}).status == 200
    assert len(invocations(gateway, "request")) == before + 2


# -- Cognito ---------------------------------------------------------------------------------------


def test_cognito_id_token_claims_reach_the_proxy_event_and_templates(gateway, jwks):
    token = jwks.token(exp=2000000000)
    body = get(gateway, "/cognito", token).json()
    claims = body["authorizer"]["claims"]
    assert claims["email"] == "alice@example.com" and claims["sub"] == "u-1"
    assert claims["email_verified"] == "true" and claims["cognito:groups"] == "[admin, users]"
    assert claims["exp"] == "Wed May 18 03:33:20 UTC 2033"
    assert get(gateway, "/cognito-mock", token).json()["email"] == "alice@example.com"
    assert get(gateway, "/cognito", f"Bearer {token}").status == 200
    assert jwks.fetches == 1  # keys are fetched once


def test_cognito_rejects_bad_tokens_with_401(gateway, jwks):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = {
        "missing": None,
        "not a jwt": "abc.def",
        "expired": jwks.token(exp=int(time.time()) - 10),
        "wrong issuer": jwks.token(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
        "bad signature": jwks.token(key=other_key),
        "access token without scopes": jwks.token(token_use="access", scope="pets/read"),
    }
    for name, token in bad.items():
        reply = get(gateway, "/cognito", token)
        assert (reply.status, reply.json()) == (401, {"message": "Unauthorized"}), name


def test_cognito_scopes_need_an_access_token_with_one_of_them(gateway, jwks):
    ok = get(gateway, "/scoped", jwks.token(token_use="access", scope="openid pets/write"))
    assert ok.status == 200, ok.body
    for token in (jwks.token(token_use="access", scope="openid pets/delete"),
                  jwks.token(token_use="access"),
                  jwks.token(scope="pets/read")):  # an ID token
        assert_error(get(gateway, "/scoped", token), 401, *UNAUTHORIZED)


def test_api_made_through_the_control_plane_with_an_unknown_authorizer_function(gateway):
    """AWS deploys a method whose authorizer function does not exist and fails each call with 500."""
    document = {"openapi": "3.0.1", "info": {"title": "Orphan"}, "paths": {"/x": {"get": _mock("token")}},
                "components": {"securitySchemes": {"token": lambda_authorizer(
                    "token", "Missing", "method.request.header.Authorization", 300)}}}
    client = apigateway_client(gateway.port)
    api_id = client.import_rest_api(body=orjson.dumps(document))["id"]
    client.create_deployment(restApiId=api_id, stageName="dev")
    reply = gateway.call("GET", api_id, "dev", "/x", headers={"Authorization": "Bearer allow"})
    assert_error(reply, 500, {"message": None}, "AuthorizerConfigurationException")

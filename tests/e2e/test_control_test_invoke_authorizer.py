"""TestInvokeAuthorizer through boto3 against `apiway serve` with real authorizer functions and a real JWKS
server: the authorizer of the API as it is now runs once on the request the call describes, without its
result cache, and the answer reports what it decided (clientStatus 200 for any valid answer, Deny
included; 401 for a missing identity or an "Unauthorized" error; 500 for a failing authorizer)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from botocore.exceptions import ClientError

from tests.conformance.control_plane import assert_recorded_error
from tests.e2e.authorizer_support import POOL, POOL_ARN, Jwks, fn_uri, lambda_authorizer
from tests.support import Server, apigateway_client

STAGE = "dev"
REQUEST_SOURCES = "method.request.header.X-User, method.request.querystring.tenant, stageVariables.zone"
OPENAPI = {
    "openapi": "3.0.1",
    "info": {"title": "TestInvokeAuthorizers"},
    "components": {"securitySchemes": {
        "token": lambda_authorizer("token", "TokenAuth", "method.request.header.Authorization", 300,
                                    identityValidationExpression=r"Bearer [a-z]+\.[a-z0-9]+"),
        "request": lambda_authorizer("request", "RequestAuth", REQUEST_SOURCES, 300),
        "cognito": {"type": "apiKey", "name": "Authorization", "in": "header",
                    "x-amazon-apigateway-authtype": "cognito_user_pools",
                    "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": [POOL_ARN]}},
    }},
    "paths": {"/pets": {"get": {
        "security": [{"token": []}], "responses": {"200": {"description": "OK"}},
        "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                                            "responses": {"default": {"statusCode": "200"}}}}}},
}

FUNCTIONS = """import json, os

def _log(event):
    with open(os.environ["AUTH_LOG"], "a") as f:
        f.write(json.dumps(event) + "\\n")

def _policy(effect, resource):
    return {"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": effect,
                                                   "Resource": resource}]}

def token(event, context):
    _log(event)
    verb = event["authorizationToken"].split(" ", 1)[1].split(".")[0]
    arn = event["methodArn"]
    if verb == "allow":
        base = "/".join(arn.split("/")[:2])
        return {"principalId": "alice-in-wonderland", "policyDocument": _policy("Allow", base + "/*"),
                "context": {"user": "alice", "n": 7, "admin": True}}
    if verb == "deny":
        return {"principalId": "eve", "policyDocument": _policy("Deny", arn)}
    if verb == "unauthorized":
        raise Exception("Unauthorized")
    if verb == "crash":
        raise RuntimeError("authorizer bug")
    return {"policyDocument": _policy("Allow", arn)}  # no principalId: not a valid answer

def request(event, context):
    _log(event)
    return {"principalId": "req-user", "policyDocument": _policy("Allow", event["methodArn"]),
            "context": {"tenant": event["queryStringParameters"]["tenant"]}}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, jwks: Jwks) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("test_invoke_authorizer")
    (work / "authz.py").write_text(FUNCTIONS)
    (work / "logs").mkdir()

    def fn(handler: str) -> dict:
        return {"handler": f"authz.py:{handler}", "mode": "inline",
                "environment": {"AUTH_LOG": str(work / "logs" / f"{handler}.log")}}

    project = {"functions": {"TokenAuth": fn("token"), "RequestAuth": fn("request")},
               "cognito": {"user_pools": {POOL: {"jwks_url": jwks.url}}}}
    (work / "apiway.yaml").write_bytes(orjson.dumps(project))
    (work / "state").mkdir()
    server = Server(work / "apiway.yaml", work / "state" / "state.db")
    server.logs = work / "logs"  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture(scope="module")
def apigw(gateway: Server):
    return apigateway_client(gateway.port)


@pytest.fixture(scope="module")
def api(apigw) -> dict[str, str]:
    """The API's id and its authorizers' ids by name; its stage serves GET /pets behind the TOKEN authorizer."""
    api_id = apigw.import_rest_api(body=orjson.dumps(OPENAPI))["id"]
    apigw.create_deployment(restApiId=api_id, stageName=STAGE)
    return {"id": api_id, **{a["name"]: a["id"] for a in apigw.get_authorizers(restApiId=api_id)["items"]}}


def events(gateway: Server, handler: str) -> list[dict]:
    path: Path = gateway.logs / f"{handler}.log"  # type: ignore[attr-defined]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def seen(gateway: Server, token: str) -> int:
    return sum(1 for e in events(gateway, "token") if e["authorizationToken"] == token)


def log_steps(answer: dict) -> list[str]:
    """The execution log's lines without their timestamps; the first names the request."""
    first, *lines = answer["log"].splitlines()
    assert re.fullmatch(r"Execution log for request [0-9a-f-]{36}", first), first
    stamp = r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4} : "
    assert all(re.match(stamp, line) for line in lines), lines
    return [re.sub(stamp, "", line) for line in lines]


def invoke_token(apigw, api: dict[str, str], token: str | None, **kw) -> dict:
    headers = {"Authorization": token} if token is not None else {}
    return apigw.test_invoke_authorizer(restApiId=api["id"], authorizerId=api["token"], headers=headers, **kw)


# -- Lambda TOKEN authorizer -------------------------------------------------------------------------


def test_allow_reports_principal_policy_context_and_an_aws_like_log(gateway, apigw, api):
    answer = invoke_token(apigw, api, "Bearer allow.a1", pathWithQueryString="/pets/1?x=1")
    method_arn = f"arn:aws:execute-api:us-east-1:123456789012:{api['id']}/ESTestInvoke-stage/GET/pets/1"
    assert answer["clientStatus"] == 200
    assert answer["principalId"] == "alice-in-wonderland"
    assert json.loads(answer["policy"]) == {"Version": "2012-10-17", "Statement": [{
        "Action": "execute-api:Invoke", "Effect": "Allow",
        "Resource": f"arn:aws:execute-api:us-east-1:123456789012:{api['id']}/ESTestInvoke-stage/*"}]}
    assert answer["authorization"] == {"user": ["alice"], "n": ["7"], "admin": ["true"]}
    assert "claims" not in answer and isinstance(answer["latency"], int)
    event = {"type": "TOKEN", "authorizationToken": "Bearer allow.a1", "methodArn": method_arn}
    assert [e for e in events(gateway, "token") if e["authorizationToken"] == "Bearer allow.a1"] == [event]
    request_id = answer["log"].split()[4]
    uri = ("https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/"
           "arn:aws:lambda:us-east-1:123456789012:function:TokenAuth/invocations")
    steps = log_steps(answer)
    assert steps[:5] == [
        f"Starting authorizer: {api['token']} for request: {request_id}",
        "Incoming identity: *********low.a1",
        f"Endpoint request URI: {uri}",
        f"Endpoint request body after transformations: {json.dumps(event, separators=(',', ':'))}",
        f"Sending request to {uri}",
    ]
    assert steps[5].startswith('Authorizer result body before parsing: {"principalId":"alice-in-wonderland"')
    assert steps[6:] == ["Using valid authorizer policy for principal: *************erland",
                         "Successfully completed authorizer execution"]


def test_deny_is_still_a_valid_answer(apigw, api):
    """The policy is reported, not enforced: a Deny is clientStatus 200 with the Deny policy."""
    answer = invoke_token(apigw, api, "Bearer deny.d1")
    assert answer["clientStatus"] == 200
    assert answer["principalId"] == "eve"
    assert json.loads(answer["policy"])["Statement"][0]["Effect"] == "Deny"
    assert json.loads(answer["policy"])["Statement"][0]["Resource"].endswith("/ESTestInvoke-stage/GET/")
    assert answer["authorization"] == {}
    assert log_steps(answer)[-2:] == ["Using valid authorizer policy for principal: eve",
                                      "Successfully completed authorizer execution"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}, {"Authorization": "Token allow.m1"}])
def test_missing_or_invalid_token_is_401_without_invoking(gateway, apigw, api, headers):
    before = len(events(gateway, "token"))
    answer = apigw.test_invoke_authorizer(restApiId=api["id"], authorizerId=api["token"], headers=headers)
    assert answer["clientStatus"] == 401
    assert not {"principalId", "policy", "authorization", "claims"} & set(answer)
    request_id = answer["log"].split()[4]
    assert log_steps(answer)[-2:] == [f"Unauthorized request: {request_id}", "Unauthorized"]
    assert len(events(gateway, "token")) == before


def test_function_raising_unauthorized_is_401(gateway, apigw, api):
    answer = invoke_token(apigw, api, "Bearer unauthorized.u1")
    assert answer["clientStatus"] == 401
    assert log_steps(answer)[-2:] == [f"Unauthorized request: {answer['log'].split()[4]}", "Unauthorized"]
    assert seen(gateway, "Bearer unauthorized.u1") == 1


@pytest.mark.parametrize("verb", ["crash", "noprincipal"])
def test_crashing_or_invalid_authorizer_is_500(apigw, api, verb):
    answer = invoke_token(apigw, api, f"Bearer {verb}.e1")
    assert answer["clientStatus"] == 500
    assert not {"principalId", "policy", "authorization"} & set(answer)
    steps = log_steps(answer)
    assert steps[-3].startswith("Authorizer result body before parsing: {")
    assert steps[-2].startswith("Execution failed due to configuration error: ")
    assert steps[-1] == "AuthorizerConfigurationException"
    if verb == "crash":
        assert "authorizer bug" in steps[-3]


def test_the_result_cache_is_neither_read_nor_filled(gateway, apigw, api):
    """Each test invocation runs the function; a real request after one still runs it (then caches its
    result); a test invocation after that runs it again."""
    token = "Bearer allow.c1"
    for _ in range(2):
        assert invoke_token(apigw, api, token)["clientStatus"] == 200
    assert seen(gateway, token) == 2
    for _ in range(2):
        reply = gateway.call("GET", api["id"], STAGE, "/pets", headers={"Authorization": token})
        assert reply.status == 200, reply.body
    assert seen(gateway, token) == 3
    assert invoke_token(apigw, api, token)["clientStatus"] == 200
    assert seen(gateway, token) == 4


def test_the_current_definition_runs_not_the_deployed_one(gateway, apigw, api):
    """An authorizer made after the deployment, and an authorizer whose function does not exist (AWS accepts
    it, and it fails each call)."""
    late = apigw.create_authorizer(restApiId=api["id"], name="late", type="TOKEN", authorizerUri=fn_uri("TokenAuth"),
                                   identitySource="method.request.header.X-Late")["id"]
    answer = apigw.test_invoke_authorizer(restApiId=api["id"], authorizerId=late, headers={"X-Late": "Bearer allow.l1"})
    assert (answer["clientStatus"], answer["principalId"]) == (200, "alice-in-wonderland")
    missing = apigw.create_authorizer(restApiId=api["id"], name="missing", type="TOKEN",
                                      authorizerUri=fn_uri("Missing"))["id"]
    answer = apigw.test_invoke_authorizer(restApiId=api["id"], authorizerId=missing,
                                          headers={"Authorization": "Bearer allow.l2"})
    assert answer["clientStatus"] == 500
    assert log_steps(answer)[-2:] == [
        "Execution failed due to configuration error: authorizer function 'Missing' is not defined in this gateway",
        "AuthorizerConfigurationException"]


# -- Lambda REQUEST authorizer -----------------------------------------------------------------------


def test_request_authorizer_gets_the_request_the_call_describes(gateway, apigw, api):
    answer = apigw.test_invoke_authorizer(
        restApiId=api["id"], authorizerId=api["request"], multiValueHeaders={"X-User": ["ok"], "X-Other": ["a", "b"]},
        pathWithQueryString="/orders/7?tenant=acme", stageVariables={"zone": "eu-west"}, body="ignored")
    assert answer["clientStatus"] == 200, answer["log"]
    assert (answer["principalId"], answer["authorization"]) == ("req-user", {"tenant": ["acme"]})
    assert log_steps(answer)[1] == ("Incoming identity: {method.request.header.X-User=ok, "
                                    "method.request.querystring.tenant=acme, stageVariables.zone=*u-west}")
    [event] = [e for e in events(gateway, "request") if e["path"] == "/orders/7"]
    assert event["type"] == "REQUEST" and "body" not in event
    assert event["methodArn"] == f"arn:aws:execute-api:us-east-1:123456789012:{api['id']}/ESTestInvoke-stage/GET/orders/7"
    assert (event["resource"], event["httpMethod"]) == ("/", "GET")
    assert {k: event["multiValueHeaders"][k] for k in ("X-User", "X-Other")} == {"X-User": ["ok"], "X-Other": ["a", "b"]}
    assert event["queryStringParameters"] == {"tenant": "acme"} and event["stageVariables"] == {"zone": "eu-west"}
    context = event["requestContext"]
    assert (context["stage"], context["resourceId"], context["resourcePath"]) == (
        "test-invoke-stage", "test-invoke-resource-id", "/")


def test_request_authorizer_missing_an_identity_source_is_401(gateway, apigw, api):
    before = len(events(gateway, "request"))
    answer = apigw.test_invoke_authorizer(restApiId=api["id"], authorizerId=api["request"],
                                          headers={"X-User": "ok"}, pathWithQueryString="/orders?tenant=acme")
    assert answer["clientStatus"] == 401  # no stage variable `zone`
    assert len(events(gateway, "request")) == before


# -- Cognito user pool authorizer -----------------------------------------------------------------------


def test_cognito_reports_the_token_claims(apigw, api, jwks):
    answer = apigw.test_invoke_authorizer(restApiId=api["id"], authorizerId=api["cognito"],
                                          headers={"Authorization": jwks.token(exp=2000000000)})
    assert answer["clientStatus"] == 200, answer["log"]
    claims = answer["claims"]
    assert (claims["email"], claims["sub"], claims["email_verified"]) == ("alice@example.com", "u-1", "true")
    assert claims["exp"] == "Wed May 18 03:33:20 UTC 2033" and claims["cognito:groups"] == "[admin, users]"
    assert not {"principalId", "policy", "authorization"} & set(answer)
    assert log_steps(answer)[-1] == "Successfully completed authorizer execution"


@pytest.mark.parametrize("token", [None, "not.a.jwt", "expired"])
def test_cognito_rejects_a_missing_or_bad_token_with_401(apigw, api, jwks, token):
    if token == "expired":
        token = jwks.token(exp=1000)
    answer = apigw.test_invoke_authorizer(restApiId=api["id"], authorizerId=api["cognito"],
                                          headers={"Authorization": token} if token else {})
    assert answer["clientStatus"] == 401
    assert "claims" not in answer


# -- errors -----------------------------------------------------------------------------------------------


def test_unknown_api_or_authorizer(apigw, api):
    assert_recorded_error(lambda: apigw.test_invoke_authorizer(restApiId="test-fake-rest-id", authorizerId="abc123"),
                          "test_authorizer_crud_no_api", "wrong-rest-api-id-get-authorizers")
    with pytest.raises(ClientError) as info:
        apigw.test_invoke_authorizer(restApiId=api["id"], authorizerId="nope12")
    error = info.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "NotFoundException", "Invalid Authorizer identifier specified", 404)

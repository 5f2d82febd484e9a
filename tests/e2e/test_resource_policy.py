"""Resource policies end to end (spec §8.5, §8.1): source-IP and other conditions, anonymous callers
needing an explicit Allow, an explicit Deny beating an IAM Allow, the same-account and cross-account
combinations with identity policies, the pre-check before a Lambda authorizer, and a policy that does
not compile stopping the deployment."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support import Reply, Server, request

API = "rpolicy001"
STAGE = "prod"
ARN_PREFIX = f"arn:aws:execute-api:us-east-1:123456789012:{API}/{STAGE}"
ALICE = ("AKIAALICE00000000001", "alice-secret", "arn:aws:iam::123456789012:user/alice")
BOB = ("AKIABOB0000000000002", "bob-secret", "arn:aws:iam::123456789012:user/bob")
ERIN = ("AKIAERIN000000000005", "erin-secret", "arn:aws:iam::999999999999:user/erin")
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:*"}]}


def allow(resource: str, principal: object = "*", condition: dict | None = None, effect: str = "Allow") -> dict:
    statement = {"Effect": effect, "Principal": principal, "Action": "execute-api:Invoke",
                 "Resource": f"execute-api:/*/GET/{resource}"}
    return {**statement, "Condition": condition} if condition else statement


def deny(resource: str, principal: object = "*", condition: dict | None = None) -> dict:
    return allow(resource, principal, condition, effect="Deny")


POLICY = {"Version": "2012-10-17", "Statement": [
    allow("public/*"),
    allow("local", condition={"IpAddress": {"aws:SourceIp": ["127.0.0.1/32", "::1/128"]}}),
    allow("remote", condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}),
    deny("blocked", condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
    allow("blocked"),
    allow("alice-only", {"AWS": [ALICE[2]]}),
    deny("iam/denied", {"AWS": ALICE[2]}),
    allow("iam/bob", {"AWS": BOB[2]}),
    allow("iam/cross", {"AWS": "arn:aws:iam::999999999999:root"}),
    deny("guarded", condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}),
    allow("guarded"),
    allow("time", condition={"DateGreaterThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"},
                             "NumericLessThan": {"aws:EpochTime": 4102444800}}),
    allow("agent", condition={"StringLike": {"aws:UserAgent": "friendly/*"}}),
    allow("vpce", condition={"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}),
    allow("insecure", condition={"Bool": {"aws:SecureTransport": "false"}}),
]}


def mock(auth: dict | None = None) -> dict:
    method = {
        "responses": {"200": {"description": "OK"}},
        "x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200", "responseTemplates": {
                "application/json": '{"ip": "$context.identity.sourceIp", "user": "$context.identity.userArn"}'}}}},
    }
    return {**method, "security": [auth]} if auth else method


IAM = {"sigv4": []}
CUSTOM = {"token": []}
OPENAPI = {
    "openapi": "3.0.1",
    "info": {"title": "PolicyApi", "version": "1"},
    "x-amazon-apigateway-policy": POLICY,
    "components": {"securitySchemes": {
        "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header",
                  "x-amazon-apigateway-authtype": "awsSigv4"},
        "token": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom",
                  "x-amazon-apigateway-authorizer": {
                      "type": "token", "authorizerResultTtlInSeconds": 0,
                      "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                       "arn:aws:lambda:us-east-1:123456789012:function:Auth/invocations"}},
    }},
    "paths": {
        **{f"/{name}": {"get": mock()} for name in
           ("local", "remote", "blocked", "alice-only", "nothing", "time", "agent", "vpce", "insecure")},
        "/public/{item}": {"get": mock()},
        **{f"/iam/{name}": {"get": mock(IAM)} for name in ("denied", "bob", "cross", "other")},
        "/guarded": {"get": mock(CUSTOM)},
    },
}

# Notes every invocation in a file next to it: the pre-check must stop a denied request before this runs.
AUTHORIZER = """import pathlib

def handler(event, context):
    (pathlib.Path(__file__).parent / "authorizer-called").write_text(event["methodArn"])
    return {"principalId": "x", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}}
"""


def identity(creds: tuple[str, str, str], policies: list | None = None) -> dict:
    entry = {"access_key_id": creds[0], "secret_access_key": creds[1], "arn": creds[2]}
    return {**entry, "policies": policies} if policies is not None else entry


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("resource_policy")


@pytest.fixture(scope="module")
def gateway(workdir: Path) -> Iterator[Server]:
    (workdir / "api.json").write_bytes(orjson.dumps(OPENAPI))
    (workdir / "auth.py").write_text(AUTHORIZER)
    project = {
        "apis": [{"openapi": "api.json", "id": API, "stages": {STAGE: {}}}],
        "functions": {"Auth": {"handler": "auth.py:handler", "mode": "inline"}},
        "iam": {"identities": [identity(ALICE, [ALLOW_ALL]), identity(BOB), identity(ERIN, [ALLOW_ALL])]},
    }
    (workdir / "apiway.yaml").write_bytes(orjson.dumps(project))
    (workdir / "state").mkdir()
    server = Server(workdir / "apiway.yaml", workdir / "state" / "state.db")
    yield server
    server.stop()


def get(server: Server, path: str, headers: dict[str, str] | None = None) -> Reply:
    return server.call("GET", API, STAGE, path, headers=headers)


def signed_get(server: Server, path: str, creds: tuple[str, str, str]) -> Reply:
    host = f"{API}.execute-api.localhost:{server.port}"
    req = AWSRequest(method="GET", url=f"http://{host}/{STAGE}{path}")
    SigV4Auth(Credentials(creds[0], creds[1]), "execute-api", "us-east-1").add_auth(req)
    return request(server.port, "GET", f"/{STAGE}{path}", [("Host", host), *req.headers.items()])


def assert_denied(reply: Reply, resource: str, caller: str = "anonymous", explicit: bool = False) -> None:
    assert reply.status == 403, (reply.status, reply.body)
    suffix = " with an explicit deny" if explicit else ""
    assert reply.json() == {"Message": f"User: {caller} is not authorized to perform: execute-api:Invoke on "
                                       f"resource: {ARN_PREFIX}{resource}{suffix}"}
    assert reply.header("x-amzn-ErrorType") == "AccessDeniedException"
    assert reply.header("Content-Type") == "application/json"
    assert uuid.UUID(reply.header("x-amzn-RequestId"))


# -- anonymous callers (authorization NONE) ---------------------------------------------------------


def test_an_explicit_allow_admits_anonymous_callers(gateway):
    reply = get(gateway, "/public/item-1")
    assert reply.status == 200, reply.body
    assert reply.json() == {"ip": "127.0.0.1", "user": ""}


def test_source_ip_inside_the_allowed_cidr(gateway):
    assert get(gateway, "/local").status == 200


def test_source_ip_outside_every_allowed_cidr_is_an_implicit_deny(gateway):
    assert_denied(get(gateway, "/remote"), "/GET/remote")


def test_a_deny_by_source_ip_beats_an_allow(gateway):
    assert_denied(get(gateway, "/blocked"), "/GET/blocked", explicit=True)


def test_statements_for_named_principals_do_not_admit_anonymous_callers(gateway):
    assert_denied(get(gateway, "/alice-only"), "/GET/alice-only")


def test_a_method_the_policy_does_not_mention_is_denied(gateway):
    assert_denied(get(gateway, "/nothing"), "/GET/nothing")


def test_time_conditions(gateway):
    assert get(gateway, "/time").status == 200


def test_user_agent_condition(gateway):
    assert get(gateway, "/agent", {"User-Agent": "friendly/1.0"}).status == 200
    assert_denied(get(gateway, "/agent", {"User-Agent": "curl/8.0"}), "/GET/agent")


def test_vpc_endpoint_keys_are_absent_outside_a_private_api(gateway):
    assert_denied(get(gateway, "/vpce"), "/GET/vpce")


def test_secure_transport_is_false_over_plain_http(gateway):
    assert get(gateway, "/insecure").status == 200


# -- IAM callers --------------------------------------------------------------------------------------


def test_an_explicit_deny_in_the_resource_policy_beats_an_identity_allow(gateway):
    assert_denied(signed_get(gateway, "/iam/denied", ALICE), "/GET/iam/denied", ALICE[2], explicit=True)


def test_same_account_either_side_may_allow(gateway):
    reply = signed_get(gateway, "/iam/bob", BOB)  # bob has no identity policy; the resource policy allows him
    assert reply.status == 200, reply.body
    assert reply.json()["user"] == BOB[2]
    assert signed_get(gateway, "/iam/other", ALICE).status == 200  # the identity policy alone allows alice
    assert_denied(signed_get(gateway, "/iam/other", BOB), "/GET/iam/other", BOB[2])


def test_another_account_needs_both_sides_to_allow(gateway):
    reply = signed_get(gateway, "/iam/cross", ERIN)
    assert reply.status == 200, reply.body
    assert_denied(signed_get(gateway, "/iam/other", ERIN), "/GET/iam/other", ERIN[2])


def test_unsigned_requests_to_iam_methods_still_need_a_signature(gateway):
    reply = get(gateway, "/iam/bob")
    assert reply.status == 403
    assert reply.json() == {"message": "Missing Authentication Token"}


# -- Lambda authorizer methods ------------------------------------------------------------------------


def test_an_explicit_deny_stops_the_request_before_the_lambda_authorizer(gateway, workdir):
    reply = get(gateway, "/guarded", {"Authorization": "allow-me"})
    assert_denied(reply, "/GET/guarded", explicit=True)
    assert not (workdir / "authorizer-called").exists()


# -- deploy time --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "message"), [
    ("{not json", "restApi.policy: not valid JSON"),
    ({"Version": "2012-10-17", "Statement": [allow("x"), allow("y", condition={"IpAddress": {"aws:SourceIp": "1.2.3"}})]},
     "restApi.policy.Statement[1]: Condition.IpAddress.aws:SourceIp: '1.2.3' is not an IP address or CIDR block"),
    ({"Version": "2012-10-17", "Statement": [{**allow("x"), "Effect": "Maybe"}]},
     "restApi.policy.Statement[0]: Effect must be Allow or Deny"),
])
def test_a_policy_that_does_not_compile_stops_the_deployment(tmp_path, policy, message):
    doc = {**OPENAPI, "x-amazon-apigateway-policy": policy, "paths": {"/public/{item}": {"get": mock()}}}
    (tmp_path / "api.json").write_bytes(orjson.dumps(doc))
    result = subprocess.run([sys.executable, "-m", "apiway", "validate", str(tmp_path / "api.json")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr

"""AWS_IAM methods end to end (spec §8.4, §8.5): requests signed by botocore's own SigV4 signer are
verified by a real `apiway serve`; tampered, expired, unknown-key and malformed requests get AWS's
403s; identity policies decide; `$context.identity` and the Lambda event name the caller; the
`Authorization` header does not reach the backend."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import orjson
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.echo_backend import EchoServer
from tests.support import Reply, Server, request

API = "iamapi0001"
STAGE = "test"
ARN_PREFIX = f"arn:aws:execute-api:us-east-1:123456789012:{API}/{STAGE}"
ALICE = ("AKIAALICE00000000001", "alice-secret", "arn:aws:iam::123456789012:user/alice")
BOB = ("AKIABOB0000000000002", "bob-secret", "arn:aws:iam::123456789012:user/bob")
CAROL = ("ASIACAROL00000000003", "carol-secret", "arn:aws:sts::123456789012:assumed-role/Tester/carol-session")
CAROL_TOKEN = "carol-session-token"
DAVE = ("ASIADAVE000000000004", "dave-secret", "arn:aws:sts::123456789012:assumed-role/Tester/dave-session")
ERIN = ("AKIAERIN000000000005", "erin-secret", "arn:aws:iam::999999999999:user/erin")
MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.")

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"arn:aws:execute-api:us-east-1:*:{API}/*"}]}


def mock_method(template: str) -> dict:
    return {
        "security": [{"sigv4": []}],
        "responses": {"200": {"description": "OK"}},
        "x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": template}}},
        },
    }


WHOAMI = ('{"userArn": "$context.identity.userArn", "caller": "$context.identity.caller", '
          '"user": "$context.identity.user", "accountId": "$context.identity.accountId", '
          '"accessKey": "$context.identity.accessKey", "auth": "$input.params(\'Authorization\')"}')


def openapi(backend: str) -> dict:
    return {
        "openapi": "3.0.1",
        "info": {"title": "IamApi", "version": "1"},
        "components": {"securitySchemes": {"sigv4": {
            "type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}}},
        "paths": {
            "/whoami": {"get": mock_method(WHOAMI), "post": mock_method('{"posted": true}')},
            "/pets/{id}": {"get": mock_method('{"pet": "$input.params(\'id\')"}')},
            "/admin": {"get": mock_method('{"admin": true}')},
            "/open": {"get": {**mock_method('{"open": true}'), "security": []}},
            "/backend": {"get": {
                "security": [{"sigv4": []}], "responses": {"200": {"description": "OK"}},
                "x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET",
                                                    "uri": f"http://{backend}/echo"}}},
            "/event": {"get": {
                "security": [{"sigv4": []}], "responses": {"200": {"description": "OK"}},
                "x-amazon-apigateway-integration": {
                    "type": "aws_proxy", "httpMethod": "POST",
                    "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                           "arn:aws:lambda:us-east-1:123456789012:function:Event/invocations"}}},
        },
    }


EVENT_HANDLER = """import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"identity": event["requestContext"]["identity"],
                                                   "headers": event["headers"]})}
"""


def identity(creds: tuple[str, str, str], policies: list | None = None, **extra: str) -> dict:
    key, secret, arn = creds
    return {"access_key_id": key, "secret_access_key": secret, "arn": arn, **extra,
            **({"policies": policies} if policies is not None else {})}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, backend: EchoServer) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("iam")
    (workdir / "api.json").write_bytes(orjson.dumps(openapi(backend.address)))
    (workdir / "event.py").write_text(EVENT_HANDLER)
    alice_policy = {"Version": "2012-10-17", "Statement": [
        ALLOW_ALL["Statement"][0],
        {"Effect": "Deny", "Action": "execute-api:*", "Resource": f"{ARN_PREFIX}/GET/admin"},
    ]}
    pets_only = {"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "execute-api:Invoke", "Resource": [f"{ARN_PREFIX}/GET/pets/*"],
        "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}}
    project = {
        "apis": [{"openapi": "api.json", "id": API, "stages": {STAGE: {}}}],
        "functions": {"Event": {"handler": "event.py:handler", "mode": "inline"}},
        "iam": {"identities": [
            identity(ALICE, [alice_policy]),
            identity(BOB, [pets_only]),
            identity(CAROL, [ALLOW_ALL], session_token=CAROL_TOKEN),
            identity(DAVE, [ALLOW_ALL], session_token="dave-token", expiration="2020-01-01T00:00:00Z"),
            identity(ERIN, [ALLOW_ALL]),
        ]},
    }
    (workdir / "apiway.yaml").write_bytes(orjson.dumps(project))
    (workdir / "state").mkdir()
    server = Server(workdir / "apiway.yaml", workdir / "state" / "state.db")
    yield server
    server.stop()


def url(server: Server, path: str) -> str:
    return f"http://{API}.execute-api.localhost:{server.port}/{STAGE}{path}"


def sign(server: Server, method: str, path: str, creds: tuple[str, str, str] = ALICE, body: bytes = b"",
         headers: dict[str, str] | None = None, token: str | None = None, region: str = "us-east-1",
         service: str = "execute-api") -> AWSRequest:
    req = AWSRequest(method=method, url=url(server, path), data=body, headers=headers or {})
    SigV4Auth(Credentials(creds[0], creds[1], token), service, region).add_auth(req)
    return req


def send(server: Server, req: AWSRequest, *, path: str | None = None, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> Reply:
    """Send a signed request with http.client, optionally tampered with (another path, body or headers)."""
    parts = urlsplit(req.url)
    target = path or (parts.path + (f"?{parts.query}" if parts.query else ""))
    sent = {**dict(req.headers.items()), "Host": parts.netloc, **(headers or {})}
    data = req.body if body is None else body
    return request(server.port, req.method, target, list(sent.items()), data if data else None)


def assert_error(reply: Reply, message: str, error_type: str, key: str = "message") -> None:
    assert reply.status == 403, (reply.status, reply.body)
    assert reply.json() == {key: message}
    assert reply.header("x-amzn-ErrorType") == error_type
    assert reply.header("Content-Type") == "application/json"
    assert uuid.UUID(reply.header("x-amzn-RequestId"))


def assert_denied(reply: Reply, caller: str, resource: str, explicit: bool = False) -> None:
    suffix = " with an explicit deny" if explicit else ""
    assert_error(reply, f"User: {caller} is not authorized to perform: execute-api:Invoke on resource: "
                        f"{ARN_PREFIX}{resource}{suffix}", "AccessDeniedException", key="Message")


# -- a valid signature ------------------------------------------------------------------------------


def test_signed_request_is_allowed_and_names_the_caller(gateway):
    reply = send(gateway, sign(gateway, "GET", "/whoami"))
    assert reply.status == 200, reply.body
    assert reply.json() == {"userArn": ALICE[2], "caller": reply.json()["caller"], "user": reply.json()["caller"],
                            "accountId": "123456789012", "accessKey": ALICE[0], "auth": ""}
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", reply.json()["caller"])


def test_signed_post_with_body_and_query(gateway):
    req = sign(gateway, "POST", "/whoami?b=2&a=1&a=0&empty=&sp=a%20b", body=b'{"name": "rex"}',
               headers={"Content-Type": "application/json", "X-Custom": "  spaced   value "})
    reply = send(gateway, req)
    assert reply.status == 200, reply.body
    assert reply.json() == {"posted": True}


def test_path_style_invoke_url_is_verified_too(gateway):
    path = f"/restapis/{API}/{STAGE}/_user_request_/whoami"
    req = AWSRequest(method="GET", url=f"http://127.0.0.1:{gateway.port}{path}")
    SigV4Auth(Credentials(ALICE[0], ALICE[1]), "execute-api", "us-east-1").add_auth(req)
    reply = request(gateway.port, "GET", path, list(req.headers.items()))
    assert reply.status == 200, reply.body
    assert reply.json()["userArn"] == ALICE[2]


def test_presigned_query_authentication(gateway):
    req = AWSRequest(method="GET", url=url(gateway, "/whoami?x=1"))
    SigV4QueryAuth(Credentials(ALICE[0], ALICE[1]), "execute-api", "us-east-1", expires=60).add_auth(req)
    assert "X-Amz-Signature=" in req.url
    reply = send(gateway, req)
    assert reply.status == 200, reply.body
    assert reply.json()["accessKey"] == ALICE[0]
    tampered = send(gateway, req, path=urlsplit(req.url).path + "?" + urlsplit(req.url).query.replace("x=1", "x=2"))
    assert_error(tampered, MISMATCH, "InvalidSignatureException")


def test_presigned_url_expires(gateway):
    req = AWSRequest(method="GET", url=url(gateway, "/whoami"))
    with mock.patch("botocore.auth.get_current_datetime", return_value=datetime.now(UTC) - timedelta(seconds=120)):
        SigV4QueryAuth(Credentials(ALICE[0], ALICE[1]), "execute-api", "us-east-1", expires=60).add_auth(req)
    assert_error(send(gateway, req), "Signature expired", "InvalidSignatureException")


def presign(server: Server, expires: int, at: datetime | None = None) -> AWSRequest:
    req = AWSRequest(method="GET", url=url(server, "/whoami"))
    with mock.patch("botocore.auth.get_current_datetime", return_value=at or datetime.now(UTC)):
        SigV4QueryAuth(Credentials(ALICE[0], ALICE[1]), "execute-api", "us-east-1", expires=expires).add_auth(req)
    return req


def test_presigned_url_lasts_at_most_a_week(gateway):
    """AWS caps X-Amz-Expires at 604,800 s: a week is accepted, a billion seconds (or less than nothing) is not."""
    assert send(gateway, presign(gateway, 604_800)).status == 200
    assert_error(send(gateway, presign(gateway, 604_801)),
                 "X-Amz-Expires must be less than a week (in seconds) that is; 604800", "IncompleteSignatureException")
    assert_error(send(gateway, presign(gateway, 10**9)),
                 "X-Amz-Expires must be less than a week (in seconds) that is; 604800", "IncompleteSignatureException")
    assert_error(send(gateway, presign(gateway, -1)), "X-Amz-Expires must be non-negative",
                 "IncompleteSignatureException")


def test_presigned_url_dated_ahead_is_not_yet_current(gateway):
    """The clock-skew rule holds for presigned URLs too: one dated ten years (or ten minutes) ahead is refused,
    one within the five minutes of skew is served."""
    for ahead in (timedelta(days=3650), timedelta(minutes=10)):
        later = datetime.now(UTC) + ahead
        reply = send(gateway, presign(gateway, 604_800, later))
        assert reply.status == 403, reply.body
        assert reply.header("x-amzn-ErrorType") == "InvalidSignatureException"
        assert reply.json()["message"].startswith(
            f"Signature not yet current: {later.strftime('%Y%m%dT%H%M%SZ')} is still later than ")
    assert send(gateway, presign(gateway, 60, datetime.now(UTC) + timedelta(minutes=2))).status == 200


def test_session_credentials_need_their_token(gateway):
    ok = send(gateway, sign(gateway, "GET", "/whoami", CAROL, token=CAROL_TOKEN))
    assert ok.status == 200, ok.body
    assert ok.json()["userArn"] == CAROL[2]
    assert re.fullmatch(r"AROA[A-Z2-7]{17}:carol-session", ok.json()["caller"])
    for token in (None, "another-token"):
        reply = send(gateway, sign(gateway, "GET", "/whoami", CAROL, token=token))
        assert_error(reply, "The security token included in the request is invalid.", "AccessDeniedException")


def test_expired_session_token(gateway):
    reply = send(gateway, sign(gateway, "GET", "/whoami", DAVE, token="dave-token"))
    assert_error(reply, "The security token included in the request is expired", "ExpiredTokenException")


def test_lambda_event_carries_the_identity_and_no_authorization_header(gateway):
    reply = send(gateway, sign(gateway, "GET", "/event"))
    assert reply.status == 200, reply.body
    event = reply.json()
    assert {k: event["identity"][k] for k in ("userArn", "accountId", "accessKey")} == {
        "userArn": ALICE[2], "accountId": "123456789012", "accessKey": ALICE[0]}
    assert event["identity"]["caller"] == event["identity"]["user"]
    assert event["identity"]["sourceIp"] == "127.0.0.1"
    assert "Authorization" not in event["headers"]
    assert "X-Amz-Date" in event["headers"]


def test_authorization_header_does_not_reach_an_http_backend(gateway):
    reply = send(gateway, sign(gateway, "GET", "/backend"))
    assert reply.status == 200, reply.body
    names = [name.lower() for name, _ in reply.json()["headers"]]
    assert "authorization" not in names
    assert "x-amz-date" in names


# -- tampering -------------------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["body", "path", "header", "query", "method"])
def test_a_tampered_request_fails_with_the_signature_mismatch(gateway, change):
    req = sign(gateway, "POST", "/whoami?a=1", body=b'{"amount": 10}', headers={"X-Custom": "one"})
    assert send(gateway, req).status == 200
    if change == "body":
        reply = send(gateway, req, body=b'{"amount": 99}')
    elif change == "path":
        reply = send(gateway, req, path=f"/{STAGE}/whoami/?a=1")
    elif change == "header":
        reply = send(gateway, req, headers={"X-Custom": "two"})
    elif change == "query":
        reply = send(gateway, req, path=f"/{STAGE}/whoami?a=2")
    else:
        req.method = "GET"
        reply = send(gateway, req)
    assert_error(reply, MISMATCH, "InvalidSignatureException")


def test_a_signature_from_another_secret_fails(gateway):
    reply = send(gateway, sign(gateway, "GET", "/whoami", (ALICE[0], "wrong-secret", ALICE[2])))
    assert_error(reply, MISMATCH, "InvalidSignatureException")


# -- clock skew, keys, scope ------------------------------------------------------------------------


def test_a_signature_older_than_five_minutes_has_expired(gateway):
    then = datetime.now(UTC) - timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=then):
        req = sign(gateway, "GET", "/whoami")
    reply = send(gateway, req)
    stamp = then.strftime("%Y%m%dT%H%M%SZ")
    assert reply.status == 403
    assert reply.header("x-amzn-ErrorType") == "InvalidSignatureException"
    message = reply.json()["message"]
    m = re.fullmatch(rf"Signature expired: {stamp} is now earlier than (\d{{8}}T\d{{6}}Z) \((\d{{8}}T\d{{6}}Z) - 5 min\.\)",
                     message)
    assert m, message
    limit, now = (datetime.strptime(v, "%Y%m%dT%H%M%SZ") for v in m.groups())
    assert now - limit == timedelta(minutes=5)


def test_a_signature_from_the_future_is_not_yet_current(gateway):
    later = datetime.now(UTC) + timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=later):
        reply = send(gateway, sign(gateway, "GET", "/whoami"))
    assert reply.status == 403
    assert reply.json()["message"].startswith(f"Signature not yet current: {later.strftime('%Y%m%dT%H%M%SZ')} is "
                                              "still later than ")
    assert reply.header("x-amzn-ErrorType") == "InvalidSignatureException"


def test_an_unknown_access_key(gateway):
    reply = send(gateway, sign(gateway, "GET", "/whoami", ("AKIAUNKNOWN000000000", "x", "")))
    assert_error(reply, "The security token included in the request is invalid.", "AccessDeniedException")


def test_credentials_scoped_to_another_region_or_service(gateway):
    reply = send(gateway, sign(gateway, "GET", "/whoami", region="eu-west-1"))
    assert_error(reply, "Credential should be scoped to a valid region, not 'eu-west-1'. ", "InvalidSignatureException")
    reply = send(gateway, sign(gateway, "GET", "/whoami", service="apigateway"))
    assert_error(reply, "Credential should be scoped to correct service: 'execute-api'. ", "InvalidSignatureException")


# -- missing and malformed authorization ------------------------------------------------------------


def test_no_signature_is_a_missing_authentication_token(gateway):
    reply = gateway.call("GET", API, STAGE, "/whoami")
    assert_error(reply, "Missing Authentication Token", "MissingAuthenticationTokenException")


def test_a_bearer_token_lacks_an_equal_sign(gateway):
    reply = gateway.call("GET", API, STAGE, "/whoami", headers={"Authorization": "Bearer abc.def"})
    assert reply.status == 403
    assert re.fullmatch(r"Invalid key=value pair \(missing equal-sign\) in Authorization header \(hashed with "
                        r"SHA-256 and encoded with Base64\): '[A-Za-z0-9+/]{43}='\.", reply.json()["message"])
    assert reply.header("x-amzn-ErrorType") == "IncompleteSignatureException"


def test_a_bare_token_lacks_every_signature_part(gateway):
    reply = gateway.call("GET", API, STAGE, "/whoami", headers={"Authorization": "eyJhbGciOi.eyJzdWIi.sig"})
    assert_error(reply, "Authorization header requires 'Credential' parameter. Authorization header requires "
                        "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
                        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                        "Authorization=eyJhbGciOi.eyJzdWIi.sig", "IncompleteSignatureException")


def test_a_method_without_authorization_ignores_signatures(gateway):
    assert gateway.call("GET", API, STAGE, "/open").status == 200


# -- identity policies ------------------------------------------------------------------------------


def test_an_explicit_deny_in_the_identity_policy(gateway):
    assert_denied(send(gateway, sign(gateway, "GET", "/admin")), ALICE[2], "/GET/admin", explicit=True)


def test_no_matching_allow_is_an_implicit_deny(gateway):
    assert send(gateway, sign(gateway, "GET", "/pets/7", BOB)).json() == {"pet": "7"}  # allowed with its condition
    assert_denied(send(gateway, sign(gateway, "GET", "/whoami", BOB)), BOB[2], "/GET/whoami")


def test_a_caller_from_another_account_also_needs_the_resource_policy(gateway):
    assert_denied(send(gateway, sign(gateway, "GET", "/whoami", ERIN)), ERIN[2], "/GET/whoami")


# -- the project file's iam section -----------------------------------------------------------------


@pytest.mark.parametrize(("entry", "where", "message"), [
    ("{access_key_id: AKIAX0000000000001, secret_access_key: TOPSECRET, arn: 'arn:aws:iam::1:user/x'}",
     "iam.identities.1.arn", "required: arn:aws:iam::{account}:user/{name}"),
    ("{access_key_id: lower-case, secret_access_key: TOPSECRET, arn: 'arn:aws:iam::123456789012:user/x'}",
     "iam.identities.1.access_key_id", "required: 16 to 128 upper-case letters and digits"),
    ("{access_key_id: AKIAALICE00000000001, secret_access_key: TOPSECRET, arn: 'arn:aws:iam::123456789012:user/x'}",
     "iam.identities.1.access_key_id", "declared twice"),
    ("{access_key_id: AKIAX0000000000001, secret_access_key: TOPSECRET, arn: 'arn:aws:iam::123456789012:user/x', "
     "secret: 1}", "iam.identities.1.secret", "unknown key"),
    ("{access_key_id: AKIAX0000000000001, secret_access_key: TOPSECRET, arn: 'arn:aws:iam::123456789012:user/x', "
     "expiration: '2030-01-01T00:00:00Z'}", "iam.identities.1.expiration", "only session credentials"),
    ("{access_key_id: AKIAX0000000000001, secret_access_key: TOPSECRET, arn: 'arn:aws:iam::123456789012:user/x', "
     "policies: [{Statement: [{Effect: Allow, Action: '*', Resource: '*', "
     "Condition: {IpAddress: {'aws:SourceIp': nope}}}]}]}",
     "iam.identities.1.policies.0.Statement.0",
     "Condition.IpAddress.aws:SourceIp: 'nope' is not an IP address or CIDR block"),
    ("{access_key_id: AKIAX0000000000001, secret_access_key: TOPSECRET, arn: 'arn:aws:iam::123456789012:user/x', "
     "policies: [{Statement: {Effect: Allow, Principal: '*', Action: '*', Resource: '*'}}]}",
     "iam.identities.1.policies.0.Statement.0.Principal", "identity policies name no Principal"),
])
def test_invalid_identities_are_reported_with_file_line_and_field(tmp_path, entry, where, message):
    (tmp_path / "api.json").write_bytes(orjson.dumps(openapi("127.0.0.1:9")))
    (tmp_path / "apiway.yaml").write_text(
        "apis:\n  - openapi: api.json\n"
        "iam:\n  identities:\n"
        "    - {access_key_id: AKIAALICE00000000001, secret_access_key: TOPSECRET, "
        "arn: 'arn:aws:iam::123456789012:user/alice'}\n"
        f"    - {entry}\n")
    result = subprocess.run([sys.executable, "-m", "apiway", "validate", str(tmp_path / "apiway.yaml")],
                            capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"apiway.yaml:6: {where}: {message}" in output, output
    assert "TOPSECRET" not in output

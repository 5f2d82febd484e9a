"""HTTP API routes with authorizers end to end: a real `apiway serve` whose state file holds an HTTP API with JWT
(a local OpenID Connect issuer), Lambda REQUEST (a project function) and AWS_IAM (botocore-signed) routes in
front of a Lambda function that echoes what its event's `requestContext.authorizer` holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.authorizer_support import OidcProvider
from tests.http_apis import FUNCTION_ARN, http_api, invoke, lambda_proxy, store_http_api
from tests.support import Reply, Server, request

API = "httpauth01"
ALICE = ("AKIAALICE00000000001", "alice-secret", "arn:aws:iam::123456789012:user/alice")
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"arn:aws:execute-api:us-east-1:*:{API}/*"}]}

FUNCTIONS = """import json

def echo(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}

def authorize(event, context):
    token = event["headers"].get("x-token")
    return {"isAuthorized": token == "letmein", "context": {"who": token}}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, issuer: OidcProvider) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("http_api_auth")
    (root / "fns.py").write_text(FUNCTIONS)
    project = {
        "functions": {"Echo": {"handler": "fns.py:echo", "mode": "inline"},
                      "Authorize": {"handler": "fns.py:authorize", "mode": "inline"}},
        "iam": {"identities": [{"access_key_id": ALICE[0], "secret_access_key": ALICE[1], "arn": ALICE[2],
                                "policies": [ALLOW_ALL]}]},
    }
    (root / "apiway.yaml").write_bytes(orjson.dumps(project))
    definition = http_api(API, {"GET /jwt": lambda_proxy("Echo"), "GET /lambda": lambda_proxy("Echo"),
                                "GET /iam": lambda_proxy("Echo"), "GET /open": lambda_proxy("Echo")},
                          name="Guarded", corsConfiguration={"allowOrigins": ["*"]})
    definition["authorizers"] = {
        "jwt1": {"authorizerId": "jwt1", "name": "oidc", "authorizerType": "JWT",
                 "identitySource": ["$request.header.Authorization"],
                 "jwtConfiguration": {"issuer": issuer.issuer, "audience": ["api-client"]}},
        "lam1": {"authorizerId": "lam1", "name": "simple", "authorizerType": "REQUEST",
                 "identitySource": ["$request.header.x-token"], "authorizerPayloadFormatVersion": "2.0",
                 "enableSimpleResponses": True, "authorizerResultTtlInSeconds": 0,
                 "authorizerUri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                  f"{FUNCTION_ARN.format('Authorize')}/invocations"},
    }
    routes = definition["routes"]
    routes["r0"].update(authorizationType="JWT", authorizerId="jwt1", authorizationScopes=["pets/read"])
    routes["r1"].update(authorizationType="CUSTOM", authorizerId="lam1")
    routes["r2"].update(authorizationType="AWS_IAM")
    store_http_api(root / "state" / "state.db", definition, {"$default": {}})
    server = Server(root / "apiway.yaml", root / "state" / "state.db")
    yield server
    server.stop()


def call(gateway: Server, path: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    return invoke(gateway.port, API, "GET", path, headers)


def test_a_jwt_route_admits_a_valid_token_with_the_scope_and_passes_its_claims(gateway, issuer):
    reply = call(gateway, "/jwt", [("Authorization", f"Bearer {issuer.token(scope='pets/read other')}")])
    assert reply.status == 200, reply.body
    assert reply.json()["jwt"]["claims"]["sub"] == "user-1"
    assert reply.json()["jwt"]["scopes"] == ["pets/read", "other"]


def test_a_jwt_route_refuses_what_it_must(gateway, issuer):
    missing = call(gateway, "/jwt", [("Origin", "https://app.test")])
    assert (missing.status, missing.json()) == (401, {"message": "Unauthorized"})
    assert missing.header("Access-Control-Allow-Origin") == "*"  # CORS on the gateway's own errors
    wrong = call(gateway, "/jwt", [("Authorization", issuer.token(aud="someone-else", scope="pets/read"))])
    assert (wrong.status, wrong.json()) == (401, {"message": "Unauthorized"})
    assert 'error="invalid_token"' in (wrong.header("www-authenticate") or "")
    unscoped = call(gateway, "/jwt", [("Authorization", issuer.token(scope="other"))])
    assert (unscoped.status, unscoped.json()) == (403, {"message": "Forbidden"})


def test_a_lambda_authorizer_route(gateway):
    allowed = call(gateway, "/lambda", [("x-token", "letmein")])
    assert (allowed.status, allowed.json()) == (200, {"lambda": {"who": "letmein"}})
    denied = call(gateway, "/lambda", [("x-token", "nope")])
    assert (denied.status, denied.json()) == (403, {"message": "Forbidden"})
    assert call(gateway, "/lambda").status == 401  # no identity source: the function is not called


def test_an_iam_route_admits_a_signed_request(gateway):
    url = f"http://{API}.execute-api.localhost:{gateway.port}/iam"
    signed = AWSRequest(method="GET", url=url, headers={})
    SigV4Auth(Credentials(ALICE[0], ALICE[1]), "execute-api", "us-east-1").add_auth(signed)
    reply = request(gateway.port, "GET", "/iam", list({**dict(signed.headers.items()),
                                                       "Host": f"{API}.execute-api.localhost:{gateway.port}"}.items()))
    assert reply.status == 200, reply.body
    assert reply.json()["iam"]["userArn"] == ALICE[2]
    unsigned = call(gateway, "/iam")
    assert (unsigned.status, unsigned.json()) == (403, {"message": "Forbidden"})


def test_a_route_without_authorization_is_open(gateway):
    reply = call(gateway, "/open")
    assert reply.status == 200 and reply.body == b"null"

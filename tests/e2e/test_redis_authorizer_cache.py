"""Two gateway nodes (`apiway serve` processes) serving one project on one PostgreSQL store and one Redis share
their authorizers' results: within the TTL a Lambda authorizer runs once for requests through both nodes, and
FlushStageAuthorizersCache through one node makes the next request through the other call it again; a Cognito
token verified through one node is one entry in Redis, which the other node's request finds."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from tests.e2e.authorizer_support import POOL, POOL_ARN, Jwks, lambda_authorizer
from tests.postgres import PostgresDatabase
from tests.redis import RedisDatabase
from tests.support import Server, apigateway_client

API = "authcache01"
STAGE = "prod"


def _mock(scheme: str, template: str) -> dict:
    return {"get": {"security": [{scheme: []}], "responses": {"200": {"description": "OK"}},
                    "x-amazon-apigateway-integration": {
                        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                        "responses": {"default": {"statusCode": "200",
                                                  "responseTemplates": {"application/json": template}}}}}}


OPENAPI = {
    "openapi": "3.0.1", "info": {"title": "SharedAuthorizerCache"},
    "components": {"securitySchemes": {
        "token": lambda_authorizer("token", "TokenAuth", "method.request.header.Authorization", 300),
        "cognito": {"type": "apiKey", "name": "X-Id-Token", "in": "header",
                    "x-amazon-apigateway-authtype": "cognito_user_pools",
                    "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": [POOL_ARN]}}}},
    "paths": {"/pets": _mock("token", '{"user": "$context.authorizer.user"}'),
              "/me": _mock("cognito", '{"email": "$context.authorizer.claims.email"}')},
}
AUTHORIZER = """import os

def token(event, context):
    with open(os.environ["AUTH_LOG"], "a") as f:
        f.write(event["authorizationToken"] + "\\n")
    effect = "Allow" if event["authorizationToken"] == "Bearer alice" else "Deny"
    return {"principalId": "alice", "context": {"user": "alice"},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]}}
"""


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def get(node: Server, token: str) -> int:
    reply = node.call("GET", API, STAGE, "/pets", headers={"Authorization": token})
    if reply.status == 200:
        assert reply.json() == {"user": "alice"}
    return reply.status


def entries(redis_database: RedisDatabase) -> int:
    """The authorizer results the stage's namespace holds in Redis."""
    assert redis_database.client is not None
    return sum(1 for _ in redis_database.client.scan_iter(match=f"{{apiway:c:authorizers {API}/{STAGE}}}:*:e:*"))


def test_an_authorizer_result_is_shared_by_two_nodes_and_flushed_for_both(
        tmp_path: Path, postgres_database: PostgresDatabase, redis_database: RedisDatabase, jwks: Jwks):
    redis_database.flush()
    store = f"{postgres_database.url}?schema={postgres_database.new_schema()}"
    log = tmp_path / "authorizer.log"
    (tmp_path / "api.json").write_bytes(orjson.dumps(OPENAPI))
    (tmp_path / "authz.py").write_text(AUTHORIZER)
    project = {"apis": [{"openapi": "api.json", "id": API, "stages": {STAGE: {}}}],
               "functions": {"TokenAuth": {"handler": "authz.py:token", "mode": "inline",
                                           "environment": {"AUTH_LOG": str(log)}}},
               "cognito": {"user_pools": {POOL: {"jwks_url": jwks.url}}}}
    (tmp_path / "apiway.yaml").write_bytes(orjson.dumps(project))
    nodes: list[Server] = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            nodes.append(Server(tmp_path / "apiway.yaml", tmp_path / name / "state.db",
                                ["--store", store, "--redis", redis_database.url]))
        a, b = nodes
        assert get(a, "Bearer alice") == 200
        assert calls(log) == ["Bearer alice"]
        time.sleep(0.1)  # node A's put is sent without waiting for its reply
        for node in (b, a, b, a):
            assert get(node, "Bearer alice") == 200
        assert calls(log) == ["Bearer alice"]
        # a denial is cached too, for both
        assert get(b, "Bearer mallory") == 403
        time.sleep(0.1)
        assert get(a, "Bearer mallory") == 403
        assert calls(log) == ["Bearer alice", "Bearer mallory"]
        # FlushStageAuthorizersCache through node B: node A calls the function again, then both hit
        apigateway_client(b.port).flush_stage_authorizers_cache(restApiId=API, stageName=STAGE)
        assert get(a, "Bearer alice") == 200
        time.sleep(0.1)
        assert get(b, "Bearer alice") == 200
        assert calls(log) == ["Bearer alice", "Bearer mallory", "Bearer alice"]
        # Cognito: a token verified through node A is one entry, found by node B (no second entry)
        token = jwks.token()
        before = entries(redis_database)
        for node in (a, b, a):
            reply = node.call("GET", API, STAGE, "/me", headers={"X-Id-Token": token})
            assert (reply.status, reply.json()) == (200, {"email": "alice@example.com"}), reply.body
            time.sleep(0.1)
        assert entries(redis_database) == before + 1
        assert b.call("GET", API, STAGE, "/me", headers={"X-Id-Token": token + "x"}).status == 401
    finally:
        for node in nodes:
            node.stop()
    for node in nodes:
        assert "Traceback" not in node.stderr(), node.stderr()


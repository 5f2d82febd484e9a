"""The stage response cache against a real `apiway serve` and a counting HTTP backend (spec §6): hits
that never reach the backend, TTL expiry, cache key parameters, `Cache-Control: max-age=0` under each
strategy, and FlushStageCache through boto3."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.echo_backend import EchoServer
from tests.support import Reply, Server, apigateway_client, request

API_ID = "cacheapi01"
STAGE = "prod"
REFRESH = {"Cache-Control": "max-age=0"}
METHOD_ARN = f"arn:aws:execute-api:us-east-1:123456789012:{API_ID}/{STAGE}/GET/signed"
# IAM identities: both may invoke /signed, only the first may invalidate its cache entry.
INVALIDATOR = ("AKIAINVALIDATOR00001", "invalidator-secret", "arn:aws:iam::123456789012:user/invalidator")
READER = ("AKIAREADER0000000002", "reader-secret", "arn:aws:iam::123456789012:user/reader")


def policy(*actions: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": METHOD_ARN}]}


IAM = {"identities": [
    {"access_key_id": INVALIDATOR[0], "secret_access_key": INVALIDATOR[1], "arn": INVALIDATOR[2],
     "policies": [policy("execute-api:Invoke", "execute-api:InvalidateCache")]},
    {"access_key_id": READER[0], "secret_access_key": READER[1], "arn": READER[2],
     "policies": [policy("execute-api:Invoke")]},
]}


def proxy(backend_path: str, verb: str = "GET", key_parameters: list[str] | None = None) -> dict:
    integration = {"type": "http_proxy", "httpMethod": verb, "uri": f"http://${{stageVariables.backend}}/{backend_path}"}
    if key_parameters:
        integration["cacheKeyParameters"] = key_parameters
    return {"x-amazon-apigateway-integration": integration}


API = {
    "openapi": "3.0.1",
    "info": {"title": "Cached", "version": "1"},
    "paths": {
        "/items": {"get": proxy("items"), "post": proxy("items", "POST")},
        "/keyed": {"get": {**proxy("keyed", key_parameters=["method.request.querystring.type"]),
                           "parameters": [{"name": "type", "in": "query", "schema": {"type": "string"}}]}},
        **{f"/{name}": {"get": proxy(name)} for name in ("brief", "open", "strict", "quiet", "flushed")},
        "/failing": {"get": proxy("status/503")},
        "/signed": {"get": {**proxy("signed"), "security": [{"sigv4": []}]}},
    },
    "components": {"securitySchemes": {"sigv4": {
        "type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}}},
}
STAGE_SPEC = {
    "cache": {"size": "0.5"},
    "method_settings": {
        "brief/GET": {"cacheTtlInSeconds": 1},
        "open/GET": {"requireAuthorizationForCacheControl": False},
        "strict/GET": {"unauthorizedCacheControlHeaderStrategy": "FAIL_WITH_403"},
        "quiet/GET": {"unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITHOUT_RESPONSE_HEADER"},
        "signed/GET": {"unauthorizedCacheControlHeaderStrategy": "FAIL_WITH_403"},
    },
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, backend: EchoServer) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("response_cache")
    (tmp / "api.yaml").write_bytes(orjson.dumps(API))
    stage = dict(STAGE_SPEC, variables={"backend": backend.address})
    (tmp / "apiway.yaml").write_bytes(orjson.dumps(
        {"apis": [{"openapi": "api.yaml", "id": API_ID, "stages": {STAGE: stage}}], "iam": IAM}))
    (tmp / "state").mkdir()
    server = Server(tmp / "apiway.yaml", tmp / "state" / "state.db")
    yield server
    server.stop()


def calls_to(backend: EchoServer, path: str, method: str = "GET") -> int:
    return sum(record["path"] == path and record["method"] == method for record in backend.requests)


def get(gateway: Server, path: str, headers: dict[str, str] | None = None):
    return gateway.call("GET", API_ID, STAGE, path, headers=headers)


def test_a_second_get_is_served_from_the_cache(gateway, backend):
    first = get(gateway, "/items")
    second = get(gateway, "/items?anything=else")  # not a cache key parameter: the same entry
    assert first.status == second.status == 200
    assert second.body == first.body and calls_to(backend, "/items") == 1
    assert second.header("x-amzn-RequestId") != first.header("x-amzn-RequestId")  # the pipeline's, per request
    assert second.header("Warning") is None


def test_post_methods_are_not_cached(gateway, backend):
    for _ in range(2):
        assert gateway.call("POST", API_ID, STAGE, "/items", body="{}").status == 200
    assert calls_to(backend, "/items", "POST") == 2


def test_cache_key_parameters_make_separate_entries(gateway, backend):
    admin = get(gateway, "/keyed?type=admin&dept=A")
    assert get(gateway, "/keyed?type=admin&dept=B").body == admin.body  # dept is not a key parameter
    regular = get(gateway, "/keyed?type=regular")
    assert orjson.loads(regular.body)["query"] == "type=regular"
    assert get(gateway, "/keyed?type=regular").body == regular.body
    assert calls_to(backend, "/keyed") == 2


def test_entries_expire_after_their_ttl(gateway, backend):
    get(gateway, "/brief")
    get(gateway, "/brief")
    assert calls_to(backend, "/brief") == 1
    time.sleep(1.2)
    get(gateway, "/brief")
    assert calls_to(backend, "/brief") == 2


def test_error_responses_are_not_cached(gateway, backend):
    for _ in range(2):
        assert get(gateway, "/failing").status == 503
    assert calls_to(backend, "/status/503") == 2


def test_max_age_0_refreshes_when_authorization_is_not_required(gateway, backend):
    first = get(gateway, "/open")
    refreshed = get(gateway, "/open", REFRESH)
    assert calls_to(backend, "/open") == 2 and refreshed.body != first.body
    assert get(gateway, "/open").body == refreshed.body  # the entry was replaced by the fresh response
    assert calls_to(backend, "/open") == 2


def test_unauthorized_max_age_0_is_ignored_with_a_warning_by_default(gateway, backend):
    first = get(gateway, "/items")
    again = get(gateway, "/items", REFRESH)
    assert again.status == 200 and again.body == first.body
    assert again.header("Warning") is not None
    assert calls_to(backend, "/items") == 1


def test_unauthorized_max_age_0_is_ignored_silently(gateway, backend):
    first = get(gateway, "/quiet")
    again = get(gateway, "/quiet", REFRESH)
    assert again.body == first.body and again.header("Warning") is None
    assert calls_to(backend, "/quiet") == 1


def test_unauthorized_max_age_0_fails_with_403(gateway, backend):
    get(gateway, "/strict")
    denied = get(gateway, "/strict", REFRESH)
    assert denied.status == 403
    assert denied.json() == {"Message": f"User: anonymous is not authorized to perform: execute-api:InvalidateCache "
                                        f"on resource: arn:aws:execute-api:us-east-1:123456789012:{API_ID}/{STAGE}"
                                        f"/GET/strict"}
    assert denied.header("x-amzn-ErrorType") == "AccessDeniedException"
    assert calls_to(backend, "/strict") == 1


def signed_get(gateway: Server, creds: tuple[str, str, str], headers: dict[str, str] | None = None) -> Reply:
    host = f"{API_ID}.execute-api.localhost:{gateway.port}"
    req = AWSRequest(method="GET", url=f"http://{host}/{STAGE}/signed", headers={"Host": host, **(headers or {})})
    SigV4Auth(Credentials(creds[0], creds[1]), "execute-api", "us-east-1").add_auth(req)
    return request(gateway.port, "GET", f"/{STAGE}/signed", list(req.headers.items()))


def test_a_caller_allowed_invalidate_cache_refreshes_the_entry(gateway, backend):
    """With authorization required, the IAM-signed caller whose policy allows execute-api:InvalidateCache on
    the method may refresh the entry; one allowed only to invoke is unauthorized (here: 403)."""
    first = signed_get(gateway, READER)
    assert first.status == 200 and signed_get(gateway, READER).body == first.body
    denied = signed_get(gateway, READER, REFRESH)
    assert denied.status == 403
    assert denied.json() == {"Message": f"User: {READER[2]} is not authorized to perform: "
                                        f"execute-api:InvalidateCache on resource: {METHOD_ARN}"}
    refreshed = signed_get(gateway, INVALIDATOR, REFRESH)
    assert refreshed.status == 200 and refreshed.body != first.body
    assert signed_get(gateway, READER).body == refreshed.body
    assert calls_to(backend, "/signed") == 2


def test_flush_stage_cache_through_boto3(gateway, backend):
    get(gateway, "/flushed")
    get(gateway, "/flushed")
    assert calls_to(backend, "/flushed") == 1
    reply = apigateway_client(gateway.port).flush_stage_cache(restApiId=API_ID, stageName=STAGE)
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 202
    get(gateway, "/flushed")
    get(gateway, "/flushed")
    assert calls_to(backend, "/flushed") == 2


def test_a_project_file_with_bad_cache_settings_names_the_field(tmp_path: Path):
    (tmp_path / "api.yaml").write_bytes(orjson.dumps(API))
    (tmp_path / "apiway.yaml").write_text(
        f"apis:\n  - openapi: api.yaml\n    id: {API_ID}\n    stages:\n      prod:\n"
        "        method_settings:\n          items/GET: {cacheTtlInSeconds: 7200}\n")
    done = subprocess.run([sys.executable, "-m", "apiway", "validate", str(tmp_path / "apiway.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "apiway.yaml:7" in done.stderr and "cacheTtlInSeconds" in done.stderr and "3600" in done.stderr

"""PRIVATE endpoint types (spec §1.14, §2.1), end to end. A PRIVATE API answers only requests that came
through a VPC endpoint, named off AWS by the `{apiId}-{vpceId}.execute-api…` host (an endpoint associated
with the API) or the `x-amzn-vpce-id` header (with any URL form, `x-apigw-api-id` naming the API on any
host); everything else is 403 Forbidden before routing. A VPC endpoint reaches only PRIVATE APIs. The
endpoint becomes `$context.identity.vpceId` and the Lambda event's `requestContext.identity.vpceId`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Reply, Server, request

PRIVATE = "privapi001"
PUBLIC = "pubapi0001"
VPCE = "vpce-0a1b2c3d4e5f60718"
IDENTITY = json.dumps({"vpceId": "$context.identity.vpceId", "vpcId": "$context.identity.vpcId",
                       "path": "$context.path"})
EVENT_FN = """import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["identity"])}
"""


LOCKED = "lockapi001"
ONLY_OUR_ENDPOINT = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
    {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
     "Condition": {"StringNotEquals": {"aws:SourceVpce": VPCE}}}]}


def api_document(title: str, endpoint: dict, policy: dict | None = None) -> str:
    whoami = {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": IDENTITY}}}}}
    event = {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": {
        "type": "aws_proxy", "httpMethod": "POST",
        "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
               "arn:aws:lambda:us-east-1:123456789012:function:EventFn/invocations"}}
    policy = policy or {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}]}
    return json.dumps({"openapi": "3.0.1", "info": {"title": title, "version": "1"},
                       "x-amazon-apigateway-endpoint-configuration": endpoint, "x-amazon-apigateway-policy": policy,
                       "paths": {"/whoami": {"get": whoami}, "/event": {"get": event}}})


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("private")
    (workdir / "private.json").write_text(api_document("Private", {"types": ["PRIVATE"], "vpcEndpointIds": [VPCE]}))
    (workdir / "public.json").write_text(api_document("Public", {"types": ["REGIONAL"]}))
    (workdir / "locked.json").write_text(api_document("Locked", {"types": ["PRIVATE"]}, ONLY_OUR_ENDPOINT))
    (workdir / "event.py").write_text(EVENT_FN)
    (workdir / "apiway.yaml").write_text(json.dumps({
        "apis": [{"openapi": "private.json", "id": PRIVATE}, {"openapi": "public.json", "id": PUBLIC},
                 {"openapi": "locked.json", "id": LOCKED}],
        "functions": {"EventFn": {"handler": "event.py:handler", "mode": "inline"}}}))
    server = Server(workdir / "apiway.yaml", workdir / "state.db")
    yield server
    server.stop()


def at(gateway: Server, host: str, path: str, **headers: str) -> Reply:
    return request(gateway.port, "GET", path, {"Host": host, **{k.replace("_", "-"): v for k, v in headers.items()}})


def assert_forbidden(reply: Reply) -> None:
    assert reply.status == 403, (reply.status, reply.body)
    assert reply.json() == {"message": "Forbidden"}
    assert reply.header("x-amzn-ErrorType") == "ForbiddenException"


def test_private_api_without_a_vpc_endpoint_is_forbidden(gateway):
    """Not through a VPC endpoint: 403 Forbidden, for any path (the check precedes routing)."""
    assert_forbidden(gateway.call("GET", PRIVATE, "dev", "/whoami"))
    assert_forbidden(gateway.call("GET", PRIVATE, "dev", "/no/such/route"))
    assert_forbidden(request(gateway.port, "GET", f"/restapis/{PRIVATE}/dev/_user_request_/whoami"))
    assert_forbidden(at(gateway, "localhost", "/dev/whoami", x_apigw_api_id=PRIVATE))


def test_vpce_header_with_any_url_form(gateway):
    """Private DNS (`{apiId}.execute-api…`), path-style, or any host with `x-apigw-api-id`: the endpoint
    named by `x-amzn-vpce-id` reaches the API and is `$context.identity.vpceId`."""
    answer = gateway.call("GET", PRIVATE, "dev", "/whoami", headers={"x-amzn-vpce-id": VPCE, "x-amzn-vpc-id": "vpc-1"})
    assert answer.status == 200 and answer.json() == {"vpceId": VPCE, "vpcId": "vpc-1", "path": "/dev/whoami"}
    by_header = at(gateway, "vpce-0a1b2c3d4e5f60718-abcdefgh.execute-api.us-east-1.vpce.amazonaws.com",
                   "/dev/whoami", x_apigw_api_id=PRIVATE, x_amzn_vpce_id="vpce-other")
    assert by_header.status == 200 and by_header.json()["vpceId"] == "vpce-other"
    local = at(gateway, "localhost", "/dev/whoami", x_apigw_api_id=PRIVATE, x_amzn_vpce_id=VPCE)
    assert local.status == 200 and local.json()["vpceId"] == VPCE
    path_style = request(gateway.port, "GET", f"/restapis/{PRIVATE}/dev/_user_request_/whoami",
                         {"x-amzn-vpce-id": VPCE})
    assert path_style.status == 200


def test_api_and_endpoint_in_the_host(gateway):
    """`{apiId}-{vpceId}.execute-api…` exists on AWS only for the API's associated endpoints."""
    reply = at(gateway, f"{PRIVATE}-{VPCE}.execute-api.localhost:{gateway.port}", "/dev/whoami")
    assert reply.status == 200 and reply.json()["vpceId"] == VPCE
    assert_forbidden(at(gateway, f"{PRIVATE}-vpce-0000000000000000.execute-api.localhost", "/dev/whoami"))
    assert at(gateway, f"{PRIVATE}-{VPCE}.execute-api.localhost", "/dev/nowhere").status == 403  # routed: no route


def test_lambda_event_carries_the_endpoint(gateway):
    reply = gateway.call("GET", PRIVATE, "dev", "/event", headers={"x-amzn-vpce-id": VPCE})
    assert reply.status == 200
    identity = reply.json()
    assert identity["vpceId"] == VPCE and identity["sourceIp"] == "127.0.0.1"


def test_vpc_endpoints_reach_only_private_apis(gateway):
    """A public API is reached by its public URLs (a stray vpce header is just a header) and refuses the
    private forms."""
    public = gateway.call("GET", PUBLIC, "dev", "/whoami", headers={"x-amzn-vpce-id": VPCE})
    assert public.status == 200 and public.json()["vpceId"] == ""
    assert_forbidden(at(gateway, "localhost", "/dev/whoami", x_apigw_api_id=PUBLIC, x_amzn_vpce_id=VPCE))
    assert_forbidden(at(gateway, f"{PUBLIC}-{VPCE}.execute-api.localhost", "/dev/whoami"))


def test_resource_policy_conditions_on_the_source_vpc_endpoint(gateway):
    """`aws:SourceVpce` in a resource policy is the endpoint the request came through, as on AWS where
    private APIs are commonly locked to their own endpoints this way."""
    ours = gateway.call("GET", LOCKED, "dev", "/whoami", headers={"x-amzn-vpce-id": VPCE})
    assert ours.status == 200 and ours.json()["vpceId"] == VPCE
    other = gateway.call("GET", LOCKED, "dev", "/whoami", headers={"x-amzn-vpce-id": "vpce-0ffffffffffffffff"})
    assert other.status == 403
    assert other.json() == {"Message": "User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
                                       f"arn:aws:execute-api:us-east-1:123456789012:{LOCKED}/dev/GET/whoami "
                                       "with an explicit deny"}

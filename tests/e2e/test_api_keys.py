"""API keys and usage plans enforced end to end: `apiway serve` with methods that require a key, keys and
plans made through the real control plane with boto3.

AWS behaviour from the spec (§7.2-7.4, §1.8, §1.11) and the recorded flow of INDEX row 12 (no key 403, a
key of a plan bound to the stage 200, the same key disabled 403): 403 `{"message":"Forbidden"}`
(ForbiddenException) for a missing, unknown or disabled key or one in no plan of the stage, 429
`{"message":"Too Many Requests"}` past the plan's throttle and `{"message":"Limit Exceeded"}` past its
quota; GetUsage and UpdateUsage see the gateway's counts."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from tests.support import Reply, Server, apigateway_client

KEYS = "keysapi1"  # apiKeySource HEADER, stages dev and prod
AUTHZ = "keysauthz1"  # apiKeySource AUTHORIZER, a Lambda TOKEN authorizer
FORBIDDEN = (403, {"message": "Forbidden"}, "ForbiddenException")
THROTTLED = (429, {"message": "Too Many Requests"}, "TooManyRequestsException")
QUOTA = (429, {"message": "Limit Exceeded"}, "LimitExceededException")
IDENTITY = '{"apiKey": "$context.identity.apiKey", "apiKeyId": "$context.identity.apiKeyId"}'


def _mock(security: list[dict] | None) -> dict:
    op: dict = {"responses": {"200": {"description": "OK"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                    "responses": {"default": {"statusCode": "200",
                                              "responseTemplates": {"application/json": IDENTITY}}}}}
    if security is not None:
        op["security"] = security
    return op


API_KEY_SCHEME = {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
KEYS_API = {
    "openapi": "3.0.1",
    "info": {"title": "Keys"},
    "components": {"securitySchemes": API_KEY_SCHEME},
    "paths": {"/pets": {"get": _mock([{"api_key": []}])},
              "/orders": {"get": _mock([{"api_key": []}])},
              "/open": {"get": _mock(None)}},
}
AUTHZ_API = {
    "openapi": "3.0.1",
    "info": {"title": "KeysFromAuthorizer"},
    "x-amazon-apigateway-api-key-source": "AUTHORIZER",
    "components": {"securitySchemes": {
        **API_KEY_SCHEME,
        "tok": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {
                    "type": "token", "authorizerResultTtlInSeconds": 0,
                    "identitySource": "method.request.header.Authorization",
                    "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                     "arn:aws:lambda:us-east-1:123456789012:function:Auth/invocations"}}}},
    "paths": {"/me": {"get": _mock([{"tok": [], "api_key": []}])}},
}
AUTHORIZER = """
def handler(event, context):
    token = event["authorizationToken"].removeprefix("Bearer ")
    answer = {"principalId": "user", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]}}
    if token != "nokey":
        answer["usageIdentifierKey"] = token
    return answer
"""


def write_project(work: Path) -> Path:
    (work / "keys.json").write_bytes(orjson.dumps(KEYS_API))
    (work / "authz.json").write_bytes(orjson.dumps(AUTHZ_API))
    (work / "auth.py").write_text(AUTHORIZER)
    project = {"apis": [{"openapi": "keys.json", "id": KEYS, "stages": {"dev": {}, "prod": {}}},
                        {"openapi": "authz.json", "id": AUTHZ, "stages": {"dev": {}}}],
               "functions": {"Auth": {"handler": "auth.py:handler", "mode": "inline"}}}
    (work / "apiway.yaml").write_bytes(orjson.dumps(project))
    return work / "apiway.yaml"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("api_keys")
    (work / "state").mkdir()
    server = Server(write_project(work), work / "state" / "state.db")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def apigw(gateway: Server):
    return apigateway_client(gateway.port)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def new_key(apigw, enabled: bool = True) -> dict:
    value = uuid.uuid4().hex + "K"  # alphanumeric, > 20 characters
    return apigw.create_api_key(name=f"key-{value[:6]}", value=value, enabled=enabled)


def new_plan(apigw, stages: list[tuple[str, str]] | None = None, **settings: object) -> dict:
    api_stages = [{"apiId": a, "stage": s} for a, s in (stages or [(KEYS, "dev")])]
    return apigw.create_usage_plan(name=f"plan-{uuid.uuid4().hex[:6]}", apiStages=api_stages, **settings)


def planned_key(apigw, stages: list[tuple[str, str]] | None = None, **settings: object) -> tuple[dict, dict]:
    """A new enabled key in a new usage plan bound to `stages` (default the keys API's dev stage)."""
    key, plan = new_key(apigw), new_plan(apigw, stages, **settings)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return key, plan


def get(gateway: Server, key: str | None, path: str = "/pets", stage: str = "dev", api: str = KEYS,
        **headers: str) -> Reply:
    if key is not None:
        headers["x-api-key"] = key
    return gateway.call("GET", api, stage, path, headers=headers)


def assert_error(reply: Reply, expected: tuple[int, dict, str]) -> None:
    status, body, error_type = expected
    assert reply.status == status, (reply.status, reply.body)
    assert reply.json() == body
    assert reply.header("x-amzn-ErrorType") == error_type


def usage_today(apigw, plan: dict, key: dict) -> list[int]:
    found = apigw.get_usage(usagePlanId=plan["id"], keyId=key["id"], startDate=today(), endDate=today())
    return found["items"][key["id"]][0]


def statuses(calls: int, clients: int, call: Callable[[], Reply]) -> list[Reply]:
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda _: call(), range(calls)))


# -- which keys are let in -----------------------------------------------------------------------------


def test_a_missing_unknown_or_unplanned_key_is_forbidden(gateway, apigw):
    key, _ = planned_key(apigw)
    reply = get(gateway, key["value"])
    assert reply.status == 200, reply.body
    assert reply.json() == {"apiKey": key["value"], "apiKeyId": key["id"]}
    assert get(gateway, None, **{"X-API-KEY": key["value"]}).status == 200  # the header name is case-insensitive
    assert_error(get(gateway, None), FORBIDDEN)
    assert_error(get(gateway, ""), FORBIDDEN)
    assert_error(get(gateway, "unknown-key-value-0123456789"), FORBIDDEN)
    assert_error(get(gateway, new_key(apigw)["value"]), FORBIDDEN)  # in no usage plan


def test_a_disabled_key_is_forbidden_until_enabled_again(gateway, apigw):
    """INDEX row 12: 200 with the key, 403 once UpdateApiKey disables it."""
    key, _ = planned_key(apigw)
    assert get(gateway, key["value"]).status == 200
    apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
    assert_error(get(gateway, key["value"]), FORBIDDEN)
    apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}])
    assert get(gateway, key["value"]).status == 200

    disabled = new_key(apigw, enabled=False)
    plan = new_plan(apigw)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=disabled["id"], keyType="API_KEY")
    assert_error(get(gateway, disabled["value"]), FORBIDDEN)


def test_a_plan_bound_to_another_stage_does_not_admit(gateway, apigw):
    key, _ = planned_key(apigw, [(KEYS, "prod")])
    assert get(gateway, key["value"], stage="prod").status == 200
    assert_error(get(gateway, key["value"], stage="dev"), FORBIDDEN)


def test_methods_without_api_key_required_are_never_metered(gateway, apigw):
    key, plan = planned_key(apigw, quota={"limit": 1, "period": "DAY"})
    for sent in (None, key["value"], "unknown-key-value-0123456789"):
        reply = get(gateway, sent, "/open")
        assert reply.status == 200 and reply.json() == {"apiKey": "", "apiKeyId": ""}
    assert usage_today(apigw, plan, key) == [0, 1]
    assert get(gateway, key["value"]).status == 200


def test_removing_a_key_from_its_plan_or_deleting_it_takes_effect_at_once(gateway, apigw):
    key, plan = planned_key(apigw)
    assert get(gateway, key["value"]).status == 200
    apigw.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
    assert_error(get(gateway, key["value"]), FORBIDDEN)

    key, plan = planned_key(apigw)
    assert get(gateway, key["value"]).status == 200
    apigw.delete_api_key(apiKey=key["id"])
    assert_error(get(gateway, key["value"]), FORBIDDEN)

    key, plan = planned_key(apigw)
    assert get(gateway, key["value"]).status == 200
    apigw.update_usage_plan(usagePlanId=plan["id"],
                            patchOperations=[{"op": "remove", "path": "/apiStages", "value": f"{KEYS}:dev"}])
    assert_error(get(gateway, key["value"]), FORBIDDEN)


# -- apiKeySource AUTHORIZER ---------------------------------------------------------------------------


def test_with_key_source_authorizer_the_usage_identifier_key_is_the_key(gateway, apigw):
    key, _ = planned_key(apigw, [(AUTHZ, "dev")])
    reply = get(gateway, None, "/me", api=AUTHZ, Authorization=f"Bearer {key['value']}")
    assert reply.status == 200, reply.body
    assert reply.json() == {"apiKey": key["value"], "apiKeyId": key["id"]}
    # the x-api-key header is not read: the authorizer gave no key, or one in no plan of this stage
    assert_error(get(gateway, key["value"], "/me", api=AUTHZ, Authorization="Bearer nokey"), FORBIDDEN)
    other, _ = planned_key(apigw)
    assert_error(get(gateway, key["value"], "/me", api=AUTHZ, Authorization=f"Bearer {other['value']}"), FORBIDDEN)


# -- quotas ----------------------------------------------------------------------------------------------


def test_a_quota_runs_out_exactly_at_its_limit_under_32_concurrent_clients(gateway, apigw):
    key, plan = planned_key(apigw, quota={"limit": 150, "period": "DAY"})
    replies = statuses(400, 32, lambda: get(gateway, key["value"]))
    assert sum(r.status == 200 for r in replies) == 150
    over = [r for r in replies if r.status != 200]
    assert len(over) == 250
    for reply in over[:5]:
        assert_error(reply, QUOTA)
    assert usage_today(apigw, plan, key) == [150, 0]  # GetUsage: [used, remaining] for today


def test_update_usage_changes_what_is_admitted(gateway, apigw):
    key, plan = planned_key(apigw, quota={"limit": 3, "period": "MONTH"})
    assert [get(gateway, key["value"]).status for _ in range(4)] == [200, 200, 200, 429]
    updated = apigw.update_usage(usagePlanId=plan["id"], keyId=key["id"],
                                 patchOperations=[{"op": "replace", "path": "/remaining", "value": "5"}])
    assert updated["items"][key["id"]] == [[3, 5]]
    assert [get(gateway, key["value"]).status for _ in range(6)] == [200] * 5 + [429]
    assert usage_today(apigw, plan, key) == [8, 0]


def test_quota_counts_survive_a_restart(serve, tmp_path):
    project = write_project(tmp_path)
    server = serve(project)
    apigw = apigateway_client(server.port)
    key, plan = planned_key(apigw, quota={"limit": 10, "period": "WEEK"})
    assert [get(server, key["value"]).status for _ in range(4)] == [200] * 4
    server.stop()  # at once: the counts are written on the way out, not only by the write-behind

    again = serve(project, state=server.state)
    apigw = apigateway_client(again.port)
    assert [get(again, key["value"]).status for _ in range(7)] == [200] * 6 + [429]
    assert usage_today(apigw, plan, key) == [10, 0]


# -- throttling ------------------------------------------------------------------------------------------


def test_the_plan_throttle_admits_rate_times_t_plus_burst(gateway, apigw):
    """§7.1: over t seconds a full bucket admits rate * t + burst; here within 2% over a 10-second run of
    clients asking faster than the rate. Throttled requests are not counted against the quota."""
    rate, burst, seconds = 40.0, 25, 10.0
    key, plan = planned_key(apigw, throttle={"rateLimit": rate, "burstLimit": burst},
                            quota={"limit": 100000, "period": "DAY"})
    admitted: list[float] = []
    rejected: list[Reply] = []
    lock = threading.Lock()
    start = time.monotonic()

    def client() -> None:
        while (now := time.monotonic()) < start + seconds:
            reply = get(gateway, key["value"])
            with lock:
                (admitted.append(now) if reply.status == 200 else rejected.append(reply))

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(client) for _ in range(4)]:
            future.result()
    expected = rate * (max(admitted) - start) + burst
    assert abs(len(admitted) - expected) <= 0.02 * expected, (len(admitted), expected)
    assert len(rejected) > len(admitted)  # the clients really were faster than the rate
    assert_error(rejected[0], THROTTLED)
    assert usage_today(apigw, plan, key)[0] == len(admitted)


def test_a_method_throttle_in_the_plan_beats_the_plan_throttle(gateway, apigw):
    key, plan = planned_key(apigw, throttle={"rateLimit": 1000.0, "burstLimit": 1000})
    apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "replace", "path": f"/apiStages/{KEYS}:dev/throttle",
         "value": orjson.dumps({"/orders/GET": {"rateLimit": 0.01, "burstLimit": 2}}).decode()}])
    orders = [get(gateway, key["value"], "/orders") for _ in range(4)]
    assert [r.status for r in orders] == [200, 200, 429, 429]
    assert_error(orders[2], THROTTLED)
    assert [get(gateway, key["value"]).status for _ in range(10)] == [200] * 10

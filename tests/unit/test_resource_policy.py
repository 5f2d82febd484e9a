"""Resource policies compiled from RestApi.policy and combined with the method's authorization type
(spec §8.5 and §8.1): the shorthand expansion, the anonymous decision table, the pre-check before
Lambda authorizers, the request's condition keys and deploy-time errors."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from apiway.auth import resource_policy
from apiway.auth.resource_policy import RequestContext, compile_resource_policy
from apiway.core.errors import AccessDenied, DeployError
from apiway.core.guard import GuardSite
from apiway.core.http import HttpRequest
from apiway.core.invocation import Invocation
from tests.support import BARE_STAGE, run_guards

API = "abc123"
PREFIX = f"arn:aws:execute-api:us-east-1:123456789012:{API}/prod"


def statement(effect: str, resource: str | list[str], principal: Any = "*", **extra: Any) -> dict:
    return {"Effect": effect, "Principal": principal, "Action": "execute-api:Invoke", "Resource": resource, **extra}


def site(policy: dict | str | None, auth: str = "NONE", path: str = "/pets") -> GuardSite:
    api: dict[str, Any] = {"id": API, "name": "t"}
    if policy is not None:
        api["policy"] = policy if isinstance(policy, str) else orjson.dumps(policy).decode()
    method = {"httpMethod": "GET", "authorizationType": auth, "apiKeyRequired": False}
    definition: Any = {"restApi": api, "resources": {}, "gatewayResponses": {}, "models": {},
                       "requestValidators": {}, "authorizers": {}}
    resource: Any = {"id": "r1", "path": path, "resourceMethods": {"GET": method}}
    return GuardSite(definition, {"stageName": "prod"}, resource, "GET", method, f"{path} GET")  # type: ignore[arg-type]


def invocation(path: str = "/pets", method: str = "GET", ip: str = "127.0.0.1",
               headers: list[tuple[str, str]] | None = None, scheme: str = "http") -> Invocation:
    req = HttpRequest(method, f"/prod{path}", "", headers or [], b"", client_ip=ip, scheme=scheme)
    return Invocation(req, BARE_STAGE, None, {}, path, f"/prod{path}", "req-1")  # type: ignore[arg-type]


def outcome(guard: Any, inv: Invocation) -> str | None:
    """None when the guard lets the request through, else the 403 message."""
    try:
        run_guards([guard], inv)
    except AccessDenied as err:
        assert err.response_type == "ACCESS_DENIED" and err.body_key == "Message"
        return err.message
    return None


def anonymous(resource: str, explicit: bool = False) -> str:
    return (f"User: anonymous is not authorized to perform: execute-api:Invoke on resource: {PREFIX}{resource}"
            + (" with an explicit deny" if explicit else ""))


POLICY = {"Version": "2012-10-17", "Statement": [
    statement("Allow", "execute-api:/prod/GET/pets"),
    statement("Allow", ["execute-api:/*/GET/pets/*"], Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}),
    statement("Deny", "execute-api:/prod/GET/pets/secret"),
    statement("Allow", "execute-api:/prod/GET/users", {"AWS": "arn:aws:iam::123456789012:user/alice"}),
]}


# -- NONE and COGNITO_USER_POOLS: an explicit Allow is required ---------------------------------------


@pytest.mark.parametrize("auth", ["NONE", "COGNITO_USER_POOLS"])
def test_anonymous_callers_need_an_explicit_allow(auth):
    guard = resource_policy.build(site(POLICY, auth))
    assert outcome(guard, invocation("/pets")) is None
    assert outcome(guard, invocation("/pets/7")) is None
    assert outcome(guard, invocation("/pets/7", ip="10.0.0.1")) == anonymous("/GET/pets/7")
    assert outcome(guard, invocation("/pets/secret")) == anonymous("/GET/pets/secret", explicit=True)
    assert outcome(guard, invocation("/users")) == anonymous("/GET/users")  # alice's statement is not for anonymous
    assert outcome(guard, invocation("/orders")) == anonymous("/GET/orders")


def test_the_method_arn_uses_the_request_verb_and_path():
    guard = resource_policy.build(site(POLICY))
    assert outcome(guard, invocation("/pets", method="POST")) == anonymous("/POST/pets")
    assert outcome(guard, invocation("/")) == anonymous("/GET/")


def test_not_resource_and_full_arns():
    policy = {"Statement": [statement("Allow", f"arn:aws:execute-api:us-east-1:*:{API}/*"),
                            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:*",
                             "NotResource": ["execute-api:/prod/GET/pets", "execute-api:/prod/GET/pets/*"]}]}
    guard = resource_policy.build(site(policy))
    assert outcome(guard, invocation("/pets/1")) is None
    assert outcome(guard, invocation("/orders")) == anonymous("/GET/orders", explicit=True)


def test_a_single_statement_object_and_a_full_arn_for_another_api():
    policy = {"Statement": statement("Allow", "arn:aws:execute-api:us-east-1:123456789012:otherapi/*")}
    assert outcome(resource_policy.build(site(policy)), invocation("/pets")) == anonymous("/GET/pets")


# -- CUSTOM: explicit deny before the authorizer; AWS_IAM: decided in iam.py --------------------------


def test_lambda_authorizer_methods_get_only_the_explicit_deny_precheck():
    assert resource_policy.build(site(POLICY, "CUSTOM")) is None
    precheck = resource_policy.build_precheck(site(POLICY, "CUSTOM"))
    assert outcome(precheck, invocation("/pets/secret")) == anonymous("/GET/pets/secret", explicit=True)
    assert outcome(precheck, invocation("/orders")) is None  # implicit: the authorizer decides


@pytest.mark.parametrize("auth", ["NONE", "AWS_IAM", "COGNITO_USER_POOLS"])
def test_no_precheck_without_a_lambda_authorizer(auth):
    assert resource_policy.build_precheck(site(POLICY, auth)) is None


def test_iam_methods_are_combined_in_the_iam_check():
    assert resource_policy.build(site(POLICY, "AWS_IAM")) is None


@pytest.mark.parametrize("auth", ["NONE", "CUSTOM", "AWS_IAM", "COGNITO_USER_POOLS"])
def test_no_policy_costs_nothing(auth):
    assert resource_policy.build(site(None, auth)) is None
    assert resource_policy.build_precheck(site(None, auth)) is None


# -- request condition keys -------------------------------------------------------------------------


def test_request_context_keys():
    inv = invocation(headers=[("User-Agent", "ua/1"), ("Referer", "https://ref.example/")], ip="2001:db8::5")
    inv.epoch_ms = 1717243200123
    context = RequestContext(inv, None)
    assert context.get("aws:sourceip") == "2001:db8::5"
    assert context.get("aws:useragent") == "ua/1"
    assert context.get("aws:referer") == "https://ref.example/"
    assert context.get("aws:securetransport") == "false"
    assert context.get("aws:currenttime") == "2024-06-01T12:00:00Z"
    assert context.get("aws:epochtime") == "1717243200"
    for absent in ("aws:sourcevpc", "aws:sourcevpce", "aws:principalarn", "aws:username"):
        assert context.get(absent) is None
        assert absent not in context
    assert RequestContext(invocation(scheme="https"), None).get("aws:securetransport") == "true"
    caller = RequestContext(inv, {"aws:principalarn": "arn:aws:iam::123456789012:user/alice"})
    assert caller["aws:principalarn"] == "arn:aws:iam::123456789012:user/alice"
    assert "aws:sourceip" in dict(caller)


def test_conditions_read_the_request():
    policy = {"Statement": [
        statement("Allow", "execute-api:/*", Condition={
            "StringLike": {"aws:UserAgent": "app/*"}, "Bool": {"aws:SecureTransport": "true"},
            "DateLessThan": {"aws:CurrentTime": "2100-01-01T00:00:00Z"}}),
        statement("Deny", "execute-api:/*", Condition={"StringLike": {"aws:Referer": "https://evil/*"}}),
    ]}
    guard = resource_policy.build(site(policy))
    assert outcome(guard, invocation(headers=[("User-Agent", "app/2")], scheme="https")) is None
    assert outcome(guard, invocation(headers=[("User-Agent", "app/2")])) == anonymous("/GET/pets")
    assert outcome(guard, invocation(headers=[("User-Agent", "app/2"), ("Referer", "https://evil/x")],
                                     scheme="https")) == anonymous("/GET/pets", explicit=True)


# -- compilation ------------------------------------------------------------------------------------


def test_the_policy_compiles_once_per_text_and_api():
    text = orjson.dumps(POLICY).decode()
    assert compile_resource_policy(text, API) is compile_resource_policy(text, API)
    assert compile_resource_policy(text, API) is not compile_resource_policy(text, "other")


@pytest.mark.parametrize(("policy", "message"), [
    ("{", "restApi.policy: not valid JSON"),
    ({"Version": "2012-10-17"}, "restApi.policy: a policy document"),
    ({"Statement": []}, "restApi.policy.Statement: a statement or a non-empty list"),
    ({"Statement": [statement("Allow", "execute-api:/*"), statement("Perhaps", "execute-api:/*")]},
     "restApi.policy.Statement[1]: Effect must be Allow or Deny"),
    ({"Statement": [statement("Allow", "execute-api:/*", Condition={"IpAddress": {"aws:SourceIp": "x"}})]},
     "restApi.policy.Statement[0]: Condition.IpAddress.aws:SourceIp: 'x' is not an IP address or CIDR block"),
    ({"Statement": [statement("Allow", "execute-api:/*", principal="alice")]},
     "restApi.policy.Statement[0]: Principal must be"),
])
def test_a_policy_that_does_not_compile_is_a_deploy_error(policy, message):
    with pytest.raises(DeployError, match=re.escape(message)):
        resource_policy.build(site(policy))

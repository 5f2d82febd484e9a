"""IAM policy evaluation (spec §8.2 authorizer output, §8.5): explicit Deny wins, Allow admits, no
match is an implicit deny; `*`/`?` wildcards, Action/NotAction, Resource/NotResource."""

from __future__ import annotations

import pytest

from apiway.auth.policy import PolicyError, compile_policy, evaluate, method_arn_prefix

BASE = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev"
INVOKE = "execute-api:Invoke"


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(resource, action=INVOKE) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(resource, action=INVOKE) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def test_allow_deny_and_implicit_deny():
    policy = doc(allow(f"{BASE}/GET/pets"))
    assert evaluate(policy, INVOKE, f"{BASE}/GET/pets") == "Allow"
    assert evaluate(policy, INVOKE, f"{BASE}/GET/orders") is None
    assert evaluate(policy, INVOKE, f"{BASE}/POST/pets") is None


def test_explicit_deny_wins_in_any_order():
    for statements in ([allow("*"), deny(f"{BASE}/DELETE/*")], [deny(f"{BASE}/DELETE/*"), allow("*")]):
        policy = doc(*statements)
        assert evaluate(policy, INVOKE, f"{BASE}/DELETE/pets/1") == "Deny"
        assert evaluate(policy, INVOKE, f"{BASE}/GET/pets/1") == "Allow"


@pytest.mark.parametrize(("pattern", "resource", "matches"), [
    (f"{BASE}/GET/*", f"{BASE}/GET/pets/1/toys", True),  # `*` spans slashes
    (f"{BASE}/*/pets", f"{BASE}/PUT/pets", True),
    (f"{BASE}/GET/", f"{BASE}/GET/", True),  # the root resource
    (f"{BASE}/GET/pets/?", f"{BASE}/GET/pets/7", True),
    (f"{BASE}/GET/pets/?", f"{BASE}/GET/pets/42", False),  # `?` is exactly one character
    (f"{BASE}/GET/Pets", f"{BASE}/GET/pets", False),  # ARNs are case-sensitive
    ("arn:aws:execute-api:*:*:abc123/*", f"{BASE}/GET/pets", True),
    (f"{BASE}/GET/pets", f"{BASE}/GET/pets/1", False),  # no implicit prefix match
    (f"{BASE}/GET/a.c", f"{BASE}/GET/abc", False),  # regex characters are literal
])
def test_resource_wildcards(pattern, resource, matches):
    assert (evaluate(doc(allow(pattern)), INVOKE, resource) == "Allow") is matches


@pytest.mark.parametrize(("action", "matches"), [
    (INVOKE, True), ("execute-api:*", True), ("*", True), ("EXECUTE-API:invoke", True),
    ("execute-api:Inv?ke", True), ("execute-api:ManageConnections", False), ("s3:*", False),
    (["s3:GetObject", "execute-api:Invoke"], True),
])
def test_actions_compare_case_insensitively_with_wildcards(action, matches):
    assert (evaluate(doc(allow("*", action)), INVOKE, f"{BASE}/GET/x") == "Allow") is matches


def test_resource_lists_and_a_single_statement_object():
    policy = {"Statement": allow([f"{BASE}/GET/pets", f"{BASE}/GET/orders"])}
    assert evaluate(policy, INVOKE, f"{BASE}/GET/orders") == "Allow"
    assert evaluate(policy, INVOKE, f"{BASE}/GET/users") is None


def test_not_action_and_not_resource():
    policy = doc({"Effect": "Allow", "NotAction": "execute-api:ManageConnections", "Resource": "*"},
                 {"Effect": "Deny", "Action": "*", "NotResource": f"{BASE}/GET/*"})
    assert evaluate(policy, INVOKE, f"{BASE}/GET/pets") == "Allow"
    assert evaluate(policy, INVOKE, f"{BASE}/POST/pets") == "Deny"  # outside the NotResource
    assert evaluate(doc(policy["Statement"][0]), "execute-api:ManageConnections", f"{BASE}/GET/pets") is None


def test_statement_lists_and_json_text_compile_once():
    statements = [allow(f"{BASE}/GET/*")]
    assert evaluate(statements, INVOKE, f"{BASE}/GET/a") == "Allow"
    text = '{"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}'
    assert evaluate(text, INVOKE, f"{BASE}/GET/a") == "Deny"
    assert compile_policy(text) is compile_policy(text)
    assert compile_policy(doc(*statements)) is compile_policy(doc(*statements))  # same document, same policy
    compiled = compile_policy(statements)
    assert evaluate(compiled, INVOKE, f"{BASE}/GET/b") == "Allow"


@pytest.mark.parametrize("policy", [
    {"Version": "2012-10-17"},  # no Statement
    doc(),  # empty
    "not json",
    doc({"Effect": "allow", "Action": INVOKE, "Resource": "*"}),  # Effect is case-sensitive
    doc({"Action": INVOKE, "Resource": "*"}),
    doc({"Effect": "Allow", "Resource": "*"}),  # no Action
    doc({"Effect": "Allow", "Action": INVOKE, "NotAction": INVOKE, "Resource": "*"}),
    doc({"Effect": "Allow", "Action": INVOKE}),  # no Resource
    doc({"Effect": "Allow", "Action": INVOKE, "Resource": []}),
    doc({"Effect": "Allow", "Action": INVOKE, "Resource": [1]}),
    doc("Allow"),
])
def test_malformed_policies_are_rejected(policy):
    with pytest.raises(PolicyError):
        compile_policy(policy)


def test_method_arn_prefix():
    assert method_arn_prefix("abc123", "dev") == f"{BASE}/"

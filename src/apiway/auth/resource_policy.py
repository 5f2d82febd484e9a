"""Resource policies (`RestApi.policy`): who may invoke which methods of an API, from where and when.
The policy compiles once per deployment (its `execute-api:/{stage}/{VERB}/{path}` shorthand expanded
to full ARNs); a request is evaluated against its method ARN and its condition keys.

How the decision combines with authorization (AWS's tables for the API's own account):
* NONE and Cognito methods: the policy must explicitly Allow (anonymous caller); a Deny wins.
* CUSTOM (Lambda authorizer) methods: an explicit Deny rejects before the authorizer runs; after an
  allowing authorizer nothing else is needed.
* AWS_IAM methods: combined with the caller's identity policies in iam.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from apiway.auth.policy import INVOKE, Policy, PolicyError, compile_document, method_arn_prefix
from apiway.core.errors import AccessDenied, DeployError
from apiway.core.guard import Guard, GuardSite
from apiway.core.invocation import Invocation
from apiway.model.aws import ACCOUNT_ID, REGION

_SHORTHAND = "execute-api:/"
_ANONYMOUS = "anonymous"

# Condition keys a request provides; principal keys come from the caller's identity. The private-endpoint
# keys exist only for PRIVATE APIs, whose endpoint check put the VPC endpoint (and VPC) on the identity.
_REQUEST_KEYS: dict[str, Callable[[Invocation], str | None]] = {
    "aws:sourcevpce": lambda inv: (inv.identity or {}).get("vpceId"),
    "aws:sourcevpc": lambda inv: (inv.identity or {}).get("vpcId"),
    "aws:sourceip": lambda inv: inv.request.client_ip,
    "aws:useragent": lambda inv: inv.request.header("user-agent"),
    "aws:referer": lambda inv: inv.request.header("referer"),
    "aws:securetransport": lambda inv: "true" if inv.request.scheme == "https" else "false",
    "aws:currenttime": lambda inv: datetime.fromtimestamp(inv.epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "aws:epochtime": lambda inv: str(inv.epoch_ms // 1000),
}


class RequestContext(Mapping[str, Any]):
    """The condition keys of one request, computed only when a condition asks for them."""

    __slots__ = ("inv", "principal")

    def __init__(self, inv: Invocation, principal: Mapping[str, str] | None) -> None:
        self.inv = inv
        self.principal = principal  # the caller's aws:Principal* keys; None: anonymous

    def get(self, key: str, default: Any = None) -> Any:
        source = _REQUEST_KEYS.get(key)
        if source is not None:
            value = source(self.inv)
            return default if value is None else value
        return self.principal.get(key, default) if self.principal else default

    def __getitem__(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (k for k in (*_REQUEST_KEYS, *(self.principal or ())) if self.get(k) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def denied(caller_arn: str | None, method_arn: str, explicit: bool) -> AccessDenied:
    """AWS's 403 for an invocation a policy does not allow."""
    suffix = " with an explicit deny" if explicit else ""
    return AccessDenied(f"User: {caller_arn or _ANONYMOUS} is not authorized to perform: execute-api:Invoke on "
                        f"resource: {method_arn}{suffix}")


def method_arn(prefix: str, inv: Invocation) -> str:
    return prefix + inv.request.method + inv.path


def policy_for(site: GuardSite) -> Policy | None:
    """The API's compiled resource policy, or None when it has none."""
    api = site.definition["restApi"]
    text = api.get("policy")
    if not text:
        return None
    return compile_resource_policy(text, api["id"])


@lru_cache(maxsize=64)
def compile_resource_policy(text: str, api_id: str) -> Policy:
    """Compiled once per policy text and API (every method of a deployment shares it)."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise DeployError(f"restApi.policy: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise DeployError('restApi.policy: a policy document: {"Version": "2012-10-17", "Statement": [...]}')
    listed = document["Statement"]
    listed = [listed] if isinstance(listed, dict) else listed
    if not isinstance(listed, list) or not listed:
        raise DeployError("restApi.policy.Statement: a statement or a non-empty list of statements")
    statements = []
    for i, raw in enumerate(listed):
        statement = _expand(raw, api_id)
        try:
            compile_document([statement])
        except PolicyError as exc:
            raise DeployError(f"restApi.policy.Statement[{i}]: {exc}") from None
        statements.append(statement)
    return compile_document(statements)


def _expand(statement: Any, api_id: str) -> Any:
    """`execute-api:/{stage}/{VERB}/{path}` → `arn:aws:execute-api:{region}:{account}:{apiId}/…`, as AWS
    rewrites the policy when it is saved."""
    if not isinstance(statement, dict):
        return statement
    full = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/"
    out = dict(statement)
    for element in ("Resource", "NotResource"):
        value = out.get(element)
        if isinstance(value, str):
            out[element] = full + value[len(_SHORTHAND):] if value.startswith(_SHORTHAND) else value
        elif isinstance(value, list):
            out[element] = [full + v[len(_SHORTHAND):] if isinstance(v, str) and v.startswith(_SHORTHAND) else v
                            for v in value]
    return out


def build_precheck(site: GuardSite) -> Guard | None:
    """CUSTOM methods: an explicit Deny for the (still anonymous) caller stops the request before the
    Lambda authorizer is invoked."""
    if site.method.get("authorizationType") != "CUSTOM":
        return None
    policy = policy_for(site)
    if policy is None:
        return None
    prefix = method_arn_prefix(site.definition["restApi"]["id"], site.stage["stageName"])

    def precheck(inv: Invocation) -> None:
        arn = method_arn(prefix, inv)
        if policy.evaluate(INVOKE, arn, RequestContext(inv, None)) == "Deny":
            raise denied(None, arn, explicit=True)

    return precheck


def build(site: GuardSite) -> Guard | None:
    """NONE and COGNITO_USER_POOLS methods: the policy must explicitly allow the anonymous caller."""
    if site.method.get("authorizationType", "NONE") not in ("NONE", "COGNITO_USER_POOLS"):
        return None
    policy = policy_for(site)
    if policy is None:
        return None
    prefix = method_arn_prefix(site.definition["restApi"]["id"], site.stage["stageName"])

    def check(inv: Invocation) -> None:
        arn = method_arn(prefix, inv)
        decision = policy.evaluate(INVOKE, arn, RequestContext(inv, None))
        if decision != "Allow":
            raise denied(None, arn, explicit=decision == "Deny")

    return check

"""`AWS_IAM` routes of HTTP APIs: the request must be signed with Signature Version 4 (service
`execute-api`) by a declared identity whose own policies allow `execute-api:Invoke` on the route ARN
(HTTP APIs have no resource policies, so nothing else can grant it, and another account's callers are
refused). Any failure is 403 Forbidden, an unsigned request included; the reason goes to the log. On
success payload 2.0's `requestContext.authorizer.iam` names the caller, and the `Authorization` header no
longer reaches the integration, as for REST APIs."""

from __future__ import annotations

from typing import Any

from apiway.auth import sigv4
from apiway.auth.iam import SERVICE
from apiway.auth.identities import Identities, Identity
from apiway.auth.policy import INVOKE, method_arn_prefix
from apiway.auth.resource_policy import RequestContext, denied
from apiway.core.errors import GatewayError
from apiway.core.guard import Guard
from apiway.core.http import HttpRequest
from apiway.core.invocation import Invocation
from apiway.model.aws import ACCOUNT_ID, REGION


def iam_authorizer(identity: Identity) -> dict[str, Any]:
    """`requestContext.authorizer.iam` of a caller (no Cognito identity pools or organizations here)."""
    return {"accessKey": identity.access_key_id, "accountId": identity.account_id, "callerId": identity.user_id,
            "cognitoIdentity": None, "principalOrgId": None, "userArn": identity.arn, "userId": identity.user_id}


def _forbidden(log: str) -> GatewayError:
    return GatewayError("ACCESS_DENIED", log=f"IAM: {log}")


def _without_authorization(req: HttpRequest) -> HttpRequest:
    return HttpRequest(req.method, req.path, req.query, [h for h in req.headers if h[0].lower() != "authorization"],
                       req.body, req.client_ip, req.scheme, req.server_port, req.http_version, _query=req._query)


def caller(inv: Invocation, identities: Identities, arn: str) -> Identity:
    """The declared identity that signed the request, once its own policies allow `execute-api:Invoke` on
    `arn`; ACCESS_DENIED (403) otherwise."""
    req = inv.request
    try:
        signed = sigv4.verify(req, identities.secret_for, SERVICE, inv.epoch_ms / 1000, REGION)
    except sigv4.SigV4Error as exc:
        raise _forbidden(exc.message) from None
    identity = identities.by_key[signed.access_key_id]
    if signed.security_token != identity.session_token:
        raise _forbidden("The security token included in the request is invalid.")
    if identity.expiration is not None and inv.epoch_ms >= identity.expiration * 1000:
        raise _forbidden("The security token included in the request is expired")
    own = identity.policy.evaluate(INVOKE, arn, RequestContext(inv, identity.condition_keys)) \
        if identity.policy is not None else None
    if own != "Allow" or identity.account_id != ACCOUNT_ID:
        raise _forbidden(denied(identity.arn, arn, explicit=own == "Deny").message or "")
    return identity


def build(api_id: str, stage_name: str, identities: Identities) -> Guard:
    prefix = method_arn_prefix(api_id, stage_name)

    def guard(inv: Invocation) -> None:
        req = inv.request
        identity = caller(inv, identities, prefix + req.method + inv.path)
        inv.authorizer = {"iam": iam_authorizer(identity)}
        if req.header("authorization") is not None:
            inv.request = _without_authorization(req)

    return guard

"""`AWS_IAM` methods: the request must be signed with Signature Version 4 (service `execute-api`, the
API's region) by a declared identity whose policies — together with the API's resource policy —
allow `execute-api:Invoke` on the method ARN. On success `$context.identity` names the caller and the
`Authorization` header no longer reaches the integration."""

from __future__ import annotations

from apiway.auth import sigv4
from apiway.auth.identities import Identities
from apiway.auth.policy import INVOKE, method_arn_prefix
from apiway.auth.resource_policy import RequestContext, denied, method_arn, policy_for
from apiway.core.errors import GatewayError
from apiway.core.guard import Guard, GuardSite
from apiway.core.http import HttpRequest
from apiway.core.invocation import Invocation
from apiway.model.aws import ACCOUNT_ID, REGION

SERVICE = "execute-api"
_INVALID_TOKEN = "The security token included in the request is invalid."
# SigV4 failure kind → (gateway response type, x-amzn-ErrorType when it differs from the type's own)
_FAILURES: dict[str, tuple[str, str | None]] = {
    "MissingAuthenticationToken": ("MISSING_AUTHENTICATION_TOKEN", None),
    "IncompleteSignature": ("INVALID_SIGNATURE", "IncompleteSignatureException"),
    "InvalidSignature": ("INVALID_SIGNATURE", None),
    "UnrecognizedClient": ("ACCESS_DENIED", None),
}


def _rejected(exc: sigv4.SigV4Error) -> GatewayError:
    response_type, error_type = _FAILURES[exc.kind]
    err = GatewayError(response_type, exc.message)
    if error_type is not None:
        err.error_type = error_type
    return err


def _without_authorization(req: HttpRequest) -> HttpRequest:
    """The request as the integration sees it: AWS does not forward a SigV4 `Authorization` header."""
    return HttpRequest(req.method, req.path, req.query, [h for h in req.headers if h[0].lower() != "authorization"],
                       req.body, req.client_ip, req.scheme, req.server_port, req.http_version, _query=req._query)


def build(site: GuardSite, identities: Identities | None) -> Guard | None:
    if site.method.get("authorizationType") != "AWS_IAM":
        return None
    identities = identities or Identities()
    resource_policy = policy_for(site)
    prefix = method_arn_prefix(site.definition["restApi"]["id"], site.stage["stageName"])

    def guard(inv: Invocation) -> None:
        req = inv.request
        try:
            signed = sigv4.verify(req, identities.secret_for, SERVICE, inv.epoch_ms / 1000, REGION)
        except sigv4.SigV4Error as exc:
            raise _rejected(exc) from None
        identity = identities.by_key[signed.access_key_id]
        if signed.security_token != identity.session_token:
            raise GatewayError("ACCESS_DENIED", _INVALID_TOKEN)
        if identity.expiration is not None and inv.epoch_ms >= identity.expiration * 1000:
            raise GatewayError("EXPIRED_TOKEN")
        arn = method_arn(prefix, inv)
        context = RequestContext(inv, identity.condition_keys)
        own = identity.policy.evaluate(INVOKE, arn, context) if identity.policy is not None else None
        if own == "Deny":
            raise denied(identity.arn, arn, explicit=True)
        resource = resource_policy.evaluate(INVOKE, arn, context) if resource_policy is not None else None
        if resource == "Deny":
            raise denied(identity.arn, arn, explicit=True)
        # Same account: either side may allow. Another account's caller needs both (AWS's table B).
        if identity.account_id == ACCOUNT_ID:
            allowed = own == "Allow" or resource == "Allow"
        else:
            allowed = own == "Allow" and resource == "Allow"
        if not allowed:
            raise denied(identity.arn, arn, explicit=False)
        inv.identity = {**(inv.identity or {}), **identity.context_identity}
        if req.header("authorization") is not None:
            inv.request = _without_authorization(req)

    return guard

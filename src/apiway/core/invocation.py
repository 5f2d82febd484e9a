"""Everything one request carries through the pipeline once it is routed."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from apiway.runtime import ids

if TYPE_CHECKING:
    from apiway.runtime.compile import MethodPlan, StageRuntime
    from apiway.runtime.request import HttpRequest

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_clf_cache: tuple[int, str] = (0, "")
# `$context.identity` fields that only IAM, Cognito, API keys or private endpoints fill in.
_NULL_IDENTITY = dict.fromkeys(
    ("accountId", "apiKey", "apiKeyId", "caller", "cognitoAuthenticationProvider", "cognitoAuthenticationType",
     "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId", "user", "userArn", "vpcId", "vpceId")
)


def clf_time(epoch: int) -> str:
    """`09/Apr/2015:12:34:56 +0000`, cached per second."""
    global _clf_cache
    if _clf_cache[0] != epoch:
        t = time.gmtime(epoch)
        _clf_cache = (
            epoch,
            f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000",
        )
    return _clf_cache[1]


class Invocation:
    """One routed request: the request, where it goes, and its `$context` identity."""

    __slots__ = (
        "authorizer",
        "context_path",
        "epoch_ms",
        "extended_request_id",
        "identity",
        "path",
        "path_params",
        "plan",
        "request",
        "request_id",
        "stage",
    )

    def __init__(
        self,
        request: HttpRequest,
        stage: StageRuntime,
        plan: MethodPlan,
        path_params: dict[str, str],
        path: str,
        context_path: str,
        request_id: str,
    ) -> None:
        self.request = request
        self.stage = stage
        self.plan = plan
        self.path_params = path_params
        self.path = path  # request path without the stage, e.g. /pets/1
        self.context_path = context_path  # $context.path, e.g. /prod/pets/1
        self.request_id = request_id
        self.extended_request_id = ids.extended_request_id()
        self.epoch_ms = int(time.time() * 1000)
        # Set by the checks before the integration: `$context.authorizer` (principalId, the authorizer's
        # context or Cognito claims) and `$context.identity` fields (apiKey, caller, userArn, …).
        self.authorizer: dict[str, Any] | None = None
        self.identity: dict[str, Any] | None = None

    def context(self) -> dict[str, Any]:
        """The `$context` variables templates and mappings read (built only when one asks)."""
        req = self.request
        stage = self.stage
        context = {
            "accountId": stage.account_id,
            "apiId": stage.api_id,
            "deploymentId": stage.deployment_id,
            "domainName": req.header("host") or "",
            "domainPrefix": (req.header("host") or "").split(".", 1)[0],
            "extendedRequestId": self.extended_request_id,
            "httpMethod": req.method,
            "identity": {**_NULL_IDENTITY, "sourceIp": req.client_ip, "userAgent": req.header("user-agent"),
                         **(self.identity or {})},
            "path": self.context_path,
            "protocol": "HTTP/" + req.http_version,
            "requestId": self.request_id,
            "requestTime": clf_time(self.epoch_ms // 1000),
            "requestTimeEpoch": self.epoch_ms,
            "resourceId": self.plan.resource_id,
            "resourcePath": self.plan.resource_path,
            "stage": stage.stage_name,
            "isCanaryRequest": stage.is_canary,
        }
        if self.authorizer is not None:
            context["authorizer"] = self.authorizer
        return context

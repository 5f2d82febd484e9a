"""Per-method checks that run before the integration, in AWS's order: resource policy, then
authorization (Lambda / Cognito authorizer or IAM), API key and usage plan, throttling, quota, then
request validation. Each check is compiled at deploy time from the method's settings; a method that needs
none pays nothing per request. A check rejects by raising a GatewayError. Checks that need not wait
(all but an authorizer's cache miss) are plain functions returning None: an `await` per check would
cost more than most checks themselves."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apiway.model.rest import ApiDefinition, Method, Resource, Stage
    from apiway.runtime.compile import CompileDeps
    from apiway.runtime.invocation import Invocation

Guard = Callable[["Invocation"], Awaitable[None] | None]  # an awaitable only when it must wait


@dataclass(slots=True)
class GuardSite:
    """Everything a check may compile from: the deployed API, the stage, the method."""

    definition: ApiDefinition
    stage: Stage
    resource: Resource
    http_method: str
    method: Method
    deps: CompileDeps
    where: str  # "/pets/{id} GET", for deploy-time errors


Builder = Callable[[GuardSite], Guard | None]


def build_guards(site: GuardSite) -> tuple[Guard, ...]:
    return tuple(guard for build in _builders() if (guard := build(site)) is not None)


@functools.cache
def _builders() -> tuple[Builder, ...]:
    # Imported on first use: the check modules import the runtime types this module is imported by.
    from apiway.auth import api_keys, authorizers, iam, resource_policy
    from apiway.runtime import throttling, validation

    return (
        resource_policy.build_precheck,  # an explicit Deny rejects before any authorizer runs
        authorizers.build,  # CUSTOM (Lambda TOKEN / REQUEST) and COGNITO_USER_POOLS
        iam.build,  # AWS_IAM: SigV4 + identity policies
        resource_policy.build,  # the resource policy combined with the authorization result
        api_keys.build,  # apiKeyRequired: key, usage plan, the plan's throttle
        throttling.build,  # stage / method limits, then the account's
        api_keys.build_quota,  # the plan's quota: only requests no throttle refused count
        validation.build,  # request validators: parameters, then body
    )


def no_guard(site: GuardSite) -> Any:
    """Placeholder builder for a check that is not built yet."""
    return None

"""A REST method's checks, in AWS's order: resource policy, then authorization (Lambda / Cognito
authorizer or IAM), API key and usage plan, throttling, quota, then request validation. Each is compiled
at deploy time from the method's settings and handed only the shared state it uses; a method that needs
none pays nothing per request."""

from __future__ import annotations

from apiway.auth import authorizers, iam, resource_policy
from apiway.checks import api_keys, throttling, validation
from apiway.core.guard import Guard, GuardSite
from apiway.runtime.deps import CompileDeps


def build_guards(site: GuardSite, deps: CompileDeps) -> tuple[Guard, ...]:
    throttles = throttling.buckets(site, deps.state)  # the method's stage-level bucket and the account's
    key_check = api_keys.build(site, deps.access, throttles)
    built = (
        resource_policy.build_precheck(site),  # an explicit Deny rejects before any authorizer runs
        authorizers.build(site, deps.authorizer_cache, deps.invoker, deps.strict),  # CUSTOM, COGNITO_USER_POOLS
        iam.build(site, deps.identities),  # AWS_IAM: SigV4 + identity policies
        resource_policy.build(site),  # the resource policy combined with the authorization result
        key_check,  # apiKeyRequired: the key, then its plan's bucket and `throttles` in one atomic take
        throttling.build(deps.state, throttles) if key_check is None else None,  # `throttles` in one atomic take
        api_keys.build_quota(site, deps.access),  # the plan's quota: only requests no throttle refused count
        validation.build(site),  # request validators: parameters, then body
    )
    return tuple(guard for guard in built if guard is not None)

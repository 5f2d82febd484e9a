"""API keys and usage plans (spec §7.2-7.4): for a method with `apiKeyRequired`, after authorization.

The key comes from the `x-api-key` header (apiKeySource HEADER) or from the Lambda authorizer's
`usageIdentifierKey` (AUTHORIZER). A missing, unknown or disabled key, or one in no usage plan bound
to this API stage, is 403 INVALID_API_KEY. Then the plan's throttle for this key — the method's own limits
in the plan, else the plan's — is taken in one atomic take with the method's stage-level and the account's
buckets (handed over by checks/throttling.py, whose own check such a method then skips): THROTTLED when
any is empty, and then none gives a token. The plan's quota (QUOTA_EXCEEDED) is a
separate check that runs after stage and account throttling too, so a request throttled anywhere is
not counted against the quota. Methods without `apiKeyRequired` are never metered, even when a key
is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from apiway.checks.throttling import admitted, refused
from apiway.core.errors import GatewayError
from apiway.core.guard import Guard, GuardSite
from apiway.core.invocation import Invocation
from apiway.core.trail import ERROR, INFO, mask
from apiway.state.api_keys import AccessState, Quota, StageAccess
from apiway.state.base import BucketKey


def build(site: GuardSite, access: AccessState | None, throttles: tuple[BucketKey, ...] = ()) -> Guard | None:
    """The key check of an `apiKeyRequired` method; `throttles` are the stage-level and account buckets
    to take from together with the plan's."""
    if not site.method.get("apiKeyRequired") or access is None:
        return None
    stage = access.stage(site.definition["restApi"]["id"], site.stage["stageName"])
    meter = _meter(access, stage, f"{site.resource['path']}/{site.http_method}", throttles)
    if site.definition["restApi"].get("apiKeySource") == "AUTHORIZER":

        def from_authorizer(inv: Invocation) -> Awaitable[None] | None:
            identity = inv.identity
            return meter(inv, identity.get("apiKey") if identity else None)

        return from_authorizer

    def from_header(inv: Invocation) -> Awaitable[None] | None:
        return meter(inv, inv.request.header("x-api-key"))

    return from_header


def build_selected(access: AccessState, api_id: str, stage_name: str, method: str, throttles: tuple[BucketKey, ...],
                   key_of: Callable[[Invocation], str | None]) -> Guard:
    """The key check of a route whose API key `key_of` selects (WebSocket APIs' `apiKeySelectionExpression`);
    `method` names the route in the plans' per-method throttles."""
    meter = _meter(access, access.stage(api_id, stage_name), method, throttles)

    def selected(inv: Invocation) -> Awaitable[None] | None:
        return meter(inv, key_of(inv))

    return selected


def _meter(access: AccessState, stage: StageAccess, method: str,
           throttles: tuple[BucketKey, ...]) -> Callable[[Invocation, str | None], Awaitable[None] | None]:
    """`method` is the plan's method-throttle key, `/pets/GET`; each grant resolves its take for it once."""
    resolve = access.taker
    if access.state.remote:
        return _meter_remote(access, stage, method, throttles)

    def meter(inv: Invocation, value: str | None) -> None:
        grant = stage.grants.get(value) if value else None
        if grant is None:
            if inv.trail is not None:
                _not_authorized(inv, value)
            raise GatewayError("INVALID_API_KEY")
        try:
            take = grant.takers[method]
        except KeyError:
            take = resolve(grant, stage, method, throttles)
        if take is not None and not take():
            raise refused(inv, "THROTTLED")
        if inv.trail is not None:
            _verified(inv, value)
        identity = inv.identity
        inv.identity = ({"apiKey": value, "apiKeyId": grant.key_id} if identity is None
                        else {**identity, "apiKey": value, "apiKeyId": grant.key_id})

    return meter


def _meter_remote(access: AccessState, stage: StageAccess, method: str,
                  throttles: tuple[BucketKey, ...]) -> Callable[[Invocation, str | None], Awaitable[None] | None]:
    """`_meter` for a state whose takes are answered remotely: the take is awaited."""
    resolve = access.taker

    def meter(inv: Invocation, value: str | None) -> Awaitable[None] | None:
        grant = stage.grants.get(value) if value else None
        if grant is None:
            if inv.trail is not None:
                _not_authorized(inv, value)
            raise GatewayError("INVALID_API_KEY")
        try:
            take = grant.takers[method]
        except KeyError:
            take = resolve(grant, stage, method, throttles)
        if inv.trail is not None:
            _verified(inv, value)
        identity = inv.identity
        inv.identity = ({"apiKey": value, "apiKeyId": grant.key_id} if identity is None
                        else {**identity, "apiKey": value, "apiKeyId": grant.key_id})
        return None if take is None else admitted(take(), "THROTTLED", inv)  # type: ignore[arg-type]

    return meter


def build_quota(site: GuardSite, access: AccessState | None) -> Guard | None:
    """The plan's quota for the key the `build` guard accepted (it set `identity.apiKey`)."""
    if not site.method.get("apiKeyRequired") or access is None:
        return None
    return quota_check(access, site.definition["restApi"]["id"], site.stage["stageName"])


def quota_check(access: AccessState, api_id: str, stage_name: str) -> Guard:
    """The quota of the key the key check accepted, for any API kind with usage plans."""
    stage = access.stage(api_id, stage_name)
    count = access.count
    if access.state.remote:

        def quota_remote(inv: Invocation) -> Awaitable[None]:
            grant = stage.grants.get(inv.identity["apiKey"])  # type: ignore[index]
            if grant is None:  # the key was deleted meanwhile
                raise GatewayError("INVALID_API_KEY")
            return _counted(access, grant.quota, inv)

        return quota_remote

    def quota(inv: Invocation) -> None:
        grant = stage.grants.get(inv.identity["apiKey"])  # type: ignore[index]
        if grant is None or not count(grant.quota, inv.epoch_ms):  # None: the key was deleted meanwhile
            raise refused(inv, "QUOTA_EXCEEDED") if grant is not None else GatewayError("INVALID_API_KEY")

    return quota


async def _counted(access: AccessState, quota: Quota, inv: Invocation) -> None:
    """`AccessState.count` with the take awaited."""
    access.roll(quota, inv.epoch_ms)
    if not await quota.take():
        raise refused(inv, "QUOTA_EXCEEDED")
    access.counted(quota)


def _stage_of(inv: Invocation) -> str:
    return f"{inv.stage.api_id}/{inv.stage.stage_name}"


def _verified(inv: Invocation, value: str | None) -> None:
    """The execution log's lines for a key the usage plans know (AWS's wording; the key masked)."""
    assert inv.trail is not None
    key, stage = mask(value or ""), _stage_of(inv)
    inv.trail += [
        (INFO, f"Verifying Usage Plan for request: {inv.request_id}. API Key: {key} API Stage: {stage}"),
        (INFO, f"API Key {key} authorized because method '{inv.plan.http_method} {inv.plan.resource_path}' "
               f"requires API Key and API Key is associated with a Usage Plan for API Stage {stage}"),
        (INFO, f"Usage Plan check succeeded for API Key {key} and API Stage {stage}"),
    ]


def _not_authorized(inv: Invocation, value: str | None) -> None:
    assert inv.trail is not None
    method = f"'{inv.plan.http_method} {inv.plan.resource_path}'"
    if not value:
        inv.trail.append((ERROR, f"API Key not authorized because method {method} requires API Key and API key "
                                 "is missing"))
        return
    inv.trail.append((ERROR, f"API Key {mask(value)} not authorized because method {method} requires API Key and "
                             f"API Key is not associated with a Usage Plan for API Stage {_stage_of(inv)}"))

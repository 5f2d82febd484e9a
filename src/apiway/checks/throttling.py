"""Stage, account and usage-plan throttling (spec §7.1-7.2): after the API key, a request must get a token
from every bucket that applies to it — the usage plan's bucket for its key (methods with
`apiKeyRequired`), its method's stage-level bucket (the method's own `methodSettings` limits, else the
stage's `*/*` defaults) and the account-level bucket — in one atomic take: all give a token or none does,
so a request refused anywhere costs no bucket anything. Refused: THROTTLED (429 `Too Many Requests`).

`*/*` limits are AWS's "default method throttling": each method gets its own bucket with those limits,
not one bucket shared by the whole stage. A limit of 0 admits nothing (0/0 is how a stage is shut);
a negative limit (-1, as some tools write "unset") means no stage-level limit for that method."""

from __future__ import annotations

from apiway.core.errors import GatewayError
from apiway.core.guard import Guard, GuardSite
from apiway.core.invocation import Invocation
from apiway.model.method_settings import method_key, settings_for
from apiway.state.api_keys import AccessState, StageAccess
from apiway.state.base import ACCOUNT, BucketKey, SharedState
from apiway.state.buckets import ACCOUNT_BURST, ACCOUNT_RATE


def build(site: GuardSite, state: SharedState | None, access: AccessState | None = None) -> Guard | None:
    """The method's throttle; `access` adds the usage plan's bucket to methods with `apiKeyRequired`."""
    keys: tuple[BucketKey, ...] = ()
    if state is not None:
        limits = stage_limits(site)
        if limits is None:
            keys = (ACCOUNT,)
        else:
            key = ("stage", site.definition["restApi"]["id"], site.stage["stageName"],
                   method_key(site.resource["path"], site.http_method))
            state.configure_bucket(key, *limits)
            keys = (key, ACCOUNT)
    if site.method.get("apiKeyRequired") and access is not None:
        stage = access.stage(site.definition["restApi"]["id"], site.stage["stageName"])
        return _with_plan(access, stage, f"{site.resource['path']}/{site.http_method}", keys)
    if state is None:
        return None
    take = state.taker(keys)

    def throttle(inv: Invocation) -> None:
        if not take():
            raise GatewayError("THROTTLED")

    return throttle


def stage_limits(site: GuardSite) -> tuple[float, int] | None:
    """(rate, burst) of the method's stage-level bucket, None when the stage sets no limit. A field the
    entries leave out takes AWS's default for a new method setting (the account defaults)."""
    settings = settings_for(site.stage, site.resource["path"], site.http_method)
    rate = settings.get("throttlingRateLimit")
    burst = settings.get("throttlingBurstLimit")
    if rate is None and burst is None:
        return None
    rate = ACCOUNT_RATE if rate is None else float(rate)
    burst = ACCOUNT_BURST if burst is None else int(burst)
    return None if rate < 0 or burst < 0 else (rate, burst)


def _with_plan(access: AccessState, stage: StageAccess, method: str, keys: tuple[BucketKey, ...]) -> Guard:
    """The take for the key the API-key check accepted (it set `identity.apiKey`): resolved once per grant
    and method (the plan's method key, `/pets/GET`), then one call per request."""
    resolve = access.taker

    def throttle(inv: Invocation) -> None:
        identity = inv.identity
        grant = stage.grants.get(identity["apiKey"]) if identity else None
        if grant is None:  # the key was deleted meanwhile
            raise GatewayError("INVALID_API_KEY")
        try:
            take = grant.takers[method]
        except KeyError:
            take = resolve(grant, stage, method, keys)
        if take is not None and not take():
            raise GatewayError("THROTTLED")

    return throttle

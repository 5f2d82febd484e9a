"""Stage and account throttling (spec §7.1-7.2): after the API key and usage plan, a request must get a
token from its method's stage-level bucket — the method's own `methodSettings` limits, else the stage's
`*/*` defaults — and from the account-level bucket. The first empty bucket rejects with THROTTLED (429
`Too Many Requests`); tokens taken from the buckets before it are given back.

`*/*` limits are AWS's "default method throttling": each method gets its own bucket with those limits,
not one bucket shared by the whole stage. A limit of 0 admits nothing (0/0 is how a stage is shut);
a negative limit (-1, as some tools write "unset") means no stage-level limit for that method."""

from __future__ import annotations

from collections.abc import Callable

from apiway.core.errors import GatewayError
from apiway.core.guard import Guard, GuardSite
from apiway.core.invocation import Invocation
from apiway.model.method_settings import method_key, settings_for
from apiway.state.buckets import ACCOUNT_BURST, ACCOUNT_RATE, Buckets, TokenBucket


def build(site: GuardSite, registry: Buckets | None) -> Guard | None:
    if registry is None:
        return None
    limits = stage_limits(site)
    if limits is None:
        return _account_only(registry.account, registry.clock)
    key = ("stage", site.definition["restApi"]["id"], site.stage["stageName"],
           method_key(site.resource["path"], site.http_method))
    return _stage_and_account(registry.bucket(key, *limits), registry.account, registry.clock)


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


def _account_only(account: TokenBucket, clock: Callable[[], float]) -> Guard:
    take = account.take

    def throttle(inv: Invocation) -> None:
        if not take(clock()):
            raise GatewayError("THROTTLED")

    return throttle


def _stage_and_account(bucket: TokenBucket, account: TokenBucket, clock: Callable[[], float]) -> Guard:
    take, take_account = bucket.take, account.take

    def throttle(inv: Invocation) -> None:
        now = clock()
        if not take(now):
            raise GatewayError("THROTTLED")
        if not take_account(now):
            bucket.refund()  # the request is not served: the stage's token goes back
            raise GatewayError("THROTTLED")

    return throttle

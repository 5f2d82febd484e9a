"""Stage and account throttling (spec §7.1-7.2): after the API key and usage plan, a request must get a
token from its method's stage-level bucket — the method's own `methodSettings` limits, else the stage's
`*/*` defaults — and from the account-level bucket, in one atomic take: both give a token or neither
does. Refused: THROTTLED (429 `Too Many Requests`). A method with `apiKeyRequired` hands these buckets to
the API-key check (checks/api_keys.py), which takes them together with the usage plan's.

`*/*` limits are AWS's "default method throttling": each method gets its own bucket with those limits,
not one bucket shared by the whole stage. A limit of 0 admits nothing (0/0 is how a stage is shut);
a negative limit (-1, as some tools write "unset") means no stage-level limit for that method."""

from __future__ import annotations

from collections.abc import Awaitable

from apiway.core.errors import GatewayError
from apiway.core.guard import Guard, GuardSite
from apiway.core.invocation import Invocation
from apiway.model.http import Stage as HttpStage
from apiway.model.method_settings import method_key
from apiway.state.base import ACCOUNT, BucketKey, SharedState
from apiway.state.buckets import ACCOUNT_BURST, ACCOUNT_RATE


def buckets(site: GuardSite, state: SharedState | None) -> tuple[BucketKey, ...]:
    """The buckets every request to the method takes from, configured (at deploy time): the method's
    stage-level one when the stage limits it, and the account's."""
    if state is None:
        return ()
    limits = stage_limits(site)
    if limits is None:
        return (ACCOUNT,)
    key = ("stage", site.definition["restApi"]["id"], site.stage["stageName"],
           method_key(site.resource["path"], site.http_method))
    state.configure_bucket(key, *limits)
    return key, ACCOUNT


def build(state: SharedState | None, keys: tuple[BucketKey, ...]) -> Guard | None:
    """The check taking `keys` (from `buckets`) for a method whose API-key check does not take them."""
    if state is None or not keys:
        return None
    take = state.taker(keys)
    if state.remote:

        def throttle_remote(inv: Invocation) -> Awaitable[None]:
            return admitted(take(), "THROTTLED", inv)

        return throttle_remote

    def throttle(inv: Invocation) -> None:
        if not take():
            raise refused(inv, "THROTTLED")

    return throttle


def refused(inv: Invocation, refusal: str) -> GatewayError:
    """A throttle's or quota's refusal, noted for the stage's observers (`throttled`: telemetry/notes.py)."""
    if inv.notes is not None:
        inv.notes["throttled"] = True
    return GatewayError(refusal)


async def admitted(answer: Awaitable[object], refusal: str, inv: Invocation) -> None:
    """A remote take's answer, awaited (Redis's reply: 1 or 0): the request goes on, or ends with `refusal`."""
    if not await answer:
        raise refused(inv, refusal)


def stage_limits(site: GuardSite) -> tuple[float, int] | None:
    """(rate, burst) of the method's stage-level bucket, None when the stage sets no limit. A field the
    entries leave out takes AWS's default for a new method setting (the account defaults)."""
    settings = site.settings
    if settings.throttling_rate_limit is None and settings.throttling_burst_limit is None:
        return None
    rate = ACCOUNT_RATE if settings.throttling_rate_limit is None else settings.throttling_rate_limit
    burst = ACCOUNT_BURST if settings.throttling_burst_limit is None else settings.throttling_burst_limit
    return None if rate < 0 or burst < 0 else (rate, burst)


def route_buckets(api_id: str, stage: HttpStage, route_key: str, state: SharedState | None) -> tuple[BucketKey, ...]:
    """An HTTP API route's buckets (spec §7.5), configured at deploy time: its own when the stage limits it —
    `routeSettings[route_key]` field by field over `defaultRouteSettings`, each route a bucket of its own — and
    the account's, which REST APIs share."""
    if state is None:
        return ()
    default = stage.get("defaultRouteSettings") or {}
    own = (stage.get("routeSettings") or {}).get(route_key) or {}
    rate_set = own.get("throttlingRateLimit", default.get("throttlingRateLimit"))
    burst_set = own.get("throttlingBurstLimit", default.get("throttlingBurstLimit"))
    if rate_set is None and burst_set is None:
        return (ACCOUNT,)
    rate = ACCOUNT_RATE if rate_set is None else float(rate_set)
    burst = ACCOUNT_BURST if burst_set is None else int(burst_set)
    if rate < 0 or burst < 0:
        return (ACCOUNT,)
    key = ("route", api_id, stage["stageName"], route_key)
    state.configure_bucket(key, rate, burst)
    return key, ACCOUNT

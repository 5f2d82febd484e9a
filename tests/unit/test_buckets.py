"""Token buckets and the throttling guard (spec §7.1-7.2) with an injected clock: exact admission
counts, the method / stage / account precedence, and buckets that survive a stage recompile."""

from __future__ import annotations

import math
import random

import pytest

from apiway.core.clock import ManualClock
from apiway.core.errors import GatewayError
from apiway.core.http import HttpRequest
from apiway.core.invocation import Invocation
from apiway.runtime.compile import compile_stage
from apiway.runtime.deps import CompileDeps
from apiway.state.buckets import ACCOUNT_BURST, ACCOUNT_RATE, TokenBucket, take_all
from apiway.state.memory import MemoryState
from apiway.store.deployments import stage_record
from tests.support import run_guards


def admitted(bucket: TokenBucket, times: list[float]) -> list[float]:
    return [t for t in times if bucket.take(t)]


@pytest.mark.parametrize(("rate", "burst", "step", "seconds"), [
    (10.0, 5, 0.001, 10.0),
    (2.5, 3, 0.01, 7.0),
    (100.0, 1, 0.0001, 3.0),
    (1000.0, 50, 0.0003, 2.0),  # steps that are not binary fractions: the refill sums drift
    (0.5, 0, 0.01, 10.0),  # burst 0: the bucket holds no token, nothing passes
    (0.0, 4, 0.01, 5.0),  # rate 0: the burst, then nothing
])
def test_a_full_bucket_admits_exactly_rate_times_t_plus_burst(rate, burst, step, seconds):
    """Requests arriving faster than the rate: floor(rate * t + burst) pass, where t is the time from
    the first to the last request (a bucket of size 0 admits nothing at all)."""
    start = 50.0
    bucket = TokenBucket(rate, burst, start)
    times = [start + i * step for i in range(round(seconds / step) + 1)]
    expected = math.floor(rate * (times[-1] - start) + burst + 1e-6) if burst >= 1 else 0
    assert len(admitted(bucket, times)) == expected


def test_no_interval_admits_more_than_rate_times_t_plus_burst():
    """The token-bucket bound holds for every window of a random arrival pattern, not only from the start."""
    rng = random.Random(7)
    rate, burst = 20.0, 5
    times = sorted(rng.uniform(0, 5) for _ in range(600))
    bucket = TokenBucket(rate, burst, 0.0)
    passed = admitted(bucket, times)
    for i, a in enumerate(passed):
        for j in range(i, len(passed)):
            assert j - i + 1 <= rate * (passed[j] - a) + burst + 1e-6


def test_tokens_are_fractional_and_capped_at_the_burst():
    bucket = TokenBucket(4.0, 2, 0.0)
    assert admitted(bucket, [0.0, 0.0, 0.0]) == [0.0, 0.0]
    assert not bucket.take(0.2)  # 0.8 of a token
    assert bucket.take(0.25)  # 0.8 + 0.2 = 1 token
    assert admitted(bucket, [100.0, 100.0, 100.0]) == [100.0, 100.0]  # an idle hour still fills only 2


def test_a_take_over_several_buckets_takes_from_every_one_or_from_none():
    full, empty = TokenBucket(0.0, 2, 0.0), TokenBucket(0.0, 1, 0.0)
    assert take_all((full, empty), 0.0)
    assert not take_all((full, empty), 0.0)  # `empty` has none left: `full` keeps its last token
    assert full.tokens == pytest.approx(1.0) and full.take(0.0) and not full.take(0.0)


def test_reconfigure_keeps_the_tokens_earned_and_cuts_them_to_the_new_burst():
    bucket = TokenBucket(10.0, 10, 0.0)
    assert len(admitted(bucket, [0.0] * 10)) == 10
    bucket.reconfigure(1.0, 10, 0.5)  # 5 tokens earned at the old rate
    assert len(admitted(bucket, [0.5] * 10)) == 5
    bucket.reconfigure(1.0, 2, 100.0)  # full again, but only 2 fit now
    assert len(admitted(bucket, [100.0] * 5)) == 2


def test_negative_limits_are_refused():
    with pytest.raises(ValueError):
        TokenBucket(-1.0, 1, 0.0)
    with pytest.raises(ValueError):
        MemoryState().set_account_limits(1.0, -1)


def test_the_registry_keeps_buckets_by_key_and_never_refills_them():
    clock = ManualClock(1000.0)
    buckets = MemoryState(clock)
    first = buckets.bucket(("stage", "a", "s", "pets/GET"), 0.0, 2)
    assert first.take(clock.monotonic()) and first.take(clock.monotonic())
    again = buckets.bucket(("stage", "a", "s", "pets/GET"), 0.0, 2)
    assert again is first and not again.take(clock.monotonic())
    changed = buckets.bucket(("stage", "a", "s", "pets/GET"), 1.0, 5)
    assert changed is first and not changed.take(clock.monotonic())  # new limits, no refill
    clock.now += 1
    assert changed.take(clock.monotonic())
    assert buckets.bucket(("stage", "a", "s", "pets/POST"), 0.0, 2) is not first


def test_account_defaults_are_aws_and_configurable():
    clock = ManualClock(1000.0)
    buckets = MemoryState(clock)
    assert (buckets.account.rate, buckets.account.burst) == (ACCOUNT_RATE, ACCOUNT_BURST) == (10000.0, 5000)
    buckets.set_account_limits(1.0, 3)
    assert len(admitted(buckets.account, [clock.monotonic()] * 10)) == 3


# -- the throttling guard on a compiled stage -------------------------------------------------------------

MOCK = {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "integrationResponses": {"200": {"statusCode": "200"}}}


def definition() -> dict:
    def method(verb: str) -> dict:
        return {"httpMethod": verb, "authorizationType": "NONE", "apiKeyRequired": False, "methodIntegration": MOCK}

    return {
        "restApi": {"id": "thrapi", "name": "throttled"},
        "resources": {
            "r0": {"id": "r0", "path": "/", "resourceMethods": {"GET": method("GET")}},
            "r1": {"id": "r1", "path": "/pets", "resourceMethods": {"GET": method("GET"), "POST": method("POST")}},
            "r2": {"id": "r2", "path": "/pets/{id}", "resourceMethods": {"GET": method("GET")}},
        },
        "gatewayResponses": {}, "models": {}, "requestValidators": {}, "authorizers": {},
    }


class NoFunctions:
    def has(self, name: str) -> bool:
        return False


def compiled(buckets: MemoryState, method_settings: dict) -> dict[tuple[str, str], object]:
    deps = CompileDeps(invoker=NoFunctions(), pool=None, state=buckets)  # type: ignore[arg-type]
    runtime = compile_stage(definition(), stage_record("thrapi", "prod", "dep1", {}, method_settings=method_settings),
                            deps)
    return {(plan.resource_path, plan.http_method): (runtime, plan) for plan in runtime.plans}


def passes(plans: dict, path: str, verb: str) -> bool:
    runtime, plan = plans[(path, verb)]
    inv = Invocation(HttpRequest(verb, f"/prod{path}", "", [], b""), runtime, plan, {}, path, f"/prod{path}", "r")
    try:
        run_guards(plan.guards, inv)
    except GatewayError as err:
        assert err.response_type == "THROTTLED"
        return False
    return True


def count(plans: dict, path: str, verb: str, tries: int = 20) -> int:
    return sum(passes(plans, path, verb) for _ in range(tries))


def test_stage_defaults_give_every_method_its_own_bucket_and_method_entries_override_them():
    """`*/*` is AWS's default *method* throttling: each method gets a bucket of that size; a method's own
    entry replaces it, whether keyed `pets/{id}/GET` or in the escaped patch-path spelling."""
    plans = compiled(MemoryState(ManualClock(1000.0)), {
        "*/*": {"throttlingRateLimit": 0.0, "throttlingBurstLimit": 3},
        "~1pets~1{id}/GET": {"throttlingBurstLimit": 5},  # rate from */*
        "/GET": {"throttlingBurstLimit": 1},  # the root resource
    })
    assert count(plans, "/pets", "GET") == 3
    assert count(plans, "/pets", "POST") == 3
    assert count(plans, "/pets/{id}", "GET") == 5
    assert count(plans, "/", "GET") == 1


def test_zero_limits_block_every_request_and_negative_ones_mean_no_stage_limit():
    plans = compiled(MemoryState(ManualClock(1000.0)), {"pets/GET": {"throttlingRateLimit": 0.0, "throttlingBurstLimit": 0},
                                        "pets/POST": {"throttlingRateLimit": -1.0, "throttlingBurstLimit": -1}})
    assert count(plans, "/pets", "GET") == 0
    assert count(plans, "/pets", "POST") == 20


def test_the_account_bucket_applies_to_every_method_and_a_rejection_there_costs_the_stage_nothing():
    clock = ManualClock(1000.0)
    buckets = MemoryState(clock)
    buckets.set_account_limits(0.0, 2)
    plans = compiled(buckets, {"pets/GET": {"throttlingRateLimit": 0.0, "throttlingBurstLimit": 3}})
    assert count(plans, "/pets", "GET") == 2
    assert count(plans, "/pets/{id}", "GET") == 0  # no stage limit, but the account is empty
    stage_bucket = buckets.bucket(("stage", "thrapi", "prod", "pets/GET"), 0.0, 3)
    assert stage_bucket.tokens == pytest.approx(1.0)  # the account refused the third: the stage gave no token
    buckets.set_account_limits(0.0, 5)
    clock.now += 1  # the account refills only through its rate: still empty
    assert count(plans, "/pets", "GET") == 0


def test_recompiling_a_stage_finds_its_buckets_as_they_were():
    """A redeploy compiles the stage again: its buckets must not be refilled."""
    buckets = MemoryState(ManualClock(1000.0))
    settings = {"*/*": {"throttlingRateLimit": 0.0, "throttlingBurstLimit": 2}}
    assert count(compiled(buckets, settings), "/pets", "GET") == 2
    assert count(compiled(buckets, settings), "/pets", "GET") == 0


def test_without_settings_only_the_account_limit_applies():
    plans = compiled(MemoryState(ManualClock(1000.0)), {})
    assert count(plans, "/pets", "GET", tries=100) == 100

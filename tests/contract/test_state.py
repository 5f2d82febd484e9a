"""The contract every `SharedState` backend keeps (design principle 5), run against each backend with a
manual clock: atomic multi-bucket takes with the exact `rate * t + burst` bound, quota counting per
period, TTL caches of bytes with their bounds, flush by namespace, and the WebSocket connection registry.
Redis joins in both modes on a database of the run's own (tests/redis.py)."""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Callable
from typing import Any

import pytest

from apiway.core.clock import ManualClock
from apiway.state.api_keys import UNLIMITED
from apiway.state.base import ACCOUNT, SharedState
from apiway.state.memory import MemoryState
from apiway.state.redis_state import ACCURATE, BATCHED, RedisSettings, RedisState
from tests.redis import RedisDatabase


class Answered:
    """A backend whose takers and readers return awaitables, seen through plain calls: each awaited on a loop
    of the test's own. In batched mode every take first synchronises with Redis, so the contract's exact
    figures hold for what Redis decides."""

    def __init__(self, state: RedisState) -> None:
        self.state = state
        self.loop = asyncio.new_event_loop()
        state._syncing = self.loop.create_future()  # synchronised by the takes below, not by a timer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.state, name)

    def _run(self, call: Callable[[], Any]) -> Any:
        async def run() -> Any:
            if self.state.batched:
                await self.state.synchronise()
            answer = call()
            return await answer if inspect.isawaitable(answer) else answer

        return self.loop.run_until_complete(run())

    def taker(self, keys: Any) -> Callable[[], bool]:
        take = self.state.taker(keys)
        return lambda: self._run(take)

    def take(self, keys: Any) -> bool:
        return self._run(lambda: self.state.take(keys))

    def quota_taker(self, key: str, period: str, limit: int) -> Callable[[], bool]:
        take = self.state.quota_taker(key, period, limit)
        return lambda: bool(self._run(take))

    def quota_take(self, key: str, period: str, limit: int) -> bool:
        return self._run(lambda: self.state.quota_take(key, period, limit))

    def cache_reader(self, namespace: str) -> Callable[[Any], bytes | None]:
        read = self.state.cache_reader(namespace)
        return lambda key: self._run(lambda: read(key))

    def close(self) -> None:
        self.loop.run_until_complete(self.state.close())
        self.loop.close()


def _redis(mode: str) -> Callable[[ManualClock, pytest.FixtureRequest], Any]:
    def make(clock: ManualClock, request: pytest.FixtureRequest) -> Answered:
        database: RedisDatabase = request.getfixturevalue("redis_database")
        database.flush()
        answered = Answered(RedisState(RedisSettings(database.url, mode), clock))
        request.addfinalizer(answered.close)
        return answered

    return make


BACKENDS: dict[str, Callable[[ManualClock, pytest.FixtureRequest], Any]] = {
    "memory": lambda clock, request: MemoryState(clock), "redis-accurate": _redis(ACCURATE),
    "redis-batched": _redis(BATCHED)}
A, B, C = ("stage", "api", "prod", "pets/GET"), ("plan", "p1", "k1"), ("stage", "api", "prod", "orders/GET")


@pytest.fixture(params=sorted(BACKENDS))
def clock_and_state(request: pytest.FixtureRequest) -> tuple[ManualClock, SharedState]:
    clock = ManualClock(100.0)
    return clock, BACKENDS[request.param](clock, request)


@pytest.fixture
def clock(clock_and_state: tuple[ManualClock, SharedState]) -> ManualClock:
    return clock_and_state[0]


@pytest.fixture
def state(clock_and_state: tuple[ManualClock, SharedState]) -> SharedState:
    return clock_and_state[1]


# -- token buckets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "burst", "step", "seconds"), [
    (10.0, 5, 0.001, 5.0),
    (2.5, 3, 0.01, 7.0),
    (1000.0, 50, 0.0003, 1.0),  # steps that are not binary fractions: the refill sums drift
    (0.0, 4, 0.01, 2.0),  # rate 0: the burst, then nothing
    (0.5, 0, 0.01, 3.0),  # burst 0: nothing at all
])
def test_a_full_bucket_admits_exactly_rate_times_t_plus_burst(state, clock, rate, burst, step, seconds):
    state.configure_bucket(A, rate, burst)
    take = state.taker([A])
    start, passed = clock.monotonic(), 0
    steps = round(seconds / step)
    for i in range(steps + 1):
        clock.now = start + i * step
        passed += take()
    expected = math.floor(rate * steps * step + burst + 1e-6) if burst >= 1 else 0
    if getattr(state, "batched", False):  # counts reach Redis a synchronisation late: a full bucket's refill
        assert expected - 1 <= passed <= expected  # starts that much later (here one step: at most a token)
    else:
        assert passed == expected


def test_a_take_over_several_buckets_takes_from_all_or_from_none(state, clock):
    state.configure_bucket(A, 0.0, 3)
    state.configure_bucket(B, 0.0, 1)
    state.configure_bucket(C, 0.0, 5)
    assert state.take([A, B])  # A: 2 left, B: 0 left
    assert not state.take([A, B])  # B is empty: A keeps its tokens
    assert not state.take([A, B])
    assert state.take([A, C]) and state.take([A, C])  # A still had 2
    assert not state.take([A]) and state.take([C])
    assert [state.take([C]) for _ in range(3)] == [True, True, False]  # 5 - 2 - 1 = 2 were left


def test_a_refused_take_costs_no_bucket_anything_even_over_time(state, clock):
    """Bound on every bucket of a multi-take: each admits at most rate*t + burst, and a request one of them
    refuses is not counted by the others."""
    state.configure_bucket(A, 10.0, 2)
    state.configure_bucket(ACCOUNT, 1.0, 1)
    take_a, take_both = state.taker([A]), state.taker([A, ACCOUNT])
    passed_both = sum(take_both() for _ in range(5))  # the account has 1 token
    assert passed_both == 1
    assert sum(take_a() for _ in range(5)) == 1  # A gave one token to the pair, none to the refusals
    clock.advance(1.0)  # A: +10 tokens (cut to 2), account: +1
    assert take_both() and not take_both() and take_a()


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_a_resolved_take_over_any_number_of_buckets_is_all_or_nothing(state, clock, width):
    """The per-request form (`taker`) keeps the contract whatever its width: the emptiest bucket decides,
    and the others lose nothing to the refusals."""
    keys = [("stage", "api", "prod", f"m{i}") for i in range(width)]
    for i, key in enumerate(keys):
        state.configure_bucket(key, 1.0, 3 + i)  # the first is the emptiest
    take = state.taker(keys)
    assert [take() for _ in range(5)] == [True, True, True, False, False]
    for i, key in enumerate(keys[1:], 1):  # each still holds what the first one's refusals left it
        assert [state.take([key]) for _ in range(i + 1)] == [True] * i + [False]
    clock.advance(1.0)
    assert take() and not take()


def test_the_account_bucket_exists_from_the_start_and_can_be_reconfigured(state, clock):
    take = state.taker([ACCOUNT])
    assert all(take() for _ in range(100))  # AWS's default burst is 5,000
    state.configure_bucket(ACCOUNT, 0.0, 2)  # limits cut the tokens to the new burst
    assert [take(), take(), take()] == [True, True, False]


def test_reconfiguring_keeps_the_tokens_earned_and_never_refills(state, clock):
    state.configure_bucket(A, 1.0, 2)
    assert state.take([A]) and state.take([A]) and not state.take([A])
    state.configure_bucket(A, 1.0, 2)  # the same limits again (a redeploy): no refill
    state.configure_bucket(A, 2.0, 4)  # new limits: still no refill
    assert not state.take([A])
    clock.advance(1.0)
    assert state.take([A]) and state.take([A]) and not state.take([A])


def test_a_taker_resolved_before_a_reconfiguration_sees_the_new_limits(state, clock):
    state.configure_bucket(A, 0.0, 1)
    take = state.taker([A])
    assert take() and not take()
    state.configure_bucket(A, 5.0, 1)
    clock.advance(0.2)
    assert take()


def test_negative_limits_are_refused(state):
    with pytest.raises(ValueError, match="negative"):
        state.configure_bucket(A, -1.0, 1)


# -- quota counters ----------------------------------------------------------------------------------------


def test_a_quota_counts_down_to_zero_and_then_refuses_counting_nothing(state):
    assert [state.quota_take("p1/k1", "2024-05-01", 3) for _ in range(4)] == [True, True, True, False]
    assert state.quota_left("p1/k1", "2024-05-01") == 0
    assert state.quota_left("p1/k2", "2024-05-01") is None


def test_a_new_period_starts_with_the_whole_limit(state):
    state.quota_set("p1/k1", "2024-05-01", 1)  # what the store said was left (the first period's offset)
    assert state.quota_take("p1/k1", "2024-05-01", 10) and not state.quota_take("p1/k1", "2024-05-01", 10)
    assert state.quota_take("p1/k1", "2024-06-01", 10)
    assert state.quota_left("p1/k1", "2024-06-01") == 9
    assert state.quota_left("p1/k1", "2024-05-01") is None


def test_setting_a_quota_replaces_what_was_counted(state):
    """UpdateUsage: the gateway admits what the store now says is left."""
    state.quota_take("p1/k1", "2024-05-05", 5)
    state.quota_set("p1/k1", "2024-05-05", 0)
    assert not state.quota_take("p1/k1", "2024-05-05", 5)
    state.quota_set("p1/k1", "2024-05-05", 2)
    assert state.quota_take("p1/k1", "2024-05-05", 5) and state.quota_left("p1/k1", "2024-05-05") == 1


def test_a_resolved_quota_take_counts_in_its_own_period(state):
    """The per-request form (`quota_taker`): what `quota_set` says is left in its period reaches it; a
    take resolved for a new period counts from the whole limit and leaves the old one's alone."""
    may = state.quota_taker("p1/k1", "2024-05-01", 5)
    state.quota_set("p1/k1", "2024-05-01", 2)
    assert [may(), may(), may()] == [True, True, False]
    june = state.quota_taker("p1/k1", "2024-06-01", 5)
    assert june() and state.quota_left("p1/k1", "2024-06-01") == 4
    assert state.quota_take("p1/k1", "2024-06-01", 5) and state.quota_left("p1/k1", "2024-06-01") == 3


def test_a_plan_without_a_quota_is_counted_and_never_runs_out(state):
    """A usage plan without a quota counts `UNLIMITED` down; set again, as another node rebuilding its key index
    from the store does, it still reads back as a number."""
    state.quota_set("p1/k1", "2024-05-01", UNLIMITED)
    state.quota_set("p1/k1", "2024-05-01", UNLIMITED)
    assert all(state.quota_take("p1/k1", "2024-05-01", UNLIMITED) for _ in range(3))
    left = state.quota_left("p1/k1", "2024-05-01")
    assert left is not None and left > 10**12


# -- caches --------------------------------------------------------------------------------------------------


def test_a_cached_value_lives_exactly_its_ttl(state, clock):
    state.cache_put("stage", ("GET", "/pets"), b"body", 30)
    clock.advance(29.9)
    assert state.cache_get("stage", ("GET", "/pets")) == b"body"
    clock.advance(0.1)
    assert state.cache_get("stage", ("GET", "/pets")) is None


def test_keys_and_namespaces_never_mix(state):
    state.cache_put("a", ("GET", "x"), b"1", 60)
    state.cache_put("b", ("GET", "x"), b"2", 60)
    state.cache_put("a", "GET x", b"3", 60)
    assert [state.cache_get("a", ("GET", "x")), state.cache_get("b", ("GET", "x")), state.cache_get("a", "GET x"),
            state.cache_get("a", ("GETx",))] == [b"1", b"2", b"3", None]


def test_a_byte_bound_drops_the_least_recently_used_first(state):
    state.cache_configure("s", max_bytes=3 * (200 + 100 + 1))  # three entries of 100 bytes under 1-byte keys
    for key in "abc":
        state.cache_put("s", key, bytes(100), 60)
    assert state.cache_get("s", "a") is not None  # "b" is now the least recently used
    state.cache_put("s", "d", bytes(100), 60)
    assert [state.cache_get("s", k) is not None for k in "abcd"] == [True, False, True, True]
    state.cache_put("s", "huge", bytes(1000), 60)  # larger than the whole bound: not kept, nothing evicted
    assert state.cache_get("s", "huge") is None and state.cache_get("s", "c") is not None


def test_a_count_bound_drops_the_oldest_first(state):
    state.cache_configure("auth", max_entries=2)
    state.cache_put("auth", "a", b"1", 60)
    state.cache_put("auth", "b", b"2", 60)
    state.cache_put("auth", "a", b"3", 60)  # renewed: now the youngest
    state.cache_put("auth", "c", b"4", 60)
    assert [state.cache_get("auth", k) for k in "abc"] == [b"3", None, b"4"]


def test_a_count_bound_configured_again_keeps_its_entries_and_outlives_a_flush(state):
    """How the authorizer cache uses a namespace: every stage compile (on every node) configures it with the
    same count bound, which must not empty it; a flush empties it and the bound stays."""
    state.cache_configure("authorizers api/prod", max_entries=2)
    state.cache_put("authorizers api/prod", ("dep1", "auth1", "digest-a"), b"1", 60)
    state.cache_configure("authorizers api/prod", max_entries=2)  # another node compiles the stage
    assert state.cache_get("authorizers api/prod", ("dep1", "auth1", "digest-a")) == b"1"
    state.cache_flush("authorizers api/prod")
    assert state.cache_get("authorizers api/prod", ("dep1", "auth1", "digest-a")) is None
    for key in ("a", "b", "c"):
        state.cache_put("authorizers api/prod", ("dep1", "auth1", key), b"2", 60)
    assert state.cache_usage("authorizers api/prod")[0] == 2


def test_new_bounds_start_a_namespace_empty_and_the_same_bounds_keep_it(state):
    state.cache_configure("s", max_bytes=10_000)
    state.cache_put("s", "a", b"1", 60)
    state.cache_configure("s", max_bytes=10_000)  # a redeploy with the same cluster size
    assert state.cache_get("s", "a") == b"1"
    state.cache_configure("s", max_bytes=20_000)
    assert state.cache_get("s", "a") is None


def test_flush_empties_one_namespace_and_keeps_its_bounds(state):
    state.cache_configure("s", max_bytes=1_000)
    state.cache_put("s", "a", b"1", 60)
    state.cache_put("t", "a", b"2", 60)
    state.cache_flush("s")
    state.cache_flush("never-used")
    assert state.cache_get("s", "a") is None and state.cache_get("t", "a") == b"2"
    state.cache_put("s", "big", bytes(2_000), 60)
    assert state.cache_get("s", "big") is None


def test_a_resolved_reader_sees_puts_flushes_and_new_bounds(state, clock):
    read = state.cache_reader("s")
    assert read("a") is None
    state.cache_put("s", "a", b"1", 10)
    assert read("a") == b"1"
    state.cache_flush("s")
    assert read("a") is None
    state.cache_put("s", "a", b"2", 10)
    state.cache_configure("s", max_bytes=10_000)  # new bounds start empty, and the reader knows
    assert read("a") is None
    state.cache_put("s", ("GET", None, ("x", "y")), b"3", 10)  # None and nested tuples in a key
    assert read(("GET", None, ("x", "y"))) == b"3" and read(("GET", "", ("x", "y"))) is None
    clock.advance(10)
    assert read(("GET", None, ("x", "y"))) is None


def test_usage_counts_entries_and_their_bytes(state):
    assert state.cache_usage("s") == (0, 0)
    state.cache_configure("s", max_bytes=100_000)
    state.cache_put("s", "a", bytes(1000), 60)
    entries, used = state.cache_usage("s")
    assert entries == 1 and used >= 1000
    state.cache_put("s", "a", bytes(1000), 60)  # replaced: counted once
    assert state.cache_usage("s") == (1, used)
    state.cache_flush("s")
    assert state.cache_usage("s") == (0, 0)


# -- WebSocket connections --------------------------------------------------------------------------------------


def test_connections_are_registered_listed_by_stage_and_deleted(state):
    state.connection_put("c1", "api/prod", b'{"sourceIp":"1.2.3.4"}')
    state.connection_put("c2", "api/prod", b"{}")
    state.connection_put("c3", "api/dev", b"{}")
    assert state.connection_get("c1") == b'{"sourceIp":"1.2.3.4"}'
    assert state.connections("api/prod") == ["c1", "c2"] and state.connections("api/dev") == ["c3"]
    assert state.connection_delete("c1") and not state.connection_delete("c1")
    assert state.connection_get("c1") is None and state.connections("api/prod") == ["c2"]
    assert state.connections("other/prod") == []


def test_updating_a_connection_keeps_one_entry(state):
    state.connection_put("c1", "api/prod", b"1")
    state.connection_put("c1", "api/prod", b"2")
    assert state.connection_get("c1") == b"2" and state.connections("api/prod") == ["c1"]
    state.connection_put("c1", "api/dev", b"3")
    assert state.connections("api/prod") == [] and state.connections("api/dev") == ["c1"]

"""The gateway's view of API keys and usage plans (spec §1.11, §7.2-7.4) on a real SQLite store with an
injected clock: which keys a stage admits, quota periods aligned to UTC days, weeks (from Sunday) and
months with the first period's offset, counters that reach the store (from a thread of their own, the
event loop serving meanwhile) and are read back on a rebuild, and the API-key guard's order of checks
on a compiled stage."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from apiway.app import App
from apiway.config import Project
from apiway.core.clock import ManualClock
from apiway.core.errors import GatewayError
from apiway.core.http import HttpRequest
from apiway.core.invocation import Invocation
from apiway.runtime.compile import compile_stage
from apiway.runtime.deps import CompileDeps
from apiway.state import api_keys as access
from apiway.state.api_keys import UNLIMITED, AccessState, Grant
from apiway.state.memory import MemoryState
from apiway.store import usage
from apiway.store.changes import Changed
from apiway.store.deployments import stage_record
from apiway.store.kinds import API_KEY, USAGE_PLAN, USAGE_PLAN_KEY
from apiway.store.sqlite import SqliteStore
from tests.support import run_guards

API, STAGE = "api1", "prod"
VALUE = "a" * 20


def ms(when: str) -> int:
    """Epoch milliseconds of an ISO UTC time, `2024-05-01T12:00`."""
    return int(datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "state.db")


def put_key(store: SqliteStore, key_id: str = "k1", value: str = VALUE, enabled: bool = True) -> None:
    store.put_record(API_KEY, key_id, {"id": key_id, "value": value, "enabled": enabled})


def put_plan(store: SqliteStore, plan_id: str = "p1", stages: list[dict] | None = None, created: str = "2024-05-01",
             **settings: object) -> None:
    plan = {"id": plan_id, "name": plan_id, "apiStages": stages if stages is not None else [{"apiId": API,
                                                                                                "stage": STAGE}],
            "_createdDay": created, **settings}
    store.put_record(USAGE_PLAN, plan_id, plan)


def link(store: SqliteStore, plan_id: str = "p1", key_id: str = "k1") -> None:
    store.put_record(USAGE_PLAN_KEY, f"{plan_id}/{key_id}", {"usagePlanId": plan_id, "keyId": key_id})


def loaded(store: SqliteStore, when: str) -> AccessState:
    """The state as loaded at `when`; later counts carry their own times."""
    state = AccessState(MemoryState(), ManualClock(0.0, ms(when) / 1000))
    state.load(store)
    return state


def grant(state: AccessState, value: str = VALUE, api: str = API, stage: str = STAGE) -> Grant | None:
    return state.stage(api, stage).grants.get(value)


def admitted(state: AccessState, when: str, n: int) -> int:
    found = grant(state)
    assert found is not None
    return sum(state.count(found.quota, ms(when)) for _ in range(n))


# -- which keys a stage admits ------------------------------------------------------------------------


class CountingStore(SqliteStore):
    """A real SQLite store that counts whole-kind listings: an update of one key must not read them all."""

    listings = 0

    def list_records(self, kind: str) -> list:
        self.listings += 1
        return super().list_records(kind)


def test_a_change_to_one_key_updates_that_key_alone(tmp_path):
    store = CountingStore(tmp_path / "state.db")
    put_plan(store, "p1")
    put_plan(store, "p2", [{"apiId": API, "stage": "dev"}])
    for n in range(50):
        put_key(store, f"k{n:02d}", f"{n:02d}" + "v" * 20)
        link(store, "p1", f"k{n:02d}")
    state = loaded(store, "2024-05-02T10:00")
    prod = state.stage(API, STAGE)
    dev = state.stage(API, "dev")  # no key yet: its view is filled by the update below
    assert len(prod.grants) == 50 and dev.grants == {}
    store.listings = 0

    put_key(store, "new", VALUE)  # CreateApiKey, then CreateUsagePlanKey into both plans
    state.changed([Changed(API_KEY, "new")])
    assert VALUE not in prod.grants
    link(store, "p1", "new")
    link(store, "p2", "new")
    state.changed([Changed(USAGE_PLAN_KEY, "p1/new"), Changed(USAGE_PLAN_KEY, "p2/new")])
    assert prod.grants[VALUE].plan_id == "p1" and dev.grants[VALUE].plan_id == "p2"
    assert state.stage(API, "dev").grants is dev.grants

    put_key(store, "k00", "00" + "v" * 20, enabled=False)  # UpdateApiKey: disabled
    state.changed([Changed(API_KEY, "k00")])
    assert "00" + "v" * 20 not in prod.grants and len(prod.grants) == 50

    store.delete_record(USAGE_PLAN_KEY, "p1/new")  # DeleteUsagePlanKey
    state.changed([Changed(USAGE_PLAN_KEY, "p1/new")])
    assert VALUE not in prod.grants and VALUE in dev.grants
    assert store.listings == 0  # no whole-kind read for any of it

    store.put_record(USAGE_PLAN, "p2", {**store.get_record(USAGE_PLAN, "p2"), "apiStages": []})
    state.changed([Changed(USAGE_PLAN, "p2")])  # a plan changed: everything is rebuilt
    assert state.stage(API, "dev").grants == {} and store.listings > 0


def test_only_enabled_keys_of_plans_bound_to_the_stage_are_admitted(store):
    put_key(store, "k1", VALUE)
    put_key(store, "k2", "b" * 20, enabled=False)
    put_key(store, "k3", "c" * 20)  # in no plan
    put_key(store, "k4", "d" * 20)  # in a plan of another stage
    put_plan(store, "p1")
    put_plan(store, "p2", [{"apiId": API, "stage": "dev"}])
    link(store, "p1", "k1")
    link(store, "p1", "k2")
    link(store, "p2", "k4")
    state = loaded(store, "2024-05-02T10:00")
    assert set(state.stage(API, STAGE).grants) == {VALUE}
    assert set(state.stage(API, "dev").grants) == {"d" * 20}
    assert state.stage("other", STAGE).grants == {}
    found = grant(state)
    assert found is not None and (found.key_id, found.plan_id) == ("k1", "p1")


def test_a_stage_keeps_its_view_across_rebuilds(store):
    """A compiled method holds its StageAccess: a rebuild must refill that very object."""
    put_key(store)
    put_plan(store)
    state = loaded(store, "2024-05-02T10:00")
    view = state.stage(API, STAGE)
    assert view.grants == {}
    link(store)
    state.reload()
    assert state.stage(API, STAGE) is view and set(view.grants) == {VALUE}
    store.put_record(API_KEY, "k1", {"id": "k1", "value": VALUE, "enabled": False})
    state.reload()
    assert view.grants == {}


def test_one_quota_is_shared_by_every_stage_of_the_plan(store):
    put_key(store)
    put_plan(store, stages=[{"apiId": API, "stage": STAGE}, {"apiId": "api2", "stage": "dev"}],
             quota={"limit": 5, "offset": 0, "period": "DAY"})
    link(store)
    state = loaded(store, "2024-05-02T10:00")
    a, b = grant(state), grant(state, api="api2", stage="dev")
    assert a is not None and b is not None and a.quota is b.quota and a is not b


# -- quota periods ----------------------------------------------------------------------------------------


def quota_plan(store: SqliteStore, period: str, limit: int = 3, offset: int = 0, created: str = "2024-04-01") -> None:
    put_key(store)
    put_plan(store, quota={"limit": limit, "offset": offset, "period": period}, created=created)
    link(store)


def test_a_daily_quota_runs_out_at_its_limit_and_comes_back_at_utc_midnight(store):
    quota_plan(store, "DAY")
    state = loaded(store, "2024-05-02T10:00")
    assert admitted(state, "2024-05-02T10:00", 5) == 3
    assert admitted(state, "2024-05-02T23:59:59.999", 1) == 0
    assert admitted(state, "2024-05-03T00:00", 5) == 3


def test_a_weekly_quota_starts_on_sunday_utc(store):
    quota_plan(store, "WEEK")
    state = loaded(store, "2024-05-01T10:00")  # a Wednesday
    assert admitted(state, "2024-05-01T10:00", 2) == 2
    assert admitted(state, "2024-05-04T23:00", 5) == 1  # Saturday: same week
    assert admitted(state, "2024-05-05T00:00", 5) == 3  # Sunday: a new week


def test_a_monthly_quota_resets_on_the_first(store):
    quota_plan(store, "MONTH")
    state = loaded(store, "2024-05-30T10:00")
    assert admitted(state, "2024-05-30T10:00", 2) == 2
    assert admitted(state, "2024-05-31T23:00", 5) == 1
    assert admitted(state, "2024-06-01T00:00", 5) == 3


def test_the_offset_is_spent_in_the_plans_first_period_only(store):
    """§7.4 (current API reference): the offset is subtracted from the limit in the initial period."""
    quota_plan(store, "WEEK", limit=5, offset=2, created="2024-05-01")
    state = loaded(store, "2024-05-02T10:00")
    assert admitted(state, "2024-05-02T10:00", 9) == 3
    assert admitted(state, "2024-05-05T00:00", 9) == 5


def test_without_a_quota_usage_is_counted_and_nothing_refused(store):
    put_key(store)
    put_plan(store)
    link(store)
    state = loaded(store, "2024-05-02T10:00")
    assert admitted(state, "2024-05-02T10:00", 50) == 50
    found = grant(state)
    assert found is not None and state.left(found.quota) == UNLIMITED - 50
    state.flush().result()
    assert usage.usage(store, "p1", "k1", "2024-05-02") == 50


# -- counters in the store --------------------------------------------------------------------------------


def test_counts_reach_the_store_and_a_restart_reads_them_back(store):
    quota_plan(store, "MONTH", limit=10)
    state = loaded(store, "2024-05-02T10:00")
    assert admitted(state, "2024-05-02T10:00", 4) == 4
    assert usage.usage(store, "p1", "k1", "2024-05-02") == 0  # not written yet
    state.flush().result()
    assert usage.usage(store, "p1", "k1", "2024-05-02") == 4
    restarted = loaded(store, "2024-05-03T10:00")
    assert admitted(restarted, "2024-05-03T10:00", 10) == 6


def test_counts_are_written_behind_by_the_event_loop(store, monkeypatch):
    monkeypatch.setattr(access, "FLUSH_DELAY", 0.05)
    quota_plan(store, "DAY", limit=10)
    state = loaded(store, "2024-05-02T10:00")

    async def serve() -> list[int]:
        admitted(state, "2024-05-02T10:00", 3)
        seen = [usage.usage(store, "p1", "k1", "2024-05-02")]
        await asyncio.sleep(0.2)
        seen.append(usage.usage(store, "p1", "k1", "2024-05-02"))
        admitted(state, "2024-05-02T10:01", 2)  # a new round of counts schedules a new write
        await asyncio.sleep(0.2)
        return [*seen, usage.usage(store, "p1", "k1", "2024-05-02")]

    assert asyncio.run(serve()) == [0, 3, 5]


def test_each_days_counts_go_to_that_days_record(store):
    quota_plan(store, "WEEK", limit=10)
    state = loaded(store, "2024-05-01T10:00")
    admitted(state, "2024-05-01T23:00", 2)
    admitted(state, "2024-05-02T01:00", 3)
    state.flush().result()
    assert [usage.usage(store, "p1", "k1", d) for d in ("2024-05-01", "2024-05-02")] == [2, 3]
    assert usage.remaining(store, "p1", "k1", "2024-05-02", {"limit": 10, "offset": 0, "period": "WEEK"}) == 5


def test_a_rebuild_writes_pending_counts_then_reads_a_new_remaining(store):
    """UpdateUsage: the control plane flushes, sets `remaining` in the store, then the rebuild reads it."""
    quota_plan(store, "DAY", limit=10)
    state = loaded(store, "2024-05-02T10:00")
    admitted(state, "2024-05-02T10:00", 4)
    state.flush().result()
    usage.set_remaining(store, "p1", "k1", "2024-05-02", 2)
    state.reload()
    assert admitted(state, "2024-05-02T10:05", 5) == 2
    state.reload()  # the two counted requests were written, not lost, by the rebuild
    assert usage.usage(store, "p1", "k1", "2024-05-02") == 6
    assert admitted(state, "2024-05-02T10:06", 1) == 0


def test_counts_of_a_key_removed_from_its_plan_are_dropped(store):
    quota_plan(store, "DAY", limit=10)
    state = loaded(store, "2024-05-02T10:00")
    admitted(state, "2024-05-02T10:00", 3)
    store.delete_record(USAGE_PLAN_KEY, "p1/k1")
    usage.forget(store, "p1", "k1")
    state.reload()
    assert grant(state) is None
    assert store.list_records(usage.KIND) == []


def test_a_quota_change_applies_to_the_current_period(store):
    quota_plan(store, "DAY", limit=10)
    state = loaded(store, "2024-05-02T10:00")
    admitted(state, "2024-05-02T10:00", 4)
    put_plan(store, quota={"limit": 5, "offset": 0, "period": "DAY"}, created="2024-04-01")
    state.reload()
    assert admitted(state, "2024-05-02T10:01", 9) == 1


class SlowStore(SqliteStore):
    """A store whose counter writes take `delay` seconds each and fail while `failing` names their key."""

    delay = 0.0
    failing = ""
    writes: list[tuple[float, float]]  # (start, end) of each write, monotonic

    def increment(self, kind: str, key: str, field: str, n: int, initial: dict | None = None) -> int:
        start = time.monotonic()
        time.sleep(self.delay)
        if self.failing and key.startswith(self.failing):
            raise OSError("disk full")
        found = super().increment(kind, key, field, n, initial)
        self.writes.append((start, time.monotonic()))
        return found


@pytest.fixture
def slow(tmp_path: Path) -> SlowStore:
    store = SlowStore(tmp_path / "slow.db")
    store.writes = []
    return store


def test_the_loop_keeps_serving_while_counts_are_written(slow, monkeypatch):
    """The write of the counts runs in the writer thread: a timer on the loop keeps firing meanwhile."""
    monkeypatch.setattr(access, "FLUSH_DELAY", 0.01)
    quota_plan(slow, "DAY", limit=10)
    state = loaded(slow, "2024-05-02T10:00")
    slow.delay = 0.3

    async def serve() -> list[float]:
        loop = asyncio.get_running_loop()
        ticks: list[float] = []

        def tick() -> None:
            ticks.append(time.monotonic())
            loop.call_later(0.01, tick)

        tick()
        assert admitted(state, "2024-05-02T10:00", 3) == 3  # written behind FLUSH_DELAY later
        deadline = time.monotonic() + 5
        while usage.usage(slow, "p1", "k1", "2024-05-02") != 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        return ticks

    ticks = asyncio.run(serve())
    [(start, end)] = slow.writes
    during = [t for t in ticks if start <= t <= end]
    assert end - start >= 0.3 and len(during) >= 10  # ~30 ticks of 10 ms while the write ran
    assert usage.usage(slow, "p1", "k1", "2024-05-02") == 3


def test_a_failed_write_is_retried_by_the_next_and_nothing_is_counted_twice(slow):
    quota_plan(slow, "DAY", limit=10)
    put_key(slow, "k2", "b" * 20)
    link(slow, "p1", "k2")
    state = loaded(slow, "2024-05-02T10:00")
    first, second = grant(state), grant(state, "b" * 20)
    assert first is not None and second is not None
    for _ in range(3):
        state.count(first.quota, ms("2024-05-02T10:00"))
    state.count(second.quota, ms("2024-05-02T10:00"))
    slow.failing = "p1/k2/"  # k1's row is written, then k2's fails: the transaction writes neither
    with pytest.raises(OSError):
        state.flush().result()
    assert [usage.usage(slow, "p1", k, "2024-05-02") for k in ("k1", "k2")] == [0, 0]
    state.count(first.quota, ms("2024-05-02T23:00"))
    state.count(second.quota, ms("2024-05-03T01:00"))  # the new day's flush fails too; its counts wait
    slow.failing = ""
    state.flush().result()
    assert [usage.usage(slow, "p1", k, d) for k, d in (("k1", "2024-05-02"), ("k2", "2024-05-02"),
                                                       ("k2", "2024-05-03"))] == [4, 1, 1]
    state.flush().result()  # nothing left over: written once
    assert usage.usage(slow, "p1", "k1", "2024-05-02") == 4


def test_get_usage_and_shutdown_wait_until_the_counts_are_written(slow):
    """The control plane's `flush_usage` (GetUsage, UpdateUsage) waits in its own thread, the loop
    serving; the app's close waits too."""
    quota_plan(slow, "DAY", limit=10)
    app = App(Project(Path("apiway.yaml"), [], []), clock=ManualClock(0.0, ms("2024-05-02T10:00") / 1000))
    app.access.load(slow)
    found = grant(app.access)
    assert found is not None
    slow.delay = 0.2

    def get_usage() -> int:  # the control plane's thread
        app.flush_usage()
        return usage.usage(slow, "p1", "k1", "2024-05-02")

    async def serve() -> tuple[int, int]:
        app.handoff.bind()
        for _ in range(3):
            app.access.count(found.quota, ms("2024-05-02T10:00"))
        seen = await asyncio.to_thread(get_usage)
        for _ in range(2):
            app.access.count(found.quota, ms("2024-05-02T10:01"))
        await app.close()
        return seen, usage.usage(slow, "p1", "k1", "2024-05-02")

    assert asyncio.run(serve()) == (3, 5)


# -- throttle buckets -------------------------------------------------------------------------------------


def test_method_limits_beat_the_plan_throttle_and_all_methods_get_their_own_bucket(store):
    put_key(store)
    put_plan(store, stages=[{"apiId": API, "stage": STAGE, "throttle": {
        "/pets/GET": {"rateLimit": 1.0, "burstLimit": 2}, "/*/*": {"rateLimit": 3.0, "burstLimit": 4}}}],
        throttle={"rateLimit": 5.0, "burstLimit": 6})
    put_plan(store, "p2", stages=[{"apiId": API, "stage": "dev"}], throttle={"rateLimit": 5.0, "burstLimit": 6})
    put_plan(store, "p3", stages=[{"apiId": API, "stage": "test"}])
    for plan in ("p1", "p2", "p3"):
        link(store, plan)
    state = loaded(store, "2024-05-02T10:00")
    view = state.stage(API, STAGE)
    found = view.grants[VALUE]
    buckets = state.state
    assert isinstance(buckets, MemoryState)
    pets = state.plan_bucket(found, view, "/pets/GET")
    orders, users = state.plan_bucket(found, view, "/orders/GET"), state.plan_bucket(found, view, "/users/GET")
    limits = {key: (bucket.rate, bucket.burst) for key, bucket in buckets._buckets.items()}
    assert pets is not None and limits[pets] == (1.0, 2)
    assert orders is not None and users is not None and orders != users and limits[orders] == limits[users] == (3.0, 4)
    takers = {m: state.taker(found, view, m, ()) for m in ("/pets/GET", "/orders/GET", "/users/GET")}
    assert found.takers == takers and all(takers.values())
    dev = state.stage(API, "dev")
    assert state.plan_bucket(dev.grants[VALUE], dev, "/pets/GET") == ("plan", "p2", "k1")
    test = state.stage(API, "test")
    assert state.plan_bucket(test.grants[VALUE], test, "/pets/GET") is None
    assert state.taker(test.grants[VALUE], test, "/pets/GET", ()) is None


# -- the guard on a compiled stage -------------------------------------------------------------------------

MOCK = {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "integrationResponses": {"200": {"statusCode": "200"}}}


class NoFunctions:
    def has(self, name: str) -> bool:
        return False


def compiled(state: AccessState, key_source: str = "HEADER", shared: MemoryState | None = None):
    def method(verb: str, required: bool) -> dict:
        return {"httpMethod": verb, "authorizationType": "NONE", "apiKeyRequired": required, "methodIntegration": MOCK}

    definition = {
        "restApi": {"id": API, "name": "keys", "apiKeySource": key_source},
        "resources": {"r1": {"id": "r1", "path": "/pets", "resourceMethods": {"GET": method("GET", True),
                                                                              "POST": method("POST", False)}}},
        "gatewayResponses": {}, "models": {}, "requestValidators": {}, "authorizers": {},
    }
    deps = CompileDeps(invoker=NoFunctions(), pool=None, access=state, state=shared)  # type: ignore[arg-type]
    runtime = compile_stage(definition, stage_record(API, STAGE, "dep1", {}), deps)  # type: ignore[arg-type]
    return runtime, {plan.http_method: plan for plan in runtime.plans}


def invocation(runtime, plan, headers: list[tuple[str, str]], when: str = "2024-05-02T10:00") -> Invocation:
    inv = Invocation(HttpRequest(plan.http_method, "/prod/pets", "", headers, b""), runtime, plan, {}, "/pets",
                     "/prod/pets", "r")
    inv.epoch_ms = ms(when)
    return inv


def outcome(inv: Invocation) -> str:
    try:
        run_guards(inv.plan.guards, inv)
    except GatewayError as err:
        return err.response_type
    return "ok"


def test_the_guard_checks_key_then_throttle_then_quota(store):
    put_key(store)
    put_key(store, "k2", "b" * 20, enabled=False)
    put_plan(store, throttle={"rateLimit": 0.0, "burstLimit": 4}, quota={"limit": 2, "offset": 0, "period": "DAY"})
    link(store)
    link(store, "p1", "k2")
    state = loaded(store, "2024-05-02T10:00")
    runtime, plans = compiled(state)
    get = plans["GET"]
    assert outcome(invocation(runtime, get, [])) == "INVALID_API_KEY"
    assert outcome(invocation(runtime, get, [("X-API-Key", "z" * 20)])) == "INVALID_API_KEY"
    assert outcome(invocation(runtime, get, [("x-api-key", "b" * 20)])) == "INVALID_API_KEY"
    inv = invocation(runtime, get, [("X-Api-Key", VALUE)])
    assert outcome(inv) == "ok"
    assert inv.identity == {"apiKey": VALUE, "apiKeyId": "k1"}
    assert outcome(invocation(runtime, get, [("x-api-key", VALUE)])) == "ok"
    assert outcome(invocation(runtime, get, [("x-api-key", VALUE)])) == "QUOTA_EXCEEDED"  # it passed the throttles: token 3 is spent
    assert outcome(invocation(runtime, get, [("x-api-key", VALUE)], "2024-05-03T00:00")) == "ok"
    assert outcome(invocation(runtime, get, [("x-api-key", VALUE)], "2024-05-03T00:00")) == "THROTTLED"
    quota = state.stage(API, STAGE).grants[VALUE].quota
    assert state.left(quota) == 1  # the throttled request was not counted


def test_a_request_the_stage_refuses_costs_the_plan_bucket_nothing(store):
    """The plan's, the method's and the account's buckets are taken at once: all give a token or none."""
    put_key(store)
    put_plan(store, throttle={"rateLimit": 0.0, "burstLimit": 3})
    link(store)
    state = loaded(store, "2024-05-02T10:00")
    shared = state.state
    assert isinstance(shared, MemoryState)
    shared.set_account_limits(0.0, 1)
    runtime, plans = compiled(state, shared=shared)
    outcomes = [outcome(invocation(runtime, plans["GET"], [("x-api-key", VALUE)])) for _ in range(3)]
    assert outcomes == ["ok", "THROTTLED", "THROTTLED"]  # the account ran out after one
    assert shared._buckets[("plan", "p1", "k1")].tokens == pytest.approx(2.0)
    shared.set_account_limits(1e9, 5)  # refilled at once
    outcomes = [outcome(invocation(runtime, plans["GET"], [("x-api-key", VALUE)])) for _ in range(3)]
    assert outcomes == ["ok", "ok", "THROTTLED"]  # now the plan's two tokens decide


def test_methods_without_api_key_required_are_not_metered(store):
    quota_plan(store, "DAY", limit=1)
    state = loaded(store, "2024-05-02T10:00")
    runtime, plans = compiled(state)
    for headers in ([], [("x-api-key", VALUE)], [("x-api-key", "z" * 20)]):
        inv = invocation(runtime, plans["POST"], headers)
        assert outcome(inv) == "ok" and inv.identity is None
    assert outcome(invocation(runtime, plans["GET"], [("x-api-key", VALUE)])) == "ok"  # the quota is all there


def test_with_key_source_authorizer_the_header_is_ignored(store):
    quota_plan(store, "DAY", limit=10)
    state = loaded(store, "2024-05-02T10:00")
    runtime, plans = compiled(state, "AUTHORIZER")
    assert outcome(invocation(runtime, plans["GET"], [("x-api-key", VALUE)])) == "INVALID_API_KEY"
    inv = invocation(runtime, plans["GET"], [])
    inv.identity = {"apiKey": VALUE, "caller": "c"}
    assert outcome(inv) == "ok"
    assert inv.identity == {"apiKey": VALUE, "caller": "c", "apiKeyId": "k1"}

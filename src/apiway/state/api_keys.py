"""What the gateway knows of API keys and usage plans (spec §1.11, §7.3-7.4): for each API stage, the
enabled keys of the usage plans bound to it, by key value, with their plan's throttles and quota.

Built from the store at start (`reload`) and kept up to date on the store's change events: a change to a key, a
plan key or a key's usage re-reads that key alone (with 100,000 keys a rebuild reads every key, link and quota:
seconds), a change to a plan rebuilds everything. Stages hold on to their `StageAccess` across rebuilds, so a
compiled method keeps seeing the current keys without being recompiled.

Quota counters live in the shared state (`SharedState.quota_taker`: one atomic check-and-count per
request), not in the store, so a quota runs out exactly at its limit however many clients race. This
index keeps what the counters need (period, limit) and the counts not yet written. Counts reach the
store's usage records (store/usage.py) within `FLUSH_DELAY` seconds, before every rebuild and at
shutdown (`flush`), so they survive a restart and GetUsage reports them; a rebuild sets every counter
to what the store says is left, which is how UpdateUsage changes what the gateway admits.

The loop's thread only takes the counts; one writer thread of its own writes them (`_write`). With many
keys a write is tens of thousands of rows, a third of a second: on the loop, every request would wait
for it. One thread, so writes never overlap and land in the order taken; like every thread it has its
own store connection. A write that fails keeps its counts for the next one: none lost, none twice.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from apiway.core.clock import SYSTEM_CLOCK, Clock
from apiway.observe.log import log
from apiway.state.base import BucketKey, SharedState
from apiway.store import usage
from apiway.store.base import Store
from apiway.store.changes import Changed
from apiway.store.kinds import API_KEY, USAGE_PLAN, USAGE_PLAN_KEY

FLUSH_DELAY = 1.0  # seconds a count may wait before it is written
UNLIMITED = 1 << 62  # the `left` of a plan without a quota: usage is counted, nothing is refused
ALL_METHODS = "/*/*"
_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)
_KINDS = frozenset({API_KEY, USAGE_PLAN, USAGE_PLAN_KEY, usage.KIND})  # what the index is built from

Row = tuple[str, str, str, int]  # plan id, key id, UTC day, requests to add to that day's record


class Quota:
    """One key's quota under one plan, shared by every stage of the plan: its counter's key and current
    period in the shared state, and the requests of the current UTC day not yet written to the store."""

    __slots__ = ("counter", "day", "day_end_ms", "key_id", "limit", "period", "period_start", "plan_id", "take",
                 "unsaved")

    def __init__(self, plan_id: str, key_id: str, quota: dict[str, Any] | None, day: date, state: SharedState) -> None:
        self.plan_id = plan_id
        self.key_id = key_id
        self.counter = f"{plan_id}/{key_id}"  # the counter's key in the shared state
        self.limit = quota["limit"] if quota else UNLIMITED
        self.period = quota["period"] if quota else "DAY"
        self.day = day
        self.day_end_ms = ((day - _EPOCH).days + 1) * _DAY_MS
        self.period_start = usage.period_start(day, self.period).isoformat()
        self.unsaved = 0
        # this period's check-and-count (its answer awaited when the state is remote)
        self.take: Callable[[], Any] = state.quota_taker(self.counter, self.period_start, self.limit)

    def next_day(self, now_ms: int, state: SharedState) -> None:
        """Move to the UTC day of `now_ms`. A new period is a new counter, which starts with the whole
        limit (the offset only ever applies to the plan's first period, begun before any counter existed)."""
        self.day = _EPOCH + timedelta(days=now_ms // _DAY_MS)
        self.day_end_ms = (now_ms // _DAY_MS + 1) * _DAY_MS
        period_start = usage.period_start(self.day, self.period).isoformat()
        if period_start != self.period_start:
            self.period_start = period_start
            self.take = state.quota_taker(self.counter, period_start, self.limit)


class Grant:
    """An enabled key's admission to one API stage through its usage plan."""

    __slots__ = ("key_id", "method_throttles", "plan_id", "quota", "takers", "throttle")

    def __init__(self, key: dict[str, Any], plan: dict[str, Any], api_stage: dict[str, Any], quota: Quota) -> None:
        self.key_id: str = key["id"]
        self.plan_id: str = plan["id"]
        self.quota = quota
        self.throttle = _limits(plan.get("throttle"))
        self.method_throttles = {k: _limits(v) for k, v in (api_stage.get("throttle") or {}).items()}  # `/pets/GET`
        self.takers: dict[str, Callable[[], bool] | None] = {}  # method key → its throttle take, resolved on first use


class StageAccess:
    """The keys admitted to one API stage, by key value."""

    __slots__ = ("api_id", "grants", "stage_name")

    def __init__(self, api_id: str, stage_name: str) -> None:
        self.api_id = api_id
        self.stage_name = stage_name
        self.grants: dict[str, Grant] = {}


class AccessState:
    def __init__(self, state: SharedState, clock: Clock = SYSTEM_CLOCK) -> None:
        self.state = state  # the plans' throttle buckets and quota counters live there
        self.clock_ms = clock.wall_ms  # wall-clock milliseconds: quota periods follow UTC calendar days
        self.store: Store | None = None
        self._stages: dict[tuple[str, str], StageAccess] = {}
        self._bindings: dict[tuple[str, str], dict[str, Grant]] = {}  # (apiId, stage) → key value → grant
        # What the bindings are built from, kept for updates one key at a time.
        self._keys: dict[str, dict[str, Any]] = {}
        self._plans: dict[str, dict[str, Any]] = {}
        self._links: dict[str, set[str]] = {}  # key id → ids of the plans it is in
        self._granted: dict[str, list[tuple[tuple[str, str], str]]] = {}  # key id → (stage, key value) it holds
        self._dirty: list[Quota] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-writer")  # see the module's doc
        self._unwritten: list[Row] = []  # counts a failed write left for the next one; the writer's alone
        # Stages are compiled in the control plane's thread (`stage`) while the loop's rebuilds refill them.
        self._stages_lock = threading.Lock()

    def stage(self, api_id: str, stage_name: str) -> StageAccess:
        """The stage's view, kept for the life of the process and refilled by every rebuild."""
        with self._stages_lock:
            found = self._stages.get((api_id, stage_name))
            if found is None:
                found = self._stages[(api_id, stage_name)] = StageAccess(api_id, stage_name)
                found.grants = self._bindings.get((api_id, stage_name), {})
            return found

    def load(self, store: Store) -> None:
        self.store = store
        self.reload()

    def changed(self, changes: Sequence[Changed]) -> None:
        """Store subscription: a plan changed, rebuild; keys, their links or their usage changed, update those keys."""
        relevant = [change for change in changes if change.kind in _KINDS]
        if not relevant or self.store is None:
            return
        if any(change.kind == USAGE_PLAN for change in relevant):
            self.reload()
        else:
            self._update(relevant)

    def reload(self) -> None:
        """Rebuild from the store: counts not yet written are written first (those of a key that left
        its plan are dropped with the key's usage records), then every counter is read back."""
        store = self.store
        if store is None:
            return
        links: dict[str, set[str]] = {}
        for link in store.list_records(USAGE_PLAN_KEY):
            links.setdefault(link["keyId"], set()).add(link["usagePlanId"])
        self._links = links
        linked = _Linked(links)
        self._dirty = [q for q in self._dirty if (q.plan_id, q.key_id) in linked]
        self.flush(linked).result()  # the counters are read back below: rare (a control-plane change), so it waits
        self._keys = {key["id"]: key for key in store.list_records(API_KEY)}
        self._plans = {plan["id"]: plan for plan in store.list_records(USAGE_PLAN)}
        today = self._today()
        bindings: dict[tuple[str, str], dict[str, Grant]] = {}
        granted: dict[str, list[tuple[tuple[str, str], str]]] = {}
        for key_id in sorted(links):
            held = granted[key_id] = []
            for where, value, grant in self._grants_of(key_id, today):
                grants = bindings.setdefault(where, {})
                if value not in grants:
                    grants[value] = grant
                    held.append((where, value))
        with self._stages_lock:
            self._bindings = bindings
            self._granted = granted
            for where, stage in self._stages.items():
                stage.grants = bindings.get(where, {})

    def _update(self, changes: Sequence[Changed]) -> None:
        """Re-read the keys these changes concern (their record, their links, their quotas) and re-grant them alone."""
        store = self.store
        assert store is not None
        touched: set[str] = set()
        for change in changes:
            if change.kind == API_KEY:
                key = store.get_record(API_KEY, change.key)
                if key is None:
                    self._keys.pop(change.key, None)
                else:
                    self._keys[change.key] = key
                touched.add(change.key)
            elif change.kind == USAGE_PLAN_KEY:  # key "planId/keyId"
                plan_id, _, key_id = change.key.partition("/")
                if store.get_record(USAGE_PLAN_KEY, change.key) is None:
                    self._links.get(key_id, set()).discard(plan_id)
                else:
                    self._links.setdefault(key_id, set()).add(plan_id)
                touched.add(key_id)
            else:  # a usage record, "planId/keyId/day" (UpdateUsage)
                parts = change.key.split("/")
                if len(parts) == 3:
                    touched.add(parts[1])
        linked = _Linked(self._links)
        self._dirty = [q for q in self._dirty if (q.plan_id, q.key_id) in linked]
        self.flush(linked).result()  # their counters are read back below
        today = self._today()
        fresh = {key_id: self._grants_of(key_id, today) for key_id in touched}
        with self._stages_lock:
            for key_id, grants_of in fresh.items():
                for where, value in self._granted.pop(key_id, ()):
                    held_by = self._bindings.get(where, {}).get(value)
                    if held_by is not None and held_by.key_id == key_id:
                        del self._bindings[where][value]
                held = self._granted[key_id] = []
                for where, value, grant in grants_of:
                    grants = self._bindings.get(where)
                    if grants is None:
                        grants = self._bindings[where] = {}
                        if where in self._stages:
                            self._stages[where].grants = grants
                    if value not in grants:
                        grants[value] = grant
                        held.append((where, value))

    def _grants_of(self, key_id: str, today: date) -> list[tuple[tuple[str, str], str, Grant]]:
        """(stage, key value, grant) for each stage an enabled key's plans admit it to; a key in two plans of one
        stage: the first plan (by id) wins. Reads the key's quota counters from the store."""
        key = self._keys.get(key_id)
        if key is None or not key.get("enabled"):
            return []
        out = []
        for plan_id in sorted(self._links.get(key_id, ())):
            plan = self._plans.get(plan_id)
            if plan is None:
                continue
            quota = _read_quota(self.store, plan, key_id, today, self.state)  # type: ignore[arg-type]
            out += [((s["apiId"], s["stage"]), key["value"], Grant(key, plan, s, quota)) for s in plan["apiStages"]]
        return out

    def _today(self) -> date:
        return _EPOCH + timedelta(days=self.clock_ms() // _DAY_MS)

    # -- per request ------------------------------------------------------------------------------

    def plan_bucket(self, grant: Grant, stage: StageAccess, method: str) -> BucketKey | None:
        """The bucket a grant's requests to `method` take from, configured: the plan's limits for that
        method (or its `/*/*` limits, each method a bucket of its own) for this key, else the plan's
        throttle for this key across all its stages, else none."""
        limits = grant.method_throttles.get(method) or grant.method_throttles.get(ALL_METHODS)
        if limits is not None:
            key: BucketKey = ("plan", grant.plan_id, grant.key_id, stage.api_id, stage.stage_name, method)
        else:
            limits, key = grant.throttle, ("plan", grant.plan_id, grant.key_id)
        if limits is None:
            return None
        self.state.configure_bucket(key, *limits)
        return key

    def taker(self, grant: Grant, stage: StageAccess, method: str,
              also: tuple[BucketKey, ...]) -> Callable[[], bool] | None:
        """The one atomic take of a grant's request to `method`: its plan bucket plus `also` (the stage's
        and the account's), None when no bucket applies. Resolved once per grant and method."""
        plan = self.plan_bucket(grant, stage, method)
        keys = also if plan is None else (plan, *also)
        take = self.state.taker(keys) if keys else None
        grant.takers[method] = take
        return take

    def count(self, quota: Quota, now_ms: int) -> bool:
        """Count one request against the quota at `now_ms`; False, counting nothing, when none is left."""
        if now_ms >= quota.day_end_ms:
            if quota.unsaved:
                self._flush_behind()  # the finished day's counts go to that day's record
            quota.next_day(now_ms, self.state)
        if not quota.take():
            return False
        if not quota.unsaved:
            self._dirty.append(quota)
            if self._timer is None:
                self._schedule()
        quota.unsaved += 1
        return True

    def roll(self, quota: Quota, now_ms: int) -> None:
        """`count`'s first half, for a take answered remotely: a new UTC day moves the quota on."""
        if now_ms >= quota.day_end_ms:
            if quota.unsaved:
                self._flush_behind()
            quota.next_day(now_ms, self.state)

    def counted(self, quota: Quota) -> None:
        """`count`'s second half: one request to write to the store."""
        if not quota.unsaved:
            self._dirty.append(quota)
            if self._timer is None:
                self._schedule()
        quota.unsaved += 1

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # counted outside the server (tools, tests): written by an explicit flush()
            return
        self._timer = loop.call_later(FLUSH_DELAY, self._flush_behind)

    def left(self, quota: Quota) -> int:
        """What is left of the quota in its current period (GetUsage reads the store instead)."""
        left = self.state.quota_left(quota.counter, quota.period_start)
        return quota.limit if left is None else left

    # -- persistence --------------------------------------------------------------------------------

    def flush(self, keep: Collection[tuple[str, str]] | None = None) -> Future[None]:
        """Hand every count not yet written to the writer thread; done once they are in the store's usage
        records (one transaction), or failed (the next flush writes them). Only the (plan, key) pairs in
        `keep`, when given, are written of the counts an earlier failed write left."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        dirty, self._dirty = self._dirty, []
        rows = [(quota.plan_id, quota.key_id, quota.day.isoformat(), quota.unsaved) for quota in dirty]
        for quota in dirty:
            quota.unsaved = 0  # the row carries them now, with the day they were counted on
        return self._writer.submit(self._write, rows, keep)

    def _flush_behind(self) -> None:
        """`flush` without waiting: a failed write is logged, and its counts go with the next one."""
        self.flush().add_done_callback(_report)

    def _write(self, rows: list[Row], keep: Collection[tuple[str, str]] | None) -> None:
        """On the writer thread: these counts and those a failed write left, in one transaction."""
        left = self._unwritten if keep is None else [row for row in self._unwritten if row[:2] in keep]
        rows, self._unwritten = left + rows, []
        if not rows or self.store is None:
            return
        try:
            with self.store.transaction():
                for plan_id, key_id, day, count in rows:
                    usage.record_use(self.store, plan_id, key_id, day, count)
        except BaseException:
            self._unwritten = rows  # nothing was written: the next flush tries again
            raise


class _Linked:
    """The (plan id, key id) pairs of the links, as a collection to test pairs against."""

    __slots__ = ("_links",)

    def __init__(self, links: dict[str, set[str]]) -> None:
        self._links = links

    def __contains__(self, pair: object) -> bool:
        if not isinstance(pair, tuple) or len(pair) != 2:
            return False
        return pair[0] in self._links.get(pair[1], ())

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((plan_id, key_id) for key_id, plans in self._links.items() for plan_id in plans)

    def __len__(self) -> int:
        return sum(len(plans) for plans in self._links.values())


def _report(written: Future[None]) -> None:
    exc = written.exception()
    if exc is not None:
        log("ERROR", "usage counts not written; the next write retries them", error=repr(exc))


def _limits(throttle: dict[str, Any] | None) -> tuple[float, int] | None:
    """(rate, burst) of ThrottleSettings; a negative limit means none (as stage throttling reads it)."""
    if not throttle:
        return None
    rate, burst = float(throttle.get("rateLimit") or 0), int(throttle.get("burstLimit") or 0)
    return None if rate < 0 or burst < 0 else (rate, burst)


def _read_quota(store: Store, plan: dict[str, Any], key_id: str, today: date, state: SharedState) -> Quota:
    """The key's quota under the plan, its counter set to what the store says is left today."""
    quota = plan.get("quota")
    created = plan.get("_createdDay")
    left = usage.remaining(store, plan["id"], key_id, today.isoformat(), quota,
                           date.fromisoformat(created) if created else None) if quota else UNLIMITED
    found = Quota(plan["id"], key_id, quota, today, state)
    # reaches the counter `found.take` holds; the anchor tells a shared state an UpdateUsage from lagging counts
    shared = state.remote_reads  # another process's state: its counters may be ahead of the store
    state.quota_set(found.counter, found.period_start, left,
                    usage.anchor(store, plan["id"], key_id, found.period_start, today.isoformat()) if shared else None)
    return found

"""Usage-plan quota counters, shared by the control plane (GetUsage, UpdateUsage) and the runtime
enforcement that counts requests.

Layout: one record per (usage plan, API key, UTC day) under store kind ``"usage"``, keyed
``"{planId}/{keyId}/{yyyy-MM-dd}"``::

    {"usagePlanId": "abc123", "keyId": "k1", "day": "2024-05-01", "used": 17,
     "remaining": 80, "usedAtSet": 12}

``used`` counts the requests made that day. ``remaining`` and ``usedAtSet`` appear only once
UpdateUsage (``set_remaining``) has set the remaining quota of the period on that day: from then on
the period's remaining quota is ``remaining`` minus the requests made since (``used - usedAtSet``
that day, plus every later day of the period). Without such a reset a period's remaining quota is
the plan's ``quota.limit`` (less ``quota.offset`` in the plan's first period) minus what the
period's days used. Periods follow UTC calendar boundaries: a day, a week starting on Sunday, a
month.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from apiway.store.base import Store

KIND = "usage"


def _key(plan_id: str, key_id: str, day: str) -> str:
    return f"{plan_id}/{key_id}/{day}"


def _record(store: Store, plan_id: str, key_id: str, day: str) -> dict[str, Any]:
    found = store.get_record(KIND, _key(plan_id, key_id, day))
    return found or {"usagePlanId": plan_id, "keyId": key_id, "day": day, "used": 0}


def record_use(store: Store, plan_id: str, key_id: str, day: str, count: int = 1) -> int:
    """Count `count` requests of a key under a plan on `day`; returns that day's total. An atomic increment:
    several writers (nodes) may count the same key at once."""
    initial = {"usagePlanId": plan_id, "keyId": key_id, "day": day, "used": 0}
    return store.increment(KIND, _key(plan_id, key_id, day), "used", count, initial)


def usage(store: Store, plan_id: str, key_id: str, day: str) -> int:
    """Requests a key made under a plan on `day`."""
    return _record(store, plan_id, key_id, day)["used"]


def set_remaining(store: Store, plan_id: str, key_id: str, day: str, remaining: int) -> None:
    """Set the key's remaining quota for the period that contains `day`, as of now."""
    with store.transaction():
        record = _record(store, plan_id, key_id, day)
        record["remaining"] = remaining
        record["usedAtSet"] = record["used"]
        record["setAt"] = time.time_ns() // 1_000_000  # orders the sets for a shared quota counter (`anchor`)
        store.put_record(KIND, _key(plan_id, key_id, day), record)


def anchor(store: Store, plan_id: str, key_id: str, start: str, day: str) -> int:
    """When the remaining quota of the period from `start` to `day` was last set (ms), 0 when never: a
    counter shared by several nodes takes the store's figure outright only after a newer set."""
    latest, when, end = 0, date.fromisoformat(start), date.fromisoformat(day)
    while when <= end:
        latest = max(latest, _record(store, plan_id, key_id, when.isoformat()).get("setAt", 0))
        when += timedelta(days=1)
    return latest


def forget(store: Store, plan_id: str, key_id: str | None = None) -> None:
    """Drop the counters of a plan (or of one key in it), when the plan or the key leaves."""
    prefix = f"{plan_id}/{key_id}/" if key_id else f"{plan_id}/"
    with store.transaction():
        for record in store.list_records(KIND):
            key = _key(record["usagePlanId"], record["keyId"], record["day"])
            if key.startswith(prefix):
                store.delete_record(KIND, key)


def period_start(day: date, period: str) -> date:
    if period == "WEEK":
        return day - timedelta(days=(day.weekday() + 1) % 7)  # weeks start on Sunday
    if period == "MONTH":
        return day.replace(day=1)
    return day


def daily(store: Store, plan_id: str, key_id: str, start: date, end: date, quota: dict[str, Any] | None,
          first_day: date | None = None) -> list[list[int]]:
    """`[used, remaining]` for each day from `start` to `end` (inclusive), remaining as of the end of
    each day. Without a quota nothing is left: remaining is 0. `first_day` is the day the plan was
    created, whose period starts with `quota.offset` requests already spent."""
    result = []
    period = (quota or {}).get("period", "DAY")
    left = 0
    day = period_start(start, period)
    while day <= end:
        if day == period_start(day, period) and quota:
            first = first_day is not None and period_start(first_day, period) == day
            left = quota["limit"] - (quota.get("offset", 0) if first else 0)
        record = _record(store, plan_id, key_id, day.isoformat())
        if "remaining" in record:
            left = record["remaining"] - (record["used"] - record["usedAtSet"])
        else:
            left -= record["used"]
        if day >= start:
            result.append([record["used"], max(left, 0) if quota else 0])
        day += timedelta(days=1)
    return result


def remaining(store: Store, plan_id: str, key_id: str, day: str, quota: dict[str, Any] | None,
              first_day: date | None = None) -> int:
    """The key's remaining quota in the period that contains `day`, as of the end of that day."""
    when = date.fromisoformat(day)
    return daily(store, plan_id, key_id, when, when, quota, first_day)[0][1]

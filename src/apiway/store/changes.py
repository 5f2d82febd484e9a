"""Change events: what a committed transaction changed, announced to every subscriber once it commits.

An event names a kind of record and its key, never its content: a subscriber reads the record back from
the store, so an event means the same in the writer's process and on another node that learns of it
later, and events that arrive late or twice do no harm.

Kinds and keys:

    "api"         an API of any kind                  key "apiId"
    "deployment"  a deployment of an API              key "apiId/deploymentId"
    "stage"       a REST stage                        key "apiId/stageName"
    "source"      which project file made an API      key the project's source key
    (a record kind, e.g. "apikey", "usageplan", "usageplankey", "domainname", "basepathmapping", "v2route":
     see store/kinds.py)                              key the record's key

Deleting an API announces its stages and deployments too. Counters updated with `increment` announce
nothing: they change on every request and nothing is compiled from them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from apiway.observe.log import log

API = "api"
DEPLOYMENT = "deployment"
STAGE = "stage"
SOURCE = "source"


class Changed(NamedTuple):
    kind: str
    key: str


Subscriber = Callable[[Sequence[Changed]], None]


def stage_key(api_id: str, stage_name: str) -> str:
    return f"{api_id}/{stage_name}"


class ChangeFeed:
    """Collects a transaction's changes and hands them to the subscribers when it commits: one call per
    committed transaction, each (kind, key) once, in the order first written. A backend calls `note` on
    every write, then `commit` or `rollback` when its outermost transaction ends.

    Changes committed while subscribers run (a subscriber that writes) are delivered after the current
    batch has reached every subscriber, so every subscriber sees batches in commit order. A subscriber
    that fails is logged and the others still hear of the change: the write is committed either way.
    Not locked itself: a backend calls it from inside its own write lock (SqliteStore's transaction lock)."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._pending: dict[Changed, None] = {}  # insertion-ordered set
        self._queue: list[list[Changed]] = []
        self._delivering = False

    def subscribe(self, callback: Subscriber) -> None:
        self._subscribers.append(callback)

    def note(self, kind: str, key: str) -> None:
        self._pending[Changed(kind, key)] = None

    def pending(self) -> list[Changed]:
        """What the open transaction has changed so far (a backend tells other nodes before it commits)."""
        return list(self._pending)

    def rollback(self) -> None:
        self._pending.clear()

    def commit(self) -> None:
        if not self._pending:
            return
        self._queue.append(list(self._pending))
        self._pending.clear()
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._queue:
                batch = self._queue.pop(0)
                for callback in list(self._subscribers):
                    try:
                        callback(batch)
                    except Exception as exc:  # one subscriber must not keep the others unaware
                        log("ERROR", "change subscriber failed", error=repr(exc),
                            changes=[f"{c.kind}:{c.key}" for c in batch])
        finally:
            self._delivering = False

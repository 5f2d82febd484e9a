"""The store contract (store/base.py): what every backend must do, written once and run over each of them
(conftest.BACKENDS). Transactions are all or nothing and nest; each committed transaction announces what it
changed once, in order, and a rolled-back one announces nothing; what another process or node (another store
object on the same database) commits is announced within a second, whole; counters add up under concurrent
writers; records of apigatewayv2 APIs live beside REST ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from apiway.store.base import Store
from apiway.store.changes import Changed
from apiway.store.deployments import new_deployment, stage_record
from apiway.store.kinds import API_KEY, USAGE_PLAN, USAGE_PLAN_KEY, V2_API, V2_DEPLOYMENT, V2_STAGE
from apiway.store.sql import SCHEMA_VERSION, SqlStore
from tests.contract.conftest import open_again
from tests.support import mock_api_definition


def definition(api_id: str = "contract01"):
    return mock_api_definition(api_id)


def deployed(store: Store, api_id: str = "contract01", stages: Sequence[str] = ("prod",)) -> str:
    """An API with one deployment and `stages` pointing at it; the deployment's id."""
    d = definition(api_id)
    deployment, snapshot = new_deployment(d)
    with store.transaction():
        store.put_api(d)
        store.add_deployment(deployment, snapshot)
        for name in stages:
            store.put_stage(stage_record(api_id, name, deployment["id"], {}))
    return deployment["id"]


class Recorder:
    def __init__(self, store: Store) -> None:
        self.batches: list[list[Changed]] = []
        store.subscribe(lambda changes: self.batches.append(list(changes)))


# -- APIs, deployments, stages, sources ---------------------------------------------------------------------

def test_apis_round_trip(store: Store) -> None:
    assert store.list_apis() == [] and store.get_api("contract01") is None and not store.has_api("contract01")
    d = definition()
    store.put_api(d)
    assert store.get_api("contract01") == d and store.has_api("contract01")
    d["restApi"]["description"] = "changed"
    store.put_api(d)
    changed = store.get_api("contract01")
    assert changed is not None and changed["restApi"]["description"] == "changed"
    store.put_api(definition("contract00"))
    assert [a["restApi"]["id"] for a in store.list_apis()] == ["contract00", "contract01"]


def test_deployments_keep_their_snapshot_and_list_oldest_first(store: Store) -> None:
    d = definition()
    store.put_api(d)
    first, snapshot = new_deployment(d, "first")
    first["createdDate"] = 1
    second, _ = new_deployment(d, "second")
    second["createdDate"] = 2
    store.add_deployment(second, snapshot)
    store.add_deployment(first, snapshot)
    assert store.get_deployment("contract01", first["id"]) == (first, snapshot)
    assert [x["id"] for x in store.list_deployments("contract01")] == [first["id"], second["id"]]
    first["description"] = "renamed"
    store.put_deployment_record(first)
    assert store.get_deployment("contract01", first["id"]) == (first, snapshot)
    store.delete_deployment("contract01", first["id"])
    assert store.get_deployment("contract01", first["id"]) is None
    assert store.get_deployment("contract01", "nope") is None and store.list_deployments("other") == []


def test_stages_round_trip_and_list_by_api_then_name(store: Store) -> None:
    deployment_id = deployed(store, stages=("test", "prod"))
    deployed(store, "contract00", stages=("zeta",))
    assert [(s["restApiId"], s["stageName"]) for s in store.list_stages()] == [
        ("contract00", "zeta"), ("contract01", "prod"), ("contract01", "test")]
    stage = store.get_stage("contract01", "prod")
    assert stage is not None and stage["deploymentId"] == deployment_id
    stage["variables"] = {"v": "2"}
    store.put_stage(stage)
    assert store.get_stage("contract01", "prod") == stage
    store.delete_stage("contract01", "prod")
    assert store.get_stage("contract01", "prod") is None and store.get_stage("contract01", "nope") is None


def test_sources_round_trip(store: Store) -> None:
    assert store.get_source("file.yaml#") is None
    store.put_source("file.yaml#", "contract01", "digest1")
    store.put_source("file.yaml#", "contract01", "digest2")
    assert store.get_source("file.yaml#") == ("contract01", "digest2")


def test_deleting_an_api_takes_its_deployments_stages_and_source(store: Store) -> None:
    deployment_id = deployed(store)
    deployed(store, "contract00")
    store.put_source("file.yaml#", "contract01", "digest")
    store.delete_api("contract01")
    assert not store.has_api("contract01") and store.get_deployment("contract01", deployment_id) is None
    assert [s["restApiId"] for s in store.list_stages()] == ["contract00"]
    assert store.get_source("file.yaml#") is None and store.has_api("contract00")


# -- records by kind ----------------------------------------------------------------------------------------

def test_records_by_kind(store: Store) -> None:
    store.put_record(API_KEY, "k2", {"id": "k2"})
    store.put_record(API_KEY, "k1", {"id": "k1"})
    store.put_record(USAGE_PLAN, "k1", {"id": "plan"})  # kinds are separate key spaces
    assert store.get_record(API_KEY, "k1") == {"id": "k1"} and store.get_record(USAGE_PLAN, "k1") == {"id": "plan"}
    assert store.list_records(API_KEY) == [{"id": "k1"}, {"id": "k2"}]
    store.put_record(API_KEY, "k1", {"id": "k1", "enabled": True})
    assert store.get_record(API_KEY, "k1") == {"id": "k1", "enabled": True}
    store.delete_record(API_KEY, "k1")
    assert store.get_record(API_KEY, "k1") is None and store.list_records(API_KEY) == [{"id": "k2"}]
    assert store.list_records("nothing") == []


def test_records_are_found_by_the_fields_the_store_keeps_apart(store: Store, peer: Store) -> None:
    store.put_record(API_KEY, "k1", {"id": "k1", "value": "secret-one"})
    store.put_record(API_KEY, "k2", {"id": "k2", "value": "secret-two"})
    assert store.find_records(API_KEY, "value", "secret-two") == [{"id": "k2", "value": "secret-two"}]
    store.put_record(API_KEY, "k2", {"id": "k2", "value": "secret-three"})  # a changed value: found by the new one
    assert store.find_records(API_KEY, "value", "secret-two") == []
    assert peer.find_records(API_KEY, "value", "secret-three") == [{"id": "k2", "value": "secret-three"}]
    with pytest.raises(RuntimeError), store.transaction():
        store.put_record(API_KEY, "k3", {"id": "k3", "value": "secret-one"})
        assert [k["id"] for k in store.find_records(API_KEY, "value", "secret-one")] == ["k1", "k3"]
        raise RuntimeError("rolled back")
    assert [k["id"] for k in store.find_records(API_KEY, "value", "secret-one")] == ["k1"]
    store.delete_record(API_KEY, "k1")
    assert store.find_records(API_KEY, "value", "secret-one") == []
    for plan, key in (("p1", "k2"), ("p2", "k2"), ("p1", "k4")):
        store.put_record(USAGE_PLAN_KEY, f"{plan}/{key}", {"usagePlanId": plan, "keyId": key})
    assert [r["usagePlanId"] for r in store.find_records(USAGE_PLAN_KEY, "keyId", "k2")] == ["p1", "p2"]
    assert [r["keyId"] for r in store.find_records(USAGE_PLAN_KEY, "usagePlanId", "p1")] == ["k2", "k4"]
    with pytest.raises(ValueError, match="not found by 'name'"):
        store.find_records(API_KEY, "name", "x")


def test_a_store_of_the_first_schema_is_upgraded_when_opened(store: Store) -> None:
    """A store an earlier apiway wrote (schema 1: no record_fields) is brought to this schema on open, its
    records found by their fields at once."""
    store.put_record(API_KEY, "k1", {"id": "k1", "value": "old-secret"})
    store.put_record(USAGE_PLAN_KEY, "p1/k1", {"usagePlanId": "p1", "keyId": "k1"})
    assert isinstance(store, SqlStore)
    with store.transaction():
        store._db.execute("DROP TABLE record_fields")
        store._db.execute("UPDATE meta SET value='1' WHERE key='schema'")
    reopened = open_again(store)
    assert isinstance(reopened, SqlStore)
    try:
        assert reopened.find_records(API_KEY, "value", "old-secret") == [{"id": "k1", "value": "old-secret"}]
        assert [r["usagePlanId"] for r in reopened.find_records(USAGE_PLAN_KEY, "keyId", "k1")] == ["p1"]
        assert int(reopened._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0]) == SCHEMA_VERSION
    finally:
        reopened.close()


def test_apis_of_another_kind_live_beside_rest_apis(store: Store) -> None:
    """An HTTP API (apigatewayv2) is stored as records of its own kinds; REST calls do not see it, and the
    listing of every API id says which kind each is."""
    deployed(store)
    with store.transaction():
        http_api = {"api": {"apiId": "httpapi01", "name": "h", "protocolType": "HTTP"},
                    "routes": {"r1": {"routeId": "r1", "routeKey": "GET /pets/{id}"}}, "integrations": {},
                    "authorizers": {}}
        store.put_record(V2_API, "httpapi01", http_api)
        store.put_record(V2_DEPLOYMENT, "httpapi01/d1", {"deployment": {"deploymentId": "d1"}, "snapshot": http_api})
        store.put_record(V2_STAGE, "httpapi01/$default", {"stageName": "$default", "autoDeploy": True})
        store.put_record(V2_API, "wsapi01", {"api": {"apiId": "wsapi01", "name": "w", "protocolType": "WEBSOCKET"},
                                             "routes": {}, "integrations": {}, "authorizers": {}})
    assert store.list_api_kinds() == {"contract01": "REST", "httpapi01": "HTTP", "wsapi01": "WEBSOCKET"}
    assert [a["restApi"]["id"] for a in store.list_apis()] == ["contract01"] and not store.has_api("httpapi01")
    assert store.get_record(V2_DEPLOYMENT, "httpapi01/d1")["snapshot"]["routes"]["r1"]["routeKey"] == "GET /pets/{id}"
    assert [s["stageName"] for s in store.list_stages()] == ["prod"]


# -- transactions -------------------------------------------------------------------------------------------

def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.put_api(definition())
        store.put_record(API_KEY, "k1", {"id": "k1"})
        raise RuntimeError("crash between writes")
    assert store.list_apis() == [] and store.get_record(API_KEY, "k1") is None


def test_a_nested_transaction_joins_the_outer_one(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.put_api(definition())
        with store.transaction():
            store.put_source("key", "contract01", "digest")
        assert store.get_source("key") == ("contract01", "digest")  # visible inside
        raise RuntimeError("the outer transaction fails after the inner one ended")
    assert store.list_apis() == [] and store.get_source("key") is None
    with store.transaction():
        with store.transaction():
            store.put_record(API_KEY, "k1", {"id": "k1"})
        store.put_record(API_KEY, "k2", {"id": "k2"})
    assert len(store.list_records(API_KEY)) == 2


def test_a_failing_nested_transaction_fails_the_outer_one(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.put_record(API_KEY, "k1", {"id": "k1"})
        with store.transaction():
            store.put_record(API_KEY, "k2", {"id": "k2"})
            raise RuntimeError("inner")
    assert store.list_records(API_KEY) == []


# -- change events ------------------------------------------------------------------------------------------

def test_every_write_announces_what_it_changed(store: Store) -> None:
    seen = Recorder(store)
    deployment_id = deployed(store)
    store.put_source("file.yaml#", "contract01", "digest")
    store.put_record(API_KEY, "k1", {"id": "k1"})
    store.delete_record(API_KEY, "k1")
    store.delete_stage("contract01", "prod")
    assert seen.batches == [
        [Changed("api", "contract01"), Changed("deployment", f"contract01/{deployment_id}"),
         Changed("stage", "contract01/prod")],
        [Changed("source", "file.yaml#")],
        [Changed(API_KEY, "k1")],
        [Changed(API_KEY, "k1")],
        [Changed("stage", "contract01/prod")],
    ]


def test_deployment_changes_are_announced(store: Store) -> None:
    deployment_id = deployed(store)
    found = store.get_deployment("contract01", deployment_id)
    assert found is not None
    seen = Recorder(store)
    found[0]["description"] = "d"
    store.put_deployment_record(found[0])
    store.delete_deployment("contract01", deployment_id)
    assert seen.batches == [[Changed("deployment", f"contract01/{deployment_id}")]] * 2


def test_deleting_an_api_announces_its_stages_and_deployments(store: Store) -> None:
    deployment_id = deployed(store, stages=("prod", "beta"))
    seen = Recorder(store)
    store.delete_api("contract01")
    assert seen.batches == [[Changed("api", "contract01"), Changed("stage", "contract01/beta"),
                             Changed("stage", "contract01/prod"),
                             Changed("deployment", f"contract01/{deployment_id}")]]


def test_changes_are_announced_once_per_transaction_when_it_commits(store: Store) -> None:
    seen = Recorder(store)
    with store.transaction():
        store.put_record(API_KEY, "k2", {"id": "k2"})
        with store.transaction():
            store.put_record(API_KEY, "k1", {"id": "k1"})
            store.put_record(API_KEY, "k2", {"id": "k2", "v": 2})
        assert seen.batches == []  # nothing before the outermost transaction commits
        store.delete_record(API_KEY, "k1")
    assert seen.batches == [[Changed(API_KEY, "k2"), Changed(API_KEY, "k1")]]


def test_a_rolled_back_transaction_announces_nothing(store: Store) -> None:
    seen = Recorder(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.put_record(API_KEY, "k1", {"id": "k1"})
        raise RuntimeError
    store.put_record(API_KEY, "k2", {"id": "k2"})
    assert seen.batches == [[Changed(API_KEY, "k2")]]  # nothing of the rolled-back one leaks into the next


def test_subscribers_read_the_committed_state(store: Store) -> None:
    read: list[object] = []
    store.subscribe(lambda changes: read.extend(store.get_record(c.kind, c.key) for c in changes))
    store.put_record(API_KEY, "k1", {"id": "k1"})
    assert read == [{"id": "k1"}]


def test_writes_made_by_a_subscriber_are_announced_after_the_current_batch(store: Store) -> None:
    first: list[list[Changed]] = []

    def writer(changes: Sequence[Changed]) -> None:
        first.append(list(changes))
        if Changed(API_KEY, "k1") in changes:
            store.put_record(USAGE_PLAN, "p1", {"id": "p1"})

    store.subscribe(writer)
    seen = Recorder(store)
    store.put_record(API_KEY, "k1", {"id": "k1"})
    expected = [[Changed(API_KEY, "k1")], [Changed(USAGE_PLAN, "p1")]]
    assert first == expected and seen.batches == expected


def test_a_failing_subscriber_does_not_keep_the_others_unaware(store: Store) -> None:
    def broken(changes: Sequence[Changed]) -> None:
        raise RuntimeError("subscriber bug")

    store.subscribe(broken)
    seen = Recorder(store)
    store.put_record(API_KEY, "k1", {"id": "k1"})
    assert seen.batches == [[Changed(API_KEY, "k1")]] and store.get_record(API_KEY, "k1") == {"id": "k1"}


def test_a_subscriber_that_reads_back_ends_with_the_last_committed_state_under_concurrent_writers(
        store: Store) -> None:
    """What an installer relies on: however writers interleave, the last batch delivered is delivered after
    the last commit, so reading the record back on each batch leaves the newest value."""
    latest: dict[str, object] = {}

    def follow(changes: Sequence[Changed]) -> None:
        for change in changes:
            latest[change.key] = store.get_record(change.kind, change.key)

    store.subscribe(follow)
    threads, each = 4, 50
    start = threading.Barrier(threads)

    def write(n: int) -> None:
        start.wait()
        for i in range(each):
            store.put_record(API_KEY, "shared", {"writer": n, "i": i})

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert latest["shared"] == store.get_record(API_KEY, "shared")


# -- changes committed by other processes or nodes ------------------------------------------------------------

def until(check, seconds: float = 1.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_change_another_process_commits_is_announced_within_a_second(store: Store, peer: Store) -> None:
    seen = Recorder(store)
    time.sleep(0.3)  # subscribed and following
    started = time.monotonic()
    peer.put_record(API_KEY, "k1", {"id": "k1"})
    assert until(lambda: seen.batches == [[Changed(API_KEY, "k1")]]), seen.batches
    assert time.monotonic() - started < 1.0
    assert store.get_record(API_KEY, "k1") == {"id": "k1"}


def test_another_process_s_transaction_arrives_whole_and_reads_back_whole(store: Store, peer: Store) -> None:
    """A subscriber that hears of a stage finds the deployment the same transaction wrote: never half of it."""
    found: list[object] = []

    def follow(changes: Sequence[Changed]) -> None:
        for change in changes:
            if change.kind == "stage":
                stage = store.get_stage(*change.key.split("/"))
                assert stage is not None
                found.append(store.get_deployment("contract01", stage["deploymentId"]))

    store.subscribe(follow)
    seen = Recorder(store)
    time.sleep(0.3)
    deployment_id = deployed(peer)
    assert until(lambda: len(seen.batches) == 1)
    assert seen.batches == [[Changed("api", "contract01"), Changed("deployment", f"contract01/{deployment_id}"),
                             Changed("stage", "contract01/prod")]]
    assert len(found) == 1 and found[0] is not None


def test_each_process_hears_every_change_once(store: Store, peer: Store) -> None:
    """Its own at commit, the other's when it learns of them (subscribers read records back, so the order
    between the two does not matter)."""
    here, there = Recorder(store), Recorder(peer)
    time.sleep(0.3)
    for i in range(6):
        (store if i % 2 else peer).put_record(API_KEY, f"k{i}", {"id": i})
    expected = sorted([Changed(API_KEY, f"k{i}")] for i in range(6))
    assert until(lambda: sorted(here.batches) == expected and sorted(there.batches) == expected, 2.0), (
        here.batches, there.batches)
    time.sleep(0.3)  # and nothing more: a process's own commits are not announced again
    assert sorted(here.batches) == expected and sorted(there.batches) == expected


# -- counters -------------------------------------------------------------------------------------------------

def test_increment_starts_a_missing_record_and_announces_nothing(store: Store) -> None:
    seen = Recorder(store)
    assert store.increment("usage", "p/k/2024-05-01", "used", 3, {"usagePlanId": "p", "used": 0}) == 3
    assert store.increment("usage", "p/k/2024-05-01", "used", 2) == 5
    assert store.get_record("usage", "p/k/2024-05-01") == {"usagePlanId": "p", "used": 5}
    assert store.increment("usage", "bare", "n", 1) == 1 and store.get_record("usage", "bare") == {"n": 1}
    assert seen.batches == []


def test_increment_keeps_other_fields(store: Store) -> None:
    store.put_record("usage", "x", {"used": 1, "remaining": 10, "usedAtSet": 1})
    store.increment("usage", "x", "used", 4)
    assert store.get_record("usage", "x") == {"used": 5, "remaining": 10, "usedAtSet": 1}


def test_increment_loses_no_count_under_concurrent_threads(store: Store) -> None:
    threads, each = 8, 200
    start = threading.Barrier(threads)

    def count() -> None:
        start.wait()
        for _ in range(each):
            store.increment("usage", "hot", "used", 1, {"used": 0})

    workers = [threading.Thread(target=count) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert store.get_record("usage", "hot") == {"used": threads * each}


def test_a_rolled_back_increment_counts_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.increment("usage", "x", "used", 1, {"used": 0})
        raise RuntimeError
    assert store.get_record("usage", "x") is None

"""SQLite store: changes are atomic, survive reopening, and a foreign or newer file is refused; what another
process commits to the file is announced here, and a process that fell behind catches up."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apiway.store.changes import STAGE, Changed
from apiway.store.deployments import new_deployment, stage_record
from apiway.store.sqlite import SqliteStore, StoreError
from tests.support import mock_api_definition


def definition(api_id: str = "storeapi01"):
    return mock_api_definition(api_id)


def test_round_trip_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.db"
    store = SqliteStore(path)
    d = definition()
    deployment, snapshot = new_deployment(d, "first")
    with store.transaction():
        store.put_api(d)
        store.add_deployment(deployment, snapshot)
        store.put_stage(stage_record("storeapi01", "prod", deployment["id"], {"v": "1"}))
        store.put_source("key", "storeapi01", "digest")
    store.close()

    store = SqliteStore(path)
    assert store.get_api("storeapi01") == d
    assert [a["restApi"]["id"] for a in store.list_apis()] == ["storeapi01"]
    assert store.get_deployment("storeapi01", deployment["id"]) == (deployment, snapshot)
    assert deployment["apiSummary"] == {"/a": {"GET": {"authorizationType": "NONE", "apiKeyRequired": False}}}
    [stage] = store.list_stages()
    assert stage["deploymentId"] == deployment["id"] and stage["variables"] == {"v": "1"}
    assert store.get_source("key") == ("storeapi01", "digest")
    assert store.get_api("missing") is None and store.get_deployment("storeapi01", "nope") is None


def test_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    with pytest.raises(RuntimeError), store.transaction():
        store.put_api(definition())
        with store.transaction():  # nested: joins the outer transaction
            store.put_source("key", "storeapi01", "digest")
        raise RuntimeError("crash between writes")
    assert store.list_apis() == [] and store.get_source("key") is None


def test_foreign_and_newer_files_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a usable apiway state file"):
        SqliteStore(junk)
    newer = tmp_path / "newer.db"
    SqliteStore(newer).close()
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema'")
    with pytest.raises(StoreError, match="state schema 99 is not supported"):
        SqliteStore(newer)


def test_another_thread_reads_only_committed_state(tmp_path: Path) -> None:
    """Each thread has its own connection: a transaction open in one (the control plane's) is invisible
    to a reader in another (the event loop's) until it commits, and the reader is not blocked meanwhile."""
    import threading

    store = SqliteStore(tmp_path / "state.db")
    seen: list[object] = []

    def read() -> None:
        seen.append(store.get_api("storeapi01"))

    written = definition()
    with store.transaction():
        store.put_api(written)
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(5)
        assert store.get_api("storeapi01") is not None  # the writer sees its own write
    assert seen == [None]
    reader = threading.Thread(target=read)
    reader.start()
    reader.join(5)
    assert seen[1] == written
    store.close()


def _heard(store: SqliteStore) -> list[list[Changed]]:
    batches: list[list[Changed]] = []
    store.subscribe(lambda changes: batches.append(list(changes)))
    return batches


def _wait(condition, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_another_process_s_commit_is_announced_within_a_second(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    heard = _heard(store)
    script = ("import sys; from pathlib import Path; from apiway.store.sqlite import SqliteStore; "
              "from apiway.store.deployments import stage_record; "
              "SqliteStore(Path(sys.argv[1])).put_stage(stage_record('storeapi01', 'prod', 'dep001', {}))")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "state.db")], check=True, timeout=30)
    written = time.monotonic()
    assert _wait(lambda: heard == [[Changed(STAGE, "storeapi01/prod")]], 1.0), heard
    assert time.monotonic() - written < 1.0
    stage = store.get_stage("storeapi01", "prod")
    assert stage is not None and stage["deploymentId"] == "dep001"
    store.close()


def test_a_process_that_fell_behind_the_kept_changes_catches_up_from_the_records(tmp_path: Path) -> None:
    store, other = SqliteStore(tmp_path / "state.db"), SqliteStore(tmp_path / "state.db")
    other.put_stage(stage_record("storeapi01", "prod", "dep001", {}))
    other.put_record("apikey", "k1", {"id": "k1"})
    other.put_record("apikey", "k2", {"id": "k2"})
    with sqlite3.connect(tmp_path / "state.db") as db:  # as if pruned before this process read them
        db.execute("DELETE FROM changes WHERE revision < 3")
    heard = _heard(store)
    assert _wait(lambda: len(heard) == 1)
    assert sorted(heard[0]) == [Changed("apikey", "k1"), Changed("apikey", "k2"), Changed(STAGE, "storeapi01/prod")]
    other.put_record("apikey", "k3", {"id": "k3"})  # then row by row again
    assert _wait(lambda: heard[1:] == [[Changed("apikey", "k3")]])
    store.close()
    other.close()


def test_the_change_table_keeps_only_the_last_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("apiway.store.sqlite.KEPT_CHANGES", 5)
    store = SqliteStore(tmp_path / "state.db")
    for i in range(12):
        store.put_record("apikey", f"k{i}", {"id": i})
    store.increment("usage", "p/k/2024-05-01", "used", 1)  # counters are not changes
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert [r[0] for r in db.execute("SELECT revision FROM changes ORDER BY revision")] == [8, 9, 10, 11, 12]
    store.close()
    assert SqliteStore(tmp_path / "state.db")._seen == 12  # reopened: only later changes are news

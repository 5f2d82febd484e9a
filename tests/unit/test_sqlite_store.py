"""SQLite store: changes are atomic, survive reopening, and a foreign or newer file is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

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

"""The PostgreSQL store across nodes (two store objects on one schema stand for two gateway nodes): a
change written on one is announced on the other, a node whose listening was cut catches up from the
store, writers on both exclude each other, and a server that cannot be used is a clear error."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import orjson
import psycopg
import pytest

from apiway.store.changes import STAGE, Changed
from apiway.store.deployments import stage_record
from apiway.store.postgres import LISTENER, PostgresStore
from apiway.store.sqlite import StoreError
from tests.postgres import PostgresDatabase


@pytest.fixture
def nodes(postgres_database: PostgresDatabase) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    schema = postgres_database.new_schema()
    a, b = PostgresStore(postgres_database.url, schema), PostgresStore(postgres_database.url, schema)
    yield a, b
    a.close()
    b.close()


def heard_by(store: PostgresStore) -> tuple[list[Changed], threading.Event]:
    heard: list[Changed] = []
    arrived = threading.Event()

    def follow(changes):
        heard.extend(changes)
        arrived.set()

    store.subscribe(follow)
    return heard, arrived


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_a_change_on_one_node_is_announced_on_the_other(nodes) -> None:
    a, b = nodes
    heard, _ = heard_by(b)
    time.sleep(0.3)  # b is listening
    a.put_stage(stage_record("pgapi00001", "prod", "dep001", {}))
    started = time.monotonic()
    assert wait_for(lambda: Changed(STAGE, "pgapi00001/prod") in heard, 1.0)
    assert time.monotonic() - started < 1.0
    assert b.get_stage("pgapi00001", "prod")["deploymentId"] == "dep001"


def test_a_node_whose_listening_was_cut_catches_up_from_the_store(nodes, postgres_database) -> None:
    a, b = nodes
    heard, _ = heard_by(b)
    assert wait_for(lambda: _listeners(postgres_database) >= 1)
    # A change b never hears of: written and committed with no notification, as if one had been lost.
    stage = orjson.dumps(stage_record("pgapi00001", "missed", "dep002", {}))
    with psycopg.connect(postgres_database.url, autocommit=True, options=f"-c search_path={a.schema}") as db:
        db.execute("INSERT INTO stages VALUES ('pgapi00001', 'missed', %s)", (stage,))
        db.execute("UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'revision'")
    time.sleep(0.5)
    assert Changed(STAGE, "pgapi00001/missed") not in heard
    with psycopg.connect(postgres_database.url, autocommit=True) as admin:  # cut the listening connections
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s "
                      "AND datname = current_database()", (LISTENER,))
    assert wait_for(lambda: Changed(STAGE, "pgapi00001/missed") in heard)  # listening again, it caught up


def test_writers_on_two_nodes_exclude_each_other(nodes) -> None:
    a, b = nodes

    def count(store: PostgresStore) -> None:
        for _ in range(50):
            store.increment("usage", "plan/key/2026-12-06", "used", 1)

    threads = [threading.Thread(target=count, args=(store,)) for store in (a, b, a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert b.get_record("usage", "plan/key/2026-12-06")["used"] == 200


def test_an_unusable_server_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        PostgresStore("postgresql://someone:s3cret@127.0.0.1:1/nowhere?connect_timeout=2")
    assert "cannot use the PostgreSQL store" in str(caught.value) and "s3cret" not in str(caught.value)


def _listeners(database: PostgresDatabase) -> int:
    with psycopg.connect(database.url, autocommit=True) as admin:
        return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                             "AND datname = current_database()", (LISTENER,)).fetchone()[0]

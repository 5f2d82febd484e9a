"""The store contract's backends: every store passes the same tests. SQLite always; PostgreSQL on the
server the machine runs (APIWAY_TEST_POSTGRES, default postgresql://postgres@127.0.0.1:5432/postgres), in a
database made for this run and dropped after it. Without a reachable server the PostgreSQL cases skip with
the reason, except in CI, where they fail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from apiway.store.base import Store
from apiway.store.sqlite import SqliteStore
from tests.postgres import PostgresDatabase

StoreFactory = Callable[[], Store]


def _sqlite(tmp_path: Path, request: pytest.FixtureRequest) -> StoreFactory:
    count = iter(range(1_000_000))
    return lambda: SqliteStore(tmp_path / f"state-{next(count)}.db")


def _postgres(tmp_path: Path, request: pytest.FixtureRequest) -> StoreFactory:
    from apiway.store.postgres import PostgresStore

    database: PostgresDatabase = request.getfixturevalue("postgres_database")
    return lambda: PostgresStore(database.url, schema=database.new_schema())


BACKENDS: dict[str, Callable[[Path, pytest.FixtureRequest], StoreFactory]] = {
    "sqlite": _sqlite, "postgresql": _postgres}


@pytest.fixture(params=sorted(BACKENDS))
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A maker of fresh, empty stores of one backend; each is closed after the test."""
    made: list[Store] = []
    make = BACKENDS[request.param](tmp_path, request)

    def fresh() -> Store:
        made.append(make())
        return made[-1]

    yield fresh
    for store in made:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


def open_again(store: Store) -> Store:
    """Another store object on `store`'s database: to the store, another process or node."""
    if isinstance(store, SqliteStore):
        return SqliteStore(store.path)
    from apiway.store.postgres import PostgresStore

    assert isinstance(store, PostgresStore)
    return PostgresStore(store.url, store.schema)


@pytest.fixture
def peer(store: Store) -> Iterator[Store]:
    other = open_again(store)
    yield other
    other.close()

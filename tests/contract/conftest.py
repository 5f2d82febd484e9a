"""The store contract's backends: every store passes the same tests (a PostgreSQL store joins this list)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from apiway.store.base import Store
from apiway.store.sqlite import SqliteStore

StoreFactory = Callable[[], Store]


def _sqlite(tmp_path: Path) -> StoreFactory:
    count = iter(range(1_000_000))
    return lambda: SqliteStore(tmp_path / f"state-{next(count)}.db")


BACKENDS: dict[str, Callable[[Path], StoreFactory]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(BACKENDS))
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A maker of fresh, empty stores of one backend; each is closed after the test."""
    made: list[Store] = []
    make = BACKENDS[request.param](tmp_path)

    def fresh() -> Store:
        made.append(make())
        return made[-1]

    yield fresh
    for store in made:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()

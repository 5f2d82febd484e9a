from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster
from tests.cluster.nginx import nginx_binary
from tests.postgres import PostgresDatabase


@pytest.fixture(scope="session")
def nginx() -> str:
    """The nginx executable (installed once when missing; tests/cluster/nginx.py)."""
    return nginx_binary()


@pytest.fixture
def cluster_of(request: pytest.FixtureRequest, tmp_path: Path, nginx: str,
               postgres_database: PostgresDatabase) -> Iterator[Callable[..., Cluster]]:
    """Start a cluster on a fresh PostgreSQL schema: `cluster_of(size=3, args=(...), redis=False)`. `redis=True`
    shares state through the run's Redis test database (flushed after the test); a URL string, through that
    Redis. Every cluster is stopped after the test."""
    clusters: list[Cluster] = []
    flush: list[Callable[[], None]] = []

    def start(size: int = 3, args: tuple[str, ...] = (), redis: bool | str = False) -> Cluster:
        store = f"{postgres_database.url}?schema={postgres_database.new_schema()}"
        if redis is True:
            database = request.getfixturevalue("redis_database")
            flush.append(database.flush)
            redis = database.url
        if redis:
            args = ("--redis", str(redis), *args)
        cluster = Cluster(tmp_path / f"cluster{len(clusters)}", nginx, store, size, args)
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()
    for forget in flush[:1]:
        forget()

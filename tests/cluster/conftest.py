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
def cluster_of(tmp_path: Path, nginx: str, postgres_database: PostgresDatabase) -> Iterator[Callable[..., Cluster]]:
    """Start a cluster on a fresh PostgreSQL schema: `cluster_of(size=3, args=(...))`; stopped after the test."""
    clusters: list[Cluster] = []

    def start(size: int = 3, args: tuple[str, ...] = ()) -> Cluster:
        store = f"{postgres_database.url}?schema={postgres_database.new_schema()}"
        cluster = Cluster(tmp_path / f"cluster{len(clusters)}", nginx, store, size, args)
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresDatabase
from tests.redis import RedisDatabase
from tests.support import Server, apigateway_client


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start `apiway serve` on a file; every server started is stopped after the test."""
    servers: list[Server] = []

    def start(target: Path, *args: str, state: Path | None = None) -> Server:
        server = Server(target, state or tmp_path / "state" / "state.db", list(args))
        servers.append(server)
        return server

    (tmp_path / "state").mkdir()
    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def apigw_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real `apiway serve` with no project, shared by a test module: everything comes through the
    control plane."""
    server = Server(None, tmp_path_factory.mktemp("control") / "state.db")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def apigw(apigw_server: Server):
    """A boto3 `apigateway` client for that server."""
    return apigateway_client(apigw_server.port)


@pytest.fixture(scope="session")
def redis_database() -> Iterator[RedisDatabase]:
    """A database number of this run's own on the machine's Redis (tests/redis.py), emptied after the run."""
    database = RedisDatabase()
    yield database
    database.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    """A database of this run's own on the machine's PostgreSQL (tests/postgres.py)."""
    database = PostgresDatabase()
    yield database
    database.drop()

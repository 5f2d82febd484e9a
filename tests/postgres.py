"""A PostgreSQL database of the test run's own: made on the server the machine runs, dropped at the end.
Outside CI an unreachable server skips the tests that need it, saying why; in CI it fails them."""

from __future__ import annotations

import itertools
import os

import pytest

SERVER = os.environ.get("APIWAY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


class PostgresDatabase:
    def __init__(self) -> None:
        import psycopg

        self.name = f"apiway_test_{os.getpid()}"
        try:
            with psycopg.connect(SERVER, autocommit=True, connect_timeout=5) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
                admin.execute(f'CREATE DATABASE "{self.name}"')
        except psycopg.OperationalError as exc:
            message = f"PostgreSQL is not reachable at {SERVER} ({str(exc).strip()}); start it (it is a service " \
                      f"the machine runs) or set APIWAY_TEST_POSTGRES"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        base, _, _ = SERVER.rpartition("/")
        self.url = f"{base}/{self.name}"
        self._schemas = itertools.count(1)

    def new_schema(self) -> str:
        return f"store_{next(self._schemas)}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

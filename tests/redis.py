"""A Redis database of the test run's own on the server the machine runs: one of the numbers 8-15, claimed with
a marker key so that runs at the same time (several checkouts on one machine) take different ones, emptied
before and after. Outside CI an unreachable server skips the tests that need it, saying why; in CI it fails
them."""

from __future__ import annotations

import os

import pytest

SERVER = os.environ.get("APIWAY_TEST_REDIS", "redis://127.0.0.1:6379")
FIRST_DB, DATABASES = 8, 8
CLAIM = "apiway-test:claimed-by"
CLAIM_SECONDS = 3600  # a run that dies without emptying its database frees it after this


class RedisDatabase:
    def __init__(self) -> None:
        import redis

        self.client: redis.Redis | None = None
        try:
            for number in range(FIRST_DB, FIRST_DB + DATABASES):
                client = redis.Redis.from_url(f"{SERVER.rstrip('/')}/{number}", socket_connect_timeout=5)
                if client.set(CLAIM, os.getpid(), nx=True, ex=CLAIM_SECONDS):
                    self.number, self.client = number, client
                    break
                client.close()
        except redis.RedisError as exc:
            self._unavailable(f"Redis is not reachable at {SERVER} ({exc}); start it (it is a service the machine "
                              f"runs) or set APIWAY_TEST_REDIS")
        if self.client is None:
            self._unavailable(f"every test database of {SERVER} ({FIRST_DB} to {FIRST_DB + DATABASES - 1}) is in use")
        self.url = f"{SERVER.rstrip('/')}/{self.number}"
        self.flush()

    @staticmethod
    def _unavailable(message: str) -> None:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    def flush(self) -> None:
        """Empty the database; the claim stays."""
        assert self.client is not None
        self.client.flushdb()
        self.client.set(CLAIM, os.getpid(), ex=CLAIM_SECONDS)

    def close(self) -> None:
        assert self.client is not None
        self.client.flushdb()
        self.client.close()

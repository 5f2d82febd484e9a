"""A Redis database of the test run's own: one of the numbers 8 to 15 on the server the machine runs, claimed with a
marker key so that runs at the same time take different ones, and flushed at the end. Outside CI an unreachable
server skips the tests that need it, saying why; in CI it fails them."""

from __future__ import annotations

import os

import pytest

SERVER = os.environ.get("APIWAY_TEST_REDIS", "redis://127.0.0.1:6379")
DATABASES = range(8, 16)
CLAIM = "apiway-test:claimed-by"
CLAIM_SECONDS = 3600  # a run that dies without flushing frees its database after this


class RedisDatabase:
    def __init__(self) -> None:
        import redis

        self.number: int | None = None
        try:
            for number in DATABASES:
                client = redis.Redis.from_url(f"{SERVER}/{number}", socket_connect_timeout=5)
                with client:
                    if client.set(CLAIM, os.getpid(), nx=True, ex=CLAIM_SECONDS):
                        self.number = number
                        break
        except redis.RedisError as exc:
            self._unavailable(f"Redis is not reachable at {SERVER} ({exc}); start it (it is a service the machine "
                              f"runs) or set APIWAY_TEST_REDIS")
        if self.number is None:
            self._unavailable(f"every test database of {SERVER} ({DATABASES.start} to {DATABASES.stop - 1}) is in use")
        self.url = f"{SERVER}/{self.number}"

    @staticmethod
    def _unavailable(message: str) -> None:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    def flush(self) -> None:
        """Forget what a test wrote (the claim stays)."""
        import redis

        with redis.Redis.from_url(self.url) as client:
            for key in client.scan_iter():
                if key != CLAIM.encode():
                    client.delete(key)

    def drop(self) -> None:
        import redis

        with redis.Redis.from_url(self.url) as client:
            client.flushdb()

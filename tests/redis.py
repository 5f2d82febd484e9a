"""A Redis database of the test run's own on the server the machine runs: one of the numbers 8-15, emptied
before and after. Outside CI an unreachable server skips the tests that need it, saying why; in CI it fails
them."""

from __future__ import annotations

import os

import pytest

SERVER = os.environ.get("APIWAY_TEST_REDIS", "redis://127.0.0.1:6379")
FIRST_DB, DATABASES = 8, 8


class RedisDatabase:
    def __init__(self) -> None:
        import redis

        self.number = FIRST_DB + os.getpid() % DATABASES
        self.url = f"{SERVER.rstrip('/')}/{self.number}"
        self.client = redis.Redis.from_url(self.url, socket_connect_timeout=5)
        try:
            self.client.flushdb()
        except redis.RedisError as exc:
            message = f"Redis is not reachable at {SERVER} ({exc}); start it (it is a service the machine runs) " \
                      f"or set APIWAY_TEST_REDIS"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)

    def flush(self) -> None:
        self.client.flushdb()

    def close(self) -> None:
        self.client.flushdb()
        self.client.close()

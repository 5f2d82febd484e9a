"""Liveness and readiness (front/health.py): liveness answers while the process does; readiness needs the
stages installed and the store answering in time, and turns 503 once draining. The store's ping connects
again after a failure."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import orjson
import pytest

from apiway.core.http import HttpRequest
from apiway.front.health import HEALTH, READY, Health
from apiway.store.sqlite import SqliteStore


def answer(health: Health, path: str) -> tuple[int, dict]:
    response = asyncio.run(health.handle(HttpRequest("GET", path, "", [], b"")))
    assert ("Cache-Control", "no-store") in response.headers
    return response.status, orjson.loads(response.body)


def broken() -> None:
    raise OSError("connection refused")


def test_ready_once_installed_with_the_store_answering(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    health = Health(store.ping, worker=1)
    assert answer(health, READY) == (503, {"status": "starting", "pid": answer(health, HEALTH)[1]["pid"],
                                           "worker": 1})
    health.installed = True
    status, body = answer(health, READY)
    assert (status, body["status"], body["worker"]) == (200, "ready", 1)
    health.close()
    store.close()


def test_not_ready_while_the_store_fails_or_is_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    logged = io.BytesIO()
    monkeypatch.setattr("apiway.observe.log._out", logged)
    health = Health(broken)
    health.installed = True
    status, body = answer(health, READY)
    assert (status, body["status"]) == (503, "store unreachable") and "worker" not in body
    assert "connection refused" not in str(body)  # the reason is logged, not told to any caller
    assert b"not ready: the store does not answer" in logged.getvalue()
    monkeypatch.setattr("apiway.front.health.STORE_TIMEOUT", 0.1)
    slow = Health(lambda: time.sleep(0.5))
    slow.installed = True
    assert answer(slow, READY)[0] == 503
    assert answer(health, HEALTH)[0] == 200  # alive all the same
    health.close()
    slow.close()


def test_draining_is_not_ready_but_alive() -> None:
    health = Health(lambda: None)
    health.installed = True
    health.drain()
    assert answer(health, READY)[0:1] == (503,) and answer(health, READY)[1]["status"] == "draining"
    assert answer(health, HEALTH)[0] == 200
    health.close()


def test_only_reads_of_the_two_paths_are_probes() -> None:
    health = Health(lambda: None)
    assert health.matches(HttpRequest("GET", HEALTH, "", [], b""))
    assert health.matches(HttpRequest("HEAD", READY, "", [], b""))
    assert not health.matches(HttpRequest("POST", READY, "", [], b""))
    assert not health.matches(HttpRequest("GET", "/_apiway/healthz", "", [], b""))
    health.close()


def test_the_store_ping_connects_again_after_a_failure(tmp_path: Path) -> None:
    import sqlite3

    store = SqliteStore(tmp_path / "state.db")
    store.ping()
    store._db.close()  # this thread's connection broke
    with pytest.raises(sqlite3.ProgrammingError):
        store.ping()
    store.ping()  # a new connection
    store.close()

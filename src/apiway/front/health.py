"""Liveness and readiness, for load balancers and orchestrators, on every listener of the process:

    GET /_apiway/health   200 while the process answers at all (liveness: restart it when this fails)
    GET /_apiway/ready    200 once the stored stages are installed and the store answers; 503 while the
                          process drains (after SIGTERM) or when the store does not answer within
                          STORE_TIMEOUT (readiness: send it no new traffic meanwhile)

They need no credentials (probes do not sign requests) and tell only whether this process serves, which
worker it is and its pid. A path that names an API is the API's: these answer only what no API claims."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import orjson

from apiway.core.http import HttpRequest, HttpResponse
from apiway.observe.log import log

HEALTH = "/_apiway/health"
READY = "/_apiway/ready"
STORE_TIMEOUT = 2.0
_JSON = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]


class Health:
    __slots__ = ("_executor", "_ping", "draining", "installed", "worker")

    def __init__(self, ping: Callable[[], None], worker: int | None = None) -> None:
        self._ping = ping  # raises unless the store answers; blocking, so it runs off the event loop
        # One thread of its own: the store gives each thread a connection, so probes reuse one.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="readiness")
        self.worker = worker
        self.installed = False  # the stored stages are served
        self.draining = False

    def matches(self, req: HttpRequest) -> bool:
        return req.path in (HEALTH, READY) and req.method in ("GET", "HEAD")

    def drain(self) -> None:
        """From now on readiness answers 503: the process is stopping."""
        self.draining = True

    async def handle(self, req: HttpRequest) -> HttpResponse:
        if req.path == HEALTH:
            return self._answer(200, "ok")
        if self.draining:
            return self._answer(503, "draining")
        if not self.installed:
            return self._answer(503, "starting")
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(self._executor, self._ping), STORE_TIMEOUT)
        except Exception as exc:  # unreachable, failing or too slow: not ready, whatever the reason
            # The reason goes to the log only: the answer is open to any caller.
            log("ERROR", "not ready: the store does not answer", error=f"{type(exc).__name__}: {exc}")
            return self._answer(503, "store unreachable")
        return self._answer(200, "ready")

    def _answer(self, status: int, state: str) -> HttpResponse:
        body: dict[str, object] = {"status": state, "pid": os.getpid()}
        if self.worker is not None:
            body["worker"] = self.worker
        return HttpResponse(status, list(_JSON), orjson.dumps(body))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

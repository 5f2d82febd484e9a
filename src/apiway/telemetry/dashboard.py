"""The dashboard: a page at `/_apiway/` and the JSON it reads at `/_apiway/api/…`, served on the control plane's
listener behind its admin policy (open to loopback callers when no admin credentials are set).

    GET /_apiway/api/overview            APIs, stages, methods/routes, API keys and usage; which sources are on
    GET /_apiway/api/live?api=&stage=    the last `seconds` (≤ 300) per second of one stage, an API or all
    GET /_apiway/api/logs                the log groups
    GET /_apiway/api/logs/tail?group=&since=   a group's events since `since` (epoch ms)
    GET /_apiway/api/traces?limit=       recent sampled traces with their spans

Metrics, logs and traces come from sources that may be absent (their endpoints then answer 404 with
`{"enabled": false}` and the page says so). Reads of the store and of log files are blocking: they run on a thread
of the dashboard's own, never on the event loop; metrics and traces are in-memory and read on the loop, the thread
that writes them. The page and its scripts are files of the package (dashboard_static/), its chart library among
them (copied from npm at set-up, never fetched from elsewhere: the page works offline)."""

from __future__ import annotations

import asyncio
import mimetypes
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import orjson

from apiway.core.http import HttpRequest, HttpResponse
from apiway.store.base import Store
from apiway.telemetry import dashboard_catalog

DASHBOARD_PATH = "/_apiway/"
API = DASHBOARD_PATH + "api/"
STATIC = Path(__file__).with_name("dashboard_static")
MAX_SECONDS = 300
MAX_EVENTS = 500
MAX_TRACES = 200
# The page loads nothing from elsewhere; nothing of it may be framed by another site.
_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
_PAGE_HEADERS = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                 ("Content-Security-Policy", _CSP)]
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
_JSON = [("Content-Type", "application/json"), *_PAGE_HEADERS]


class MetricSource(Protocol):
    def live(self, api_id: str | None, stage: str | None, seconds: int = 300) -> dict[str, Any]: ...

    def stages(self) -> list[dict[str, Any]]: ...


class LogSource(Protocol):
    def group_names(self) -> list[str]: ...

    def tail(self, group: str, since_ms: int, limit: int = 200) -> list[dict[str, Any]]: ...


class TraceSource(Protocol):
    def recent(self, limit: int = 50) -> list[dict[str, Any]]: ...


class Dashboard:
    """A service on the control plane's listener (front/dispatch.py's `Service`)."""

    # Browsers sign nothing: the page opens where the admin policy is open (loopback, no admin credentials).
    signing_name = "apiway"

    def __init__(self, store: Store, metrics: MetricSource | None = None, logs: LogSource | None = None,
                 traces: TraceSource | None = None, static: Path = STATIC) -> None:
        self.catalog = dashboard_catalog.Catalog(store)
        self.metrics = metrics
        self.logs = logs
        self.traces = traces
        self.static = static
        # One thread: the store gives each thread its own connection, so every read reuses one.
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="dashboard")
        self._routes: dict[str, Callable[[HttpRequest], Any]] = {
            "overview": self._overview, "live": self._live, "logs": self._log_groups, "logs/tail": self._tail,
            "traces": self._traces}

    def matches(self, req: HttpRequest) -> bool:
        return req.path.startswith(DASHBOARD_PATH) or req.path == DASHBOARD_PATH[:-1]

    async def handle(self, req: HttpRequest) -> HttpResponse:
        if req.method not in ("GET", "HEAD"):
            return _json(405, {"message": "the dashboard only reads"})
        if req.header("authorization") is None and not _loopback_host(req.header("host") or ""):
            # An unsigned request reaches this only on an open (loopback) listener; a Host naming another machine
            # there is a page elsewhere whose name was rebound to this one, reading what is not its own.
            return _json(403, {"message": "open the dashboard at localhost, 127.0.0.1 or [::1]"})
        path = req.path
        if path == DASHBOARD_PATH[:-1]:
            return HttpResponse(308, [("Location", DASHBOARD_PATH)], b"")
        if path.startswith(API):
            route = self._routes.get(path[len(API):])
            if route is None:
                return _json(404, {"message": f"no dashboard endpoint {path}"})
            try:
                answer = route(req)
                if asyncio.iscoroutine(answer):
                    answer = await answer
            except ValueError as exc:
                return _json(400, {"message": str(exc)})
            return answer if isinstance(answer, HttpResponse) else _json(200, answer)
        return self._file(path[len(DASHBOARD_PATH):] or "index.html")

    def close(self) -> None:
        self._reader.shutdown(wait=False, cancel_futures=True)

    # -- the page ---------------------------------------------------------------------------------------

    def _file(self, name: str) -> HttpResponse:
        """A file of the page; names are checked to stay inside the static folder."""
        target = (self.static / name).resolve()
        if not target.is_relative_to(self.static.resolve()) or not target.is_file():
            if name.startswith("vendor/"):  # the chart library is copied at set-up (`make`): say how to get it
                return _json(404, {"message": f"{name} is missing: run `make` (its set-up copies it from npm)"})
            return _json(404, {"message": f"no dashboard file {name}"})
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind == "application/javascript":
            kind += "; charset=utf-8"
        return HttpResponse(200, [("Content-Type", kind), *_PAGE_HEADERS], target.read_bytes())

    # -- the JSON endpoints -----------------------------------------------------------------------------

    async def _overview(self, req: HttpRequest) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        apis, keys = await loop.run_in_executor(self._reader, self._catalog)
        return {"apis": apis, "keys": keys["keys"], "keysTotal": keys["total"], "now_ms": int(time.time() * 1000),
                "enabled": {"metrics": self.metrics is not None, "logs": self.logs is not None,
                            "traces": self.traces is not None},
                "stages": self.metrics.stages() if self.metrics is not None else []}

    def _catalog(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return self.catalog.apis(), self.catalog.keys()

    def _live(self, req: HttpRequest) -> dict[str, Any] | HttpResponse:
        if self.metrics is None:
            return _off("metrics")
        params = req.query_params()[0] or {}
        seconds = min(_int(params, "seconds", MAX_SECONDS), MAX_SECONDS)
        return self.metrics.live(params.get("api") or None, params.get("stage") or None, seconds)

    async def _log_groups(self, req: HttpRequest) -> dict[str, Any] | HttpResponse:
        logs = self.logs
        if logs is None:
            return _off("logs")
        names = await asyncio.get_running_loop().run_in_executor(self._reader, logs.group_names)
        return {"groups": names}

    async def _tail(self, req: HttpRequest) -> dict[str, Any] | HttpResponse:
        logs = self.logs
        if logs is None:
            return _off("logs")
        params = req.query_params()[0] or {}
        group = params.get("group")
        if not group:
            raise ValueError("group is required")
        since = _int(params, "since", 0)
        limit = min(_int(params, "limit", 200), MAX_EVENTS)
        events = await asyncio.get_running_loop().run_in_executor(self._reader, logs.tail, group, since, limit)
        return {"group": group, "events": events}

    def _traces(self, req: HttpRequest) -> dict[str, Any] | HttpResponse:
        if self.traces is None:
            return _off("traces")
        params = req.query_params()[0] or {}
        return {"traces": self.traces.recent(min(_int(params, "limit", 50), MAX_TRACES))}


def _loopback_host(host: str) -> bool:
    name = host.rpartition("]")[0] + "]" if host.startswith("[") else host.partition(":")[0]
    return name.lower() in _LOOPBACK_NAMES


def _int(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None
    if value < 0:
        raise ValueError(f"{name} cannot be negative")
    return value


def _off(source: str) -> HttpResponse:
    return _json(404, {"enabled": False, "message": f"{source} are not enabled on this server"})


def _json(status: int, body: Any) -> HttpResponse:
    return HttpResponse(status, list(_JSON), orjson.dumps(body))

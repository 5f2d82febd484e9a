"""Prometheus text at `GET /metrics`: the metric store's running totals, written at scrape time (nothing of it runs
per request). Labels stay few: api, api_name, stage, route (REST: `GET /pets/{id}`) and the status class; requests
by API key only with `serve --metrics-per-key`."""

from __future__ import annotations

from collections.abc import Iterable

from apiway.core.http import HttpRequest, HttpResponse
from apiway.telemetry.metrics import Leaf, MetricStore, bucket

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Histogram bounds in ms; each is a bucket edge of the store's histograms, so the counts are exact.
BOUNDS_MS = (1, 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 40960)
_EDGES = tuple(bucket(b) for b in BOUNDS_MS)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    return ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)


def _base(leaf: Leaf) -> list[tuple[str, str]]:
    api, name, stage, route = leaf.labels
    return [("api", api), ("api_name", name), ("stage", stage), ("route", route)]


def _histogram(out: list[str], metric: str, labels: str, hist: Iterable[int], n: int, total: int) -> None:
    counts = list(hist)
    for edge, bound in zip(_EDGES, BOUNDS_MS, strict=True):
        out.append(f'{metric}_bucket{{{labels},le="{bound / 1000:g}"}} {sum(counts[:edge])}')
    out.append(f'{metric}_bucket{{{labels},le="+Inf"}} {n}')
    out.append(f"{metric}_sum{{{labels}}} {total / 1000:g}")
    out.append(f"{metric}_count{{{labels}}} {n}")


def render(store: MetricStore) -> str:
    totals = [(leaf, leaf.totals()) for leaf in store.leaves()]
    leaves = [(leaf, t) for leaf, t in totals if t.count]
    out: list[str] = []
    out += ["# HELP apiway_requests_total Requests by API, stage, route and status class.",
            "# TYPE apiway_requests_total counter"]
    for leaf, t in leaves:
        base = _base(leaf)
        other = t.count - t.c3 - t.c4 - t.c5
        for cls, n in (("2xx", other), ("3xx", t.c3), ("4xx", t.c4), ("5xx", t.c5)):
            if n:
                out.append(f"apiway_requests_total{{{_labels([*base, ('status_class', cls)])}}} {n}")
    for metric, help_text in (("apiway_request_latency_seconds", "Latency of the whole request."),
                              ("apiway_integration_latency_seconds", "Latency of the integration.")):
        out += [f"# HELP {metric} {help_text}", f"# TYPE {metric} histogram"]
        for leaf, t in leaves:
            if metric.startswith("apiway_request"):
                _histogram(out, metric, _labels(_base(leaf)), t.lat_hist, t.count, t.lat_sum)
            elif t.int_count:
                _histogram(out, metric, _labels(_base(leaf)), t.int_hist, t.int_count, t.int_sum)
    for metric, field, help_text in (
            ("apiway_cache_hits_total", "hits", "Responses served from the stage cache."),
            ("apiway_cache_misses_total", "misses", "Cache lookups that went to the integration."),
            ("apiway_throttled_total", "throttled", "Requests refused by a throttle or quota."),
            ("apiway_websocket_connects_total", "connects", "WebSocket $connect events."),
            ("apiway_websocket_messages_total", "messages", "WebSocket messages received."),
            ("apiway_data_processed_bytes_total", "bytes", "HTTP APIs: request and response bytes.")):
        rows = [(leaf, getattr(t, field)) for leaf, t in leaves if getattr(t, field)]
        if rows:
            out += [f"# HELP {metric} {help_text}", f"# TYPE {metric} counter"]
            out += [f"{metric}{{{_labels(_base(leaf))}}} {n}" for leaf, n in rows]
    if store.per_key:
        out += ["# HELP apiway_api_key_requests_total Requests by API key id.",
                "# TYPE apiway_api_key_requests_total counter"]
        for (api, stage, key_id, cls), n in list(store.per_key.items()):
            labels = _labels([("api", api), ("stage", stage), ("api_key_id", key_id), ("status_class", cls)])
            out.append(f"apiway_api_key_requests_total{{{labels}}} {n}")
    return "\n".join(out) + "\n"


class PrometheusText:
    """`GET /metrics`, a service on the control-plane listener (behind its admin policy, like the others)."""

    signing_name = "monitoring"

    def __init__(self, store: MetricStore) -> None:
        self.store = store

    @staticmethod
    def matches(req: HttpRequest) -> bool:
        return req.method == "GET" and req.path == "/metrics"

    async def handle(self, req: HttpRequest) -> HttpResponse:
        return HttpResponse(200, [("Content-Type", CONTENT_TYPE)], render(self.store).encode())

"""CloudWatch's reading of the metric store: which metrics exist per API kind, the leaves a dimension set names,
and statistics (SampleCount, Sum, Average, Minimum, Maximum, pNN) over periods of whole minutes."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from apiway.telemetry.metrics import NAMESPACE, Leaf, MetricStore, Slot, percentile


@dataclass(frozen=True, slots=True)
class Values:
    """One metric's values in an aggregate: samples, their sum, extremes and (latencies) a histogram."""

    n: int
    total: float
    low: float
    high: float
    hist: object = None


def _count(field: str) -> Callable[[Slot], Values]:
    """A 0-or-1-per-request metric (errors, cache hits): Sum is the count, Average the rate."""
    def read(s: Slot) -> Values:
        k = getattr(s, field)
        return Values(s.count, k, 1 if k == s.count else 0, 1 if k else 0)
    return read


def _events(field: str) -> Callable[[Slot], Values]:
    """A metric counted once per event of its own kind (requests, connects, messages)."""
    def read(s: Slot) -> Values:
        k = getattr(s, field)
        return Values(k, k, 1, 1)
    return read


def _cache(field: str) -> Callable[[Slot], Values]:
    def read(s: Slot) -> Values:
        n = s.hits + s.misses
        k = getattr(s, field)
        return Values(n, k, 1 if k == n else 0, 1 if k else 0)
    return read


def _latency(s: Slot) -> Values:
    return Values(s.count, s.lat_sum, s.lat_min, s.lat_max, s.lat_hist)


def _integration(s: Slot) -> Values:
    return Values(s.int_count, s.int_sum, s.int_min, s.int_max, s.int_hist)


def _data(s: Slot) -> Values:
    return Values(s.count, s.bytes, s.bytes_min, s.bytes_max)


# Per kind: metric name → (reader, unit).
METRICS: Mapping[str, Mapping[str, tuple[Callable[[Slot], Values], str]]] = {
    "REST": {"Count": (_events("count"), "Count"), "4XXError": (_count("c4"), "Count"),
             "5XXError": (_count("c5"), "Count"), "Latency": (_latency, "Milliseconds"),
             "IntegrationLatency": (_integration, "Milliseconds"), "CacheHitCount": (_cache("hits"), "Count"),
             "CacheMissCount": (_cache("misses"), "Count")},
    "HTTP": {"Count": (_events("count"), "Count"), "4xx": (_count("c4"), "Count"), "5xx": (_count("c5"), "Count"),
             "Latency": (_latency, "Milliseconds"), "IntegrationLatency": (_integration, "Milliseconds"),
             "DataProcessed": (_data, "Bytes")},
    "WEBSOCKET": {"ConnectCount": (_events("connects"), "Count"), "MessageCount": (_events("messages"), "Count"),
                  "IntegrationError": (_count("int_errors"), "Count"),
                  "ClientError": (_count("client_errors"), "Count"), "ExecutionError": (_count("exec_errors"), "Count"),
                  "IntegrationLatency": (_integration, "Milliseconds")},
}
STATISTICS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?|100)$")


def is_percentile(name: str) -> bool:
    return _PERCENTILE.match(name) is not None


def matching(store: MetricStore, namespace: str, dims: Mapping[str, str]) -> list[Leaf]:
    """The leaves a dimension set names exactly (CloudWatch matches whole dimension sets)."""
    if namespace != NAMESPACE:
        return []
    wanted = frozenset(dims.items())
    return [leaf for leaf in store.leaves() if wanted in leaf.dimsets]


def unit_of(store: MetricStore, namespace: str, metric: str, dims: Mapping[str, str]) -> str | None:
    for leaf in matching(store, namespace, dims):
        found = METRICS[leaf.kind].get(metric)
        if found is not None:
            return found[1]
    return None


def periods(store: MetricStore, namespace: str, metric: str, dims: Mapping[str, str], start: float, end: float,
            period: int) -> list[tuple[int, Values]]:
    """(period start in epoch seconds, values) for each period in [start, end) with data, oldest first."""
    bins: dict[int, Slot] = {}
    first = int(start) // period * period
    reader = None
    for leaf in matching(store, namespace, dims):
        found = METRICS[leaf.kind].get(metric)
        if found is None:
            continue
        reader = found[0]
        for s in leaf.minutes.between(first // 60, (int(end) - 1) // 60):
            t = s.t * 60
            if first <= t < end:
                at = t // period * period
                merged = bins.get(at)
                if merged is None:
                    merged = bins[at] = Slot(at, wide=True)
                merged.merge(s)
    out = []
    if reader is not None:
        for at in sorted(bins):
            values = reader(bins[at])
            if values.n:
                out.append((at, values))
    return out


def statistic(values: Values, name: str) -> float:
    if name == "SampleCount":
        return float(values.n)
    if name == "Sum":
        return float(values.total)
    if name == "Average":
        return values.total / values.n
    if name == "Minimum":
        return float(values.low)
    if name == "Maximum":
        return float(values.high)
    p = float(name[1:])
    if values.hist is None:  # a 0/1 or per-event metric: its percentiles are its extremes
        return float(values.low if p * values.n <= 100 * (values.n - values.total) else values.high)
    return percentile(values.hist, values.n, p, values.low, values.high)  # type: ignore[arg-type]


def list_metrics(store: MetricStore, namespace: str | None, metric: str | None,
                 dims: list[tuple[str, str | None]]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(namespace, metric, dimensions) of every metric with data, filtered as ListMetrics filters."""
    if namespace not in (None, NAMESPACE):
        return []
    seen: dict[tuple[str, frozenset[tuple[str, str]]], None] = {}
    for leaf in store.leaves():
        if not leaf.done.count and not leaf.minutes.current.count:
            continue
        for dimset in leaf.dimsets:
            names = dict(dimset)
            if any(n not in names or (v is not None and names[n] != v) for n, v in dims):
                continue
            for name in METRICS[leaf.kind]:
                if metric is None or name == metric:
                    seen[(name, dimset)] = None
    return [(NAMESPACE, name, sorted(dimset)) for name, dimset in seen]

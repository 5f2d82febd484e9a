"""CloudWatch's API Gateway metrics, kept in memory: a Part whose observer adds each finished request to per-minute
aggregates of its method or route, a per-second ring per stage for live charts, and running totals for Prometheus.

Every method or route of a stage has one `Leaf`, made at equip time. A request adds one to its count in its
stage's `pending` dict, keyed by what it adds (its leaf, status, latencies, cache note): identical requests are
counted into their leaves' minutes and the stage's second once, by their number, when the stage's second ends or
before the store is read, so per request no slot is touched. (Counting at once rather than keeping a tuple per
request until then costs a few hundred instructions more but keeps a second's requests out of memory: measured
cheaper in CPU time under load.) What CloudWatch's dimensions name is summed from leaves at query time: `ApiName`
(REST) or `ApiId` (HTTP, WebSocket) over all stages, `+Stage` over a stage's leaves, and `+Method+Resource` (REST)
or `+Route` (HTTP, WebSocket) from one leaf when the method's metricsEnabled / detailedMetricsEnabled is on. A
canary's requests count under the stage `{stage}/Canary`.

Bounds: `MINUTES` minutes of one-minute slots per leaf, `SECONDS` one-second slots per stage, at most `MAX_LEAVES`
leaves (methods beyond it are counted in their stage's catch-all leaf), slots made only for minutes with traffic
(a slot is about 1 KB, two histograms of 84 four-byte counts: at most ~170 MB if every leaf saw traffic in
every minute), and pending counts of at most one second per stage (one per distinct 7-tuple, ~200 bytes: at most
one per request of that second, usually a few dozen). Latency histograms use fixed log-scale buckets (four per
power of two, within 12.5 %), so percentiles can be answered for any period."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Invocation, Observer, StageRuntime
from apiway.model.method_settings import method_key
from apiway.telemetry.hub import Equipment, StageSettings
from apiway.telemetry.notes import CACHE

MINUTES = 180  # three hours at one minute
SECONDS = 300  # the live ring: five minutes at one second
MAX_LEAVES = 1000
NAMESPACE = "AWS/ApiGateway"
CANARY_SUFFIX = "/Canary"
_BUCKETS = 84  # up to 2^22 ms (70 min); longer latencies fall in the last bucket
_NONE = "-"  # the leaf of a stage's requests that matched no method
_THROTTLED = ("THROTTLED", "QUOTA_EXCEEDED")
_BIG = 1 << 62


def bucket(ms: int) -> int:
    """The histogram bucket of a latency in ms: exact below 4, then four buckets per power of two."""
    if ms < 4:
        return ms if ms > 0 else 0
    b = ms.bit_length()
    idx = ((b - 2) << 2) + ((ms >> (b - 3)) & 3)
    return idx if idx < _BUCKETS else _BUCKETS - 1


_TABLE = [bucket(ms) for ms in range(4096)]  # read instead of computed for latencies under 4 s


def bucket_bounds(idx: int) -> tuple[int, int]:
    """[low, high) in ms of a bucket."""
    if idx < 4:
        return idx, idx + 1
    shift = (idx >> 2) - 1
    low = (4 + (idx & 3)) << shift
    return low, low + (1 << shift)


def percentile(hist: Iterable[int], n: int, p: float, low: float, high: float) -> float:
    """The p-th percentile (0..100) of n values in a histogram, the bucket's midpoint kept within [low, high]."""
    if p >= 100:
        return float(high)
    rank = max(1, -(-n * p // 100))
    seen = 0
    for idx, count in enumerate(hist):
        seen += count
        if seen >= rank:
            lo, hi = bucket_bounds(idx)
            mid = lo if hi - lo == 1 else (lo + hi) / 2
            return float(min(max(mid, low), high))
    return float(high)


def _hist(wide: bool) -> array[int]:
    return array("Q", bytes(8 * _BUCKETS)) if wide else array("I", bytes(4 * _BUCKETS))


class Slot:
    """What a leaf saw in one minute (or a stage in one second, or a leaf since start-up)."""

    __slots__ = ("bytes", "bytes_max", "bytes_min", "c3", "c4", "c5", "client_errors", "connects", "count",
                 "exec_errors", "hits", "int_count", "int_errors", "int_hist", "int_max", "int_min", "int_sum",
                 "lat_hist", "lat_max", "lat_min", "lat_sum", "messages", "misses", "t", "throttled")

    def __init__(self, t: int, wide: bool = False) -> None:
        self.t = t  # the minute or second it holds (epoch // 60 or epoch); wide: counts since start-up
        self.count = self.c3 = self.c4 = self.c5 = 0
        self.lat_sum = self.lat_max = 0
        self.lat_min = _BIG
        self.lat_hist = _hist(wide)
        self.int_count = self.int_sum = self.int_max = 0
        self.int_min = _BIG
        self.int_hist = _hist(wide)
        self.hits = self.misses = self.throttled = 0
        self.bytes = self.bytes_max = 0
        self.bytes_min = _BIG
        self.connects = self.messages = self.int_errors = self.client_errors = self.exec_errors = 0

    def merge(self, other: Slot) -> None:
        for name in ("count", "c3", "c4", "c5", "lat_sum", "int_count", "int_sum", "hits", "misses", "throttled",
                     "bytes", "connects", "messages", "int_errors", "client_errors", "exec_errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("lat_max", "int_max", "bytes_max"):
            setattr(self, name, max(getattr(self, name), getattr(other, name)))
        for name in ("lat_min", "int_min", "bytes_min"):
            setattr(self, name, min(getattr(self, name), getattr(other, name)))
        for i, v in enumerate(other.lat_hist):
            if v:
                self.lat_hist[i] += v
        for i, v in enumerate(other.int_hist):
            if v:
                self.int_hist[i] += v


def _add(s: Slot, n: int, status: int, lat: int, ilat: int | None, cache: Any, throttled: bool) -> None:
    """`n` requests alike into a minute."""
    s.count += n
    if status >= 300:
        if status >= 500:
            s.c5 += n
        elif status >= 400:
            s.c4 += n
        else:
            s.c3 += n
    s.lat_sum += lat * n
    if lat < s.lat_min:
        s.lat_min = lat
    if lat > s.lat_max:
        s.lat_max = lat
    s.lat_hist[_bucket(lat)] += n
    if ilat is not None:
        s.int_count += n
        s.int_sum += ilat * n
        if ilat < s.int_min:
            s.int_min = ilat
        if ilat > s.int_max:
            s.int_max = ilat
        s.int_hist[_bucket(ilat)] += n
    if cache is not None:
        if cache == "hit":
            s.hits += n
        else:
            s.misses += n
    if throttled:
        s.throttled += n


def _add_live(s: Slot, n: int, status: int, lat: int, ilat: int | None, cache: Any, throttled: bool) -> None:
    """What the live charts show of a second: counts and the two histograms."""
    s.count += n
    if status >= 400:
        if status >= 500:
            s.c5 += n
        else:
            s.c4 += n
    s.lat_hist[_bucket(lat)] += n
    if ilat is not None:
        s.int_count += n
        s.int_hist[_bucket(ilat)] += n
    if cache is not None:
        if cache == "hit":
            s.hits += n
        else:
            s.misses += n
    if throttled:
        s.throttled += n


def _bucket(ms: int) -> int:
    return _TABLE[ms] if 0 <= ms < 4096 else bucket(ms)


class Ring:
    """Slots by time unit (`unit_ms`), the last `size` of them; a slot is made when its unit first sees traffic.
    `current` is the newest: a request that started in an older unit is counted in it (late by its duration)."""

    __slots__ = ("current", "end", "size", "slots", "unit_ms")

    def __init__(self, size: int, unit_ms: int) -> None:
        self.size = size
        self.unit_ms = unit_ms
        self.slots: list[Slot | None] = [None] * size
        self.current = Slot(-1)
        self.end = 0  # epoch ms where `current` ends

    def roll(self, ms: int) -> Slot:
        """The slot of a time at or after `end`: a new current one (the previous one is then finished)."""
        t = ms // self.unit_ms
        s = self.slots[t % self.size] = self.current = Slot(t)
        self.end = (t + 1) * self.unit_ms
        return s

    def between(self, first: int, last: int) -> Iterator[Slot]:
        """The slots of units first..last (inclusive) that saw traffic and are still kept."""
        for s in self.slots:
            if s is not None and first <= s.t <= last:
                yield s


class Leaf:
    """One method or route of a stage: its minutes, the dimension sets it publishes, and its running totals —
    the finished minutes folded into `done` as each ends, so a request updates only its minute."""

    __slots__ = ("dimsets", "done", "kind", "labels", "minutes")

    def __init__(self, kind: str, dimsets: list[frozenset[tuple[str, str]]], labels: tuple[str, str, str, str]):
        self.kind = kind
        self.dimsets = dimsets
        self.labels = labels  # (api id, api name, stage, method or route) for Prometheus
        self.minutes = Ring(MINUTES, 60_000)
        self.done = Slot(0, wide=True)

    def roll(self, ms: int) -> Slot:
        if self.minutes.current.count:
            self.done.merge(self.minutes.current)
        return self.minutes.roll(ms)

    def totals(self) -> Slot:
        """Everything counted since start-up."""
        out = Slot(0, wide=True)
        out.merge(self.done)
        out.merge(self.minutes.current)
        return out


Pending = tuple[Leaf, int, int, int | None, Any, str | None, int | None]


class StageMetrics:
    """A stage's leaves, its per-second ring and its requests not yet counted, kept across redeployments."""

    __slots__ = ("api_id", "api_name", "kind", "leaves", "pending", "seconds", "stage")

    def __init__(self, kind: str, api_id: str, api_name: str, stage: str) -> None:
        self.kind = kind
        self.api_id = api_id
        self.api_name = api_name
        self.stage = stage
        self.leaves: dict[str, Leaf] = {}
        self.seconds = Ring(SECONDS, 1000)
        # Requests of the current second (`seconds.current`) by what they add: (leaf, status, latency ms,
        # integration latency ms, cache note, error type, HTTP APIs' DataProcessed bytes) -> how many. Replaced
        # when counted (a read may count from another thread: an observer's late add then goes to the old one).
        self.pending: dict[Pending, int] = {}

    def roll(self, ms: int) -> Slot:
        """The current second's slot for a request at `ms`: the pending ones counted first when a second ends."""
        seconds = self.seconds
        if ms < seconds.end:
            return seconds.current
        self.settle()
        return seconds.roll(ms)

    def settle(self) -> None:
        """Count the pending requests into their leaves' minutes and the current second."""
        pending = self.pending
        if not pending:
            return
        self.pending = {}
        live = self.seconds.current
        ms = live.t * 1000
        for (leaf, status, lat, ilat, cache, error, size), n in list(pending.items()):
            minutes = leaf.minutes
            minute = minutes.current if ms < minutes.end else leaf.roll(ms)
            throttled = status == 429 and error in _THROTTLED
            _add(minute, n, status, lat, ilat, cache, throttled)
            _add_live(live, n, status, lat, ilat, cache, throttled)
            if size is not None:  # HTTP APIs' DataProcessed: request and response bytes
                minute.bytes += size * n
                if size < minute.bytes_min:
                    minute.bytes_min = size
                if size > minute.bytes_max:
                    minute.bytes_max = size


def api_name_dimension(name: str, api_id: str) -> str:
    """REST's ApiName dimension: the name without non-ASCII characters, the API id when nothing is left."""
    kept = "".join(c for c in name if c.isascii())
    return kept or api_id


class MetricStore:
    """Every stage's metrics in this process."""

    def __init__(self, wall_ms: Callable[[], int]) -> None:
        self.wall_ms = wall_ms
        self._stages: dict[tuple[str, str], StageMetrics] = {}
        self._leaf_count = 0
        # Opt-in before stages are equipped (`serve --metrics-per-key`): requests by API key id and status class,
        # at most MAX_LEAVES series.
        self.per_key: dict[tuple[str, str, str, str], int] | None = None

    # -- equip time --------------------------------------------------------------------------------------
    def stage(self, kind: str, api_id: str, api_name: str, stage: str) -> StageMetrics:
        found = self._stages.get((api_id, stage))
        if found is None or found.kind != kind:
            found = self._stages[(api_id, stage)] = StageMetrics(kind, api_id, api_name, stage)
        found.api_name = api_name
        return found

    def leaf(self, sm: StageMetrics, key: str, method: str, resource: str, detailed: bool) -> Leaf:
        """The leaf of a method (REST: its verb and resource path) or route (its key in `resource`)."""
        found = sm.leaves.get(key)
        if found is None and self._leaf_count >= MAX_LEAVES and key != _NONE:
            return self.leaf(sm, _NONE, "", "", False)
        # A canary's requests count under `{stage}/Canary` and under the stage itself, as AWS reports them.
        stages = [sm.stage] + ([sm.stage[:-len(CANARY_SUFFIX)]] if sm.stage.endswith(CANARY_SUFFIX) else [])
        if sm.kind == "REST":
            api = ("ApiName", api_name_dimension(sm.api_name, sm.api_id))
            detail = [("Method", method), ("Resource", resource)]
            label = f"{method} {resource}" if key != _NONE else _NONE
        else:
            api = ("ApiId", sm.api_id)
            detail = [("Route", resource)]
            label = resource if key != _NONE else _NONE
        dimsets = [frozenset({api})]
        for stage in stages:
            dimsets.append(frozenset({api, ("Stage", stage)}))
            if detailed and key != _NONE:
                dimsets.append(frozenset({api, ("Stage", stage), *detail}))
        if found is not None:  # redeployed: what it publishes may change, what it counted stays
            found.dimsets, found.labels = dimsets, (sm.api_id, sm.api_name, sm.stage, label)
            return found
        self._leaf_count += 1
        leaf = sm.leaves[key] = Leaf(sm.kind, dimsets, (sm.api_id, sm.api_name, sm.stage, label))
        return leaf

    # -- reads -------------------------------------------------------------------------------------------
    def settle(self) -> None:
        """Count every stage's pending requests (before a read)."""
        for sm in list(self._stages.values()):
            sm.settle()

    def leaves(self) -> Iterator[Leaf]:
        self.settle()
        for sm in list(self._stages.values()):
            yield from list(sm.leaves.values())

    def stages(self) -> list[dict[str, str]]:
        return [{"apiId": sm.api_id, "apiName": sm.api_name, "stage": sm.stage, "kind": sm.kind}
                for sm in self._stages.values()]

    def live(self, api_id: str | None, stage: str | None, seconds: int = 300) -> dict[str, list[Any]]:
        """The last `seconds` seconds, one value a second, summed over the stages that match (None: all)."""
        seconds = max(1, min(seconds, SECONDS))
        self.settle()
        last = self.wall_ms() // 1000
        first = last - seconds + 1
        merged = [Slot(t, wide=True) for t in range(first, last + 1)]
        for sm in list(self._stages.values()):
            if (api_id is None or sm.api_id == api_id) and (stage is None or sm.stage == stage):
                for s in sm.seconds.between(first, last):
                    merged[s.t - first].merge(s)
        out: dict[str, list[Any]] = {k: [] for k in ("t", "requests", "p50", "p99", "integration_p50",
                                                      "integration_p99", "4xx", "5xx", "cache_hit",
                                                      "cache_miss", "throttled")}
        for s in merged:
            out["t"].append(s.t)
            out["requests"].append(s.count)
            out["p50"].append(percentile(s.lat_hist, s.count, 50, 0, _BIG) if s.count else None)
            out["p99"].append(percentile(s.lat_hist, s.count, 99, 0, _BIG) if s.count else None)
            n = s.int_count
            out["integration_p50"].append(percentile(s.int_hist, n, 50, 0, _BIG) if n else None)
            out["integration_p99"].append(percentile(s.int_hist, n, 99, 0, _BIG) if n else None)
            out["4xx"].append(s.c4)
            out["5xx"].append(s.c5)
            out["cache_hit"].append(s.hits)
            out["cache_miss"].append(s.misses)
            out["throttled"].append(s.throttled)
        return out


class MetricsPart:
    """The Part: every stage gets an observer (AWS publishes a stage's basic metrics always)."""

    def __init__(self, store: MetricStore) -> None:
        self.store = store

    def equip(self, runtime: StageRuntime, settings: StageSettings, out: Equipment) -> None:
        store = self.store
        name = settings.stage_name + (CANARY_SUFFIX if settings.is_canary else "")
        sm = store.stage(settings.kind, settings.api_id, settings.api_name, name)
        by_plan: dict[int, Leaf] = {}
        for plan in runtime.plans:
            if settings.kind == "REST":
                key = method_key(plan.resource_path, plan.http_method)
                by_plan[id(plan)] = store.leaf(sm, key, plan.http_method, plan.resource_path,
                                               settings.method(key).metrics_enabled)
            else:
                key = plan.resource_path  # the route key
                by_plan[id(plan)] = store.leaf(sm, key, "", key, settings.method(key).metrics_enabled)
        none = store.leaf(sm, _NONE, "", "", False)
        if settings.kind == "WEBSOCKET":
            out.observers.append(_ws_observer(sm, by_plan, none, runtime.wall_ms))
        else:
            out.observers.append(_observer(sm, by_plan, none, runtime.wall_ms, store.per_key,
                                           settings.kind == "HTTP"))


def _observer(sm: StageMetrics, by_plan: dict[int, Leaf], none: Leaf, wall_ms: Callable[[], int],
              per_key: dict[tuple[str, str, str, str], int] | None, data: bool) -> Observer:
    seconds = sm.seconds
    roll = sm.roll
    get = by_plan.get

    def observe(request: HttpRequest, response: HttpResponse, stage: StageRuntime, inv: Invocation | None,
                error: str | None, latency: int) -> None:
        status = response.status
        size = len(request.body) + response.length if data else None
        if inv is None:
            ms = wall_ms()
            if ms >= seconds.end:
                roll(ms)
            key: Pending = (none, status, latency, None, None, error, size)
        else:
            if inv.epoch_ms >= seconds.end:
                roll(inv.epoch_ms)
            note = inv.notes
            key = (get(id(inv.plan), none), status, latency, inv.integration_latency_ms,
                   note.get(CACHE) if note else None, error, size)
        pending = sm.pending
        pending[key] = pending.get(key, 0) + 1
        if per_key is not None and inv is not None and inv.identity:
            key_id = inv.identity.get("apiKeyId")
            if key_id:
                k = (sm.api_id, sm.stage, key_id, f"{status // 100}xx")
                if k in per_key or len(per_key) < MAX_LEAVES:
                    per_key[k] = per_key.get(k, 0) + 1

    return observe


def _ws_observer(sm: StageMetrics, by_plan: dict[int, Leaf], none: Leaf,
                 wall_ms: Callable[[], int]) -> Observer:
    """WebSocket events: ConnectCount, MessageCount, and which side an error came from — a gateway error before
    the integration (4XX: ClientError, else ExecutionError) or the integration's own failure (IntegrationError)."""
    roll = sm.roll
    get = by_plan.get

    def observe(request: HttpRequest, response: HttpResponse, stage: StageRuntime, inv: Invocation | None,
                error: str | None, lat: int) -> None:
        status = response.status
        if inv is None:
            leaf, ms, ilat, event = none, wall_ms(), None, None
        else:
            leaf = get(id(inv.plan), none)
            ms = inv.epoch_ms
            ilat = inv.integration_latency_ms
            event = getattr(inv, "event_type", None)
        live = roll(ms)
        minutes = leaf.minutes
        minute = minutes.current if ms < minutes.end else leaf.roll(ms)
        _add(minute, 1, status, lat, ilat, None, False)
        _add_live(live, 1, status, lat, ilat, None, False)
        if event == "CONNECT":
            minute.connects += 1
        elif event == "MESSAGE":
            minute.messages += 1
        if error is not None:
            if 400 <= status < 500:
                minute.client_errors += 1
            else:
                minute.exec_errors += 1
        elif status >= 400:
            minute.int_errors += 1

    return observe

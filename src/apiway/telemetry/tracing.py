"""Tracing: which requests are sampled, the X-Amzn-Trace-Id they carry, and what becomes of their spans.

A stage is traced when its `tracingEnabled` is true (REST, as on AWS) or when the gateway traces every stage
(`serve --trace-all`: REST and HTTP APIs alike, which AWS cannot). Each request of a traced stage meets the
sampling rule of X-Ray's default: the first request each second, then a share of the rest (5 %) — unless the
client's X-Amzn-Trace-Id already decided (`Sampled=1` or `Sampled=0`). A sampled request carries the client's
Root (or a new one), `Parent` = the gateway's span and `Sampled=1` to its integration and back to the client, and
gets `inv.spans`, which the pipeline fills (runtime/gateway.py, functions/runners.py). At completion its trace
goes into a bounded ring of recent traces and, when configured, to the exporters' background threads.

Nothing here runs for a stage that is not traced; on a traced stage an unsampled request costs its sampling
decision: the tracer is no observer of the stage, a sampled request's spans call it when the request completes."""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from random import random
from time import time_ns
from typing import Any, Protocol

from apiway.core import request_ids
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Invocation, StageRuntime
from apiway.core.spans import GATEWAY, INTEGRATION, LAMBDA, SampledSpans
from apiway.telemetry import notes
from apiway.telemetry.hub import Equipment, StageSettings

DEFAULT_SAMPLE_RATE = 0.05  # X-Ray's default rule: a reservoir of 1 request a second, then 5 %
RECENT_TRACES = 200  # traces kept for the dashboard
_MASK64 = (1 << 64) - 1
_HEX = re.compile("[0-9a-fA-F]+")


@dataclass(slots=True)
class FinishedTrace:
    """A sampled request once it completed: what the ring keeps and exporters send."""

    spans: SampledSpans
    end_ns: int
    api_id: str
    api_name: str
    stage: str
    method: str
    path: str
    status: int

    def span_ids(self) -> list[tuple[int, int | None]]:
        """(id, parent id) of each span in `spans`: the checks and integrations are children of the gateway's
        span, a function's invocation of the integration that made it (recorded just after it ends)."""
        root = self.spans.span_id
        ids: list[tuple[int, int | None]] = []
        pending_lambdas: list[int] = []
        for i, span in enumerate(self.spans):
            span_id = (root + i + 1) & _MASK64
            ids.append((span_id, root))
            if span[0] == LAMBDA:
                pending_lambdas.append(i)
            elif span[0] == INTEGRATION:
                for j in pending_lambdas:
                    ids[j] = (ids[j][0], span_id)
                pending_lambdas.clear()
        return ids

    def document(self) -> dict[str, Any]:
        """The trace as `Tracer.recent` gives it: the gateway's span first, then the others by start."""
        start = self.spans.start_ns
        spans = [_span_doc(self.spans.span_id, None, GATEWAY, f"{self.api_name}/{self.stage}", start, self.end_ns,
                           self.status < 500)]
        steps = sorted(zip(self.spans, self.span_ids(), strict=True), key=lambda step: step[0][2])  # by start
        for (kind, name, begin, end, ok), (span_id, parent) in steps:
            spans.append(_span_doc(span_id, parent, kind, name, begin, end, ok))
        return {"traceId": self.spans.root, "api": self.api_id, "stage": self.stage, "method": self.method,
                "path": self.path, "status": self.status, "start_ms": start / 1e6,
                "duration_ms": (self.end_ns - start) / 1e6, "spans": spans}


def _span_doc(span_id: int, parent: int | None, kind: str, name: str, start: int, end: int, ok: bool) -> dict:
    return {"id": f"{span_id:016x}", "parent": f"{parent:016x}" if parent is not None else None, "name": name,
            "kind": kind, "start_ms": start / 1e6, "duration_ms": (end - start) / 1e6,
            "status": "ok" if ok else "error"}


class Exporter(Protocol):
    """Sends finished traces somewhere, off the request path (`put` only queues)."""

    def put(self, trace: FinishedTrace) -> None: ...

    def close(self) -> None: ...


class Sampler:
    """X-Ray's default rule for one stage: the first request of each second, then `rate` of the others; its
    `start` is the stage's starter, `done` what a sampled request's spans call when it completes."""

    __slots__ = ("done", "rate", "second")

    def __init__(self, rate: float, done: Callable[[HttpRequest, HttpResponse, Invocation], None]) -> None:
        self.rate = rate
        self.second = -1
        self.done = done

    def take(self, epoch_s: int) -> bool:
        if epoch_s != self.second:
            self.second = epoch_s
            return True
        return random() < self.rate

    def start(self, inv: Invocation) -> None:
        """The sampling decision; a sampled request gets its trace header and spans."""
        incoming = inv.request.header("x-amzn-trace-id")
        if incoming is None:
            epoch_s = inv.epoch_ms // 1000
            if epoch_s != self.second:
                self.second = epoch_s
            elif random() >= self.rate:
                return  # the request keeps the lazily made, unsampled header (Invocation.trace_id)
            _sample(inv, {}, self.done)
        else:
            fields = _fields(incoming)
            decided = fields.get("Sampled")
            if decided == "1" or (decided != "0" and self.take(inv.epoch_ms // 1000)):
                _sample(inv, fields, self.done)


class Tracer:
    """The tracing part: equips traced stages and keeps the recent traces."""

    def __init__(self, sample_rate: float = DEFAULT_SAMPLE_RATE, trace_all: bool = False,
                 exporters: Sequence[Exporter] = (), keep: int = RECENT_TRACES) -> None:
        self.sample_rate = sample_rate
        self.trace_all = trace_all
        self.exporters = tuple(exporters)
        self._recent: deque[FinishedTrace] = deque(maxlen=keep)
        self._lock = threading.Lock()  # `recent` may be read from another thread than the one appending

    def equip(self, runtime: StageRuntime, settings: StageSettings, out: Equipment) -> None:
        if settings.kind == "WEBSOCKET":
            return  # WebSocket events have no Invocation to carry spans
        if not (self.trace_all or (settings.kind == "REST" and settings.tracing_enabled)):
            return
        out.starters.append(Sampler(self.sample_rate, self._finish).start)

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest sampled requests' traces, newest first."""
        with self._lock:
            latest = list(self._recent)[-limit:] if limit > 0 else []
        return [trace.document() for trace in reversed(latest)]

    def close(self) -> None:
        for exporter in self.exporters:
            exporter.close()

    def _finish(self, request: HttpRequest, response: HttpResponse, inv: Invocation) -> None:
        """A sampled request completed: its trace to the ring and the exporters."""
        spans = inv.spans
        assert spans is not None
        stage = inv.stage
        trace = FinishedTrace(spans, time_ns(), stage.api_id, stage.api_name, stage.stage_name, request.method,
                              inv.path, response.status)
        with self._lock:
            self._recent.append(trace)
        for exporter in self.exporters:
            exporter.put(trace)


def _sample(inv: Invocation, fields: dict[str, str], done: Callable[[HttpRequest, HttpResponse, Invocation], None]
            ) -> None:
    """A sampled request: its trace header (the client's Root and other fields kept, the gateway's span as
    Parent), its spans, and `$context.xrayTraceId`."""
    root = fields.pop("Root", None)
    if root is None or not _valid_root(root):
        root = request_ids.trace_root(inv.epoch_ms // 1000)[5:]
    parent = fields.pop("Parent", None)
    fields.pop("Sampled", None)
    span_id = request_ids.span_id()
    spans = inv.spans = SampledSpans(root, span_id, parent if parent and _is_hex(parent, 16) else None, time_ns(),
                                     done)
    header = f"Root={root};Parent={span_id:016x};Sampled=1"
    inv.trace = header + "".join(f";{k}={v}" for k, v in fields.items()) if fields else header
    if inv.notes is not None:
        inv.notes[notes.XRAY_TRACE_ID] = spans.root


def _fields(header: str) -> dict[str, str]:
    fields = {}
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key:
            fields[key] = value
    return fields


def _valid_root(root: str) -> bool:
    """`1-{8 hex}-{24 hex}`, the only form whose id OpenTelemetry can carry (32 hex digits)."""
    return len(root) == 35 and root[:2] == "1-" and root[10] == "-" and _is_hex(root[2:10] + root[11:], 32)


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and _HEX.fullmatch(value) is not None


def otel_trace_id(root: str) -> bytes:
    """The X-Ray trace id `1-5e1b4151-5ac6c58dc39d0c3f1b4a9cf0` as OpenTelemetry's 16 bytes (its 32 hex digits)."""
    return bytes.fromhex(root[2:10] + root[11:])


"""Export of finished traces with OpenTelemetry's protocol: OTLP over HTTP with protobuf bodies (`http/protobuf`,
the default of OpenTelemetry's SDKs) or JSON (`http/json`), from a background thread in batches. Configured the
way OpenTelemetry's SDKs are: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL) or `OTEL_EXPORTER_OTLP_ENDPOINT`
(+ `/v1/traces`), `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`, `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`,
`OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT` (ms), `OTEL_SERVICE_NAME`, and `OTEL_TRACES_EXPORTER=none` to turn it off.
Trace ids are the X-Ray Root's 32 hex digits, span ids the gateway's 16: one id in both worlds."""

from __future__ import annotations

import http.client
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from apiway.core.spans import AUTHORIZER, GATEWAY, INTEGRATION, LAMBDA
from apiway.telemetry import otlp_protobuf as wire
from apiway.telemetry.batcher import Batcher
from apiway.telemetry.tracing import FinishedTrace, otel_trace_id

PROTOBUF = "http/protobuf"
JSON = "http/json"
# OpenTelemetry's SpanKind: the request as served, the checks inside it, the integration's call and the function.
_KINDS = {GATEWAY: 2, AUTHORIZER: 1, INTEGRATION: 1, LAMBDA: 3}  # SERVER, INTERNAL, INTERNAL, CLIENT
_STATUS_OK, _STATUS_ERROR = 1, 2


@dataclass(frozen=True, slots=True)
class OtlpSettings:
    endpoint: str
    headers: tuple[tuple[str, str], ...] = ()
    protocol: str = PROTOBUF
    timeout: float = 10.0
    service_name: str = "apiway"


def settings_from_env(env: Mapping[str, str]) -> OtlpSettings | None:
    """The exporter the OTEL_* variables ask for; None when they name no endpoint (or say `none`)."""
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if not endpoint:
        base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        if not base:
            return None
        endpoint = base.rstrip("/") + "/v1/traces"
    protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or PROTOBUF).strip()
    if protocol not in (PROTOBUF, JSON):
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL {protocol!r}: apiway exports traces with http/protobuf or "
                         f"http/json")
    timeout = env.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or env.get("OTEL_EXPORTER_OTLP_TIMEOUT") or "10000"
    headers = env.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or env.get("OTEL_EXPORTER_OTLP_HEADERS") or ""
    return OtlpSettings(endpoint, _headers(headers), protocol, int(timeout) / 1000,
                        env.get("OTEL_SERVICE_NAME", "").strip() or "apiway")


def _headers(value: str) -> tuple[tuple[str, str], ...]:
    """`key1=value1,key2=value2`, URL-encoded, as the OpenTelemetry specification writes them."""
    pairs = []
    for item in value.split(","):
        key, sep, val = item.partition("=")
        if sep and key.strip():
            pairs.append((urllib.parse.unquote(key.strip()), urllib.parse.unquote(val.strip())))
    return tuple(pairs)


class CollectorRefused(Exception):
    """The collector answered a batch with a status of 400 or more: told, not sent again."""


class _Poster:
    """POSTs to one URL over a connection kept open between batches (a new one per batch cost more than encoding
    a small batch); a kept connection the collector closed meanwhile is opened again once."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        self._connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._netloc = parts.netloc
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        self._pid = os.getpid()

    def post(self, body: bytes, headers: dict[str, str]) -> None:
        """Raises OSError or HTTPException when the batch did not reach the collector, CollectorRefused when it
        answered with an error."""
        if self._pid != os.getpid():  # a forked worker: the parent's connection is the parent's
            self._connection, self._pid = None, os.getpid()
        kept = self._connection
        if kept is not None:
            try:
                self._exchange(kept, body, headers)
                return
            except (OSError, http.client.HTTPException):
                kept.close()  # most likely closed by the collector while idle: once more on a new connection
        self._exchange(self._connection_class(self._netloc, timeout=self._timeout), body, headers)

    def _exchange(self, connection: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> None:
        self._connection = None
        connection.request("POST", self._target, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.will_close:
            connection.close()
        else:
            self._connection = connection
        if response.status >= 400:
            raise CollectorRefused(f"HTTP {response.status} {response.reason}")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class OtlpExporter:
    """Queues finished traces and posts them in batches to the collector."""

    def __init__(self, settings: OtlpSettings) -> None:
        self.settings = settings
        self._poster = _Poster(settings.endpoint, settings.timeout)
        self._batcher: Batcher[FinishedTrace] = Batcher(self._post, f"OTLP trace export to {settings.endpoint}")

    def put(self, trace: FinishedTrace) -> None:
        self._batcher.put(trace)

    def close(self) -> None:
        self._batcher.close()
        self._poster.close()

    def _post(self, traces: list[FinishedTrace]) -> None:
        s = self.settings
        if s.protocol == JSON:
            body, content_type = orjson.dumps(json_request(traces, s.service_name)), "application/json"
        else:
            body, content_type = protobuf_request(traces, s.service_name), "application/x-protobuf"
        self._poster.post(body, {"Content-Type": content_type, **dict(s.headers)})


_Row = tuple[int, str | None, str, str, int, int, bool, list[tuple[str, Any]]]


def _rows(trace: FinishedTrace) -> list[_Row]:
    """The trace's spans: (span id, parent id in hex, kind, name, start ns, end ns, ok, attributes)."""
    spans = trace.spans
    api: list[tuple[str, Any]] = [("aws.api_gateway.api_id", trace.api_id), ("aws.api_gateway.stage", trace.stage)]
    rows: list[_Row] = [(
        spans.span_id, spans.client_parent, GATEWAY, f"{trace.api_name}/{trace.stage}", spans.start_ns, trace.end_ns,
        trace.status < 500, [*api, ("http.request.method", trace.method), ("url.path", trace.path),
                             ("http.response.status_code", trace.status), ("aws.xray.trace_id", spans.root)])]
    for (kind, name, start, end, ok), (span_id, parent) in zip(spans, trace.span_ids(), strict=True):
        attributes = api + ([("faas.invoked_name", name), ("faas.invoked_provider", "aws")] if kind == LAMBDA else [])
        rows.append((span_id, f"{parent:016x}" if parent is not None else None, kind, name, start, end, ok,
                     attributes))
    return rows


def _spans(trace: FinishedTrace) -> list[dict[str, Any]]:
    """The trace's spans in OTLP's JSON mapping (ids in hex, times as decimal strings of nanoseconds)."""
    trace_id = otel_trace_id(trace.spans.root).hex()
    out = []
    for span_id, parent, kind, name, start, end, ok, attributes in _rows(trace):
        span: dict[str, Any] = {
            "traceId": trace_id, "spanId": f"{span_id:016x}", "name": name,
            "kind": _KINDS[kind], "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
            "attributes": [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
                           for k, v in attributes],
            "status": {"code": _STATUS_OK if ok else _STATUS_ERROR},
        }
        if parent is not None:
            span["parentSpanId"] = parent
        out.append(span)
    return out


def _resource(service_name: str) -> list[tuple[str, str]]:
    return [("service.name", service_name), ("cloud.provider", "aws")]


def json_request(traces: list[FinishedTrace], service_name: str) -> dict[str, Any]:
    """An ExportTraceServiceRequest in OTLP's JSON mapping."""
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": k, "value": {"stringValue": v}} for k, v in _resource(service_name)]},
        "scopeSpans": [{"scope": {"name": "apiway"}, "spans": [s for t in traces for s in _spans(t)]}],
    }]}


def protobuf_request(traces: list[FinishedTrace], service_name: str) -> bytes:
    """The same request as protobuf bytes, each span from pieces encoded once per stage and HTTP method (`_Pieces`):
    what changes from trace to trace is its ids, times, path, status and X-Ray id."""
    spans = []
    for trace in traces:
        pieces = _pieces(trace)
        s = trace.spans
        root = s.root
        head = wire.trace_head(otel_trace_id(root))
        status = trace.status
        attributes = b"".join((pieces.gateway_attributes, pieces.path(trace.path), pieces.status(status),
                               _XRAY_HEAD + root.encode() if len(root) == 35
                               else wire.string_attribute_field(_XRAY_TRACE_ID, root)))
        spans.append(wire.span(head, s.span_id, bytes.fromhex(s.client_parent) if s.client_parent else None,
                               pieces.gateway_name, s.start_ns, trace.end_ns, attributes,
                               _STATUS_OK if status < 500 else _STATUS_ERROR))
        for (kind, name, start, end, ok), (span_id, parent) in zip(s, trace.span_ids(), strict=True):
            name_kind, child_attributes = pieces.child(kind, name)
            spans.append(wire.span(head, span_id, parent.to_bytes(8, "big") if parent is not None else None,
                                   name_kind, start, end, child_attributes, _STATUS_OK if ok else _STATUS_ERROR))
    return wire.request([wire.attribute(k, v) for k, v in _resource(service_name)], "apiway", spans)


class _Pieces:
    """A stage and HTTP method's encoded span parts, the same in all its traces (in the order `_rows` has them)."""

    __slots__ = ("_children", "_paths", "_statuses", "api", "gateway_attributes", "gateway_name")

    def __init__(self, trace: FinishedTrace) -> None:
        self.api = [wire.attribute("aws.api_gateway.api_id", trace.api_id),
                    wire.attribute("aws.api_gateway.stage", trace.stage)]
        self.gateway_name = wire.name_and_kind(f"{trace.api_name}/{trace.stage}", _KINDS[GATEWAY])
        method = wire.attribute("http.request.method", trace.method)
        self.gateway_attributes = wire.attributes_field([*self.api, method])
        self._children: dict[tuple[str, str], tuple[bytes, bytes]] = {}
        self._statuses: dict[int, bytes] = {}
        self._paths: dict[str, bytes] = {}

    def status(self, status: int) -> bytes:
        """The status code as an attributes entry (9)."""
        found = self._statuses.get(status)
        if found is None:
            found = self._statuses[status] = wire.attributes_field([wire.attribute("http.response.status_code",
                                                                                   status)])
        return found

    def path(self, path: str) -> bytes:
        """The request path as an attributes entry (9); the last `_MAX_PATHS` paths kept."""
        found = self._paths.get(path)
        if found is None:
            if len(self._paths) >= _MAX_PATHS:
                self._paths.clear()
            found = self._paths[path] = wire.string_attribute_field(_URL_PATH, path)
        return found

    def child(self, kind: str, name: str) -> tuple[bytes, bytes]:
        found = self._children.get((kind, name))
        if found is None:
            extra = [wire.attribute("faas.invoked_name", name), wire.attribute("faas.invoked_provider", "aws")] \
                if kind == LAMBDA else []
            found = self._children[(kind, name)] = (wire.name_and_kind(name, _KINDS[kind]),
                                                    wire.attributes_field([*self.api, *extra]))
        return found


_URL_PATH = wire.key("url.path")
_MAX_PATHS = 256  # per stage and method: paths with parameters vary
_XRAY_TRACE_ID = wire.key("aws.xray.trace_id")
# The X-Ray trace id's entry up to its value, for ids of the usual 35 characters (`1-5759e988-bd86…`).
_XRAY_HEAD = wire.string_attribute_field(_XRAY_TRACE_ID, "-" * 35)[:-35]
_PIECES: dict[tuple[str, str, str, str], _Pieces] = {}
_MAX_PIECES = 1024  # stages and methods kept; past it the cache starts over


def _pieces(trace: FinishedTrace) -> _Pieces:
    key = (trace.api_id, trace.api_name, trace.stage, trace.method)
    found = _PIECES.get(key)
    if found is None:
        if len(_PIECES) >= _MAX_PIECES:
            _PIECES.clear()
        found = _PIECES[key] = _Pieces(trace)
    return found

"""Export of finished traces to an X-Ray daemon (or anything speaking its protocol): one UDP datagram per
segment, `{"format": "json", "version": 1}` then the segment document, to `AWS_XRAY_DAEMON_ADDRESS`
(`host:port`, default port 2000). The gateway's span is the segment (`{apiName}/{stage}`, origin
`AWS::ApiGateway::Stage`), its checks, integration and function invocations are subsegments."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

import orjson

from apiway.core.spans import LAMBDA
from apiway.telemetry.batcher import Batcher
from apiway.telemetry.tracing import FinishedTrace

_HEADER = b'{"format": "json", "version": 1}\n'
MAX_DATAGRAM = 64 * 1024 - 1


def address_from_env(env: Mapping[str, str]) -> tuple[str, int] | None:
    """`AWS_XRAY_DAEMON_ADDRESS` as (host, port): `host:port`, or the `tcp:…` `udp:…` pair the SDKs accept."""
    value = env.get("AWS_XRAY_DAEMON_ADDRESS", "").strip()
    if not value:
        return None
    for part in value.split():
        if part.startswith("udp:"):
            value = part[4:]
    host, sep, port = value.rpartition(":")
    return (host, int(port)) if sep else (value, 2000)


def segment(trace: FinishedTrace) -> dict[str, Any]:
    spans = trace.spans
    ids = trace.span_ids()
    by_id: dict[int, dict[str, Any]] = {}
    for (kind, name, start, end, ok), (span_id, _) in zip(spans, ids, strict=True):
        sub: dict[str, Any] = {"id": f"{span_id:016x}", "name": name, "start_time": start / 1e9,
                               "end_time": end / 1e9}
        if kind == LAMBDA:
            sub["namespace"] = "aws"
            sub["aws"] = {"operation": "Invoke", "function_name": name}
        if not ok:
            sub["fault"] = True
        by_id[span_id] = sub
    subsegments = []
    for span_id, parent in ids:  # a function's invocation nests in its integration's subsegment
        container = by_id.get(parent) if parent is not None else None
        if container is not None:
            container.setdefault("subsegments", []).append(by_id[span_id])
        else:
            subsegments.append(by_id[span_id])
    doc: dict[str, Any] = {
        "name": f"{trace.api_name}/{trace.stage}", "id": f"{spans.span_id:016x}", "trace_id": spans.root,
        "start_time": spans.start_ns / 1e9, "end_time": trace.end_ns / 1e9, "origin": "AWS::ApiGateway::Stage",
        "http": {"request": {"method": trace.method, "url": trace.path}, "response": {"status": trace.status}},
        "annotations": {"api_id": trace.api_id, "stage": trace.stage},
    }
    if 400 <= trace.status < 500:
        doc["error"] = True
    elif trace.status >= 500:
        doc["fault"] = True
    if spans.client_parent:
        doc["parent_id"] = spans.client_parent
    if subsegments:
        doc["subsegments"] = subsegments
    return doc


class XrayDaemonExporter:
    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self._socket: socket.socket | None = None
        self._batcher: Batcher[FinishedTrace] = Batcher(self._send, f"X-Ray segments to {address[0]}:{address[1]}")

    def put(self, trace: FinishedTrace) -> None:
        self._batcher.put(trace)

    def close(self) -> None:
        self._batcher.close()
        if self._socket is not None:
            self._socket.close()

    def _send(self, traces: list[FinishedTrace]) -> None:
        if self._socket is None:
            self._socket = socket.socket(socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET,
                                         socket.SOCK_DGRAM)
        for trace in traces:
            datagram = _HEADER + orjson.dumps(segment(trace))
            if len(datagram) <= MAX_DATAGRAM:
                self._socket.sendto(datagram, self.address)

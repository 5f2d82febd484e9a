"""The seam between stages and what observes them. Each part (access logs, execution logs, metrics, tracing)
registers a `Part`; when a stage is compiled, `Telemetry.equip` asks every part what it adds to the stage —
observers called at completion and starters called as each request begins — from the stage's own settings,
read once here into a `StageSettings`. A stage nothing is enabled for gets neither, and costs nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from apiway.core.invocation import Invocation, Observer, StageRuntime, Starter
from apiway.model.method_settings import ALL_METHODS, normalised_key


@dataclass(frozen=True, slots=True)
class MethodLogging:
    """One method's or route's observability settings (REST methodSettings, HTTP/WebSocket routeSettings)."""

    logging_level: str = "OFF"  # OFF | ERROR | INFO (REST and WebSocket)
    data_trace: bool = False
    metrics_enabled: bool = False  # REST metricsEnabled, v2 detailedMetricsEnabled


@dataclass(frozen=True, slots=True)
class StageSettings:
    """What a stage record says about observability, for any API kind."""

    kind: str  # REST | HTTP | WEBSOCKET
    api_id: str
    api_name: str
    stage_name: str
    is_canary: bool = False
    access_log_format: str | None = None
    access_log_destination: str | None = None  # a log group ARN (or a Firehose ARN, which is not served)
    tracing_enabled: bool = False  # REST only
    # By method (REST: `model.method_settings.method_key(resource_path, verb)`, e.g. "pets/{id}/GET", "/GET" for
    # the root; HTTP/WebSocket: the route key); `default` applies where a method has no entry of its own.
    methods: Mapping[str, MethodLogging] = field(default_factory=dict)
    default: MethodLogging = MethodLogging()

    def method(self, key: str) -> MethodLogging:
        return self.methods.get(key, self.default)


@dataclass(slots=True)
class Equipment:
    observers: list[Observer] = field(default_factory=list)
    starters: list[Starter] = field(default_factory=list)


class Part(Protocol):
    """An observability feature: adds its observers and starters to a stage that enables it."""

    def equip(self, runtime: StageRuntime, settings: StageSettings, out: Equipment) -> None: ...


class Telemetry:
    """The parts the gateway runs with, built once by the app and handed to every compilation."""

    def __init__(self, parts: Sequence[Part] = ()) -> None:
        self.parts = list(parts)

    def equip(self, runtime: StageRuntime, stage: Mapping[str, Any]) -> None:
        """Give a compiled stage its observers and starter (nothing when no part is enabled for it)."""
        if not self.parts:
            return
        settings = stage_settings(runtime, stage)
        out = Equipment()
        for part in self.parts:
            part.equip(runtime, settings, out)
        runtime.observers = tuple(out.observers)
        runtime.on_start = _chain(out.starters)


def _chain(starters: list[Starter]) -> Starter | None:
    if not starters:
        return None
    if len(starters) == 1:
        return starters[0]
    chained = tuple(starters)

    def start(inv: Invocation) -> None:
        for starter in chained:
            starter(inv)

    return start


def _method_logging(entry: Mapping[str, Any], base: MethodLogging) -> MethodLogging:
    level = entry.get("loggingLevel")
    trace = entry.get("dataTraceEnabled")
    metrics = entry.get("metricsEnabled", entry.get("detailedMetricsEnabled"))
    return MethodLogging(
        logging_level=str(level) if level is not None else base.logging_level,
        data_trace=bool(trace) if trace is not None else base.data_trace,
        metrics_enabled=bool(metrics) if metrics is not None else base.metrics_enabled,
    )


def stage_settings(runtime: StageRuntime, stage: Mapping[str, Any]) -> StageSettings:
    """The stage record's observability settings: REST's methodSettings (`*/*` over AWS's defaults, a method's own
    entry over `*/*`) or v2's defaultRouteSettings and routeSettings."""
    access = stage.get("accessLogSettings") or {}
    methods: dict[str, MethodLogging] = {}
    if runtime.kind == "REST":
        settings: Mapping[str, Any] = stage.get("methodSettings") or {}
        default = _method_logging(settings.get(ALL_METHODS) or {}, MethodLogging())
        for key, entry in settings.items():
            if key != ALL_METHODS:
                methods[normalised_key(key)] = _method_logging(entry, default)
    else:
        default = _method_logging(stage.get("defaultRouteSettings") or {}, MethodLogging())
        for route_key, entry in (stage.get("routeSettings") or {}).items():
            methods[route_key] = _method_logging(entry, default)
    return StageSettings(
        kind=runtime.kind, api_id=runtime.api_id, api_name=runtime.api_name, stage_name=runtime.stage_name,
        is_canary=runtime.is_canary, access_log_format=access.get("format") or None,
        access_log_destination=access.get("destinationArn") or None,
        tracing_enabled=bool(stage.get("tracingEnabled")), methods=methods, default=default)

"""The tracer `apiway serve` runs with: its sampling settings, and the exporters the environment asks for
(OpenTelemetry's OTEL_* variables, the X-Ray daemon's AWS_XRAY_DAEMON_ADDRESS)."""

from __future__ import annotations

from collections.abc import Mapping

from apiway.telemetry.otlp import OtlpExporter, settings_from_env
from apiway.telemetry.tracing import Exporter, Tracer
from apiway.telemetry.xray_daemon import XrayDaemonExporter, address_from_env


def build_tracer(sample_rate: float, trace_all: bool, env: Mapping[str, str]) -> tuple[Tracer, list[str]]:
    """The tracer and a line for each place its traces go (ValueError: the environment asks for what is not
    supported)."""
    exporters: list[Exporter] = []
    where = []
    otlp = settings_from_env(env)
    if otlp is not None:
        exporters.append(OtlpExporter(otlp))
        where.append(f"OTLP {otlp.protocol} to {otlp.endpoint}")
    try:
        daemon = address_from_env(env)
    except ValueError:
        address = env.get("AWS_XRAY_DAEMON_ADDRESS")
        raise ValueError(f"AWS_XRAY_DAEMON_ADDRESS {address!r}: expected host:port") from None
    if daemon is not None:
        exporters.append(XrayDaemonExporter(daemon))
        where.append(f"X-Ray segments (UDP) to {daemon[0]}:{daemon[1]}")
    return Tracer(sample_rate, trace_all, exporters), where

"""Tracing's rules without a server: which requests are sampled, the X-Amzn-Trace-Id a sampled request carries,
the trace ring, and what the exporters make of a finished trace (OTLP protobuf and JSON, X-Ray segments)."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Invocation, MethodPlan, StageRuntime
from apiway.core.media import BinaryTypes
from apiway.core.router import Router
from apiway.core.spans import INTEGRATION, LAMBDA, SampledSpans
from apiway.runtime.observers import finished_request
from apiway.telemetry import otlp_protobuf
from apiway.telemetry.access_log import compile_format
from apiway.telemetry.hub import Telemetry
from apiway.telemetry.otlp import json_request, protobuf_request, settings_from_env
from apiway.telemetry.tracing import FinishedTrace, Sampler, Tracer
from apiway.telemetry.xray_daemon import address_from_env, segment

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
NOW_MS = 1_700_000_000_000


class _NoErrors:
    def render(self, *args):
        raise AssertionError("no error is rendered here")


async def _integration(inv: Invocation) -> HttpResponse:
    return HttpResponse(200, [], b"")


def stage(tracer: Tracer, kind: str = "REST", tracing_enabled: bool = True, clock=lambda: NOW_MS) -> StageRuntime:
    runtime = StageRuntime(
        api_id="a1b2c3", kind=kind, api_name="Pets", stage_name="prod", deployment_id="d1", variables=None,
        router=Router(), errors=_NoErrors(), binary_types=BinaryTypes(()), account_id="123456789012",
        disable_execute_api_endpoint=False, plans=[], wall_ms=clock)
    Telemetry([tracer]).equip(runtime, {"tracingEnabled": tracing_enabled})
    return runtime


def invocation(runtime: StageRuntime, trace: str | None = None) -> Invocation:
    headers = [("X-Amzn-Trace-Id", trace)] if trace is not None else []
    plan = MethodPlan("r1", "/pets", "GET", False, "NONE", _integration)
    req = HttpRequest("GET", "/prod/pets", "", headers, b"")
    return Invocation(req, runtime, plan, {}, "/pets", "/prod/pets", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef")


def complete(runtime: StageRuntime, inv: Invocation, status: int = 200) -> None:
    finished_request(runtime, inv.request, HttpResponse(status, [], b""), inv, None)


def test_only_traced_stages_are_equipped() -> None:
    assert stage(Tracer(), tracing_enabled=False).on_start is None
    assert stage(Tracer(), kind="HTTP").on_start is None  # HTTP APIs have no X-Ray on AWS
    assert stage(Tracer(trace_all=True), kind="HTTP").on_start is not None
    assert stage(Tracer(trace_all=True), kind="WEBSOCKET").on_start is None
    assert stage(Tracer(), tracing_enabled=True).on_start is not None


def test_the_first_request_of_each_second_then_the_rate() -> None:
    never = Sampler(0.0, lambda *_: None)
    assert [never.take(100) for _ in range(5)] == [True, False, False, False, False]
    assert never.take(101) and not never.take(101)
    always = Sampler(1.0, lambda *_: None)
    assert all(always.take(100) for _ in range(5))


def test_a_sampled_request_keeps_the_clients_root_and_gets_the_gateways_parent() -> None:
    runtime = stage(Tracer(sample_rate=0.0))
    runtime.observers = (lambda *_: None,)  # observed (an access log, metrics): the request keeps notes
    inv = invocation(runtime, f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=?;Lineage=a87bd80c:1|68fd508a:5")
    assert isinstance(inv.spans, SampledSpans)
    fields = dict(part.split("=", 1) for part in inv.trace_id().split(";"))
    assert fields["Root"] == ROOT and fields["Sampled"] == "1" and fields["Lineage"] == "a87bd80c:1|68fd508a:5"
    assert fields["Parent"] == f"{inv.spans.span_id:016x}" != "53995c3f42cd8ad8"
    assert inv.spans.client_parent == "53995c3f42cd8ad8"
    xray_trace_id = compile_format("$context.xrayTraceId")
    assert xray_trace_id(inv.request, HttpResponse(200, [], b""), runtime, inv, None, 1) == ROOT
    assert ("X-Amzn-Trace-Id", inv.trace_id()) in inv.forwarding_headers()


def test_the_clients_decision_wins_and_the_reservoir_is_per_second() -> None:
    runtime = stage(Tracer(sample_rate=0.0))
    unsampled = invocation(runtime, f"Root={ROOT};Sampled=0")  # the reservoir is not taken by it
    assert unsampled.spans is None and unsampled.trace_id() == f"Root={ROOT};Sampled=0"
    first, second = invocation(runtime), invocation(runtime)
    assert first.spans is not None and second.spans is None
    assert second.trace_id().endswith(";Sampled=0")
    forced = invocation(runtime, f"Root={ROOT};Sampled=1")
    assert forced.spans is not None


def test_a_malformed_root_is_replaced() -> None:
    inv = invocation(stage(Tracer(sample_rate=1.0)), "Root=1-zz-nothex;Sampled=1")
    root = inv.trace_id().split(";")[0].removeprefix("Root=")
    assert root != "1-zz-nothex" and len(root) == 35 and root.startswith(f"1-{NOW_MS // 1000:08x}-")


def finished(status: int = 200) -> tuple[Tracer, Invocation]:
    tracer = Tracer(sample_rate=1.0)
    runtime = stage(tracer)
    inv = invocation(runtime, f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    spans = inv.spans
    assert isinstance(spans, SampledSpans)
    start = spans.start_ns
    spans.append(("authorizer", "Checks", start + 1_000, start + 2_000_000, True))
    spans.append((LAMBDA, "PetsFn", start + 3_000_000, start + 9_000_000, True))
    spans.append((INTEGRATION, "Integration", start + 2_500_000, start + 9_500_000, True))
    complete(runtime, inv, status)
    return tracer, inv


def test_recent_traces_nest_the_function_in_its_integration() -> None:
    tracer, _ = finished()
    [trace] = tracer.recent()
    assert (trace["traceId"], trace["api"], trace["stage"], trace["method"], trace["path"], trace["status"]) == (
        ROOT, "a1b2c3", "prod", "GET", "/pets", 200)
    gateway, auth, integration, fn = trace["spans"]
    assert gateway["kind"] == "gateway" and gateway["parent"] is None and gateway["name"] == "Pets/prod"
    assert auth["parent"] == integration["parent"] == gateway["id"]
    assert fn["parent"] == integration["id"] and fn["kind"] == "lambda" and fn["name"] == "PetsFn"
    assert fn["duration_ms"] == pytest.approx(6.0, abs=0.01)
    assert fn["start_ms"] - gateway["start_ms"] == pytest.approx(3.0, abs=0.01)
    assert len({s["id"] for s in trace["spans"]}) == 4


def test_the_ring_is_bounded_and_newest_first() -> None:
    tracer = Tracer(sample_rate=1.0, keep=3)
    runtime = stage(tracer)
    for n in range(5):
        inv = invocation(runtime, f"Root=1-5759e988-bd862e3fe1be46a99427279{n};Sampled=1")
        complete(runtime, inv)
    assert [t["traceId"][-1] for t in tracer.recent()] == ["4", "3", "2"]
    assert len(tracer.recent(limit=1)) == 1


def test_unsampled_requests_leave_nothing() -> None:
    tracer = Tracer(sample_rate=0.0)
    runtime = stage(tracer)
    complete(runtime, invocation(runtime, f"Root={ROOT};Sampled=0"))
    assert tracer.recent() == []


def _trace(inv: Invocation) -> FinishedTrace:
    assert isinstance(inv.spans, SampledSpans)
    return FinishedTrace(inv.spans, inv.spans.start_ns + 10_000_000, "a1b2c3", "Pets", "prod", "GET", "/pets", 502)


def test_otlp_protobuf_carries_the_xray_ids() -> None:
    _, inv = finished()
    message = ExportTraceServiceRequest.FromString(protobuf_request([_trace(inv)], "edge"))
    [resource] = message.resource_spans
    assert {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"] == "edge"
    spans = resource.scope_spans[0].spans
    assert {s.trace_id.hex() for s in spans} == {"5759e988bd862e3fe1be46a994272793"}
    gateway = spans[0]
    assert gateway.parent_span_id.hex() == "53995c3f42cd8ad8" and gateway.kind == 2  # SERVER
    assert gateway.status.code == 2  # 502: an error
    attributes = {a.key: a.value for a in gateway.attributes}
    assert attributes["http.response.status_code"].int_value == 502
    by_name = {s.name: s for s in spans}
    assert by_name["PetsFn"].parent_span_id == by_name["Integration"].span_id
    assert by_name["Integration"].parent_span_id == gateway.span_id
    as_json = json_request([_trace(inv)], "edge")["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert as_json[0]["traceId"] == "5759e988bd862e3fe1be46a994272793"
    assert as_json[0]["spanId"] == gateway.span_id.hex()


def _from_json_mapping(document: dict) -> ExportTraceServiceRequest:
    """The request built with OpenTelemetry's own message classes from OTLP's JSON mapping (hex ids, decimal
    strings for 64-bit numbers): the reference the hand-written protobuf must decode to."""
    def kvs(items: list[dict]) -> list[common_pb2.KeyValue]:
        return [common_pb2.KeyValue(key=a["key"], value=common_pb2.AnyValue(int_value=int(a["value"]["intValue"]))
                                    if "intValue" in a["value"] else common_pb2.AnyValue(
                                        string_value=a["value"]["stringValue"])) for a in items]

    [resource_spans] = document["resourceSpans"]
    [scope_spans] = resource_spans["scopeSpans"]
    spans = [trace_pb2.Span(
        trace_id=bytes.fromhex(s["traceId"]), span_id=bytes.fromhex(s["spanId"]),
        parent_span_id=bytes.fromhex(s.get("parentSpanId", "")), name=s["name"], kind=s["kind"],
        start_time_unix_nano=int(s["startTimeUnixNano"]), end_time_unix_nano=int(s["endTimeUnixNano"]),
        attributes=kvs(s["attributes"]), status=trace_pb2.Status(code=s["status"]["code"]))
        for s in scope_spans["spans"]]
    return ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        resource=resource_pb2.Resource(attributes=kvs(resource_spans["resource"]["attributes"])),
        scope_spans=[trace_pb2.ScopeSpans(scope=common_pb2.InstrumentationScope(name=scope_spans["scope"]["name"]),
                                          spans=spans)])])


def test_the_hand_written_protobuf_decodes_to_what_the_json_mapping_says() -> None:
    _, inv = finished()
    _, unparented = finished()
    traces = [_trace(inv), FinishedTrace(unparented.spans, unparented.spans.start_ns + 1, "a1b2c3", "Pets", "prod",
                                         "POST", "/pets/ünïcode", 200)]
    unparented.spans.client_parent = None  # a trace the gateway began: its span has no parent
    written = protobuf_request(traces, "edge")
    assert ExportTraceServiceRequest.FromString(written) == _from_json_mapping(json_request(traces, "edge"))
    assert written == _from_json_mapping(json_request(traces, "edge")).SerializeToString()  # the same bytes


def test_the_same_bytes_for_many_paths_long_ones_and_repeats() -> None:
    _, inv = finished()
    paths = [f"/pets/{n}" for n in range(300)] + ["/pets/0", "/" + "p" * 200, "/pets/0"]  # past the 256 kept
    traces = [FinishedTrace(inv.spans, inv.spans.start_ns + 1, "a1b2c3", "Pets", "prod", "GET", path, 200)
              for path in paths]
    assert protobuf_request(traces, "edge") == _from_json_mapping(json_request(traces, "edge")).SerializeToString()
    for value in ("", "x", "x" * 120, "x" * 200, "ü" * 70):
        assert otlp_protobuf.string_attribute_field(otlp_protobuf.key("k"), value) == \
            otlp_protobuf.attributes_field([otlp_protobuf.attribute("k", value)])


def test_protobuf_attributes_take_any_int64_and_long_strings() -> None:
    for value in (0, 127, 128, 300, 2**63 - 1, -1, -(2**63), "x" * 200, ""):
        kv = common_pb2.KeyValue.FromString(otlp_protobuf.attribute("k", value))
        got = kv.value.int_value if isinstance(value, int) else kv.value.string_value
        assert (kv.key, got) == ("k", value)


def test_otlp_settings_follow_the_opentelemetry_variables() -> None:
    assert settings_from_env({}) is None
    base = settings_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
                              "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s%20ecret, x-tenant = t1",
                              "OTEL_SERVICE_NAME": "edge"})
    assert base is not None and base.endpoint == "http://collector:4318/v1/traces"
    assert base.headers == (("api-key", "s ecret"), ("x-tenant", "t1")) and base.service_name == "edge"
    own = settings_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318",
                             "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom",
                             "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_TIMEOUT": "2500"})
    assert own is not None and own.endpoint == "http://b:4318/custom" and own.protocol == "http/json"
    assert own.timeout == 2.5
    assert settings_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a", "OTEL_TRACES_EXPORTER": "none"}) is None
    with pytest.raises(ValueError, match="grpc"):
        settings_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})


def test_xray_segments() -> None:
    _, inv = finished()
    doc = segment(_trace(inv))
    assert doc["trace_id"] == ROOT and doc["name"] == "Pets/prod" and doc["parent_id"] == "53995c3f42cd8ad8"
    assert doc["origin"] == "AWS::ApiGateway::Stage" and doc["fault"] is True
    checks, integration = doc["subsegments"]
    assert checks["name"] == "Checks" and integration["name"] == "Integration" and integration["subsegments"][0]["name"] == "PetsFn"
    assert address_from_env({"AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2001"}) == ("127.0.0.1", 2001)
    assert address_from_env({"AWS_XRAY_DAEMON_ADDRESS": "tcp:10.0.0.1:2000 udp:10.0.0.2:2002"}) == ("10.0.0.2", 2002)
    assert address_from_env({}) is None

"""Tracing end to end: a real `apiway serve` exporting with OTLP to a collector started here (an HTTP server
decoding the protobuf), a client's X-Amzn-Trace-Id reaching functions in both modes and HTTP backends, coming
back to the client, and `tracingEnabled` switched on through the control plane."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.e2e.echo_backend import EchoServer
from tests.http_apis import invoke
from tests.support import Server, apigateway_client

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
CLIENT_PARENT = "53995c3f42cd8ad8"

HANDLER = """import json, os

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"env": os.environ.get("_X_AMZN_TRACE_ID"),
                                                   "header": event["headers"].get("X-Amzn-Trace-Id")})}
"""


def lambda_route(function: str) -> str:
    return (f"    get:\n      x-amazon-apigateway-integration:\n        type: aws_proxy\n        httpMethod: POST\n"
            f"        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:us-east-1:123456789012:function:{function}/invocations\n")


def rest_api(backend: EchoServer) -> str:
    return ("openapi: 3.0.1\ninfo: {title: Traced}\npaths:\n"
            f"  /inline:\n{lambda_route('Inline')}"
            f"  /worker:\n{lambda_route('Worker')}"
            "  /backend:\n    get:\n      x-amazon-apigateway-integration:\n"
            f"        {{type: http_proxy, httpMethod: GET, uri: 'http://{backend.address}/rest'}}\n"
            "  /mock:\n    get:\n      x-amazon-apigateway-integration:\n"
            "        type: mock\n        requestTemplates: {application/json: '{\"statusCode\": 200}'}\n"
            "        responses: {default: {statusCode: '200', responseTemplates: {application/json: '{\"m\": 1}'}}}\n")


def http_api(backend: EchoServer) -> str:
    return ("openapi: 3.0.1\ninfo: {title: TracedHttp, version: '1'}\npaths:\n"
            "  /backend:\n    get:\n      x-amazon-apigateway-integration:\n"
            f"        {{type: http_proxy, httpMethod: GET, uri: 'http://{backend.address}/http'}}\n")


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver: keeps every span it is sent, and the request headers."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receive)
        self.spans: list = []
        self.resources: list = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def trace(self, trace_id_hex: str, count: int, timeout: float = 15.0) -> list:
        """The spans of one trace, once `count` of them arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                spans = [s for s in self.spans if s.trace_id.hex() == trace_id_hex]
            if len(spans) >= count:
                return spans
            time.sleep(0.05)
        raise AssertionError(f"{len(spans)} spans of {trace_id_hex} arrived, not {count}")


class _Receive(BaseHTTPRequestHandler):
    server: Collector

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.path == "/v1/traces" and self.headers["Content-Type"] == "application/x-protobuf"
        message = ExportTraceServiceRequest.FromString(body)
        with self.server.lock:
            self.server.headers.append({k.lower(): v for k, v in self.headers.items()})
            for resource in message.resource_spans:
                self.server.resources.append(resource.resource)
                for scope in resource.scope_spans:
                    self.server.spans.extend(scope.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    server = Collector()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, backend: EchoServer) -> Path:
    work = tmp_path_factory.mktemp("tracing")
    (work / "state").mkdir()
    (work / "rest.yaml").write_text(rest_api(backend))
    (work / "http.yaml").write_text(http_api(backend))
    (work / "fn.py").write_text(HANDLER)
    (work / "apiway.yaml").write_text(
        "apis:\n  - openapi: rest.yaml\n    id: traced0001\n  - {openapi: http.yaml, kind: http}\n"
        "functions:\n  Inline: {handler: fn.py:handler, mode: inline}\n"
        "  Worker: {handler: fn.py:handler, mode: worker}\n")
    return work / "apiway.yaml"


@pytest.fixture(scope="module")
def daemon() -> Iterator[socket.socket]:
    """A stand-in X-Ray daemon: a UDP socket the test reads segments from."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(15)
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def gateway(project: Path, collector: Collector, daemon: socket.socket) -> Iterator[Server]:
    server = Server(project, project.parent / "state" / "traced.db", ["--trace-all"],
                    env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_SERVICE_NAME": "edge-gateway",
                         "OTEL_EXPORTER_OTLP_HEADERS": "x-collector-token=s%20ecret",
                         "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}"})
    assert f"OTLP http/protobuf to {collector.url}/v1/traces" in server.output
    yield server
    server.stop()


def fields(header: str | None) -> dict[str, str]:
    assert header is not None
    return dict(part.split("=", 1) for part in header.split(";"))


def sampled(root: str = ROOT) -> str:
    return f"Root={root};Parent={CLIENT_PARENT};Sampled=1"


@pytest.mark.parametrize("function", ["inline", "worker"])
def test_the_clients_trace_reaches_the_function_and_comes_back(gateway: Server, collector: Collector,
                                                              function: str) -> None:
    root = ROOT[:-1] + ("1" if function == "inline" else "2")
    reply = gateway.call("GET", "traced0001", "dev", f"/{function}", headers={"X-Amzn-Trace-Id": sampled(root)})
    assert reply.status == 200, reply.body
    returned = reply.header("X-Amzn-Trace-Id")
    seen = fields(returned)
    assert seen["Root"] == root and seen["Sampled"] == "1" and seen["Parent"] != CLIENT_PARENT
    body = reply.json()
    assert body["env"] == body["header"] == returned  # `_X_AMZN_TRACE_ID` in the function's environment

    spans = {s.name: s for s in collector.trace(root[2:].replace("-", ""), 3)}
    gateway_span, integration, fn = spans["Traced/dev"], spans["Integration"], spans[function.capitalize()]
    assert gateway_span.span_id.hex() == seen["Parent"]  # what the function was told is its parent
    assert gateway_span.parent_span_id.hex() == CLIENT_PARENT and gateway_span.kind == 2  # SERVER
    assert integration.parent_span_id == gateway_span.span_id and fn.parent_span_id == integration.span_id
    assert gateway_span.start_time_unix_nano <= integration.start_time_unix_nano <= fn.start_time_unix_nano
    assert fn.end_time_unix_nano <= integration.end_time_unix_nano <= gateway_span.end_time_unix_nano
    attributes = {a.key: a.value for a in gateway_span.attributes}
    assert attributes["http.response.status_code"].int_value == 200
    assert attributes["url.path"].string_value == f"/{function}"
    service = {a.key: a.value.string_value for a in collector.resources[-1].attributes}
    assert service["service.name"] == "edge-gateway"
    assert collector.headers[-1]["x-collector-token"] == "s ecret"


def test_the_trace_reaches_http_backends_of_rest_and_http_apis(gateway: Server, collector: Collector,
                                                              backend: EchoServer) -> None:
    root = ROOT[:-1] + "3"
    reply = gateway.call("GET", "traced0001", "dev", "/backend", headers={"X-Amzn-Trace-Id": sampled(root)})
    assert reply.status == 200
    sent = fields(dict(reply.json()["headers"])["X-Amzn-Trace-Id"])
    assert sent["Root"] == root and sent["Sampled"] == "1"
    spans = collector.trace(root[2:].replace("-", ""), 2)
    assert {"Traced/dev", "Integration"} <= {s.name for s in spans}  # and "Checks" (throttling) before it

    http_root = ROOT[:-1] + "4"
    http_reply = invoke(gateway.port, gateway.api_ids["TracedHttp"], "GET", "/backend",
                        [("X-Amzn-Trace-Id", sampled(http_root))])
    assert http_reply.status == 200
    sent = fields(dict(http_reply.json()["headers"])["X-Amzn-Trace-Id"])
    assert sent["Root"] == http_root and sent["Sampled"] == "1"
    spans = collector.trace(http_root[2:].replace("-", ""), 2)
    assert {"TracedHttp/$default", "Integration"} <= {s.name for s in spans}


def test_a_sampled_mock_request_has_its_checks_and_integration_spans(gateway: Server, collector: Collector) -> None:
    """A MOCK answers without waiting, sampled or not: its checks and its integration are still spans, children
    of the gateway's."""
    root = ROOT[:-1] + "a"
    reply = gateway.call("GET", "traced0001", "dev", "/mock", headers={"X-Amzn-Trace-Id": sampled(root)})
    assert reply.status == 200 and reply.json() == {"m": 1}
    spans = {s.name: s for s in collector.trace(root[2:].replace("-", ""), 3)}
    assert set(spans) == {"Traced/dev", "Checks", "Integration"}
    gateway_span = spans["Traced/dev"]
    for child in (spans["Checks"], spans["Integration"]):
        assert child.parent_span_id == gateway_span.span_id
        assert gateway_span.start_time_unix_nano <= child.start_time_unix_nano <= child.end_time_unix_nano
    assert spans["Checks"].end_time_unix_nano <= spans["Integration"].start_time_unix_nano


def test_a_request_the_client_left_unsampled_is_not_traced(gateway: Server, collector: Collector) -> None:
    unsampled = f"Root={ROOT[:-1]}5;Parent={CLIENT_PARENT};Sampled=0"
    reply = gateway.call("GET", "traced0001", "dev", "/inline", headers={"X-Amzn-Trace-Id": unsampled})
    assert reply.header("X-Amzn-Trace-Id") == reply.json()["env"] == unsampled  # passed on as it came
    after = ROOT[:-1] + "6"
    gateway.call("GET", "traced0001", "dev", "/inline", headers={"X-Amzn-Trace-Id": sampled(after)})
    collector.trace(after[2:].replace("-", ""), 3)  # exported in order: the one before would be here by now
    assert not [s for s in collector.spans if s.trace_id.hex().endswith("5")]


def test_a_request_without_a_trace_header_gets_a_new_root(gateway: Server) -> None:
    reply = gateway.call("GET", "traced0001", "dev", "/worker")
    returned = fields(reply.header("X-Amzn-Trace-Id"))
    assert returned["Root"].startswith("1-") and len(returned["Root"]) == 35
    assert reply.json()["env"] == reply.header("X-Amzn-Trace-Id")


def test_tracing_enabled_through_the_control_plane(project: Path) -> None:
    server = Server(project, project.parent / "state" / "plain.db")
    try:
        before = server.call("GET", "traced0001", "dev", "/inline", headers={"X-Amzn-Trace-Id": sampled()})
        assert fields(before.header("X-Amzn-Trace-Id"))["Parent"] == CLIENT_PARENT  # not traced: passed on
        apigateway_client(server.port).update_stage(restApiId="traced0001", stageName="dev", patchOperations=[
            {"op": "replace", "path": "/tracingEnabled", "value": "true"}])
        after = server.call("GET", "traced0001", "dev", "/inline", headers={"X-Amzn-Trace-Id": sampled()})
        seen = fields(after.header("X-Amzn-Trace-Id"))
        assert seen["Root"] == ROOT and seen["Sampled"] == "1" and seen["Parent"] != CLIENT_PARENT
        assert after.json()["env"] == after.header("X-Amzn-Trace-Id")
    finally:
        server.stop()


def test_segments_reach_an_xray_daemon(gateway: Server, daemon: socket.socket) -> None:
    root = ROOT[:-1] + "7"
    reply = gateway.call("GET", "traced0001", "dev", "/inline", headers={"X-Amzn-Trace-Id": sampled(root)})
    while True:  # segments of the earlier tests' traces come first
        header, _, document = daemon.recv(65535).partition(b"\n")
        assert orjson.loads(header) == {"format": "json", "version": 1}
        segment = orjson.loads(document)
        if segment["trace_id"] == root:
            break
    assert segment["id"] == fields(reply.header("X-Amzn-Trace-Id"))["Parent"]
    assert segment["parent_id"] == CLIENT_PARENT and segment["name"] == "Traced/dev"
    assert segment["http"]["response"]["status"] == 200 and segment["origin"] == "AWS::ApiGateway::Stage"
    integration = next(s for s in segment["subsegments"] if s["name"] == "Integration")
    assert [s["name"] for s in integration["subsegments"]] == ["Inline"]

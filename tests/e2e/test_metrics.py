"""Metrics against a real `apiway serve`: CloudWatch's GetMetricStatistics, GetMetricData and ListMetrics through
boto3 (which speaks Smithy RPC v2 CBOR to it), the JSON and query protocols by hand, and Prometheus text at
/metrics, each counting exactly the requests the test made to a REST API (stage cache on) and an HTTP API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import orjson
import pytest
from botocore.config import Config
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Server, request

REST_ID = "metricsapi1"
REST_API = {
    "openapi": "3.0.1",
    "info": {"title": "Shop", "version": "1"},
    "paths": {
        "/pets": {"get": {"responses": {"200": {"description": "OK"}}, "x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200",
                                      "responseTemplates": {"application/json": '{"pets": []}'}}}}}},
        "/boom": {"get": {"responses": {"500": {"description": "failed"}}, "x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 500}'},
            "responses": {"default": {"statusCode": "500"}}}}},
    },
}
HTTP_API = {
    "openapi": "3.0.1",
    "info": {"title": "Notes", "version": "1"},
    "paths": {"/notes": {"get": {"x-amazon-apigateway-integration": {
        "type": "aws_proxy", "uri": "arn:aws:lambda:us-east-1:123456789012:function:NotesFn",
        "payloadFormatVersion": "2.0"}}}},
}
FUNCTION = "def handler(event, context):\n    return {'notes': []}\n"
REST_DIMS = [{"Name": "ApiName", "Value": "Shop"}, {"Name": "Stage", "Value": "prod"}]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("metrics")
    (tmp / "shop.yaml").write_bytes(orjson.dumps(REST_API))
    (tmp / "notes.yaml").write_bytes(orjson.dumps(HTTP_API))
    (tmp / "notes.py").write_text(FUNCTION)
    stage = {"cache": {"size": "0.5"}, "method_settings": {"pets/GET": {"metricsEnabled": True}}}
    (tmp / "apiway.yaml").write_bytes(orjson.dumps({
        "apis": [{"openapi": "shop.yaml", "id": REST_ID, "stages": {"prod": stage}},
                 {"openapi": "notes.yaml", "kind": "http"}],
        "functions": {"NotesFn": {"handler": "notes.py:handler", "mode": "inline"}}}))
    (tmp / "state").mkdir()
    server = Server(tmp / "apiway.yaml", tmp / "state" / "state.db", ["--metrics-per-key"])
    # The requests every test counts: 3 to a cached method (1 miss, 2 hits), 2 failing (5XX, misses: only 2XX
    # answers are cached), 1 to no method (403); 2 to the HTTP API.
    for path in ("/pets", "/pets", "/pets", "/boom", "/boom", "/nothing"):
        server.call("GET", REST_ID, "prod", path)
    http_id = server.api_ids["Notes"]
    for _ in range(2):
        assert request(server.port, "GET", "/notes", [("Host", f"{http_id}.execute-api.localhost")]).status == 200
    yield server
    server.stop()


def cloudwatch(port: int):
    return boto3.client("cloudwatch", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))


def window() -> dict[str, datetime]:
    now = datetime.now(UTC)
    return {"StartTime": now - timedelta(minutes=10), "EndTime": now + timedelta(minutes=1)}


def sums(port: int, metric: str, dims: list[dict[str, str]], stat: str = "Sum") -> float:
    reply = cloudwatch(port).get_metric_statistics(Namespace="AWS/ApiGateway", MetricName=metric, Dimensions=dims,
                                                   Period=3600, Statistics=[stat], **window())
    return sum(point[stat] for point in reply["Datapoints"])


def test_get_metric_statistics_counts_the_requests_made(gateway: Server) -> None:
    port = gateway.port
    assert sums(port, "Count", REST_DIMS) == 6
    assert sums(port, "Count", REST_DIMS, "SampleCount") == 6
    assert sums(port, "4XXError", REST_DIMS) == 1
    assert sums(port, "5XXError", REST_DIMS) == 2
    assert sums(port, "CacheHitCount", REST_DIMS) == 2
    assert sums(port, "CacheMissCount", REST_DIMS) == 3
    assert sums(port, "Count", [{"Name": "ApiName", "Value": "Shop"}]) == 6  # the API over all its stages
    detailed = [*REST_DIMS, {"Name": "Method", "Value": "GET"}, {"Name": "Resource", "Value": "/pets"}]
    assert sums(port, "Count", detailed) == 3  # metricsEnabled on GET /pets
    boom = [*REST_DIMS, {"Name": "Method", "Value": "GET"}, {"Name": "Resource", "Value": "/boom"}]
    assert sums(port, "Count", boom) == 0  # no detailed metrics for it


def test_latency_has_statistics_and_percentiles(gateway: Server) -> None:
    client = cloudwatch(gateway.port)
    query = {"Namespace": "AWS/ApiGateway", "MetricName": "Latency", "Dimensions": REST_DIMS, "Period": 3600}
    [point] = client.get_metric_statistics(**query, Statistics=["SampleCount", "Minimum", "Maximum"],
                                           **window())["Datapoints"]
    assert point["SampleCount"] == 6 and point["Unit"] == "Milliseconds"
    [percentiles] = client.get_metric_statistics(**query, ExtendedStatistics=["p50", "p99"],
                                                 **window())["Datapoints"]
    p50, p99 = percentiles["ExtendedStatistics"]["p50"], percentiles["ExtendedStatistics"]["p99"]
    assert point["Minimum"] <= p50 <= p99 <= point["Maximum"]
    assert client.get_metric_statistics(**query, Statistics=["Sum"], Unit="Bytes", **window())["Datapoints"] == []


def test_http_api_metrics(gateway: Server) -> None:
    http_id = gateway.api_ids["Notes"]
    dims = [{"Name": "ApiId", "Value": http_id}, {"Name": "Stage", "Value": "$default"}]
    assert sums(gateway.port, "Count", dims) == 2
    assert sums(gateway.port, "4xx", dims) == 0
    assert sums(gateway.port, "DataProcessed", dims) > 0
    assert sums(gateway.port, "Count", dims[:1]) == 2


def test_get_metric_data(gateway: Server) -> None:
    stat = {"Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "Count", "Dimensions": REST_DIMS},
            "Period": 60, "Stat": "Sum"}
    reply = cloudwatch(gateway.port).get_metric_data(
        MetricDataQueries=[{"Id": "requests", "MetricStat": stat},
                           {"Id": "errors", "MetricStat": {**stat, "Metric": {**stat["Metric"],
                                                                               "MetricName": "5XXError"}}}],
        **window())
    results = {r["Id"]: r for r in reply["MetricDataResults"]}
    assert sum(results["requests"]["Values"]) == 6 and sum(results["errors"]["Values"]) == 2
    assert all(r["StatusCode"] == "Complete" for r in results.values())
    assert len(results["requests"]["Timestamps"]) == len(results["requests"]["Values"])


def test_errors_are_aws_errors(gateway: Server) -> None:
    client = cloudwatch(gateway.port)
    with pytest.raises(client.exceptions.InvalidParameterCombinationException):
        client.get_metric_statistics(Namespace="AWS/ApiGateway", MetricName="Count", Dimensions=REST_DIMS,
                                     Period=60, **window())
    with pytest.raises(client.exceptions.InvalidParameterCombinationException):
        client.get_metric_statistics(Namespace="AWS/ApiGateway", MetricName="Count", Dimensions=REST_DIMS,
                                     Period=60, Statistics=["Sum"], ExtendedStatistics=["p99"], **window())
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.get_metric_statistics(Namespace="AWS/ApiGateway", MetricName="Count", Dimensions=REST_DIMS,
                                     Period=90, Statistics=["Sum"], **window())
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.get_metric_data(MetricDataQueries=[{"Id": "e", "Expression": "SUM(METRICS())"}], **window())


def test_list_metrics(gateway: Server) -> None:
    paginator = cloudwatch(gateway.port).get_paginator("list_metrics")
    metrics = [m for page in paginator.paginate(Namespace="AWS/ApiGateway") for m in page["Metrics"]]
    found = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in metrics}
    assert ("CacheHitCount", (("ApiName", "Shop"), ("Stage", "prod"))) in found
    assert ("Count", (("ApiName", "Shop"), ("Method", "GET"), ("Resource", "/pets"), ("Stage", "prod"))) in found
    assert ("DataProcessed", (("ApiId", gateway.api_ids["Notes"]),)) in found
    only = cloudwatch(gateway.port).list_metrics(Namespace="AWS/ApiGateway", MetricName="5XXError",
                                                 Dimensions=[{"Name": "Stage", "Value": "prod"}])
    assert {m["MetricName"] for m in only["Metrics"]} == {"5XXError"}


def test_json_and_query_protocols(gateway: Server) -> None:
    now = time.time()
    body = {"Namespace": "AWS/ApiGateway", "MetricName": "Count", "Dimensions": REST_DIMS, "Period": 3600,
            "Statistics": ["Sum"], "StartTime": now - 600, "EndTime": now + 60}
    reply = request(gateway.port, "POST", "/", [("X-Amz-Target", "GraniteServiceVersion20100801.GetMetricStatistics"),
                                                ("Content-Type", "application/x-amz-json-1.0")],
                    body=orjson.dumps(body))
    assert reply.status == 200 and sum(p["Sum"] for p in reply.json()["Datapoints"]) == 6
    start = datetime.fromtimestamp(now - 600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = datetime.fromtimestamp(now + 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    form = (f"Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS%2FApiGateway&MetricName=5XXError"
            f"&Dimensions.member.1.Name=ApiName&Dimensions.member.1.Value=Shop&Dimensions.member.2.Name=Stage"
            f"&Dimensions.member.2.Value=prod&Period=3600&Statistics.member.1=Sum&StartTime={start}&EndTime={end}")
    reply = request(gateway.port, "POST", "/", [("Content-Type", "application/x-www-form-urlencoded")], body=form)
    assert reply.status == 200 and b"<Sum>2.0</Sum>" in reply.body and b"<GetMetricStatisticsResult>" in reply.body


def test_prometheus_text(gateway: Server) -> None:
    reply = request(gateway.port, "GET", "/metrics")
    assert reply.status == 200 and (reply.header("content-type") or "").startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(reply.body.decode())}
    requests = [s for s in families["apiway_requests"].samples if s.name == "apiway_requests_total"]
    shop = [s for s in requests if s.labels["api"] == REST_ID]
    assert sum(s.value for s in shop) == 6
    assert sum(s.value for s in shop if s.labels["status_class"] == "5xx") == 2
    assert {s.labels["route"] for s in shop} == {"GET /pets", "GET /boom", "-"}
    latency = families["apiway_request_latency_seconds"]
    counts = [s for s in latency.samples if s.name.endswith("_count") and s.labels["api"] == REST_ID]
    assert sum(s.value for s in counts) == 6
    inf = [s for s in latency.samples if s.name.endswith("_bucket") and s.labels["le"] == "+Inf"
           and s.labels["route"] == "GET /pets"]
    assert [s.value for s in inf] == [3]
    hits = families["apiway_cache_hits"].samples
    assert [s.value for s in hits if s.labels["api"] == REST_ID] == [2]



def test_the_aws_cli_reads_them(gateway: Server) -> None:
    now = datetime.now(UTC)
    aws = Path(sys.executable).with_name("aws")
    out = subprocess.run(
        [str(aws), "cloudwatch", "get-metric-statistics", "--namespace", "AWS/ApiGateway", "--metric-name", "Count",
         "--dimensions", "Name=ApiName,Value=Shop", "Name=Stage,Value=prod", "--period", "3600", "--statistics", "Sum",
         "--start-time", (now - timedelta(minutes=10)).isoformat(), "--end-time", (now + timedelta(minutes=1)).isoformat(),
         "--endpoint-url", f"http://127.0.0.1:{gateway.port}", "--region", "us-east-1", "--output", "json"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
    assert out.returncode == 0, out.stderr
    assert sum(p["Sum"] for p in orjson.loads(out.stdout)["Datapoints"]) == 6


def test_no_metrics_keeps_none(tmp_path: Path) -> None:
    """`serve --no-metrics`: requests are served and nothing is counted."""
    (tmp_path / "shop.yaml").write_bytes(orjson.dumps(REST_API))
    (tmp_path / "apiway.yaml").write_bytes(orjson.dumps({"apis": [{"openapi": "shop.yaml", "id": REST_ID,
                                                                   "stages": {"prod": {}}}]}))
    (tmp_path / "state").mkdir()
    server = Server(tmp_path / "apiway.yaml", tmp_path / "state" / "state.db", ["--no-metrics"])
    try:
        assert server.call("GET", REST_ID, "prod", "/pets").status == 200
        found = cloudwatch(server.port).get_metric_statistics(
            Namespace="AWS/ApiGateway", MetricName="Count", Dimensions=REST_DIMS, Period=60, Statistics=["Sum"],
            **window())
        assert found["Datapoints"] == []
        assert "apiway_requests_total{" not in request(server.port, "GET", "/metrics").body.decode()
    finally:
        server.stop()

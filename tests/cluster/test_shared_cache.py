"""The response cache is shared through Redis: a response cached through node A is a hit on nodes B and C,
and a flush through one node empties it for all."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.cluster.harness import served_everywhere
from tests.e2e.echo_backend import EchoServer

CACHED_API = {"openapi": "3.0.1", "info": {"title": "cached"}, "paths": {
    "/items": {"get": {"x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET",
                                                           "uri": "http://${stageVariables.backend}/items"}}},
    "/ping": {"get": {"x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200"}}}}}}}


@pytest.fixture
def backend() -> Iterator[EchoServer]:
    server = EchoServer().start()
    yield server
    server.stop()


def test_a_response_cached_through_node_a_is_a_hit_on_b_and_c(cluster_of, backend: EchoServer) -> None:
    cluster = cluster_of(redis=True)
    client = cluster.client(0)
    api_id = client.import_rest_api(body=json.dumps(CACHED_API).encode())["id"]
    client.create_deployment(restApiId=api_id, stageName="prod", variables={"backend": backend.address},
                             cacheClusterEnabled=True, cacheClusterSize="0.5")
    # Wait on a method with an entry of its own, so that of /items stays empty until node A fills it.
    served_everywhere(cluster, lambda port: cluster.call(port, api_id, "prod", "/ping").status == 200)
    a, b, c = (cluster.node(i).port for i in range(3))

    first = cluster.call(a, api_id, "prod", "/items")
    assert first.status == 200 and len(backend.requests) == 1
    for port in (b, c):
        hit = cluster.call(port, api_id, "prod", "/items")
        assert (hit.status, hit.body) == (200, first.body)
    assert len(backend.requests) == 1  # B and C answered from what A cached

    cluster.client(1).flush_stage_cache(restApiId=api_id, stageName="prod")
    assert cluster.call(c, api_id, "prod", "/items").status == 200
    assert len(backend.requests) == 2  # the flush through B emptied it for C
    assert "Traceback" not in cluster.errors()

"""Definitions are shared through PostgreSQL: an API created through the control plane of node A answers on
nodes B and C within a second, and through the load balancer."""

from __future__ import annotations

import time

from tests.cluster.harness import deploy_who_api
from tests.support import until


def test_an_api_created_on_node_a_answers_on_b_and_c_within_a_second(cluster_of) -> None:
    cluster = cluster_of()
    started = time.monotonic()
    api_id = deploy_who_api(cluster, index=0)
    acknowledged = time.monotonic()
    for index in (1, 2):
        port = cluster.node(index).port
        answered = until(lambda port=port: cluster.call(port, api_id, "prod", "/who").status == 200, 1.0)
        took = time.monotonic() - acknowledged
        assert answered and took < 1.0, f"node {index} answered={answered} after {took:.3f}s"
        print(f"node {index} served the new API {took * 1000:.0f} ms after CreateDeployment answered "
              f"(import + deploy took {(acknowledged - started) * 1000:.0f} ms)")
    # Round robin over the three nodes: every one of them answers.
    for _ in range(6):
        reply = cluster.call(cluster.lb.port, api_id, "prod", "/who")
        assert (reply.status, reply.body) == (200, b'{"v": "one"}')

    # A change made through the balancer reaches every node.
    cluster.client().update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/variables/v", "value": "two"}])
    for index in range(3):
        port = cluster.node(index).port
        assert until(lambda port=port: cluster.call(port, api_id, "prod", "/who").body == b'{"v": "two"}', 1.0)
    assert "Traceback" not in cluster.errors()

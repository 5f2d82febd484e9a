"""Limits shared through Redis across three nodes: a usage plan's quota is exact under concurrent clients
spread over the nodes, and a method throttle admits the rate the stage says, not three times it."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.cluster.harness import API_KEY, Load, deploy_keyed_api
from tests.support import request

QUOTA = 300
CLIENTS = 32
PER_CLIENT = 20  # 640 requests at most for a quota of 300
RATE, BURST, SECONDS = 50, 50, 10.0


@pytest.mark.parametrize("workers", [1, 2])
def test_a_quota_of_300_under_32_clients_over_three_nodes_admits_exactly_300(cluster_of, workers: int) -> None:
    """With `--workers 2` the six serving processes share the quota as the three nodes do."""
    cluster = cluster_of(redis=True, args=("--workers", str(workers)))
    api_id, _, _ = deploy_keyed_api(cluster, quota=QUOTA)
    # deploy_keyed_api's check took one request from the quota on each node.
    used = len(cluster.nodes)
    statuses: Counter = Counter()
    lock = threading.Lock()
    go = threading.Barrier(CLIENTS)

    def client(n: int) -> None:
        port = cluster.node(n % len(cluster.nodes)).port
        headers = {"Host": f"{api_id}.execute-api.localhost:{port}", "x-api-key": API_KEY}
        go.wait(10)
        for _ in range(PER_CLIENT):
            status = request(port, "GET", "/prod/pets", headers).status
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    print(f"{CLIENTS} clients over {len(cluster.nodes)} nodes of {workers} worker(s): {dict(statuses)}")
    assert statuses[200] == QUOTA - used
    assert statuses[429] == CLIENTS * PER_CLIENT - statuses[200]
    assert "Traceback" not in cluster.errors()


def test_a_50_rps_method_throttle_over_three_nodes_admits_rate_times_t_plus_burst(cluster_of) -> None:
    cluster = cluster_of(redis=True)
    settings = [{"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(RATE)},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(BURST)}]
    api_id, _, _ = deploy_keyed_api(cluster, quota=1_000_000, method_settings=settings)
    time.sleep(BURST / RATE + 0.2)  # the bucket full again after the nodes' checks took from it
    # About 300 requests a second offered, spread evenly over the nodes: six times the rate. Clients send
    # for SECONDS from here; the bucket admits RATE a second on top of the BURST it starts with.
    started = time.monotonic()
    loads = [Load(node.port, f"{api_id}.execute-api.localhost:{node.port}", "/prod/pets", clients=2,
                  seconds=SECONDS, max_requests=int(SECONDS * 60), headers={"x-api-key": API_KEY}, pace=0.02)
             for node in cluster.nodes if node is not None]
    tallies = [load.stop_at_deadline() for load in loads]
    took = time.monotonic() - started
    admitted = sum(t.statuses[200] for t in tallies)
    offered = sum(t.total for t in tallies)
    expected = RATE * SECONDS + BURST
    print(f"{offered} requests offered in {SECONDS:.0f} s (all answered after {took:.2f} s) over {len(loads)} nodes; {admitted} admitted, "
          f"expected {expected:.0f} ({(admitted - expected) / expected:+.1%})")
    assert offered > 3 * expected
    assert abs(admitted - expected) <= 0.02 * expected
    assert set().union(*(t.statuses for t in tallies)) <= {200, 429}

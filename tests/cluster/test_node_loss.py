"""SIGKILL of one node under load: no control-plane write that was acknowledged is lost, the surviving nodes
keep serving, and the balancer sends requests around the dead node."""

from __future__ import annotations

import threading
import time

from botocore.exceptions import BotoCoreError, ClientError

from tests.cluster.harness import API_KEY, Load, api_load, deploy_keyed_api, deploy_who_api
from tests.support import request

WRITES = 3000  # bounded: at most this many control-plane writes, within WRITE_SECONDS
WRITE_SECONDS = 8.0
KILL_AFTER = 2.5


def test_sigkill_of_a_node_under_load_loses_no_acknowledged_write(cluster_of) -> None:
    cluster = cluster_of()
    api_id = deploy_who_api(cluster)
    survivors = [cluster.node(0).port, cluster.node(2).port]
    through_lb = api_load(cluster, cluster.lb.port, api_id, "prod", "/who", clients=3, seconds=15)
    direct = [api_load(cluster, port, api_id, "prod", "/who", clients=1, seconds=15) for port in survivors]

    acknowledged: list[str] = []
    acknowledged_at: list[float] = []
    refused: list[str] = []

    def write() -> None:  # API keys created through the balancer, one after another
        client = cluster.client()
        deadline = time.monotonic() + WRITE_SECONDS
        for n in range(WRITES):
            if time.monotonic() > deadline:
                break
            try:
                acknowledged.append(client.create_api_key(name=f"key-{n}", enabled=True)["id"])
                acknowledged_at.append(time.monotonic())
            except (BotoCoreError, ClientError) as exc:
                refused.append(type(exc).__name__)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(KILL_AFTER)
    cluster.kill(1)
    killed_at = time.monotonic()
    writer.join(WRITE_SECONDS + 30)
    time.sleep(1.0)
    lb, survivors_tally = through_lb.stop(), [load.stop() for load in direct]

    after_kill = sum(1 for t in acknowledged_at if t > killed_at)
    print(f"writes acknowledged {len(acknowledged)} ({after_kill} after the kill), failed {len(refused)} {refused[:5]}; "
          f"through nginx {lb.total} requests, {len(lb.failures)} failed; "
          f"direct to the survivors {[t.total for t in survivors_tally]}")
    assert len(acknowledged) - after_kill > 20 and after_kill > 20  # writes went on before and after
    # Every acknowledged write is there, on both survivors.
    for index in (0, 2):
        pages = cluster.client(index).get_paginator("get_api_keys").paginate(PaginationConfig={"PageSize": 500})
        stored = {item["id"] for page in pages for item in page["items"]}
        missing = set(acknowledged) - stored
        assert not missing, f"node {index} lacks {len(missing)} acknowledged keys"
    # The survivors never failed a request; nor did the balancer (it retries a GET on the next node).
    for tally in survivors_tally:
        assert tally.total > 50 and not tally.failures, tally.failures[:5]
    assert lb.total > 100 and not lb.failures, [(round(t - killed_at, 3), what) for t, what in lb.failures[:10]]
    assert "Traceback" not in cluster.errors()


QUOTA = 3_000


def test_sigkill_of_a_node_under_load_loses_no_counted_request(cluster_of) -> None:
    """Every request a client saw admitted is counted against the quota, the killed node's included: what the
    quota still admits afterwards is at most QUOTA minus what was admitted."""
    cluster = cluster_of(redis=True)
    api_id, _, _ = deploy_keyed_api(cluster, quota=QUOTA)
    lb = cluster.lb.port
    host = f"{api_id}.execute-api.localhost:{lb}"
    load = Load(lb, host, "/prod/pets", clients=4, seconds=8, max_requests=400, headers={"x-api-key": API_KEY})
    time.sleep(1.5)
    cluster.kill(1)
    tally = load.stop_at_deadline()
    admitted = tally.statuses[200] + len(cluster.nodes)  # deploy_keyed_api's checks took one on each node
    headers = {"Host": host, "x-api-key": API_KEY}
    remaining = 0
    for _ in range(QUOTA):  # bounded by the quota itself
        status = request(lb, "GET", "/prod/pets", headers).status
        if status != 200:
            assert status == 429
            break
        remaining += 1
    counted = QUOTA - remaining
    print(f"admitted {admitted} under load (statuses {dict(tally.statuses)}), counted {counted}")
    assert tally.statuses[200] > 200 and not tally.failures, tally.failures[:5]
    # Counted, at least what was admitted; at most that plus what was in flight on the killed node.
    assert admitted <= counted <= admitted + 4

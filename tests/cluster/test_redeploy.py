"""A redeploy every half second under load through the load balancer: every request is answered 2xx, and
each node ends on the last deployment."""

from __future__ import annotations

import time

from tests.cluster.harness import api_load, deploy_who_api, served_everywhere

REDEPLOYS = 20  # one every INTERVAL seconds: 10 s of redeploying
INTERVAL = 0.5


def test_a_redeploy_every_half_second_under_load_gives_no_non_2xx(cluster_of) -> None:
    cluster = cluster_of()
    api_id = deploy_who_api(cluster)
    load = api_load(cluster, cluster.lb.port, api_id, "prod", "/who", clients=4, seconds=REDEPLOYS * INTERVAL + 10,
                    pace=0.001)
    client = cluster.client()  # through the balancer, so every node makes some of the deployments
    started = time.monotonic()
    for n in range(REDEPLOYS):
        client.create_deployment(restApiId=api_id, stageName="prod", variables={"v": f"d{n}"})
        time.sleep(max(0.0, started + (n + 1) * INTERVAL - time.monotonic()))
    served_everywhere(cluster, lambda port: cluster.call(port, api_id, "prod", "/who").body ==
                      f'{{"v": "d{REDEPLOYS - 1}"}}'.encode())
    tally = load.stop()
    print(f"{REDEPLOYS} deployments in {time.monotonic() - started:.1f} s; {tally.total} requests through nginx, "
          f"statuses {dict(tally.statuses)}")
    assert tally.total > 200 and not tally.failures, tally.failures[:10]
    deployments = client.get_deployments(restApiId=api_id, limit=500)["items"]
    assert len(deployments) == REDEPLOYS + 1
    assert "Traceback" not in cluster.errors()

"""Health, readiness and draining in a cluster: every node answers /_apiway/health and /_apiway/ready, and a
rolling restart (SIGTERM to each node in turn, then starting it again) under load through nginx gives no
non-2xx. nginx learns of a node only from failures (passive checks): a node that refused connections while
restarting is left out for `fail_timeout`, so the restart waits that long before stopping the next one;
stopping the next sooner leaves nginx with no node it will try ("no live upstreams", 502)."""

from __future__ import annotations

import re
import time

from tests.cluster.harness import api_load, deploy_who_api, served_everywhere
from tests.cluster.nginx import SHIPPED
from tests.support import request


def test_a_rolling_restart_under_load_through_nginx_gives_no_non_2xx(cluster_of) -> None:
    cluster = cluster_of()
    api_id = deploy_who_api(cluster)
    for index in range(3):
        port = cluster.node(index).port
        assert request(port, "GET", "/_apiway/health").status == 200
        assert request(port, "GET", "/_apiway/ready").status == 200
    fail_timeout = float(re.search(r"fail_timeout=(\d+)s", SHIPPED.read_text()).group(1))
    load = api_load(cluster, cluster.lb.port, api_id, "prod", "/who", clients=4, seconds=60, pace=0.001)
    started = time.monotonic()
    for index in range(3):
        cluster.node(index).stop()  # SIGTERM: drain, then exit
        cluster.start(index)
        served_everywhere(cluster, lambda port: request(port, "GET", "/_apiway/ready").status == 200)
        time.sleep(fail_timeout + 0.5)
    tally = load.stop()
    print(f"three nodes restarted one after another in {time.monotonic() - started:.1f} s; {tally.total} "
          f"requests through nginx, statuses {dict(tally.statuses)}")
    assert tally.total > 300 and not tally.failures, tally.failures[:10]
    assert "Traceback" not in cluster.errors()

"""Redis stopped and restarted under load, in each failure mode: `--redis-failure open` keeps answering 2xx
(and says so in the log), `--redis-failure closed` answers 503 while Redis is away; both are back to normal
once it returns. The Redis here is the test's own, so stopping it touches no other test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.cluster.harness import API_KEY, Load, deploy_keyed_api
from tests.cluster.redis_server import RedisServer
from tests.support import request

DOWN_SECONDS = 2.0
RECOVERY_SECONDS = 3.0  # after Redis is back, every request succeeds again within this


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


@pytest.mark.parametrize("mode", ["open", "closed"])
def test_redis_stopped_and_restarted_under_load(cluster_of, own_redis: RedisServer, mode: str) -> None:
    cluster = cluster_of(redis=own_redis.url, args=("--redis-failure", mode))
    api_id, _, _ = deploy_keyed_api(cluster, quota=1_000_000)
    lb = cluster.lb.port
    host = f"{api_id}.execute-api.localhost:{lb}"
    load = Load(lb, host, "/prod/pets", clients=3, seconds=20, max_requests=4_000, headers={"x-api-key": API_KEY},
                pace=0.01)
    time.sleep(1.0)
    stopped_at = time.monotonic()
    own_redis.stop()
    time.sleep(DOWN_SECONDS)
    own_redis.start()
    restarted_at = time.monotonic()
    time.sleep(RECOVERY_SECONDS + 1.0)
    tally = load.stop()
    late = [(round(t - restarted_at, 2), what) for t, what in tally.failures if t > restarted_at + RECOVERY_SECONDS]
    early = [what for t, what in tally.failures if t < stopped_at]
    print(f"--redis-failure {mode}: {tally.total} requests, statuses {dict(tally.statuses)}; failures from "
          f"{min((t for t, _ in tally.failures), default=stopped_at) - stopped_at:+.2f} s to "
          f"{max((t for t, _ in tally.failures), default=restarted_at) - restarted_at:+.2f} s after the restart")
    assert not early and not late, (early[:5], late[:5])
    if mode == "open":
        assert not tally.failures, tally.failures[:5]
        assert "redis" in cluster.errors().lower()  # the outage is logged
    else:
        assert set(tally.statuses) == {200, 503}, tally.statuses
        outage = [t for t, what in tally.failures if what == "503"]
        assert outage and stopped_at <= min(outage) and max(outage) <= restarted_at + RECOVERY_SECONDS
    headers = {"Host": host, "x-api-key": API_KEY}
    assert [request(lb, "GET", "/prod/pets", headers).status for _ in range(20)] == [200] * 20

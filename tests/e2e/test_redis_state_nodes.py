"""Two gateway nodes sharing limits and caches through Redis (and definitions through PostgreSQL): a
usage-plan quota is exact however many clients race on both nodes (accurate mode) and passed by at most a
synchronisation's worth (batched mode, figure printed); a method throttle admits rate x t + burst across the
nodes; a response cached through one node is a hit on the other; and when Redis goes away the configured
failure mode answers — 503 (closed) or admitted (open) — until it returns, after which limits are shared
again."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.postgres import PostgresDatabase
from tests.redis import RedisDatabase
from tests.support import Server, apigateway_client, free_port, until

KEY = "node-test-key-0123456789abcdef"


def _mock(template: str, key_required: bool = False) -> dict:
    method = {"x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": template}}}}}
    if key_required:
        method["security"] = [{"api_key": []}]
    return {"get": method}


API = {"openapi": "3.0.1", "info": {"title": "shared-limits"},
       "components": {"securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}},
       "paths": {"/keyed": _mock('{"ok": true}', key_required=True),
                 "/limited": _mock('{"ok": true}'),
                 "/cached": _mock('{"id": "$context.requestId"}')}}


@contextmanager
def nodes(tmp_path: Path, store: str, redis_args: list[str], count: int = 2) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for i in range(count):
            (tmp_path / f"n{i}").mkdir()
            servers.append(Server(None, tmp_path / f"n{i}" / "state.db", ["--store", store, *redis_args]))
        yield servers
    finally:
        for server in servers:
            server.stop()
    assert all("Traceback" not in s.stderr() for s in servers)


def deploy(server: Server, quota: int) -> str:
    """The API on stage prod: a keyed method under a plan with `quota`, /limited throttled to 50 rps burst 10,
    the stage cache on."""
    client = apigateway_client(server.port)
    api_id = client.import_rest_api(body=json.dumps(API).encode())["id"]
    client.create_deployment(restApiId=api_id, stageName="prod")
    client.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/~1limited/GET/throttling/rateLimit", "value": "50"},
        {"op": "replace", "path": "/~1limited/GET/throttling/burstLimit", "value": "10"},
        {"op": "replace", "path": "/cacheClusterEnabled", "value": "true"}])
    key_id = client.create_api_key(name="k", value=KEY, enabled=True)["id"]
    plan = client.create_usage_plan(name="p", apiStages=[{"apiId": api_id, "stage": "prod"}],
                                    quota={"limit": quota, "period": "DAY"})
    client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key_id, keyType="API_KEY")
    return api_id


def keyed_everywhere(servers: list[Server], api_id: str) -> int:
    """Wait until every node knows the key (the plan reached them through the store): the requests this
    counted against the quota."""
    counted = 0
    for server in servers:
        assert until(lambda s=server: s.call("GET", api_id, "prod", "/keyed", headers={"x-api-key": KEY}).status
                     == 200, 2.0)
        counted += 1
    return counted


def hammer(servers: list[Server], api_id: str, path: str, clients: int, per_client: int, seconds: float,
           headers: dict[str, str] | None = None) -> tuple[dict[int, int], float]:
    """`clients` threads spread over the nodes, each making up to `per_client` keep-alive requests for up to
    `seconds`: the statuses counted, and the seconds from the first request to the last answer."""
    counts: dict[int, int] = {}
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + seconds

    def client(index: int) -> None:
        server = servers[index % len(servers)]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        mine: dict[int, int] = {}
        try:
            for _ in range(per_client):
                if time.monotonic() > deadline:
                    break
                conn.request("GET", f"/prod{path}", headers={"Host": f"{api_id}.execute-api.localhost",
                                                               **(headers or {})})
                response = conn.getresponse()
                response.read()
                mine[response.status] = mine.get(response.status, 0) + 1
        finally:
            conn.close()
            with lock:
                for status, n in mine.items():
                    counts[status] = counts.get(status, 0) + n

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    return counts, time.monotonic() - start


@pytest.fixture
def store(postgres_database: PostgresDatabase) -> str:
    return f"{postgres_database.url}?schema={postgres_database.new_schema()}"


def test_a_quota_is_exact_across_two_nodes_in_accurate_mode(tmp_path, store, redis_database: RedisDatabase):
    redis_database.flush()
    with nodes(tmp_path, store, ["--redis", redis_database.url]) as servers:
        assert "shared state: Redis" in servers[0].output
        api_id = deploy(servers[0], quota=300)
        counted = keyed_everywhere(servers, api_id)
        counts, _ = hammer(servers, api_id, "/keyed", clients=32, per_client=25, seconds=30, headers={"x-api-key": KEY})
        assert counts.get(200, 0) + counted == 300, counts
        assert set(counts) == {200, 429}, counts


def test_a_method_throttle_admits_rate_times_t_plus_burst_across_two_nodes(tmp_path, store,
                                                                           redis_database: RedisDatabase):
    redis_database.flush()
    with nodes(tmp_path, store, ["--redis", redis_database.url]) as servers:
        api_id = deploy(servers[0], quota=10)
        assert until(lambda: all(s.call("GET", api_id, "prod", "/cached").status == 200 for s in servers), 2.0)
        time.sleep(0.5)  # the bucket is full: 10 tokens
        counts, elapsed = hammer(servers, api_id, "/limited", clients=16, per_client=5_000, seconds=4)
        expected = 50 * elapsed + 10
        print(f"\naccurate: {counts.get(200)} admitted in {elapsed:.2f} s, rate x t + burst = {expected:.0f}, "
              f"{sum(counts.values())} requests")
        assert abs(counts.get(200, 0) - expected) <= 0.02 * expected, (counts, elapsed)


def test_a_response_cached_through_one_node_is_a_hit_on_the_other(tmp_path, store, redis_database: RedisDatabase):
    redis_database.flush()
    with nodes(tmp_path, store, ["--redis", redis_database.url]) as servers:
        api_id = deploy(servers[0], quota=10)
        assert until(lambda: all(s.call("GET", api_id, "prod", "/cached").status == 200 for s in servers), 2.0)
        first = servers[0].call("GET", api_id, "prod", "/cached").body
        assert servers[1].call("GET", api_id, "prod", "/cached").body == first
        assert servers[0].call("GET", api_id, "prod", "/cached").body == first


def test_batched_mode_passes_a_quota_by_at_most_a_synchronisation(tmp_path, store, redis_database: RedisDatabase):
    """The figure docs/behaviour.md quotes: 32 clients over two nodes against a quota of 300."""
    redis_database.flush()
    with nodes(tmp_path, store, ["--redis", redis_database.url, "--redis-mode", "batched"]) as servers:
        api_id = deploy(servers[0], quota=300)
        counted = keyed_everywhere(servers, api_id)
        counts, elapsed = hammer(servers, api_id, "/keyed", clients=32, per_client=25, seconds=30,
                                 headers={"x-api-key": KEY})
        admitted = counts.get(200, 0) + counted
        # Each node may admit what it alone would in one interval (50 ms) after the other's last report; on a loaded
        # machine the flush timer fires late, so up to two intervals' worth is allowed.
        per_interval = sum(counts.values()) / elapsed / len(servers) * 0.05
        print(f"\nbatched quota 300: {admitted} admitted of {sum(counts.values()) + counted} in {elapsed:.2f} s "
              f"({per_interval:.0f} requests per node per 50 ms)")
        assert 300 <= admitted <= 300 + 2 * per_interval * (len(servers) - 1) + 5, counts
        time.sleep(0.5)
        counts, elapsed = hammer(servers, api_id, "/limited", clients=16, per_client=5_000, seconds=4)
        expected = 50 * elapsed + 10
        print(f"batched throttle 50 rps burst 10: {counts.get(200)} admitted in {elapsed:.2f} s, "
              f"rate x t + burst = {expected:.0f}")
        assert abs(counts.get(200, 0) - expected) <= 0.1 * expected, (counts, elapsed)


# -- Redis going away -------------------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the test's own (the machine's is shared), on a port of its own, without persistence."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.binary, self.port = binary, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--save", "", "--appendonly", "no",
                                      "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port)
        assert until(lambda: _pings(client), 5)
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.mark.parametrize("failure", ["closed", "open"])
@pytest.mark.parametrize("mode", ["accurate", "batched"])
def test_redis_going_away_answers_as_configured_and_recovers(tmp_path, store, failure, mode):
    server_redis = PrivateRedis()
    try:
        with nodes(tmp_path, store, ["--redis", server_redis.url, "--redis-mode", mode, "--redis-failure", failure],
                   count=1) as (node,):
            api_id = deploy(node, quota=1000)

            def keyed() -> int:
                return node.call("GET", api_id, "prod", "/keyed", headers={"x-api-key": KEY}).status

            assert until(lambda: keyed() == 200, 2.0)
            server_redis.stop()
            outage = 503 if failure == "closed" else 200
            assert until(lambda: keyed() == outage and keyed() == outage, 5), (keyed(), node.stderr())
            time.sleep(0.3)
            assert [keyed() for _ in range(5)] == [outage] * 5
            server_redis.start()
            assert until(lambda: keyed() == 200 and keyed() == 200, 5), keyed()
            # shared again: the counter lives in the new Redis
            import redis

            client = redis.Redis(port=server_redis.port)
            assert until(lambda: keyed() == 200 and any(k.startswith(b"{apiway:limits}:q:") for k in client.scan_iter()), 5)
            client.close()
            log = node.stderr()
            assert "Redis unreachable" in log and ("Redis connected" in log or "Redis reachable" in log), log
    finally:
        server_redis.stop()

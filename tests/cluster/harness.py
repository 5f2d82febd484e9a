"""A cluster on this machine: apiway nodes on their own loopback ports sharing one store (and Redis when
given), nginx in front of them, and bounded load loops that tally every answer."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.nginx import Nginx
from tests.support import Reply, Server, apigateway_client, free_port, request, until

# A MOCK method answering with a stage variable, so a test can tell which deployment a node serves.
WHO_API = {"openapi": "3.0.1", "info": {"title": "cluster"}, "paths": {"/who": {"get": {
    "x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200",
                                  "responseTemplates": {"application/json": '{"v": "$stageVariables.v"}'}}}}}}}}


class Cluster:
    """`size` apiway nodes (`apiway serve --store URL [more args]`) behind nginx."""

    def __init__(self, directory: Path, nginx: str, store: str, size: int = 3, args: tuple[str, ...] = ()) -> None:
        self.directory = directory
        self.store = store
        self.args = ["--store", store, *args]
        self.ports = [free_port() for _ in range(size)]
        self.nodes: list[Server | None] = [None] * size
        try:
            for index in range(size):
                self.start(index)
            self.lb = Nginx(nginx, directory / "nginx", self.ports)
        except BaseException:
            self.stop()
            raise

    def start(self, index: int) -> Server:
        """Start (or restart) node `index` on its port."""
        state = self.directory / f"node{index}" / "state.db"
        state.parent.mkdir(parents=True, exist_ok=True)
        self.nodes[index] = Server(None, state, self.args, port=self.ports[index])
        return self.nodes[index]

    def node(self, index: int) -> Server:
        node = self.nodes[index]
        assert node is not None, f"node {index} is not running"
        return node

    def kill(self, index: int) -> None:
        """SIGKILL: no drain, no flush, nothing written on the way out."""
        node = self.node(index)
        os.killpg(node.proc.pid, signal.SIGKILL)
        node.proc.wait()

    def client(self, index: int | None = None):
        """A boto3 `apigateway` client for node `index`, or for the balancer."""
        return apigateway_client(self.lb.port if index is None else self.node(index).port)

    def call(self, port: int, api_id: str, stage: str, path: str, **kw) -> Reply:
        headers = {"Host": f"{api_id}.execute-api.localhost:{port}", **kw.pop("headers", {})}
        return request(port, kw.pop("method", "GET"), f"/{stage}{path}", headers, **kw)

    def errors(self) -> str:
        """What the nodes wrote on stderr that a test should not see."""
        return "".join(node.stderr() for node in self.nodes if node is not None)

    def stop(self) -> None:
        lb = getattr(self, "lb", None)
        if lb is not None:
            lb.stop()
        for node in self.nodes:
            if node is not None:
                node.stop()


def deploy_who_api(cluster: Cluster, index: int = 0, stage: str = "prod", value: str = "one") -> str:
    """Import WHO_API through node `index` and deploy it; the API's id, once every node serves it."""
    client = cluster.client(index)
    api_id = client.import_rest_api(body=json.dumps(WHO_API).encode())["id"]
    client.create_deployment(restApiId=api_id, stageName=stage, variables={"v": value})
    served_everywhere(cluster, lambda port: cluster.call(port, api_id, stage, "/who").status == 200)
    return api_id


def served_everywhere(cluster: Cluster, check: Callable[[int], bool], seconds: float = 1.0) -> None:
    """Wait until `check(port)` holds on every running node."""
    for node in cluster.nodes:
        if node is not None:
            assert until(lambda port=node.port: check(port), seconds), f"node on {node.port} does not serve it: " \
                f"{cluster.errors()[-2000:]}"


@dataclass
class Tally:
    """Every answer a load loop got: statuses, and the failures (non-2xx or a broken connection) with when."""
    statuses: Counter = field(default_factory=Counter)
    failures: list[tuple[float, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    def add(self, other: Tally) -> None:
        self.statuses.update(other.statuses)
        self.failures += other.failures


class Load:
    """`clients` threads sending GET `path` to `port` over keep-alive connections, each until stopped, after
    `max_requests`, or after `seconds` — whichever comes first. `pace` seconds between a client's requests."""

    def __init__(self, port: int, host: str, path: str, clients: int = 4, seconds: float = 20,
                 max_requests: int = 20_000, headers: dict[str, str] | None = None, pace: float = 0.0) -> None:
        self.port, self.path, self.pace = port, path, pace
        self.headers = {"Host": host, **(headers or {})}
        self.deadline = time.monotonic() + seconds
        self.max_requests = max_requests
        self.stopping = threading.Event()
        self.tallies = [Tally() for _ in range(clients)]
        self.threads = [threading.Thread(target=self._client, args=(t,), daemon=True) for t in self.tallies]
        for thread in self.threads:
            thread.start()

    def _client(self, tally: Tally) -> None:
        conn: http.client.HTTPConnection | None = None
        for _ in range(self.max_requests):
            if self.stopping.is_set() or time.monotonic() > self.deadline:
                break
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", self.path, headers=self.headers)
                response = conn.getresponse()
                response.read()
                tally.statuses[response.status] += 1
                if not 200 <= response.status < 300:
                    tally.failures.append((time.monotonic(), str(response.status)))
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                tally.statuses[0] += 1
                tally.failures.append((time.monotonic(), type(exc).__name__))
                if conn is not None:
                    conn.close()
                conn = None
            if self.pace:
                time.sleep(self.pace)
        if conn is not None:
            conn.close()

    def stop_at_deadline(self) -> Tally:
        """Let every client run to its end, then tally."""
        return self._tally()

    def stop(self) -> Tally:
        self.stopping.set()
        return self._tally()

    def _tally(self) -> Tally:
        for thread in self.threads:
            thread.join(max(30.0, self.deadline - time.monotonic() + 30))
        total = Tally()
        for tally in self.tallies:
            total.add(tally)
        return total


def api_load(cluster: Cluster, port: int, api_id: str, stage: str, path: str, **kw) -> Load:
    return Load(port, f"{api_id}.execute-api.localhost:{port}", f"/{stage}{path}", **kw)


API_KEY = "cluster-key-0123456789abcdef"
# A MOCK method that needs an API key; its usage plan's limits are what a test sets.
KEYED_API = {"openapi": "3.0.1", "info": {"title": "keyed"},
             "components": {"securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}},
             "paths": {"/pets": {"get": {"security": [{"api_key": []}], "x-amazon-apigateway-integration": {
                 "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                 "responses": {"default": {"statusCode": "200"}}}}}}}


def deploy_keyed_api(cluster: Cluster, quota: int | None = None, rate: float = 10_000, burst: int = 5_000,
                     method_settings: list[dict] | None = None) -> tuple[str, str, str]:
    """KEYED_API on stage prod with a usage plan (its throttle, and a daily quota when given) holding
    API_KEY; (api id, usage plan id, key id) once every node serves the key."""
    client = cluster.client(0)
    api_id = client.import_rest_api(body=json.dumps(KEYED_API).encode())["id"]
    client.create_deployment(restApiId=api_id, stageName="prod")
    if method_settings:
        client.update_stage(restApiId=api_id, stageName="prod", patchOperations=method_settings)
    plan = {"name": "plan", "apiStages": [{"apiId": api_id, "stage": "prod"}],
            "throttle": {"rateLimit": rate, "burstLimit": burst}}
    if quota is not None:
        plan["quota"] = {"limit": quota, "period": "DAY"}
    plan_id = client.create_usage_plan(**plan)["id"]
    key_id = client.create_api_key(name="k", value=API_KEY, enabled=True)["id"]
    client.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    served_everywhere(cluster, lambda port: cluster.call(port, api_id, "prod", "/pets", headers={
        "x-api-key": API_KEY}).status == 200)
    return api_id, plan_id, key_id

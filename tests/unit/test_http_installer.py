"""The installer follows HTTP API stages in the store: a stage written with a deployment is served at once from
its deployment's snapshot, a changed one as changed, a removed one (or one without a deployment) no longer;
a compilation prepared before the write is the one served. Real SQLite store, real compile, a real function."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from apiway.checks.response_cache import ResponseCaches
from apiway.core.errors import DeployError
from apiway.core.http import HttpRequest, HttpResponse
from apiway.functions.base import FunctionSpec
from apiway.functions.runners import Functions
from apiway.integrations.upstream import UpstreamPool
from apiway.model.http import HttpApiDefinition
from apiway.runtime.deps import CompileDeps
from apiway.runtime.gateway import Gateway
from apiway.runtime.installer import StageInstaller
from apiway.state.memory import MemoryState
from apiway.store import http_deployments
from apiway.store.kinds import V2_STAGE
from apiway.store.sqlite import SqliteStore
from tests.http_apis import http_api, lambda_proxy

API_ID = "inst00http"


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[SqliteStore, Gateway, StageInstaller]]:
    (tmp_path / "fn.py").write_text("def handler(event, context):\n    return event.get('stageVariables')\n")
    functions = Functions()
    functions.load(FunctionSpec("Vars", "fn.py:handler", tmp_path, mode="inline"))
    store = SqliteStore(tmp_path / "state.db")
    gateway = Gateway()
    state = MemoryState()
    deps = CompileDeps(invoker=functions, pool=UpstreamPool(), strict=False, state=state)
    installer = StageInstaller(store, gateway, deps, ResponseCaches(state=state, name="canary responses"))
    store.subscribe(installer.changed)
    yield store, gateway, installer
    store.close()


def definition() -> HttpApiDefinition:
    return http_api(API_ID, {"GET /vars": lambda_proxy("Vars")})


def call(gateway: Gateway, path: str) -> HttpResponse:
    req = HttpRequest("GET", path, "", [("Host", f"{API_ID}.execute-api.localhost")], b"")
    return asyncio.run(gateway.handle(req))


def test_stages_are_served_changed_and_removed_as_the_store_says(wired):
    store, gateway, _ = wired
    d = definition()
    deployment, snapshot = http_deployments.new_deployment(d)
    stage = http_deployments.new_stage(API_ID, "prod", stageVariables={"v": "one"})
    with store.transaction():
        http_deployments.put_api(store, d)
        http_deployments.deploy(store, API_ID, deployment, snapshot, [stage])
    reply = call(gateway, "/prod/vars")
    assert (reply.status, orjson.loads(reply.body)) == (200, {"v": "one"})
    stage["stageVariables"] = {"v": "two"}
    http_deployments.put_stage(store, stage)
    assert orjson.loads(call(gateway, "/prod/vars").body) == {"v": "two"}
    store.delete_record(V2_STAGE, f"{API_ID}/prod")
    assert gateway.stage(API_ID, "prod") is None


def test_a_stage_without_a_deployment_serves_nothing(wired):
    store, gateway, _ = wired
    http_deployments.put_api(store, definition())
    http_deployments.put_stage(store, http_deployments.new_stage(API_ID, "$default"))
    assert gateway.stage(API_ID, "$default") is None


def test_a_prepared_compilation_is_served_and_what_cannot_compile_is_refused_before_writing(wired):
    store, gateway, installer = wired
    d = definition()
    deployment, snapshot = http_deployments.new_deployment(d)
    stage = http_deployments.new_stage(API_ID, "$default", deploymentId=deployment["deploymentId"])
    prepared = installer.prepare_http(snapshot, stage)
    with store.transaction():
        http_deployments.put_api(store, d)
        http_deployments.deploy(store, API_ID, deployment, snapshot, [stage])
    assert gateway.stage(API_ID, "$default") is prepared
    assert call(gateway, "/vars").status == 200
    broken = http_api(API_ID, {"GET /a/{x}": lambda_proxy("Vars"), "GET /a/{y}": lambda_proxy("Vars")})
    with pytest.raises(DeployError, match="GET /a/"):
        installer.prepare_http(broken, stage)


def test_install_all_serves_the_stored_http_api_stages_beside_rest_ones(wired, tmp_path):
    store, _, _ = wired
    d = definition()
    deployment, snapshot = http_deployments.new_deployment(d)
    with store.transaction():
        http_deployments.put_api(store, d)
        http_deployments.deploy(store, API_ID, deployment, snapshot, [http_deployments.new_stage(API_ID, "prod")])
    gateway = Gateway()
    state = MemoryState()
    installer = StageInstaller(store, gateway, CompileDeps(invoker=Functions(), pool=UpstreamPool(), strict=False),
                               ResponseCaches(state=state, name="canary responses"))
    served, failed = installer.install_all()
    assert [(s.api_id, s.stage_name, s.kind) for s in served] == [(API_ID, "prod", "HTTP")] and failed == []
    assert call(gateway, "/prod/vars").status == 500  # the function is not defined in this gateway

"""The installers follow the store: a write to a real SQLite store is served (or stops being served) by the
gateway at once, with nothing but the store's change events in between — no call from the writer into the
gateway. Stages are compiled for real."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from apiway.checks.response_cache import ResponseCaches
from apiway.core.errors import DeployError
from apiway.core.http import HttpRequest, HttpResponse
from apiway.functions.runners import Functions
from apiway.integrations.upstream import UpstreamPool
from apiway.model.documents import parse_text
from apiway.model.rest import ApiDefinition
from apiway.openapi.importer import import_openapi
from apiway.runtime.deps import CompileDeps
from apiway.runtime.domain_install import Certificate, DomainInstaller, ProjectDomain
from apiway.runtime.domains import BasePathMapping
from apiway.runtime.gateway import Gateway
from apiway.runtime.installer import StageInstaller
from apiway.state.api_keys import AccessState
from apiway.state.memory import MemoryState
from apiway.store.deployments import deploy, new_deployment, stage_record
from apiway.store.kinds import API_KEY, BASE_PATH_MAPPING, DOMAIN_NAME, USAGE_PLAN, USAGE_PLAN_KEY
from apiway.store.sqlite import SqliteStore

API = """openapi: 3.0.1
info: {title: Installed}
paths:
  /a:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses:
          default:
            statusCode: "200"
            responseTemplates: {application/json: '{"v": "$stageVariables.v"}'}
"""
API_ID = "inst000001"


def definition(api_id: str = API_ID) -> ApiDefinition:
    return import_openapi(parse_text(API, "a.yaml"), API, "a.yaml", api_id)


@dataclass
class Wired:
    store: SqliteStore
    gateway: Gateway
    deps: CompileDeps
    installer: StageInstaller
    canary_caches: ResponseCaches

    def call(self, path: str = "/prod/a", api_id: str = API_ID, host: str | None = None) -> HttpResponse:
        req = HttpRequest("GET", path, "", [("Host", host or f"{api_id}.execute-api.localhost")], b"")
        return asyncio.run(self.gateway.handle(req))

    def deploy(self, *stages: str, variables: dict[str, str] | None = None, api_id: str = API_ID) -> str:
        d = definition(api_id)
        deployment, snapshot = new_deployment(d)
        with self.store.transaction():
            self.store.put_api(d)
            deploy(self.store, deployment, snapshot,
                   [stage_record(api_id, name, deployment["id"], variables or {}) for name in stages])
        return deployment["id"]


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[Wired]:
    store = SqliteStore(tmp_path / "state.db")
    gateway = Gateway()
    state = MemoryState()
    deps = CompileDeps(invoker=Functions(), pool=UpstreamPool(), strict=False, state=state,
                       caches=ResponseCaches(state=state), access=AccessState(state))
    installer = StageInstaller(store, gateway, deps, ResponseCaches(state=state, name="canary responses"))
    installer.install_all()
    store.subscribe(installer.changed)
    yield Wired(store, gateway, deps, installer, installer.canary_caches)
    store.close()


def body(response: HttpResponse) -> dict:
    return orjson.loads(response.body)


# -- stages --------------------------------------------------------------------------------------------------

def test_a_stage_written_to_the_store_is_served_at_once(wired: Wired) -> None:
    assert wired.call().status == 403
    wired.deploy("prod", variables={"v": "one"})
    response = wired.call()
    assert response.status == 200 and body(response) == {"v": "one"}


def test_a_changed_stage_is_served_as_changed(wired: Wired) -> None:
    wired.deploy("prod", variables={"v": "one"})
    stage = wired.store.get_stage(API_ID, "prod")
    assert stage is not None
    stage["variables"] = {"v": "two"}
    wired.store.put_stage(stage)
    assert body(wired.call()) == {"v": "two"}


def test_a_deleted_stage_stops_serving_at_once(wired: Wired) -> None:
    wired.deploy("prod", "beta")
    wired.store.delete_stage(API_ID, "prod")
    assert wired.call().status == 403 and wired.call("/beta/a").status == 200


def test_a_deleted_api_stops_serving_every_stage(wired: Wired) -> None:
    wired.deploy("prod", "beta")
    wired.store.delete_api(API_ID)
    assert wired.call().status == 403 and wired.call("/beta/a").status == 403
    assert wired.gateway.stage(API_ID, "beta") is None


def test_a_rolled_back_write_leaves_what_is_served(wired: Wired) -> None:
    wired.deploy("prod", variables={"v": "one"})
    stage = wired.store.get_stage(API_ID, "prod")
    assert stage is not None
    stage["variables"] = {"v": "two"}
    with pytest.raises(RuntimeError), wired.store.transaction():
        wired.store.put_stage(stage)
        raise RuntimeError
    assert body(wired.call()) == {"v": "one"}


def test_stages_already_stored_are_served_at_start(tmp_path: Path, wired: Wired) -> None:
    wired.deploy("prod", variables={"v": "stored"})
    fresh = Gateway()
    runtimes, failed = StageInstaller(wired.store, fresh, wired.deps, ResponseCaches()).install_all()
    assert [r.stage_name for r in runtimes] == ["prod"] and failed == []
    assert fresh.stage(API_ID, "prod") is not None


def test_a_prepared_compilation_is_served_once_when_the_stored_stage_matches(wired: Wired) -> None:
    deployment_id = wired.deploy("prod")
    found = wired.store.get_deployment(API_ID, deployment_id)
    assert found is not None
    stage = stage_record(API_ID, "beta", deployment_id, {"v": "prepared"})
    prepared = wired.installer.prepare(found[1], stage)
    assert wired.gateway.stage(API_ID, "beta") is None  # preparing serves nothing
    wired.store.put_stage(stage)
    assert wired.gateway.stage(API_ID, "beta") is prepared
    wired.store.put_stage(stage)  # consumed: the next event compiles anew
    assert wired.gateway.stage(API_ID, "beta") is not prepared


def test_a_prepared_compilation_is_not_served_for_another_record(wired: Wired) -> None:
    deployment_id = wired.deploy("prod")
    found = wired.store.get_deployment(API_ID, deployment_id)
    assert found is not None
    prepared = wired.installer.prepare(found[1], stage_record(API_ID, "beta", deployment_id, {"v": "checked"}))
    wired.store.put_stage(stage_record(API_ID, "beta", deployment_id, {"v": "written"}))
    assert wired.gateway.stage(API_ID, "beta") is not prepared
    assert body(wired.call("/beta/a")) == {"v": "written"}


def test_prepare_raises_what_the_gateway_could_not_serve(wired: Wired) -> None:
    d = definition()
    [resource] = [r for r in d["resources"].values() if r["path"] == "/a"]
    resource["resourceMethods"]["GET"].pop("methodIntegration")
    with pytest.raises(DeployError, match="No integration defined for method"):
        wired.installer.prepare(d, stage_record(API_ID, "prod", "dep", {}))


def test_a_canary_is_served_beside_its_stage(wired: Wired) -> None:
    first = wired.deploy("prod", variables={"v": "stage"})
    second = wired.deploy()
    stage = wired.store.get_stage(API_ID, "prod")
    assert stage is not None
    stage["canarySettings"] = {"deploymentId": second, "percentTraffic": 100.0, "useStageCache": False,
                               "stageVariableOverrides": {"v": "canary"}}
    wired.store.put_stage(stage)
    served = wired.gateway.stage(API_ID, "prod")
    assert served is not None and served.deployment_id == first and served.canary_share == 1.0
    assert served.canary is not None and served.canary.is_canary and served.canary.deployment_id == second
    assert body(wired.call()) == {"v": "canary"}


def test_compiling_leaves_the_response_cache_and_installing_drops_a_disabled_one(wired: Wired) -> None:
    deployment_id = wired.deploy("prod")
    caches = wired.deps.caches
    assert caches is not None
    caches.stage(API_ID, "prod", 1 << 20)
    found = wired.store.get_deployment(API_ID, deployment_id)
    assert found is not None
    stage = wired.store.get_stage(API_ID, "prod")
    assert stage is not None and not stage["cacheClusterEnabled"]
    wired.installer.prepare(found[1], stage)
    assert caches.stats(API_ID, "prod") is not None  # compiling is pure
    stage["description"] = "touched"
    wired.store.put_stage(stage)
    assert caches.stats(API_ID, "prod") is None  # installing a stage without a cache cluster drops its cache


# -- API keys and usage plans ------------------------------------------------------------------------------

def test_the_api_key_index_follows_keys_plans_and_links(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    access = AccessState(MemoryState())
    access.load(store)
    store.subscribe(access.changed)
    stage = access.stage(API_ID, "prod")
    with store.transaction():
        store.put_record(API_KEY, "k1", {"id": "k1", "value": "secret-value-1", "enabled": True})
        store.put_record(USAGE_PLAN, "p1", {"id": "p1", "apiStages": [{"apiId": API_ID, "stage": "prod"}]})
        store.put_record(USAGE_PLAN_KEY, "p1/k1", {"usagePlanId": "p1", "keyId": "k1"})
    assert list(stage.grants) == ["secret-value-1"]
    store.put_record(API_KEY, "k1", {"id": "k1", "value": "secret-value-1", "enabled": False})
    assert stage.grants == {}
    store.delete_record(API_KEY, "k1")
    assert stage.grants == {}
    store.close()


# -- custom domains --------------------------------------------------------------------------------------------

def test_domains_follow_the_store(wired: Wired) -> None:
    wired.deploy("prod", variables={"v": "by-domain"})
    domains = DomainInstaller(wired.store, wired.gateway)
    domains.install()
    wired.store.subscribe(domains.changed)
    assert wired.gateway.domains.lookup("api.example.com") is None
    with wired.store.transaction():
        wired.store.put_record(DOMAIN_NAME, "api.example.com", {"domainName": "api.example.com"})
        wired.store.put_record(BASE_PATH_MAPPING, "api.example.com/v1", {
            "_domainName": "api.example.com", "basePath": "v1", "restApiId": API_ID, "stage": "prod"})
    assert body(wired.call("/v1/a", host="api.example.com")) == {"v": "by-domain"}
    wired.store.delete_record(DOMAIN_NAME, "api.example.com")
    assert wired.gateway.domains.lookup("api.example.com") is None


def test_project_domains_resolve_project_apis_by_their_deployed_id(wired: Wired) -> None:
    wired.deploy("prod", variables={"v": "project"})
    served: list[dict[str, Certificate]] = []
    project = ProjectDomain("shop.example.com", [BasePathMapping("", "petstore", "prod")],
                            Certificate(files=(Path("cert.pem"), Path("key.pem"))))
    domains = DomainInstaller(wired.store, wired.gateway, [project], {"petstore": "pets.yaml#"}, served.append)
    wired.store.subscribe(domains.changed)
    domains.install()
    assert served[-1] == {"shop.example.com": Certificate(files=(Path("cert.pem"), Path("key.pem")))}
    routes = wired.gateway.domains.lookup("shop.example.com")
    assert routes is not None and routes.root is not None and routes.root.api_id == "petstore"
    wired.store.put_source("pets.yaml#", API_ID, "digest")  # the project API got its id
    routes = wired.gateway.domains.lookup("shop.example.com")
    assert routes is not None and routes.root is not None and routes.root.api_id == API_ID
    assert body(wired.call("/a", host="shop.example.com")) == {"v": "project"}

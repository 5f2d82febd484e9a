"""Assembles a running gateway from a project: functions loaded, each API imported and deployed
when its sources changed, every stored stage compiled and installed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from apiway.config import ApiSpec, Project
from apiway.control.deploy import deploy, new_deployment, stage_record
from apiway.control.documents import load_document
from apiway.control.openapi_import import import_openapi
from apiway.functions.base import FunctionSpec
from apiway.functions.invoke_api import InvokeApi
from apiway.functions.runners import Functions
from apiway.integrations.upstream import UpstreamPool
from apiway.model.rest import ApiDefinition, Resource, Stage
from apiway.observe.log import log
from apiway.runtime.compile import CompileDeps, StageRuntime, compile_stage
from apiway.runtime.errors import DeployError
from apiway.runtime.gateway import Gateway
from apiway.runtime.request import HttpRequest, HttpResponse
from apiway.store.base import Store


@dataclass(slots=True)
class StartReport:
    deployed: list[str] = field(default_factory=list)  # "api/stage" freshly deployed
    reused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # stages that could not be compiled


@dataclass(slots=True)
class PreparedApi:
    """An API of the project, imported and checked, not yet written anywhere."""

    spec: ApiSpec
    definition: ApiDefinition
    digest: str
    source_key: str


class App:
    def __init__(self, log_dir: Path | None = None) -> None:
        self.runner = Functions(log_dir)
        self.functions: list[FunctionSpec] = []
        self.pool = UpstreamPool()
        self.function_specs: dict[str, FunctionSpec] = {}
        self.gateway = Gateway([InvokeApi(self.runner, self.function_specs, self.runner.workers.logs)])
        self.deps = CompileDeps(invoker=self.runner, pool=self.pool)
        self.live_deps = CompileDeps(invoker=self.runner, pool=self.pool, strict_functions=False)
        self.store: Store | None = None

    async def close(self) -> None:
        await self.runner.close()
        await self.pool.close()

    def load_functions(self, project: Project) -> None:
        for spec in project.functions:
            self.runner.load(spec)
            self.function_specs[spec.name] = spec
        self.functions = list(project.functions)

    def prepare(self, project: Project) -> list[PreparedApi]:
        """Import every API and compile every stage in memory: all checks happen before any write."""
        prepared = []
        for api in project.apis:
            doc, text = load_document(api.openapi)
            definition = import_openapi(doc, text, str(api.openapi), api.api_id)
            for s in api.stages:
                compile_stage(definition, stage_record(definition["restApi"]["id"], s.name, "-", s.variables),
                              self.deps)
            stages_key = [(s.name, s.variables, s.description) for s in api.stages]
            digest = hashlib.sha256(text.encode() + orjson.dumps(stages_key)).hexdigest()
            prepared.append(PreparedApi(api, definition, digest, f"{api.openapi}#{api.api_id or ''}"))
        return prepared

    def apply(self, store: Store, prepared: list[PreparedApi], report: StartReport) -> None:
        """Deploy each prepared API whose OpenAPI file or stages changed since the last start."""
        existing = {(s["restApiId"], s["stageName"]) for s in store.list_stages()}
        for item in prepared:
            known = store.get_source(item.source_key)
            names = [s.name for s in item.spec.stages]
            if known and known[1] == item.digest and all((known[0], n) in existing for n in names):
                report.reused += [f"{known[0]}/{n}" for n in names]
                continue
            definition = item.definition
            if known and not item.spec.api_id:
                definition["restApi"]["id"] = known[0]  # a changed file keeps its API id
            api_id = definition["restApi"]["id"]
            deployment, snapshot = new_deployment(definition)
            stages = [stage_record(api_id, s.name, deployment["id"], s.variables, s.description)
                      for s in item.spec.stages]
            with store.transaction():
                store.put_api(definition)
                deploy(store, deployment, snapshot, stages)
                store.put_source(item.source_key, api_id, item.digest)
            report.deployed += [f"{api_id}/{n}" for n in names]

    def install_stages(self, store: Store, report: StartReport) -> list[StageRuntime]:
        self.store = store
        runtimes = []
        for stage in store.list_stages():
            found = store.get_deployment(stage["restApiId"], stage["deploymentId"])
            name = f"{stage['restApiId']}/{stage['stageName']}"
            if found is None:
                report.failed.append(f"{name}: deployment {stage['deploymentId']} is missing")
                continue
            try:
                runtimes.append(compile_stage(found[1], stage, self.live_deps))
            except DeployError as exc:
                report.failed.append(f"{name}: {exc}")
        self.gateway.install(runtimes)
        return runtimes

    # -- hooks for the control plane (apiway.control.plane.RuntimeHooks) -----------------------------

    def refresh_stage(self, api_id: str, stage_name: str) -> None:
        assert self.store is not None
        stage = self.store.get_stage(api_id, stage_name)
        found = self.store.get_deployment(api_id, stage["deploymentId"]) if stage else None
        if stage is None or found is None:
            self.gateway.remove_stage(api_id, stage_name)
            return
        try:
            self.gateway.install_stage(compile_stage(found[1], stage, self.live_deps))
        except DeployError as exc:  # deployments are checked before they are written; this is a safety net
            log("ERROR", "stage not served", api=api_id, stage=stage_name, error=str(exc))
            self.gateway.remove_stage(api_id, stage_name)

    def check_deployable(self, snapshot: ApiDefinition, stage: Stage) -> None:
        compile_stage(snapshot, stage, self.live_deps)

    async def test_invoke(self, snapshot: ApiDefinition, stage: Stage, resource: Resource, http_method: str,
                          path: str, query: str, headers: list[tuple[str, str]], body: bytes) -> HttpResponse:
        only = dict(resource, resourceMethods={http_method: resource["resourceMethods"][http_method]})
        runtime = compile_stage(dict(snapshot, resources={resource["id"]: only}), stage,  # type: ignore[arg-type]
                                self.live_deps)
        verb = "GET" if http_method == "ANY" else http_method
        req = HttpRequest(verb, f"/{stage['stageName']}{path}", query, headers, body)
        return await self.gateway.invoke(req, runtime, path)

    def flush_stage_cache(self, api_id: str, stage_name: str) -> None:
        """Response caching is not built yet: nothing to flush."""

    def flush_authorizer_cache(self, api_id: str, stage_name: str) -> None:
        """Authorizer results are not cached yet: nothing to flush."""


def default_state_path(cwd: Path) -> Path:
    return cwd / ".apiway" / "state.db"

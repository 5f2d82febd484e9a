"""Assembles a running gateway from a project: functions loaded, each API imported and deployed
when its sources changed, every stored stage compiled and installed."""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import orjson

from apiway.auth.authorizer_cache import AuthorizerCache
from apiway.auth.identities import Identities
from apiway.auth.trial import Trial
from apiway.checks.response_cache import ResponseCaches
from apiway.config import API_ID_CHARS, ApiSpec, DomainSpec, Project
from apiway.core.clock import SYSTEM_CLOCK, Clock
from apiway.core.errors import DeployError
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import StageRuntime
from apiway.front.tls import ServerTls, TlsError, load_files, load_pem
from apiway.functions.base import FunctionSpec
from apiway.functions.invoke_api import InvokeApi
from apiway.functions.runners import Functions
from apiway.integrations.upstream import UpstreamPool
from apiway.model.base_paths import normalise_base_path
from apiway.model.documents import DocumentError, load_document
from apiway.model.rest import ApiDefinition, Resource, Stage
from apiway.observe.log import log
from apiway.openapi.importer import import_openapi
from apiway.runtime import test_invoke
from apiway.runtime.compile import compile_stage
from apiway.runtime.deps import CompileDeps
from apiway.runtime.domains import BasePathMapping, DomainRoutes, DomainTable
from apiway.runtime.gateway import Gateway
from apiway.state.api_keys import AccessState
from apiway.state.memory import MemoryState
from apiway.store.base import Store
from apiway.store.deployments import deploy, new_deployment, stage_record
from apiway.store.kinds import BASE_PATH_MAPPING, DOMAIN_NAME

T = TypeVar("T")


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
    def __init__(self, log_dir: Path | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.runner = Functions(log_dir)
        self.functions: list[FunctionSpec] = []
        self.pool = UpstreamPool()
        self.function_specs: dict[str, FunctionSpec] = {}
        self.gateway = Gateway([InvokeApi(self.runner, self.function_specs, self.runner.workers.logs)])
        self.deps = CompileDeps(invoker=self.runner, pool=self.pool, clock=clock)
        self.live_deps = CompileDeps(invoker=self.runner, pool=self.pool, strict=False, clock=clock)
        self.state = self.deps.state = self.live_deps.state = MemoryState(clock)
        self.deps.authorizer_cache = self.live_deps.authorizer_cache = AuthorizerCache(self.state, clock=clock)
        self.caches = self.deps.caches = self.live_deps.caches = ResponseCaches(clock, self.state)
        self.access = self.deps.access = self.live_deps.access = AccessState(self.state, clock)
        # Canaries with useStageCache false keep apart from their stage.
        self.canary_caches = ResponseCaches(clock, self.state, "canary responses")
        self.store: Store | None = None
        self._checked: tuple[bytes, StageRuntime] | None = None  # the last check_deployable compilation
        self.project_domains: list[DomainSpec] = []
        self.project_api_refs: dict[str, str] = {}  # a mapping's `api` → source key of a project API
        self.tls: ServerTls | None = None  # set when the port serves HTTPS: domain certificates go here

    async def close(self) -> None:
        self.access.flush()  # quota counts not yet written
        await self.runner.close()
        await self.pool.close()

    def load_functions(self, project: Project) -> None:
        for spec in project.functions:
            self.runner.load(spec)
            self.function_specs[spec.name] = spec
        self.functions = list(project.functions)

    def prepare(self, project: Project) -> list[PreparedApi]:
        """Import every API and compile every stage in memory: all checks happen before any write."""
        self.deps.identities = self.live_deps.identities = Identities(project.iam)
        self.live_deps.authorizer_cache.user_pools.settings = project.cognito
        prepared = []
        for api in project.apis:
            doc, text = load_document(api.openapi)
            definition = import_openapi(doc, text, str(api.openapi), api.api_id)
            for s in api.stages:
                compile_stage(definition, stage_record(definition["restApi"]["id"], s.name, "-", s.variables,
                                                       method_settings=s.method_settings, cache_size=s.cache_size),
                              self.deps)
            stages_key = [(s.name, s.variables, s.description, s.method_settings, s.cache_size) for s in api.stages]
            digest = hashlib.sha256(text.encode() + orjson.dumps(stages_key)).hexdigest()
            prepared.append(PreparedApi(api, definition, digest, f"{api.openapi}#{api.api_id or ''}"))
        self.project_domains = project.domains
        self.project_api_refs = _project_api_refs(project, prepared)
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
            stages = [stage_record(api_id, s.name, deployment["id"], s.variables, s.description,
                                   method_settings=s.method_settings, cache_size=s.cache_size)
                      for s in item.spec.stages]
            with store.transaction():
                store.put_api(definition)
                deploy(store, deployment, snapshot, stages)
                store.put_source(item.source_key, api_id, item.digest)
            report.deployed += [f"{api_id}/{n}" for n in names]

    def install_stages(self, store: Store, report: StartReport) -> list[StageRuntime]:
        self.store = store
        self.access.load(store)
        runtimes = []
        for stage in store.list_stages():
            found = store.get_deployment(stage["restApiId"], stage["deploymentId"])
            name = f"{stage['restApiId']}/{stage['stageName']}"
            if found is None:
                report.failed.append(f"{name}: deployment {stage['deploymentId']} is missing")
                continue
            try:
                runtimes.append(self._compile_served(found[1], stage))
            except DeployError as exc:
                report.failed.append(f"{name}: {exc}")
        self.gateway.install(runtimes)
        self.domains_changed()
        return runtimes

    def _compile_served(self, snapshot: ApiDefinition, stage: Stage) -> StageRuntime:
        """A stored stage as the gateway serves it: its deployment, with its canary's beside it."""
        return self._with_canary(compile_stage(snapshot, stage, self.live_deps), stage)

    def _with_canary(self, runtime: StageRuntime, stage: Stage) -> StageRuntime:
        canary = stage.get("canarySettings")
        if canary and canary.get("percentTraffic", 0) > 0:
            runtime.canary = self._compile_canary(stage, canary)
            runtime.canary_share = canary["percentTraffic"] / 100
        return runtime

    def _compile_canary(self, stage: Stage, canary: dict[str, Any]) -> StageRuntime | None:
        """The canary deployment on the stage, its variables overridden by `stageVariableOverrides`."""
        assert self.store is not None
        where = {"api": stage["restApiId"], "stage": stage["stageName"], "deployment": canary["deploymentId"]}
        found = self.store.get_deployment(stage["restApiId"], canary["deploymentId"])
        if found is None:
            log("ERROR", "canary not served: its deployment is missing", **where)
            return None
        record = dict(stage, deploymentId=canary["deploymentId"],
                      variables={**(stage.get("variables") or {}), **(canary.get("stageVariableOverrides") or {})})
        record.pop("canarySettings")
        deps = self.live_deps if canary.get("useStageCache") else replace(self.live_deps, caches=self.canary_caches)
        try:
            runtime = compile_stage(found[1], record, deps)  # type: ignore[arg-type]
        except DeployError as exc:
            log("ERROR", "canary not served", error=str(exc), **where)
            return None
        runtime.is_canary = True
        return runtime

    # -- hooks for the control plane (apiway.control.plane.RuntimeHooks) -----------------------------

    def refresh_stage(self, api_id: str, stage_name: str) -> None:
        assert self.store is not None
        stage = self.store.get_stage(api_id, stage_name)
        if stage is None:
            self.gateway.remove_stage(api_id, stage_name)
            return
        checked, self._checked = self._checked, None
        try:
            if checked is not None and checked[0] == _compile_key(stage):
                # Just compiled by check_deployable: serve that instead of compiling it again.
                self.gateway.install_stage(self._with_canary(checked[1], stage))
                return
            found = self.store.get_deployment(api_id, stage["deploymentId"])
            if found is None:
                self.gateway.remove_stage(api_id, stage_name)
                return
            self.gateway.install_stage(self._compile_served(found[1], stage))
        except DeployError as exc:  # deployments are checked before they are written; this is a safety net
            log("ERROR", "stage not served", api=api_id, stage=stage_name, error=str(exc))
            self.gateway.remove_stage(api_id, stage_name)

    def check_deployable(self, snapshot: ApiDefinition, stage: Stage) -> None:
        """Compile in memory (DeployError if the gateway could not serve it); the control plane writes the
        stage next and calls refresh_stage, which then serves this compilation."""
        self._checked = (_compile_key(stage), compile_stage(snapshot, stage, self.live_deps))

    async def test_invoke(self, snapshot: ApiDefinition, stage: Stage, resource: Resource, http_method: str,
                          path: str, query: str, headers: list[tuple[str, str]], body: bytes,
                          failures: list[str] | None = None) -> HttpResponse:
        return await test_invoke.run_method(self.gateway, self.live_deps, snapshot, stage, resource, http_method,
                                            path, query, headers, body, failures)

    async def test_invoke_authorizer(self, snapshot: ApiDefinition, stage: Stage, authorizer_id: str,
                                     request: HttpRequest, request_id: str) -> Trial:
        return await test_invoke.run_authorizer(snapshot, stage, authorizer_id, request, request_id, self.live_deps)

    def flush_stage_cache(self, api_id: str, stage_name: str) -> None:
        self.caches.flush(api_id, stage_name)
        self.canary_caches.flush(api_id, stage_name)

    def domains_changed(self) -> None:
        """Compile the custom domains of the project file and of the control plane (which wins for a name
        in both) into the gateway's domain table, and their certificates into the HTTPS listener's."""
        assert self.store is not None
        routes: dict[str, list[BasePathMapping]] = {}
        certificates: dict[str, Callable[[], ssl.SSLContext]] = {}
        for spec in self.project_domains:
            routes[spec.name] = [BasePathMapping(m.base_path, self._project_api_id(m.api), m.stage)
                                 for m in spec.mappings]
            if spec.tls:
                certificates[spec.name] = partial(load_files, *spec.tls)
        by_domain: dict[str, list[BasePathMapping]] = {}
        for m in self.store.list_records(BASE_PATH_MAPPING):
            by_domain.setdefault(m["_domainName"], []).append(
                BasePathMapping(normalise_base_path(m["basePath"]), m["restApiId"], m.get("stage")))
        for record in self.store.list_records(DOMAIN_NAME):
            name = record["domainName"].lower()
            routes[name] = by_domain.get(record["domainName"], [])
            certificates.pop(name, None)
            if record.get("_certificateBody") and record.get("_certificatePrivateKey"):
                certificates[name] = partial(load_pem, record["_certificateBody"], record["_certificatePrivateKey"],
                                             record.get("_certificateChain"))
        self.gateway.install_domains(DomainTable(DomainRoutes(name, m) for name, m in routes.items()))
        if self.tls is not None:
            self.tls.set_domains(_certificates(certificates))

    def _project_api_id(self, api: str) -> str:
        """A mapping's API: a project API's id as deployed, else the id as written."""
        source = self.project_api_refs.get(api)
        known = self.store.get_source(source) if source is not None and self.store is not None else None
        return known[0] if known else api

    def flush_authorizer_cache(self, api_id: str, stage_name: str) -> None:
        self.live_deps.authorizer_cache.flush(api_id, stage_name)

    def access_changed(self) -> None:
        self.access.reload()

    def flush_usage(self) -> None:
        self.access.flush()


def _project_api_refs(project: Project, prepared: list[PreparedApi]) -> dict[str, str]:
    """Each base path mapping's `api` that names an API of the project (by id or OpenAPI title) → that API's
    source key, whose id is known once it is deployed; any other `api` must be an API id."""
    by_name: dict[str, list[PreparedApi]] = {}
    for item in prepared:
        for name in {item.spec.api_id or "", item.definition["restApi"]["name"]} - {""}:
            by_name.setdefault(name, []).append(item)
    refs = {}
    for domain in project.domains:
        for m in domain.mappings:
            found = by_name.get(m.api, [])
            if len(found) > 1:
                raise DocumentError(str(project.source), m.where, f"{len(found)} APIs of this project are named "
                                                                  f"{m.api!r}: give the API's id instead", m.line)
            if not found:
                if set(m.api) - API_ID_CHARS:
                    raise DocumentError(str(project.source), m.where, f"no API of this project has the id or title "
                                                                      f"{m.api!r}", m.line)
                continue  # an API made through the control plane
            stages = [s.name for s in found[0].spec.stages]
            if m.stage is not None and m.stage not in stages:
                raise DocumentError(str(project.source), (*m.where[:-1], "stage"), f"the API {m.api!r} has no stage "
                                    f"{m.stage!r} (its stages: {', '.join(stages)})", m.line)
            refs[m.api] = found[0].source_key
    return refs


def _certificates(loaders: dict[str, Callable[[], ssl.SSLContext]]) -> dict[str, ssl.SSLContext]:
    """Each domain's server context; one that does not load is left out (the default certificate is served
    for it) with a log line."""
    contexts = {}
    for name, load in loaders.items():
        try:
            contexts[name] = load()
        except TlsError as exc:
            log("ERROR", "certificate not served", domain=name, error=str(exc))
    return contexts


def _compile_key(stage: Stage) -> bytes:
    """What a stage's compilation depends on: everything in its record but the timestamps."""
    return orjson.dumps({k: v for k, v in stage.items() if k not in ("createdDate", "lastUpdatedDate")},
                        option=orjson.OPT_SORT_KEYS)


def default_state_path(cwd: Path) -> Path:
    return cwd / ".apiway" / "state.db"

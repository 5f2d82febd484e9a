"""Assembles a running gateway from a project: functions loaded, each API imported and deployed
when its sources changed, every stored stage compiled and installed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import orjson

from apiway.auth.authorizer_cache import AuthorizerCache
from apiway.auth.identities import Identities
from apiway.auth.trial import Trial
from apiway.checks.response_cache import ResponseCaches
from apiway.config import API_ID_CHARS, ApiSpec, DomainSpec, Project
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import StageRuntime
from apiway.front.dispatch import Dispatcher
from apiway.front.tls import ServerTls, TlsError, load_files, load_pem
from apiway.functions.base import FunctionSpec
from apiway.functions.invoke_api import InvokeApi
from apiway.functions.runners import Functions
from apiway.integrations.upstream import UpstreamPool
from apiway.model.documents import DocumentError, load_document
from apiway.model.rest import ApiDefinition, Resource, Stage
from apiway.observe.log import log
from apiway.openapi.importer import import_openapi
from apiway.runtime import test_invoke
from apiway.runtime.compile import compile_stage
from apiway.runtime.deps import CompileDeps
from apiway.runtime.domain_install import Certificate, DomainInstaller, ProjectDomain
from apiway.runtime.domains import BasePathMapping
from apiway.runtime.gateway import Gateway
from apiway.runtime.installer import StageInstaller
from apiway.state.api_keys import AccessState
from apiway.state.buckets import Buckets
from apiway.store.base import Store
from apiway.store.deployments import deploy, new_deployment, stage_record

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
    def __init__(self, log_dir: Path | None = None) -> None:
        self.runner = Functions(log_dir)
        self.functions: list[FunctionSpec] = []
        self.pool = UpstreamPool()
        self.function_specs: dict[str, FunctionSpec] = {}
        self.gateway = Gateway()
        # Other services on the gateway's port; serve() adds the control plane unless it has a port of its own.
        invoke_api = InvokeApi(self.runner, self.function_specs, self.runner.workers.logs)
        self.dispatcher = Dispatcher(self.gateway, [invoke_api])
        self.deps = CompileDeps(invoker=self.runner, pool=self.pool)
        self.live_deps = CompileDeps(invoker=self.runner, pool=self.pool, strict=False)
        self.deps.authorizer_cache = self.live_deps.authorizer_cache = AuthorizerCache()
        self.throttles = self.deps.throttles = self.live_deps.throttles = Buckets()
        self.caches = self.deps.caches = self.live_deps.caches = ResponseCaches()
        self.access = self.deps.access = self.live_deps.access = AccessState(self.throttles)
        self.canary_caches = ResponseCaches()  # canaries with useStageCache false keep apart from their stage
        self.store: Store | None = None
        self.installer: StageInstaller | None = None
        self.domains: DomainInstaller | None = None
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

    def prepare_project(self, project: Project) -> list[PreparedApi]:
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
        """Serve every stored stage and the custom domains, and follow the store's changes from now on."""
        self.store = store
        self.access.load(store)
        self.installer = StageInstaller(store, self.gateway, self.live_deps, self.canary_caches)
        runtimes, failed = self.installer.install_all()
        report.failed += failed
        self.domains = DomainInstaller(store, self.gateway, [_project_domain(d) for d in self.project_domains],
                                       self.project_api_refs,
                                       partial(_serve_certificates, self.tls) if self.tls is not None else None)
        self.domains.install()
        for follower in (self.installer.changed, self.access.changed, self.domains.changed):
            store.subscribe(follower)
        return runtimes

    # -- for the control plane (apiway.control.plane.RuntimeHooks) ----------------------------------

    def prepare(self, snapshot: ApiDefinition, stage: Stage) -> StageRuntime:
        assert self.installer is not None
        return self.installer.prepare(snapshot, stage)

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

    def flush_authorizer_cache(self, api_id: str, stage_name: str) -> None:
        self.live_deps.authorizer_cache.flush(api_id, stage_name)

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


def _project_domain(spec: DomainSpec) -> ProjectDomain:
    return ProjectDomain(spec.name, [BasePathMapping(m.base_path, m.api, m.stage) for m in spec.mappings],
                         Certificate(files=spec.tls) if spec.tls else None)


def _serve_certificates(tls: ServerTls, certificates: dict[str, Certificate]) -> None:
    """Each domain's server context to the HTTPS listener; one that does not load is left out (the default
    certificate is served for it) with a log line."""
    contexts = {}
    for name, certificate in certificates.items():
        try:
            contexts[name] = load_files(*certificate.files) if certificate.files else load_pem(*certificate.pem)
        except TlsError as exc:
            log("ERROR", "certificate not served", domain=name, error=str(exc))
    tls.set_domains(contexts)


def default_state_path(cwd: Path) -> Path:
    return cwd / ".apiway" / "state.db"

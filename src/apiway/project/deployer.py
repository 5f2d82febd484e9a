"""Deploys a project's APIs at start: each OpenAPI file is imported and every stage of it compiled in memory
first (`prepare`, so a bad file stops the start before anything is written), then each API whose file or
stages changed since the last start gets a new deployment in the store (`apply`). The installers serve what
the store then holds, like any other write.

HTTP APIs are imported strictly (what ImportApi would only warn about stops the start) and written through
store/http_deployments.py: their stages deploy automatically, so the API's change deploys to them at once.
WebSocket APIs come written out in the project file (config.py checked them) and are written the same way,
their stages with the route settings the file gives."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from apiway.config import API_ID_CHARS, HTTP, REST, WEBSOCKET, ApiSpec, DomainSpec, Project
from apiway.core.errors import DeployError
from apiway.model import ids
from apiway.model.documents import DocumentError, line_of, load_document
from apiway.model.http import HttpApiDefinition, api_endpoint
from apiway.model.rest import ApiDefinition
from apiway.openapi.http_importer import import_http_api, locate_record_error
from apiway.openapi.importer import import_openapi
from apiway.runtime.compile import compile_stage
from apiway.runtime.deps import CompileDeps
from apiway.runtime.domain_install import Certificate, ProjectDomain
from apiway.runtime.domains import BasePathMapping
from apiway.runtime.http_compile import compile_http_stage
from apiway.runtime.ws_compile import compile_ws_stage
from apiway.store import http_deployments
from apiway.store.base import Store
from apiway.store.deployments import deploy, new_deployment, stage_record


@dataclass(slots=True)
class StartReport:
    deployed: list[str] = field(default_factory=list)  # "api/stage" freshly deployed
    reused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # stages that could not be compiled


@dataclass(slots=True)
class PreparedApi:
    """An API of the project, imported and checked, not yet written anywhere."""

    spec: ApiSpec
    definition: ApiDefinition | HttpApiDefinition  # by spec.kind
    digest: str
    source_key: str

    @property
    def name(self) -> str:
        return self.rest["restApi"]["name"] if self.spec.kind == REST else self.http["api"]["name"]

    @property
    def rest(self) -> ApiDefinition:
        assert self.spec.kind == REST
        return self.definition  # type: ignore[return-value]

    @property
    def http(self) -> HttpApiDefinition:
        """An HTTP or WebSocket API (apigatewayv2)."""
        assert self.spec.kind in (HTTP, WEBSOCKET)
        return self.definition  # type: ignore[return-value]


@dataclass(slots=True)
class PreparedProject:
    apis: list[PreparedApi]
    domains: list[ProjectDomain]  # each mapping's API as written in the project file
    api_refs: dict[str, str]  # a mapping's `api` → source key of a project API (its id is known once deployed)
    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # Project.records


def prepare(project: Project, deps: CompileDeps) -> PreparedProject:
    """Import every API and compile every stage in memory (with `deps`, the strict ones): all checks happen
    before any write."""
    prepared = []
    for api in project.apis:
        if api.kind == WEBSOCKET:
            prepared.append(_prepare_websocket(api, deps))
            continue
        doc, text = api.document or load_document(api.openapi)
        api.document = None  # the server keeps the project; not the parsed document
        if api.kind == HTTP:
            prepared.append(_prepare_http(api, doc, text, deps))
            continue
        definition = import_openapi(doc, text, str(api.openapi), api.api_id)
        for s in api.stages:
            compile_stage(definition, stage_record(definition["restApi"]["id"], s.name, "-", s.variables,
                                                   method_settings=s.method_settings, cache_size=s.cache_size,
                                                   access_log=s.access_log, tracing=s.tracing), deps)
        stages_key = [(s.name, s.variables, s.description, s.method_settings, s.cache_size, s.access_log, s.tracing)
                      for s in api.stages]
        digest = hashlib.sha256(text.encode() + orjson.dumps(stages_key)).hexdigest()
        prepared.append(PreparedApi(api, definition, digest, f"{api.openapi}#{api.api_id or ''}"))
    return PreparedProject(prepared, [_project_domain(d) for d in project.domains],
                           _project_api_refs(project, prepared), project.records)


def _prepare_http(api: ApiSpec, doc: object, text: str, deps: CompileDeps) -> PreparedApi:
    """An HTTP API, imported strictly (a warning of ImportApi is an error in a project file), every stage
    compiled once in memory."""
    origins: dict[str, tuple[Any, ...]] = {}
    definition, _ = import_http_api(doc, text, str(api.openapi), api.api_id or ids.new_api_id(), strict=True,
                                    origins=origins)
    api_id = definition["api"]["apiId"]
    for s in api.stages:
        try:
            compile_http_stage(definition, http_deployments.new_stage(
                api_id, s.name, True, stageVariables=s.variables, deploymentId="-"), deps)
        except DeployError as exc:
            located = locate_record_error(str(exc), origins)
            if located is None:  # e.g. a route's authorizer: the message names the route, the file is named here
                raise DocumentError(str(api.openapi), (), str(exc)) from None
            raise DocumentError(str(api.openapi), located[0], located[1], line_of(text, located[0])) from None
    stages_key = [(s.name, s.variables, s.description) for s in api.stages]
    digest = hashlib.sha256(b"HTTP" + text.encode() + orjson.dumps(stages_key)).hexdigest()
    # Its own source key: the same file served as a REST API before keeps that API apart.
    return PreparedApi(api, definition, digest, f"{api.openapi}#{api.api_id or ''}#http")


def _prepare_websocket(api: ApiSpec, deps: CompileDeps) -> PreparedApi:
    """A WebSocket API of the project file, as checked when the file was loaded, every stage compiled once in
    memory (an integration the gateway could not serve stops the start, naming the API and the stage)."""
    assert api.websocket is not None
    built, stages = api.websocket
    definition = copy.deepcopy(built)
    definition["api"]["apiId"] = api_id = api.api_id or ids.new_api_id()
    for s in stages:
        record = http_deployments.new_stage(api_id, s.name, True, stageVariables=s.variables, deploymentId="-")
        if s.default_route_settings:
            record["defaultRouteSettings"] = s.default_route_settings
        if s.route_settings:
            record["routeSettings"] = s.route_settings
        try:
            compile_ws_stage(definition, record, deps)
        except DeployError as exc:
            raise DocumentError(str(api.openapi), ("apis", built["api"]["name"], "stages", s.name), str(exc)) from None
    stages_key = [(s.name, s.variables, s.description, s.default_route_settings, s.route_settings) for s in stages]
    digest = hashlib.sha256(b"WEBSOCKET" + orjson.dumps([built, stages_key], option=orjson.OPT_SORT_KEYS)).hexdigest()
    return PreparedApi(api, definition, digest, f"{api.openapi}#{api.api_id or built['api']['name']}#websocket")


def apply(store: Store, prepared: list[PreparedApi], report: StartReport) -> None:
    """Deploy each prepared API whose OpenAPI file or stages changed since the last start."""
    existing = {(s["restApiId"], s["stageName"]) for s in store.list_stages()}
    for item in prepared:
        if item.spec.kind in (HTTP, WEBSOCKET):
            _apply_http(store, item, report)
            continue
        _check_kind(store, item.spec.api_id, REST, item.spec)
        known = store.get_source(item.source_key)
        names = [s.name for s in item.spec.stages]
        if known and known[1] == item.digest and all((known[0], n) in existing for n in names):
            report.reused += [f"{known[0]}/{n}" for n in names]
            continue
        definition = item.rest
        if known and not item.spec.api_id:
            definition["restApi"]["id"] = known[0]  # a changed file keeps its API id
        api_id = definition["restApi"]["id"]
        deployment, snapshot = new_deployment(definition)
        stages = [stage_record(api_id, s.name, deployment["id"], s.variables, s.description,
                               method_settings=s.method_settings, cache_size=s.cache_size,
                               access_log=s.access_log, tracing=s.tracing)
                  for s in item.spec.stages]
        with store.transaction():
            store.put_api(definition)
            deploy(store, deployment, snapshot, stages)
            store.put_source(item.source_key, api_id, item.digest)
        report.deployed += [f"{api_id}/{n}" for n in names]


def write_records(store: Store, records: list[tuple[str, str, dict[str, Any]]]) -> None:
    """A template's API keys and usage plans, in one transaction. A record already there keeps its creation
    dates (a plan's quota periods count from its creation day); usage counted so far is kept apart."""
    with store.transaction():
        for kind, key, record in records:
            existing = store.get_record(kind, key)
            if isinstance(existing, dict):
                record = {**record, **{k: existing[k] for k in ("_createdDay", "_created", "createdDate")
                                       if k in existing}}
            store.put_record(kind, key, record)


def _apply_http(store: Store, item: PreparedApi, report: StartReport) -> None:
    """Write an HTTP or WebSocket API whose file or stages changed, its stages (auto-deploying) and their
    deployment, in one transaction; the API keeps its id (and creation date) across restarts."""
    known = store.get_source(item.source_key)
    names = [s.name for s in item.spec.stages]
    if known and known[1] == item.digest:
        stored = {s["stageName"] for s in http_deployments.list_stages(store, known[0]) if s.get("deploymentId")}
        if all(n in stored for n in names):
            report.reused += [f"{known[0]}/{n}" for n in names]
            return
    _check_kind(store, item.spec.api_id, item.spec.kind, item.spec)
    definition = item.http
    api = definition["api"]
    if known and not item.spec.api_id:
        api["apiId"] = known[0]  # a changed file keeps its API id
    elif not item.spec.api_id and api["apiId"] in (taken := store.list_api_kinds()):
        api["apiId"] = ids.new_api_id(taken)  # one id space with REST and WebSocket APIs
    api_id = api["apiId"]
    api["apiEndpoint"] = api_endpoint(api_id, api["protocolType"])
    previous = http_deployments.get_api(store, api_id)
    if previous is not None:
        api["createdDate"] = previous["api"]["createdDate"]
    elif not api["createdDate"]:
        api["createdDate"] = http_deployments.iso_now()
    settings = {s.name: s for s in item.spec.websocket[1]} if item.spec.websocket else {}
    with store.transaction():
        http_deployments.put_api(store, definition)
        for spec in item.spec.stages:
            stage = (http_deployments.get_stage(store, api_id, spec.name)
                     or http_deployments.new_stage(api_id, spec.name, auto_deploy=True))
            stage["autoDeploy"] = True
            stage["stageVariables"] = dict(spec.variables)
            stage.pop("description", None)
            if spec.description is not None:
                stage["description"] = spec.description
            if spec.name in settings:
                stage["defaultRouteSettings"] = settings[spec.name].default_route_settings
                stage["routeSettings"] = settings[spec.name].route_settings
            http_deployments.put_stage(store, stage)
        http_deployments.auto_deploy(store, definition)
        store.put_source(item.source_key, api_id, item.digest)
    report.deployed += [f"{api_id}/{n}" for n in names]


def _check_kind(store: Store, api_id: str | None, kind: str, spec: ApiSpec) -> None:
    """A fixed id that an API of another kind already has in the store cannot be used."""
    held = store.list_api_kinds().get(api_id) if api_id else None
    if held is not None and held != kind:
        raise DeployError(f"{spec.openapi}: the API id {api_id!r} belongs to a {held} API in the state; give this "
                          f"{kind} API another id")


def _project_domain(spec: DomainSpec) -> ProjectDomain:
    return ProjectDomain(spec.name, [BasePathMapping(m.base_path, m.api, m.stage) for m in spec.mappings],
                         Certificate(files=spec.tls) if spec.tls else None)


def _project_api_refs(project: Project, prepared: list[PreparedApi]) -> dict[str, str]:
    """Each base path mapping's `api` that names an API of the project (by id or OpenAPI title) → that API's
    source key, whose id is known once it is deployed; any other `api` must be an API id."""
    by_name: dict[str, list[PreparedApi]] = {}
    for item in prepared:
        for name in {item.spec.api_id or "", item.name} - {""}:
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

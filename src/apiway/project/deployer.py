"""Deploys a project's APIs at start: each OpenAPI file is imported and every stage of it compiled in memory
first (`prepare`, so a bad file stops the start before anything is written), then each API whose file or
stages changed since the last start gets a new deployment in the store (`apply`). The installers serve what
the store then holds, like any other write."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson

from apiway.config import API_ID_CHARS, ApiSpec, DomainSpec, Project
from apiway.model.documents import DocumentError, load_document
from apiway.model.rest import ApiDefinition
from apiway.openapi.importer import import_openapi
from apiway.runtime.compile import compile_stage
from apiway.runtime.deps import CompileDeps
from apiway.runtime.domain_install import Certificate, ProjectDomain
from apiway.runtime.domains import BasePathMapping
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
    definition: ApiDefinition
    digest: str
    source_key: str


@dataclass(slots=True)
class PreparedProject:
    apis: list[PreparedApi]
    domains: list[ProjectDomain]  # each mapping's API as written in the project file
    api_refs: dict[str, str]  # a mapping's `api` → source key of a project API (its id is known once deployed)


def prepare(project: Project, deps: CompileDeps) -> PreparedProject:
    """Import every API and compile every stage in memory (with `deps`, the strict ones): all checks happen
    before any write."""
    prepared = []
    for api in project.apis:
        doc, text = load_document(api.openapi)
        definition = import_openapi(doc, text, str(api.openapi), api.api_id)
        for s in api.stages:
            compile_stage(definition, stage_record(definition["restApi"]["id"], s.name, "-", s.variables,
                                                   method_settings=s.method_settings, cache_size=s.cache_size), deps)
        stages_key = [(s.name, s.variables, s.description, s.method_settings, s.cache_size) for s in api.stages]
        digest = hashlib.sha256(text.encode() + orjson.dumps(stages_key)).hexdigest()
        prepared.append(PreparedApi(api, definition, digest, f"{api.openapi}#{api.api_id or ''}"))
    return PreparedProject(prepared, [_project_domain(d) for d in project.domains],
                           _project_api_refs(project, prepared))


def apply(store: Store, prepared: list[PreparedApi], report: StartReport) -> None:
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


def _project_domain(spec: DomainSpec) -> ProjectDomain:
    return ProjectDomain(spec.name, [BasePathMapping(m.base_path, m.api, m.stage) for m in spec.mappings],
                         Certificate(files=spec.tls) if spec.tls else None)


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

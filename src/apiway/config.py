"""The project file (`apiway.yaml`): which OpenAPI documents to serve on which stages, and the
functions their Lambda integrations call. Paths inside it are relative to the file.

A document describes a REST API or an HTTP API (`kind: rest|http`, else told by its content:
openapi/http_importer.is_http_api_document); an HTTP API is served on an auto-deploying `$default` stage
unless its entry names others. A WebSocket API (`kind: websocket`) is written in the project file itself
(model/ws_project.py, docs/websocket-apis.md)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apiway.auth.identities import Identity, IdentityError, parse_identity
from apiway.auth.jwks import UserPoolSettings
from apiway.front.tls import TlsError, load_files
from apiway.functions.base import FunctionSpec
from apiway.functions.runners import MODES
from apiway.model.aws import ACCOUNT_ID, REGION
from apiway.model.base_paths import normalise_base_path
from apiway.model.documents import DocumentError, line_of, load_document
from apiway.model.http import DEFAULT_STAGE, HttpApiDefinition
from apiway.model.http import STAGE_NAME_RE as HTTP_STAGE_NAME_RE
from apiway.model.method_settings import SettingsError, stage_settings
from apiway.model.rest import STAGE_NAME_RE, STAGE_VAR_NAME_RE, STAGE_VAR_VALUE_RE
from apiway.model.ws_project import ProjectError, WsStage, build_websocket_api
from apiway.openapi.http_importer import is_http_api_document
from apiway.telemetry.access_log import PRESETS

API_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789")
USER_POOL_ID_RE = re.compile(r"^[\w-]+_[0-9a-zA-Z]+$")
URL_SCHEMES = ("http://", "https://", "file://")
DOMAIN_NAME_RE = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.I)
_BASE_PATH_SEGMENT = r"[A-Za-z0-9$\-_.+!*'()]+"
BASE_PATH_RE = re.compile(rf"^{_BASE_PATH_SEGMENT}(/{_BASE_PATH_SEGMENT})*$")


PROJECT_KEYS = ("apis", "functions", "iam", "cognito", "domains", "aws")
API_KEYS = ("openapi", "id", "kind", "stages")
REST, HTTP, WEBSOCKET = "REST", "HTTP", "WEBSOCKET"
KINDS = {"rest": REST, "http": HTTP}
HTTP_STAGE_KEYS = ("variables", "description")

@dataclass(slots=True)
class StageSpec:
    name: str
    variables: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # the stage's methodSettings
    cache_size: str | None = None  # cacheClusterSize (GB) when the stage cache is enabled
    access_log: dict[str, str] | None = None  # the stage's accessLogSettings (destinationArn, format)
    tracing: bool = False  # tracingEnabled


@dataclass(slots=True)
class ApiSpec:
    openapi: Path
    stages: list[StageSpec]
    api_id: str | None = None
    kind: str = REST  # REST, HTTP or WEBSOCKET
    # The document as read to tell its kind (parsed value, text), so that it is not read twice; the deployer
    # takes it (and drops it).
    document: tuple[Any, str] | None = field(default=None, repr=False)
    # A WebSocket API (`openapi` is then the project file): its definition, as the control plane would hold
    # it, without id, endpoint or dates, and its stages' settings.
    websocket: tuple[HttpApiDefinition, list[WsStage]] | None = field(default=None, repr=False)


@dataclass(slots=True)
class MappingSpec:
    base_path: str  # "" maps the whole path (AWS's "(none)")
    api: str  # an API id, or the title of one of the project's OpenAPI files
    stage: str | None  # None: the first path segment after the base path names the stage
    where: tuple[Any, ...]  # of `api`, for what is checked once the APIs are imported
    line: int | None


@dataclass(slots=True)
class DomainSpec:
    name: str  # lower case; `*.example.com` for a wildcard domain
    mappings: list[MappingSpec]
    tls: tuple[Path, Path] | None = None  # PEM certificate (chain may follow) and private key


@dataclass(frozen=True, slots=True)
class AwsSettings:
    """`aws: {endpoint, region}`: where AWS service integrations send requests when the environment names no
    endpoint (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL), and the region they sign for by default."""

    endpoint: str | None = None
    region: str | None = None


@dataclass(slots=True)
class Project:
    source: Path
    apis: list[ApiSpec]
    functions: list[FunctionSpec]
    iam: list[Identity] = field(default_factory=list)  # identities that may call AWS_IAM methods
    cognito: dict[str, UserPoolSettings] = field(default_factory=dict)  # user pools by pool id
    domains: list[DomainSpec] = field(default_factory=list)  # custom domain names
    # Account-level records a template declares (API keys, usage plans, their links) as (kind, key, record),
    # written at start after the APIs.
    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    aws: AwsSettings = field(default_factory=AwsSettings)


def is_openapi_document(doc: Any) -> bool:
    return isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc)


def kind_of(doc: Any, kind: str | None) -> str:
    """The kind a document is served as: the one asked for (`rest`/`http`), else what its content says."""
    if kind is not None:
        return KINDS[kind.lower()]
    return HTTP if is_http_api_document(doc) else REST


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def fail(self, where: tuple[Any, ...], message: str) -> DocumentError:
        return DocumentError(str(self.path), where, message, line_of(self.text, where))

    def mapping(self, value: Any, where: tuple[Any, ...]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, "must be a mapping")
        return value

    def stage(self, name: Any, spec: Any, where: tuple[Any, ...]) -> StageSpec:
        if not isinstance(name, str) or not STAGE_NAME_RE.match(name):
            raise self.fail(where, f"invalid stage name {name!r} (letters, digits, '-' and '_', up to 128)")
        spec = self.mapping(spec, where)
        description = spec.get("description")
        try:
            method_settings, cache_size = stage_settings(spec)
        except SettingsError as exc:
            raise self.fail((*where, *exc.where), exc.message) from None
        tracing = spec.get("tracing", False)
        if not isinstance(tracing, bool):
            raise self.fail((*where, "tracing"), "must be true or false (X-Ray tracing of the stage)")
        return StageSpec(name, self.variables(spec, where), str(description) if description is not None else None,
                         method_settings, cache_size, self.access_log(spec, where), tracing)

    def access_log(self, spec: dict, where: tuple[Any, ...]) -> dict[str, str] | None:
        """`access_log: {format: CLF | JSON | XML | CSV | a format, group: a log group name}` → accessLogSettings."""
        if spec.get("access_log") is None:
            return None
        where = (*where, "access_log")
        entry = self.mapping(spec["access_log"], where)
        unknown = set(entry) - {"format", "group"}
        if unknown:
            raise self.fail((*where, sorted(unknown)[0]), "unknown key (expected 'format' or 'group')")
        fmt, group = entry.get("format", "CLF"), entry.get("group")
        if not isinstance(fmt, str) or not fmt.strip():
            raise self.fail((*where, "format"), "must be CLF, JSON, XML, CSV or a format with $context variables")
        if not isinstance(group, str) or not group or ":" in group:
            raise self.fail((*where, "group"), "a log group name is required (e.g. access-logs)")
        return {"destinationArn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{group}",
                "format": PRESETS.get(fmt.upper(), fmt)}

    def variables(self, spec: dict, where: tuple[Any, ...]) -> dict[str, str]:
        variables = self.mapping(spec.get("variables"), (*where, "variables"))
        out: dict[str, str] = {}
        for key, value in variables.items():
            w = (*where, "variables", key)
            if not isinstance(key, str) or not STAGE_VAR_NAME_RE.match(key):
                raise self.fail(w, "stage variable names are letters, digits and '_' (up to 64)")
            text = str(value).lower() if isinstance(value, bool) else str(value)
            if not STAGE_VAR_VALUE_RE.match(text):
                raise self.fail(w, "stage variable values use letters, digits and -._~:/?#&=, (1 to 512 characters)")
            out[key] = text
        if len(out) > 100:
            raise self.fail((*where, "variables"), "at most 100 stage variables per stage")
        return out

    def http_stage(self, name: Any, spec: Any, where: tuple[Any, ...]) -> StageSpec:
        """An HTTP API's stage: `$default` or a name, with stage variables and a description."""
        if not isinstance(name, str) or not HTTP_STAGE_NAME_RE.match(name):
            raise self.fail(where, f"invalid stage name {name!r} ($default, or letters, digits, '-' and '_', up to "
                                   f"128)")
        spec = self.mapping(spec, where)
        unknown = set(spec) - set(HTTP_STAGE_KEYS)
        if unknown:
            raise self.fail((*where, sorted(unknown)[0]), f"unknown key for an HTTP API stage (expected "
                                                          f"{' or '.join(repr(k) for k in HTTP_STAGE_KEYS)})")
        description = spec.get("description")
        return StageSpec(name, self.variables(spec, where), str(description) if description is not None else None)

    def api(self, entry: Any, where: tuple[Any, ...], default_kind: str | None, functions: set[str]) -> ApiSpec:
        """One entry of `apis`: the document (read here when its kind must be told from it) and its stages."""
        entry = self.mapping(entry, where)
        if isinstance(entry.get("kind"), str) and entry["kind"].lower() == "websocket":
            return self.websocket_api(entry, where, functions)
        unknown = set(entry) - set(API_KEYS)
        if unknown:
            raise self.fail((*where, sorted(unknown)[0]), f"unknown key (expected one of: {', '.join(API_KEYS)})")
        openapi = entry.get("openapi")
        if not isinstance(openapi, str):
            raise self.fail((*where, "openapi"), "path of the OpenAPI file is required")
        path = (self.path.parent / openapi).resolve()
        if not path.is_file():
            raise self.fail((*where, "openapi"), f"file not found: {path}")
        api_id = entry.get("id")
        if api_id is not None and (not isinstance(api_id, str) or not api_id or set(api_id) - API_ID_CHARS):
            raise self.fail((*where, "id"), "an API id is lowercase letters and digits")
        kind = entry.get("kind", default_kind)
        if kind is not None and (not isinstance(kind, str) or kind.lower() not in KINDS):
            raise self.fail((*where, "kind"), f"must be rest, http or websocket, got {kind!r}")
        document = None
        if kind is None:
            document = load_document(path)
        kind = kind_of(document[0] if document else None, kind)
        stages_raw = self.mapping(entry.get("stages"), (*where, "stages"))
        read, default = (self.http_stage, DEFAULT_STAGE) if kind == HTTP else (self.stage, "dev")
        stages = [read(n, s, (*where, "stages", n)) for n, s in (stages_raw or {default: {}}).items()]
        return ApiSpec(path, stages, api_id, kind, document)

    def websocket_api(self, entry: dict, where: tuple[Any, ...], functions: set[str]) -> ApiSpec:
        """A `kind: websocket` entry: the API written out in the project file, checked as the control plane
        checks each part, stage variables as every stage's."""
        try:
            definition, stages = build_websocket_api(entry, functions, where, check_variables=self.variables)
        except ProjectError as exc:
            raise self.fail(exc.where, exc.message) from None
        api_id = entry.get("id")
        if api_id is not None and (not isinstance(api_id, str) or not api_id or set(api_id) - API_ID_CHARS):
            raise self.fail((*where, "id"), "an API id is lowercase letters and digits")
        specs = [StageSpec(s.name, s.variables, s.description) for s in stages]
        return ApiSpec(self.path, specs, api_id, WEBSOCKET, websocket=(definition, stages))

    def function(self, name: Any, spec: Any, where: tuple[Any, ...]) -> FunctionSpec:
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
            raise self.fail(where, f"invalid function name {name!r}")
        spec = self.mapping(spec, where)
        runtime = spec.get("runtime", "python")
        if isinstance(runtime, str) and re.fullmatch(r"nodejs(\d+\.x)?", runtime):
            runtime = "nodejs"  # the machine's node runs every nodejsNN.x
        if runtime not in ("python", "provided", "nodejs"):
            raise self.fail((*where, "runtime"), f"must be python, nodejs or provided, got {runtime!r}")
        handler = spec.get("handler")
        bootstrap: Path | None = None
        if runtime == "provided":
            # A custom runtime: any executable that speaks the Lambda Runtime API; `handler` is passed as _HANDLER.
            raw = spec.get("bootstrap")
            if not isinstance(raw, str):
                raise self.fail((*where, "bootstrap"), "runtime provided needs the path of an executable bootstrap")
            bootstrap = (self.path.parent / raw).resolve()
            if not bootstrap.is_file() or not os.access(bootstrap, os.X_OK):
                raise self.fail((*where, "bootstrap"), f"not an executable file: {bootstrap}")
            handler = handler if isinstance(handler, str) else "handler"
        elif runtime == "nodejs":
            if not isinstance(handler, str) or "." not in os.path.basename(handler) or ":" in handler:
                raise self.fail((*where, "handler"), "required, like 'functions/pets.handler' (file.export)")
        elif not isinstance(handler, str) or ":" not in handler:
            raise self.fail((*where, "handler"), "required, like 'functions/pets.py:handler'")
        timeout = spec.get("timeout", 3)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 900:
            raise self.fail((*where, "timeout"), "seconds, more than 0 and at most 900")
        memory = spec.get("memory", 128)
        if isinstance(memory, bool) or not isinstance(memory, int) or not 128 <= memory <= 10240:
            raise self.fail((*where, "memory"), "megabytes, an integer from 128 to 10240")
        env = self.mapping(spec.get("environment"), (*where, "environment"))
        mode = spec.get("mode", "worker")
        if mode not in MODES or (runtime != "python" and mode != "worker"):
            only = "" if runtime == "python" else f" (worker for runtime {runtime})"
            raise self.fail((*where, "mode"), f"must be one of {', '.join(MODES)}{only}, got {mode!r}")
        concurrency = spec.get("concurrency", 10)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 1000:
            raise self.fail((*where, "concurrency"), "an integer from 1 to 1000")
        return FunctionSpec(name=name, handler=handler, base_dir=self.path.parent, timeout=float(timeout),
                            memory=memory, environment={str(k): str(v) for k, v in env.items()}, mode=mode,
                            concurrency=concurrency, runtime=runtime, bootstrap=bootstrap)

    def iam(self, raw: Any) -> list[Identity]:
        """`iam: {identities: [...]}`: access keys, their principal and identity policies."""
        section = self.mapping(raw, ("iam",))
        unknown = set(section) - {"identities"}
        if unknown:
            raise self.fail(("iam", sorted(unknown)[0]), "unknown key (expected 'identities')")
        entries = section.get("identities") or []
        if not isinstance(entries, list):
            raise self.fail(("iam", "identities"), "a list of identities")
        identities: list[Identity] = []
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            where = ("iam", "identities", i)
            try:
                identity = parse_identity(entry)
            except IdentityError as exc:
                raise self.fail((*where, *exc.where), exc.message) from None
            if identity.access_key_id in seen:
                raise self.fail((*where, "access_key_id"), "declared twice")
            seen.add(identity.access_key_id)
            identities.append(identity)
        return identities

    def cognito(self, raw: Any) -> dict[str, UserPoolSettings]:
        """`cognito: {user_pools: {POOL_ID: {jwks_url, issuer}}}`: where a pool's signing keys and tokens
        come from when it is not AWS's (a local Cognito emulator, a test key set)."""
        section = self.mapping(raw, ("cognito",))
        unknown = set(section) - {"user_pools"}
        if unknown:
            raise self.fail(("cognito", sorted(unknown)[0]), "unknown key (expected 'user_pools')")
        pools: dict[str, UserPoolSettings] = {}
        for pool_id, spec in self.mapping(section.get("user_pools"), ("cognito", "user_pools")).items():
            where = ("cognito", "user_pools", pool_id)
            if not isinstance(pool_id, str) or not USER_POOL_ID_RE.match(pool_id):
                raise self.fail(where, f"a user pool id looks like 'us-east-1_AbC123', got {pool_id!r}")
            spec = self.mapping(spec, where)
            unknown = set(spec) - {"jwks_url", "issuer"}
            if unknown:
                raise self.fail((*where, sorted(unknown)[0]), "unknown key (expected 'jwks_url' or 'issuer')")
            for key in ("jwks_url", "issuer"):
                value = spec.get(key)
                if value is not None and (not isinstance(value, str) or not value.startswith(URL_SCHEMES)):
                    raise self.fail((*where, key), f"an http://, https:// or file:// URL, got {value!r}")
            pools[pool_id] = UserPoolSettings(jwks_url=spec.get("jwks_url"), issuer=spec.get("issuer"))
        return pools

    def aws(self, raw: Any) -> AwsSettings:
        section = self.mapping(raw, ("aws",))
        unknown = set(section) - {"endpoint", "region"}
        if unknown:
            raise self.fail(("aws", sorted(unknown)[0]), "unknown key (expected 'endpoint' or 'region')")
        endpoint, region = section.get("endpoint"), section.get("region")
        if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://"))):
            raise self.fail(("aws", "endpoint"), f"an http:// or https:// URL, got {endpoint!r}")
        if region is not None and (not isinstance(region, str) or not region):
            raise self.fail(("aws", "region"), f"a region name like us-east-1, got {region!r}")
        return AwsSettings(endpoint, region)

    def domains(self, raw: Any) -> list[DomainSpec]:
        """`domains: {api.example.com: {mappings: [{base_path, api, stage}], tls: {cert, key}}}`."""
        domains = []
        for name, spec in self.mapping(raw, ("domains",)).items():
            where = ("domains", name)
            if not isinstance(name, str) or not DOMAIN_NAME_RE.match(name):
                raise self.fail(where, f"a domain name like api.example.com or *.example.com, got {name!r}")
            if any(d.name == name.lower() for d in domains):
                raise self.fail(where, "declared twice (domain names are case-insensitive)")
            spec = self.mapping(spec, where)
            unknown = set(spec) - {"mappings", "tls"}
            if unknown:
                raise self.fail((*where, sorted(unknown)[0]), "unknown key (expected 'mappings' or 'tls')")
            entries = spec.get("mappings") or []
            if not isinstance(entries, list):
                raise self.fail((*where, "mappings"), "a list of base path mappings")
            mappings: list[MappingSpec] = []
            for i, entry in enumerate(entries):
                mapping = self.base_path_mapping(entry, (*where, "mappings", i))
                if any(m.base_path == mapping.base_path for m in mappings):
                    raise self.fail((*where, "mappings", i, "base_path"), "this base path is mapped twice")
                mappings.append(mapping)
            tls = self.tls(spec["tls"], (*where, "tls")) if spec.get("tls") is not None else None
            domains.append(DomainSpec(name.lower(), mappings, tls))
        return domains

    def base_path_mapping(self, entry: Any, where: tuple[Any, ...]) -> MappingSpec:
        entry = self.mapping(entry, where)
        unknown = set(entry) - {"base_path", "api", "stage"}
        if unknown:
            raise self.fail((*where, sorted(unknown)[0]), "unknown key (expected 'base_path', 'api' or 'stage')")
        raw = entry.get("base_path") or ""
        base_path = normalise_base_path(raw) if isinstance(raw, str) else None
        if base_path is None or (base_path and not BASE_PATH_RE.match(base_path)):
            raise self.fail((*where, "base_path"), "path segments of letters, digits and $-_.+!*'() (leave it out "
                                                   "or write '(none)' to map the whole path)")
        api = entry.get("api")
        if not isinstance(api, str) or not api:
            raise self.fail((*where, "api"), "the id of an API, or the title of one of this project's OpenAPI files")
        stage = entry.get("stage")
        if stage is not None and (not isinstance(stage, str) or not STAGE_NAME_RE.match(stage)):
            raise self.fail((*where, "stage"), f"invalid stage name {stage!r}")
        return MappingSpec(base_path, api, stage, (*where, "api"), line_of(self.text, (*where, "api")))

    def tls(self, raw: Any, where: tuple[Any, ...]) -> tuple[Path, Path]:
        """`tls: {cert: FILE, key: FILE}`, loaded once here so a bad pair stops the start."""
        spec = self.mapping(raw, where)
        unknown = set(spec) - {"cert", "key"}
        if unknown:
            raise self.fail((*where, sorted(unknown)[0]), "unknown key (expected 'cert' or 'key')")
        files = {}
        for key in ("cert", "key"):
            value = spec.get(key)
            if not isinstance(value, str) or not value:
                raise self.fail((*where, key), "path of a PEM file is required")
            files[key] = (self.path.parent / value).resolve()
        try:
            load_files(files["cert"], files["key"])
        except TlsError as exc:
            raise self.fail((*where, exc.field), str(exc)) from None
        return files["cert"], files["key"]

    def project(self, doc: Any, kind: str | None = None) -> Project:
        if not isinstance(doc, dict):
            raise self.fail((), "a project file is a mapping with 'apis' (and optionally "
                                f"{', '.join(repr(k) for k in PROJECT_KEYS[1:])})")
        unknown = set(doc) - set(PROJECT_KEYS)
        if unknown:
            raise self.fail((sorted(unknown)[0],), f"unknown key (expected one of: {', '.join(PROJECT_KEYS)})")
        # Without APIs a project only provides functions (APIs then come through the control plane).
        apis_raw = doc.get("apis", [])
        if not isinstance(apis_raw, list) or (not apis_raw and not doc.get("functions")):
            raise self.fail(("apis",), "a non-empty list of APIs is required (or 'functions' for APIs made "
                                       "through the control plane)")
        functions_raw = self.mapping(doc.get("functions"), ("functions",))
        functions = [self.function(n, s, ("functions", n)) for n, s in functions_raw.items()]
        names = {f.name for f in functions}
        apis = [self.api(entry, ("apis", i), kind, names) for i, entry in enumerate(apis_raw)]
        ids = [api.api_id for api in apis if api.api_id]
        for i, api in enumerate(apis):
            if api.api_id and ids.count(api.api_id) > 1:
                raise self.fail(("apis", i, "id"), f"the id {api.api_id!r} is given to more than one API (REST, HTTP "
                                                   f"and WebSocket APIs share one id space)")
        return Project(self.path, apis, functions, iam=self.iam(doc.get("iam")),
                       cognito=self.cognito(doc.get("cognito")), domains=self.domains(doc.get("domains")),
                       aws=self.aws(doc.get("aws")))


def load_project(path: Path, stage: str | None = None, kind: str | None = None) -> Project:
    """A project file, or a plain OpenAPI document with no functions served on `stage` (default `dev` for a
    REST API, `$default` for an HTTP API). `kind` (rest or http) overrides what a document's content says,
    for a plain document or the project's APIs without a `kind` of their own."""
    path = path.resolve()
    doc, text = load_document(path)
    reader = _Reader(path, text)
    if kind is not None and kind.lower() not in KINDS:
        raise DocumentError(str(path), ("--kind",), f"must be rest or http, got {kind!r}")
    if is_openapi_document(doc):
        api_kind = kind_of(doc, kind)
        if api_kind == HTTP:
            spec = reader.http_stage(stage or DEFAULT_STAGE, {}, ("--stage",))
        else:
            spec = reader.stage(stage or "dev", {}, ("--stage",))
        return Project(path, [ApiSpec(path, [spec], None, api_kind, (doc, text))], [])
    return reader.project(doc, kind)

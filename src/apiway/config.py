"""The project file (`apiway.yaml`): which OpenAPI documents to serve on which stages, and the
functions their Lambda integrations call. Paths inside it are relative to the file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apiway.control.documents import DocumentError, line_of, load_document
from apiway.functions.base import FunctionSpec
from apiway.functions.runners import MODES
from apiway.model.rest import STAGE_NAME_RE, STAGE_VAR_NAME_RE, STAGE_VAR_VALUE_RE

API_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789")


@dataclass(slots=True)
class StageSpec:
    name: str
    variables: dict[str, str] = field(default_factory=dict)
    description: str | None = None


@dataclass(slots=True)
class ApiSpec:
    openapi: Path
    stages: list[StageSpec]
    api_id: str | None = None


@dataclass(slots=True)
class Project:
    source: Path
    apis: list[ApiSpec]
    functions: list[FunctionSpec]


def is_openapi_document(doc: Any) -> bool:
    return isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc)


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
        description = spec.get("description")
        return StageSpec(name, out, str(description) if description is not None else None)

    def function(self, name: Any, spec: Any, where: tuple[Any, ...]) -> FunctionSpec:
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
            raise self.fail(where, f"invalid function name {name!r}")
        spec = self.mapping(spec, where)
        runtime = spec.get("runtime", "python")
        if runtime not in ("python", "provided"):
            raise self.fail((*where, "runtime"), f"must be python or provided, got {runtime!r}")
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
        if mode not in MODES or (runtime == "provided" and mode != "worker"):
            raise self.fail((*where, "mode"), f"must be one of {', '.join(MODES)} (worker for runtime provided), "
                                              f"got {mode!r}")
        concurrency = spec.get("concurrency", 10)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 1000:
            raise self.fail((*where, "concurrency"), "an integer from 1 to 1000")
        return FunctionSpec(name=name, handler=handler, base_dir=self.path.parent, timeout=float(timeout),
                            memory=memory, environment={str(k): str(v) for k, v in env.items()}, mode=mode,
                            concurrency=concurrency, runtime=runtime, bootstrap=bootstrap)

    def project(self, doc: Any) -> Project:
        if not isinstance(doc, dict):
            raise self.fail((), "a project file is a mapping with 'apis' (and optionally 'functions')")
        unknown = set(doc) - {"apis", "functions"}
        if unknown:
            raise self.fail((sorted(unknown)[0],), "unknown key (expected 'apis' or 'functions')")
        apis_raw = doc.get("apis")
        if not isinstance(apis_raw, list) or not apis_raw:
            raise self.fail(("apis",), "a non-empty list of APIs is required")
        apis = []
        for i, entry in enumerate(apis_raw):
            where = ("apis", i)
            entry = self.mapping(entry, where)
            openapi = entry.get("openapi")
            if not isinstance(openapi, str):
                raise self.fail((*where, "openapi"), "path of the OpenAPI file is required")
            path = (self.path.parent / openapi).resolve()
            if not path.is_file():
                raise self.fail((*where, "openapi"), f"file not found: {path}")
            api_id = entry.get("id")
            if api_id is not None and (not isinstance(api_id, str) or not api_id or set(api_id) - API_ID_CHARS):
                raise self.fail((*where, "id"), "an API id is lowercase letters and digits")
            stages_raw = self.mapping(entry.get("stages"), (*where, "stages")) or {"dev": {}}
            stages = [self.stage(n, s, (*where, "stages", n)) for n, s in stages_raw.items()]
            apis.append(ApiSpec(path, stages, api_id))
        functions_raw = self.mapping(doc.get("functions"), ("functions",))
        functions = [self.function(n, s, ("functions", n)) for n, s in functions_raw.items()]
        return Project(self.path, apis, functions)


def load_project(path: Path, stage: str = "dev") -> Project:
    """A project file, or a plain OpenAPI document served on `stage` with no functions."""
    path = path.resolve()
    doc, text = load_document(path)
    reader = _Reader(path, text)
    if is_openapi_document(doc):
        return Project(path, [ApiSpec(path, [reader.stage(stage, {}, ("--stage",))])], [])
    return reader.project(doc)

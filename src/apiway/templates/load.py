"""A template (or a `cdk.out` folder) read as the project the deployer serves: its functions, and each API as an
OpenAPI document with its stages. Each document is imported here once, so that a problem in it names the
template's line (a definition body's keys are the template's) instead of the generated document's."""

from __future__ import annotations

import copy
import shlex
import tomllib
from pathlib import Path
from typing import Any

from apiway.config import ApiSpec, Project
from apiway.model import aws
from apiway.model.documents import DocumentError, line_of
from apiway.model.method_settings import SettingsError, stage_settings
from apiway.templates.cloudformation import read_plain_apis
from apiway.templates.context import FUNCTION_TYPES, REST_API_TYPES, SAM_TRANSFORM, V2_API_TYPES, Context
from apiway.templates.documents import BuiltApi, failed_path, imported
from apiway.templates.domains import read_domains
from apiway.templates.functions import read_functions
from apiway.templates.sam import read_sam_apis
from apiway.templates.serverless.load import find_service, is_service_file, load_service
from apiway.templates.usage_plans import read_usage_plans
from apiway.templates.yaml_loader import looks_like_template, read_template

TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
# Resource types read, or harmless to leave out: their absence changes nothing a request sees.
READ_TYPES = {*FUNCTION_TYPES, *REST_API_TYPES, *V2_API_TYPES, "AWS::Serverless::LayerVersion",
              "AWS::Lambda::LayerVersion", "AWS::Lambda::Permission", "AWS::ApiGateway::Resource",
              "AWS::ApiGateway::Method", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage",
              "AWS::ApiGateway::Authorizer", "AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::Integration",
              "AWS::ApiGatewayV2::Stage", "AWS::ApiGatewayV2::Authorizer", "AWS::ApiGatewayV2::Deployment",
              "AWS::ApiGateway::Account", "AWS::CDK::Metadata", "AWS::ApiGateway::Model",
              "AWS::ApiGateway::RequestValidator", "AWS::ApiGateway::GatewayResponse", "AWS::ApiGateway::ApiKey",
              "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::UsagePlanKey", "AWS::ApiGateway::DomainName",
              "AWS::ApiGateway::BasePathMapping", "AWS::ApiGatewayV2::DomainName", "AWS::ApiGatewayV2::ApiMapping"}


def find_template(folder: Path) -> list[Path]:
    """The templates a folder holds: `template.yaml`/`.yml`/`.json` (SAM), or a `cdk.out`'s `*.template.json`."""
    for name in TEMPLATE_NAMES:
        if (folder / name).is_file():
            return [folder / name]
    cdk = folder / "cdk.out" if (folder / "cdk.out").is_dir() else folder
    return sorted(cdk.glob("*.template.json"))


def is_template_file(path: Path) -> bool:
    """Whether a file is a template rather than a project file or OpenAPI document (told by its top keys)."""
    if path.suffix not in (".yaml", ".yml", ".json", ".template"):
        return False
    try:
        head = path.read_text(encoding="utf-8")[:200_000]
    except (OSError, UnicodeDecodeError):
        return False
    lines = {line.split(":", 1)[0].strip().strip('"') for line in head.splitlines() if line[:1] not in (" ", "\t")}
    keys = {"Resources", "AWSTemplateFormatVersion", "Transform"}
    if keys & lines:
        return True
    return head.lstrip().startswith("{") and '"Resources"' in head and '"openapi"' not in head \
        and '"swagger"' not in head


def load_templates(paths: list[Path], overrides: dict[str, str], region: str = aws.REGION) -> tuple[Project,
                                                                                                     list[str]]:
    """One project of every template's functions and APIs, and notes for the start-up output."""
    project = Project(paths[0].resolve(), [], [])
    notes: list[str] = []
    for path in paths:
        one, more = load_template(path, overrides if len(paths) == 1 else {}, region)
        project.apis += one.apis
        project.functions += one.functions
        project.records += one.records
        project.domains += one.domains
        notes += more
    names = [f.name for f in project.functions]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise DocumentError(str(project.source), (), f"two templates define the function {duplicate!r}")
    return project, notes


def load_template(path: Path, overrides: dict[str, str], region: str = aws.REGION) -> tuple[Project, list[str]]:
    try:
        return _load_template(path.resolve(), overrides, region)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
        # A value of an unexpected shape that no check above named: still a message, never a traceback
        raise DocumentError(str(path), (), f"a property has a shape this reader does not expect ({exc!r}); "
                                           f"`aws cloudformation validate-template` may point at it") from None


def _load_template(path: Path, overrides: dict[str, str], region: str) -> tuple[Project, list[str]]:
    template, text = read_template(path)
    if not looks_like_template(template):
        raise DocumentError(str(path), ("Resources",), "a template needs Resources")
    sam = _transforms(template, path, text)
    serverless = next((k for k, r in template["Resources"].items() if isinstance(r, dict)
                       and str(r.get("Type", "")).startswith("AWS::Serverless::")), None)
    if serverless and not sam:
        where = ("Resources", serverless, "Type")
        raise DocumentError(str(path), where, f"a SAM resource needs `Transform: {SAM_TRANSFORM}` at the top of the "
                                              f"template", line_of(text, where))
    if sam:
        template = _with_globals(template, path, text)
    from_config = _samconfig(path, template)
    ctx = Context(path, text, template, region, {**from_config, **overrides})
    if from_config:
        ctx.notes.append(f"parameters from samconfig.toml: {', '.join(sorted(from_config))}")
    functions = read_functions(ctx)
    built = (read_sam_apis(ctx) if sam else []) + read_plain_apis(ctx)
    apis = [_api_spec(ctx, b) for b in built]
    stages = {b.logical_id: [s.name for s in b.stages] for b in built}
    records = read_usage_plans(ctx, stages)
    domains = read_domains(ctx, stages)
    skipped = sorted({str(r.get("Type")) for r in ctx.resources.values()} - READ_TYPES
                     - {"AWS::Serverless::Api", "AWS::Serverless::HttpApi"})
    notes = list(ctx.notes)
    if skipped:
        notes.append(f"not emulated (accepted, left out): {', '.join(skipped)}")
    return Project(path, apis, functions, records=records, domains=domains), notes


def _samconfig(path: Path, template: dict[str, Any]) -> dict[str, str]:
    """`sam deploy`'s parameter overrides kept beside the template (`samconfig.toml`, environment `default`):
    what the app is deployed with; those naming no parameter of this template are left out."""
    config = path.parent / "samconfig.toml"
    if not config.is_file():
        return {}
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DocumentError(str(config), (), f"cannot read: {exc}") from None
    raw = ((data.get("default") or {}).get("deploy") or {}).get("parameters", {}).get("parameter_overrides")
    items = raw if isinstance(raw, list) else shlex.split(raw) if isinstance(raw, str) else []
    declared = template.get("Parameters") or {}
    pairs = (str(item).partition("=") for item in items)
    return {key: value for key, sep, value in pairs if sep and key in declared}


def _transforms(template: dict[str, Any], path: Path, text: str) -> bool:
    transform = template.get("Transform")
    names = transform if isinstance(transform, list) else [transform] if transform is not None else []
    for i, name in enumerate(names):
        if name != SAM_TRANSFORM:
            where = ("Transform", i) if isinstance(transform, list) else ("Transform",)
            raise DocumentError(str(path), where, f"the transform {name!r} is not supported (only {SAM_TRANSFORM})",
                                line_of(text, where))
    return bool(names)


def _with_globals(template: dict[str, Any], path: Path, text: str) -> dict[str, Any]:
    """SAM's Globals merged into each function and API: maps merged, lists appended, values overridden."""
    sections = template.get("Globals")
    if not isinstance(sections, dict):
        return template
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        section = sections.get(_GLOBALS.get(str(kind), ""))
        if isinstance(section, dict):
            resource["Properties"] = _merge(section, resource.get("Properties") or {})
    return template


_GLOBALS = {"AWS::Serverless::Function": "Function", "AWS::Serverless::Api": "Api",
            "AWS::Serverless::HttpApi": "HttpApi"}


def _merge(base: Any, own: Any) -> Any:
    if isinstance(base, dict) and isinstance(own, dict):
        out = dict(base)
        for k, v in own.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(own, list):
        return base + own
    return own


def _api_spec(ctx: Context, built: BuiltApi) -> ApiSpec:
    """The API as the deployer takes it; imported once here so problems are located in the template."""
    source = f"{ctx.path}#{built.logical_id}"
    try:
        spec = imported(built, ctx.api_ids[built.logical_id], source)
    except DocumentError as exc:
        path = failed_path(exc)
        if path in built.origins:
            where = built.origins[path]
        elif built.body_where:
            where = (*built.body_where, *exc.where)
        else:
            where = built.where
        raise ctx.fail(where, exc.message) from None
    for stage in built.stages:
        try:
            stage_settings({"method_settings": stage.method_settings})
        except SettingsError as exc:
            raise ctx.fail(built.where, f"stage {stage.name}: MethodSettings: {exc.message}") from None
    return spec


def template_project(file: Path | None, overrides: dict[str, str], stage: str | None = None,
                     ) -> tuple[Project, list[str]] | None:
    """The project when `file` is a template, a Serverless Framework service file or a folder of either, or
    when no file is given and the working folder has one and no apiway.yaml; else None (a project file or an
    OpenAPI document). `stage`: `--stage`, the stage a service file is served as (`${opt:stage}`)."""
    if file is None:
        found = find_template(Path.cwd())
        service = None if found else find_service(Path.cwd())
        if service is not None:
            _no_parameters(service, overrides)
            project, notes = load_service(service, stage)
            return project, [f"no apiway.yaml here: serving {service.name}", *notes]
        if not found:
            return None
        project, notes = load_templates(found, overrides)
        shown = ", ".join(str(p.relative_to(Path.cwd())) if p.is_relative_to(Path.cwd()) else str(p) for p in found)
        return project, [f"no apiway.yaml here: serving {shown}", *notes]
    if file.is_dir():
        found = find_template(file)
        service = None if found else find_service(file)
        if service is not None:
            _no_parameters(service, overrides)
            return load_service(service, stage)
        if not found:
            raise DocumentError(str(file), (), "no template.yaml, template.json, cdk.out/*.template.json or "
                                               "serverless.yml in this folder")
        return load_templates(found, overrides)
    if is_service_file(file):
        _no_parameters(file, overrides)
        return load_service(file, stage)
    if is_template_file(file):
        return load_templates([file], overrides)
    if overrides:
        raise DocumentError(str(file), ("--parameter-overrides",), "only a template has parameters")
    return None


def _no_parameters(file: Path, overrides: dict[str, str]) -> None:
    if overrides:
        raise DocumentError(str(file), ("--parameter-overrides",), "a service file has no parameters: its "
                                                                   "variables take --stage and ${env:…}")

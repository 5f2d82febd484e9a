"""Custom domain names a template declares — `AWS::ApiGateway::DomainName` with its `BasePathMapping`s,
`AWS::ApiGatewayV2::DomainName` with its `ApiMapping`s, and a SAM API's `Domain` — as the project's domains:
served by Host name on the gateway's listeners (certificates stay in ACM: give `--tls-cert` for HTTPS)."""

from __future__ import annotations

from typing import Any

from apiway.config import DOMAIN_NAME_RE, DomainSpec, MappingSpec
from apiway.model.base_paths import normalise_base_path
from apiway.templates.context import Context

REST_DOMAIN, V2_DOMAIN = "AWS::ApiGateway::DomainName", "AWS::ApiGatewayV2::DomainName"
MAPPINGS = {"AWS::ApiGateway::BasePathMapping": ("RestApiId", "BasePath"),
            "AWS::ApiGatewayV2::ApiMapping": ("ApiId", "ApiMappingKey")}


def read_domains(ctx: Context, stages: dict[str, list[str]]) -> list[DomainSpec]:
    """`stages`: API logical id → its stage names (a SAM domain maps the API's stage)."""
    domains: dict[str, DomainSpec] = {}
    names: dict[str, str] = {}  # DomainName logical id → domain name
    for logical, resource in ctx.resources.items():
        if resource.get("Type") in (REST_DOMAIN, V2_DOMAIN) and ctx.active(logical):
            name = ctx.resolver.text(ctx.properties(logical).get("DomainName"),
                                     ("Resources", logical, "Properties", "DomainName"))
            names[logical] = _domain(ctx, domains, name, ("Resources", logical, "Properties", "DomainName")).name
    for logical, resource in ctx.resources.items():
        kind = str(resource.get("Type"))
        if kind not in MAPPINGS or not ctx.active(logical):
            continue
        api_key, path_key = MAPPINGS[kind]
        where = ("Resources", logical, "Properties")
        raw = ctx.properties(logical)
        props = ctx.resolved(logical)
        domain_ref = raw.get("DomainName")
        domain = names.get(domain_ref["Ref"]) if isinstance(domain_ref, dict) and "Ref" in domain_ref \
            else str(props.get("DomainName") or "").lower()
        api = raw.get(api_key)
        api_logical = api.get("Ref") if isinstance(api, dict) else None
        if api_logical not in ctx.api_ids or not domain:
            raise ctx.fail(where, f"DomainName and {api_key} must name a domain and an API of this template")
        _add(ctx, _domain(ctx, domains, domain, (*where, "DomainName")), props.get(path_key), api_logical,
             props.get("Stage"), where)
    for logical, resource in ctx.resources.items():
        if resource.get("Type") not in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi") or not ctx.active(logical):
            continue
        spec = ctx.resolved(logical).get("Domain")
        if not isinstance(spec, dict):
            continue
        sam_where = ("Resources", logical, "Properties", "Domain")
        sam_domain = _domain(ctx, domains, str(spec.get("DomainName") or ""), (*sam_where, "DomainName"))
        paths = spec.get("BasePath") or [""]
        stage = (stages.get(logical) or [""])[0] or None
        for path in paths if isinstance(paths, list) else [paths]:
            _add(ctx, sam_domain, path, logical, stage, sam_where)
    if domains:
        ctx.notes.append("custom domains are served by Host name on this listener (certificates stay in ACM; "
                         "--tls-cert for HTTPS): " + ", ".join(sorted(domains)))
    return list(domains.values())


def _domain(ctx: Context, domains: dict[str, DomainSpec], name: str, where: tuple[Any, ...]) -> DomainSpec:
    name = name.lower()
    if not DOMAIN_NAME_RE.match(name):
        raise ctx.fail(where, f"a domain name like api.example.com, got {name!r}")
    return domains.setdefault(name, DomainSpec(name, []))


def _add(ctx: Context, domain: DomainSpec, path: Any, api_logical: str, stage: Any, where: tuple[Any, ...]) -> None:
    base_path = normalise_base_path(str(path or ""))
    if any(m.base_path == base_path for m in domain.mappings):
        raise ctx.fail(where, f"the base path {base_path or '(none)'!r} of {domain.name} is mapped twice")
    domain.mappings.append(MappingSpec(base_path, ctx.api_ids[api_logical], str(stage) if stage else None,
                                       where, None))

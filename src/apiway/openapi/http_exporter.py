"""An HTTP API (model/http.py) → the OpenAPI 3.0 document AWS's ExportApi writes, JSON or YAML.

The inverse of http_importer: an export imports back into the same API (ids aside). The shape follows HTTP
API exports made by AWS: `"openapi": "3.0.1"`, a server URL with a `basePath` variable, one operation per
route with a `"Default response for {routeKey}"` response, generated path parameters, lowercase integration
types, the default timeout left out, Lambda authorizers as `apiKey` schemes and JWT ones as `oauth2`,
`x-amazon-apigateway-cors` and `x-amazon-apigateway-importexport-version` at the root, integrations no route
uses under components as `unusedIntegration_{id}`. Where AWS's exports do not show a case, the choice is
marked "guess".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import yaml

from apiway.model.http import (
    DEFAULT_ROUTE,
    DEFAULT_STAGE,
    DEFAULT_TIMEOUT_MS,
    Authorizer,
    HttpApiDefinition,
    Integration,
    Route,
    Stage,
    integration_id_of,
)
from apiway.openapi.common import METHOD_KEYS, X, invoke_host

OUTPUT_TYPES = ("JSON", "YAML")
EXPORT_VERSION = "1.0"
SIGV4_SCHEME = "sigv4"
_VARIABLE_RE = re.compile(r"\{([^{}/]+)\}")


def export_http_api(definition: HttpApiDefinition, stage: Stage | None, include_extensions: bool, output: str,
                    *, host: str | None = None) -> bytes:
    """The export of `definition` (a stage's deployed snapshot, or the API as it is now when `stage` is None)
    as JSON or YAML bytes. `host` replaces `{apiId}.execute-api.{region}.amazonaws.com` in the server URL;
    with a scheme (`http://…`) it chooses that one too."""
    if output not in OUTPUT_TYPES:
        raise ValueError(f"output must be JSON or YAML, got {output!r}")
    doc = _Exporter(definition, include_extensions).run(stage, host)
    if output == "YAML":
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False,
                              width=1 << 16).encode()
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


class _Exporter:
    def __init__(self, definition: HttpApiDefinition, extensions: bool) -> None:
        self.definition = definition
        self.api = definition["api"]
        self.extensions = extensions
        self.scheme_names = self.authorizer_names()
        targets = [integration_id_of(r) for r in definition["routes"].values()]
        # An integration several routes share is written once under components and referenced (guess: AWS's
        # exports show only integrations used once, inline, and unused ones under components).
        self.shared = {i for i in targets if i is not None and targets.count(i) > 1}

    def run(self, stage: Stage | None, host: str | None) -> dict[str, Any]:
        doc: dict[str, Any] = {"openapi": "3.0.1", "info": self.info(stage), "servers": [self.server(stage, host)]}
        tags = self.api.get("tags")
        if tags and self.extensions:
            doc["tags"] = [{"name": k, X + "tag-value": v} for k, v in tags.items()]
        doc["paths"] = self.paths()
        components = {k: v for k, v in (("securitySchemes", self.security_schemes()),
                                        (X + "integrations", self.component_integrations())) if v}
        if components:
            doc["components"] = components
        if self.extensions:
            if self.api.get("corsConfiguration") is not None:
                doc[X + "cors"] = dict(self.api["corsConfiguration"])
            doc[X + "importexport-version"] = EXPORT_VERSION
        return doc

    def info(self, stage: Stage | None) -> dict[str, Any]:
        """AWS dates the version (`2020-06-04 17:53:27UTC`) when the API has none: here the stage's last
        update, or the API's creation (guess: which date AWS takes is not visible)."""
        version = self.api.get("version") or _version_date(stage["lastUpdatedDate"] if stage
                                                           else self.api["createdDate"])
        description = {"description": self.api["description"]} if self.api.get("description") else {}
        return {"title": self.api["name"], **description, "version": version}

    def server(self, stage: Stage | None, host: str | None) -> dict[str, Any]:
        """The invoke URL with the stage as the `basePath` variable ("" for `$default`)."""
        scheme, name = invoke_host(self.api["apiId"], host)
        base = stage["stageName"] if stage and stage["stageName"] != DEFAULT_STAGE else ""
        server: dict[str, Any] = {"url": f"{scheme}://{name}/{{basePath}}",
                                  "variables": {"basePath": {"default": base}}}
        if self.api.get("disableExecuteApiEndpoint") and self.extensions:
            server[X + "endpoint-configuration"] = {"disableExecuteApiEndpoint": True}
        return server

    # -- paths -------------------------------------------------------------------------------------------
    def paths(self) -> dict[str, Any]:
        """One path item per route path, its routes as operations; `$default` as the any-method of
        `/$default` flagged isDefaultRoute (as AWS's importer reads it)."""
        out: dict[str, dict[str, Any]] = {}
        for route in sorted(self.definition["routes"].values(), key=_route_order):
            if route["routeKey"] == DEFAULT_ROUTE:
                op = {"isDefaultRoute": True, **self.operation(route)}
                out.setdefault("/" + DEFAULT_ROUTE, {})[METHOD_KEYS["ANY"]] = op
                continue
            verb, _, path = route["routeKey"].partition(" ")
            key = METHOD_KEYS.get(verb)
            if key is None:
                continue
            item = out.setdefault(path, {})
            item[key] = self.operation(route)
            names = _VARIABLE_RE.findall(path)
            if names:
                item.pop("parameters", None)  # kept after the operations, where AWS writes it
                item["parameters"] = [{"name": n, "in": "path", "description": f"Generated path parameter for {n}",
                                       "required": True, "schema": {"type": "string"}} for n in names]
        return out

    def operation(self, route: Route) -> dict[str, Any]:
        op: dict[str, Any] = {}
        if route.get("operationName"):
            op["operationId"] = route["operationName"]
        op["responses"] = {"default": {"description": f"Default response for {route['routeKey']}"}}
        security = self.security(route)
        if security:
            op["security"] = security
        integration_id = integration_id_of(route)
        integration = self.definition["integrations"].get(integration_id) if integration_id else None
        if integration is not None and self.extensions:
            op[X + "integration"] = ({"$ref": f"#/components/{X}integrations/{_shared_name(integration_id or '')}"}
                                     if integration_id in self.shared else self.integration(integration))
        return op

    def security(self, route: Route) -> list[dict[str, list[str]]]:
        kind = route.get("authorizationType", "NONE")
        if kind == "AWS_IAM":
            return [{SIGV4_SCHEME: []}]
        name = self.scheme_names.get(route.get("authorizerId") or "")
        if kind in ("JWT", "CUSTOM") and name:
            return [{name: list(route.get("authorizationScopes") or []) if kind == "JWT" else []}]
        return []

    def integration(self, integration: Integration) -> dict[str, Any]:
        """In the key order of AWS's exports; the default timeout left out, as they do."""
        out: dict[str, Any] = {}
        for key in ("requestParameters", "responseParameters", "tlsConfig"):
            if integration.get(key):
                out[key] = integration[key]
        out["payloadFormatVersion"] = integration["payloadFormatVersion"]
        out["type"] = integration["integrationType"].lower()
        for key, field in (("integrationSubtype", "integrationSubtype"), ("credentialsArn", "credentials"),
                           ("integrationMethod", "httpMethod"), ("integrationUri", "uri"),
                           ("connectionId", "connectionId"), ("connectionType", "connectionType"),
                           ("description", "description")):
            if integration.get(key) is not None:
                out[field] = integration[key]  # type: ignore[literal-required]
        if integration.get("timeoutInMillis", DEFAULT_TIMEOUT_MS) != DEFAULT_TIMEOUT_MS:
            out["timeoutInMillis"] = integration["timeoutInMillis"]
        return out

    def component_integrations(self) -> dict[str, Any]:
        if not self.extensions:
            return {}
        used = {integration_id_of(r) for r in self.definition["routes"].values()}
        out = {}
        for integration_id, integration in self.definition["integrations"].items():
            if integration_id in self.shared:
                out[_shared_name(integration_id)] = self.integration(integration)
            elif integration_id not in used:
                out[f"unusedIntegration_{integration_id}"] = self.integration(integration)
        return out

    # -- security schemes --------------------------------------------------------------------------------
    def authorizer_names(self) -> dict[str, str]:
        """Authorizer id → its scheme's name: the authorizer's name, made unique when two share one."""
        names: dict[str, str] = {}
        for authorizer_id, authorizer in self.definition["authorizers"].items():
            name = authorizer["name"]
            if name in names.values() or name == SIGV4_SCHEME:
                name = f"{name}-{authorizer_id}"
            names[authorizer_id] = name
        return names

    def security_schemes(self) -> dict[str, Any]:
        schemes: dict[str, Any] = {}
        if any(r.get("authorizationType") == "AWS_IAM" for r in self.definition["routes"].values()):
            schemes[SIGV4_SCHEME] = {"type": "apiKey", "name": "Authorization", "in": "header"}
            if self.extensions:
                schemes[SIGV4_SCHEME][X + "authtype"] = "awsSigv4"
        for authorizer_id, authorizer in self.definition["authorizers"].items():
            schemes[self.scheme_names[authorizer_id]] = self.authorizer_scheme(authorizer)
        return schemes

    def authorizer_scheme(self, authorizer: Authorizer) -> dict[str, Any]:
        """JWT: an `oauth2` scheme with empty flows; Lambda: an `apiKey` scheme naming the identity header
        ("Unused" when there is not exactly one header, as AWS's REST exports write)."""
        sources = authorizer.get("identitySource") or []
        if authorizer["authorizerType"] == "JWT":
            scheme: dict[str, Any] = {"type": "oauth2", "flows": {}}
            body: dict[str, Any] = {"identitySource": ", ".join(sources),
                                    "jwtConfiguration": dict(authorizer.get("jwtConfiguration") or {}), "type": "jwt"}
        else:
            headers = [s.removeprefix("$request.header.") for s in sources if s.startswith("$request.header.")]
            header = headers[0] if len(sources) == 1 and headers else "Unused"
            scheme = {"type": "apiKey", "name": header, "in": "header"}
            if self.extensions:
                scheme[X + "authtype"] = "custom"
            body = {"identitySource": ", ".join(sources)} if sources else {}
            for key, field in (("authorizerUri", "authorizerUri"),
                               ("authorizerCredentialsArn", "authorizerCredentials"),
                               ("authorizerPayloadFormatVersion", "authorizerPayloadFormatVersion"),
                               ("authorizerResultTtlInSeconds", "authorizerResultTtlInSeconds")):
                if authorizer.get(key) is not None:
                    body[field] = authorizer[key]  # type: ignore[literal-required]
            body["type"] = "request"
            body["enableSimpleResponses"] = bool(authorizer.get("enableSimpleResponses"))
        if self.extensions:
            scheme[X + "authorizer"] = body
        return scheme


def _route_order(route: Route) -> tuple[bool, str, str]:
    """By path, then method; `$default` last."""
    verb, _, path = route["routeKey"].partition(" ")
    return route["routeKey"] == DEFAULT_ROUTE, path, verb


def _shared_name(integration_id: str) -> str:
    return f"integration_{integration_id}"


def _version_date(iso: str) -> str:
    """`2020-06-04T17:53:27Z` → `2020-06-04 17:53:27UTC`, the form of AWS's exports."""
    try:
        stamp = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return iso
    return stamp.strftime("%Y-%m-%d %H:%M:%SUTC")

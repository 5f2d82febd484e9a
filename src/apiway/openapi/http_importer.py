"""OpenAPI 3.0 (with AWS's x-amazon-apigateway-* extensions) → an HTTP API (model/http.py), as AWS's
ImportApi reads it.

AWS sorts what it finds into errors (the document cannot become an API: nothing is created), warnings
(a part is skipped; `failOnWarnings` turns them into errors) and info (valid OpenAPI that HTTP APIs ignore,
such as request bodies and schemas: left out silently here). Every error and warning names the place in the
document (`paths./pets.get.x-amazon-apigateway-integration.type`) and its line.
"""

from __future__ import annotations

import re
from typing import Any

from apiway.model import ids
from apiway.model.documents import DocumentError, line_of
from apiway.model.http import (
    API_KEY_SELECTION,
    CREDENTIALS_WITH_ORIGIN_STAR,
    DEFAULT_ROUTE,
    DEFAULT_TIMEOUT_MS,
    HTTP_ROUTE_SELECTION,
    MIN_TIMEOUT_MS,
    PROTOCOL_HTTP,
    Api,
    Authorizer,
    Cors,
    HttpApiDefinition,
    Integration,
    JwtConfiguration,
    Route,
    api_endpoint,
)
from apiway.openapi.common import OPERATION_KEYS, DocumentReader, X
from apiway.store.http_deployments import iso_now

INTEGRATIONS_REF = "#/components/" + X + "integrations/"
UNSUPPORTED_INTEGRATIONS = ("AWS", "HTTP", "MOCK")  # REST-only types: a warning, the route keeps no integration
BASE_PATH_MODES = ("ignore", "prepend", "split")
MAX_TIMEOUT_MS = 30000
MAX_AUTHORIZER_TTL = 3600
MAX_CORS_AGE = 86400
WARNING_LINES = 50  # locating a line parses the document again: only the first warnings get one
_SEGMENT_RE = re.compile(r"^(\{[A-Za-z0-9._\-]+\+?\}|[A-Za-z0-9._~:@!$&'()*,;=\-]+)$")
# REST's identity sources, as REST exports write them, in the form HTTP APIs use.
_REST_SOURCES = (("method.request.header.", "$request.header."),
                 ("method.request.querystring.", "$request.querystring."),
                 ("stageVariables.", "$stageVariables."), ("context.", "$context."))


def is_http_api_document(doc: Any) -> bool:
    """Whether an OpenAPI document describes an HTTP API: it carries what only HTTP APIs use — the
    import/export version, a CORS configuration, reusable integrations or an integration's
    `payloadFormatVersion`."""
    if not isinstance(doc, dict) or not str(doc.get("openapi") or "").startswith("3."):
        return False
    components = doc.get("components")
    if X + "importexport-version" in doc or X + "cors" in doc or (
            isinstance(components, dict) and X + "integrations" in components):
        return True
    paths = doc.get("paths")
    for item in paths.values() if isinstance(paths, dict) else ():
        for op in item.values() if isinstance(item, dict) else ():
            integration = op.get(X + "integration") if isinstance(op, dict) else None
            if isinstance(integration, dict) and "payloadFormatVersion" in integration:
                return True
    return False


class _Importer(DocumentReader):
    def __init__(self, doc: Any, text: str, source: str, strict: bool) -> None:
        super().__init__(doc, text, source)
        self.strict = strict  # warnings are errors (project files)
        self.warnings: list[str] = []
        self.origins: dict[str, tuple[Any, ...]] = {}  # route or integration id → where it is written

    def warn(self, where: tuple[Any, ...], message: str, consequence: str) -> None:
        """A warning, with what the import does about it; an error when strict."""
        if self.strict:
            raise self.fail(where, message)
        line = line_of(self.text, where) if len(self.warnings) < WARNING_LINES else None
        self.warnings.append(DocumentError(self.source, where, f"{message}: {consequence}", line).render())

    def strings(self, value: Any, where: tuple[Any, ...]) -> list[str]:
        for i, item in enumerate(self.expect(value, list, where, "a list of strings")):
            self.expect(item, str, (*where, i), "a string")
        return list(value)

    def string_map(self, value: Any, where: tuple[Any, ...]) -> dict[str, str]:
        for key, item in self.expect(value, dict, where, "an object").items():
            if not isinstance(key, str):
                raise self.fail((*where, key), f"keys must be strings, got {type(key).__name__}")
            self.expect(item, str, (*where, key), "a string")
        return dict(value)

    def integer(self, value: Any, where: tuple[Any, ...], low: int, high: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(where, f"must be an integer from {low} to {high}")
        return value

    # -- document --------------------------------------------------------------------------------
    def run(self, api_id: str, base_path: str | None) -> HttpApiDefinition:
        doc = self.doc
        if not isinstance(doc, dict):
            raise self.fail((), "an OpenAPI document must be an object")
        if "swagger" in doc or not str(doc.get("openapi") or "").startswith("3."):
            raise self.fail(("swagger",) if "swagger" in doc else ("openapi",),
                            "HTTP APIs are imported from OpenAPI 3.0 documents only ('openapi: 3.0.1')")
        version = doc.get(X + "importexport-version")
        if version is not None and str(version) != "1.0":
            raise self.fail((X + "importexport-version",), f"unsupported version {version!r} (only 1.0)")
        self.definition: HttpApiDefinition = {"api": self.api(doc, api_id), "routes": {}, "integrations": {},
                                              "authorizers": {}}
        self.shared = self.shared_integrations(doc)
        schemes = self.security_schemes(doc)
        default_security = doc.get("security")
        prefix = self.base_path(doc, base_path or "ignore")
        paths = self.expect(doc.get("paths") or {}, dict, ("paths",), "an object")
        keys: dict[str, tuple[Any, ...]] = {}
        for path, item in paths.items():
            where = ("paths", path)
            if not isinstance(path, str):
                raise self.fail(where, "a path must be a string")
            self.expect(item, dict, where, "a path item object")
            for key, op in item.items():
                verb = OPERATION_KEYS.get(key.lower()) if isinstance(key, str) else None
                if verb is None:
                    continue  # parameters, summary, servers, … and methods HTTP APIs do not route (trace)
                self.expect(op, dict, (*where, key), "an operation object")
                route_key = self.route_key(path, verb, op, prefix, (*where, key))
                if route_key in keys:
                    raise self.fail((*where, key), f"route {route_key!r} is declared twice (also at "
                                                   f"{'.'.join(map(str, keys[route_key]))})")
                keys[route_key] = (*where, key)
                route = self.route(route_key, op, schemes, default_security, (*where, key))
                self.definition["routes"][route["routeId"]] = route
                self.origins[route["routeId"]] = (*where, key)
        return self.definition

    def api(self, doc: dict, api_id: str) -> Api:
        info = self.expect(doc.get("info") or {}, dict, ("info",), "an object")
        title = info.get("title")
        if not isinstance(title, str) or not title:
            raise self.fail(("info", "title"), "a title is required (it becomes the API name)")
        api: Api = {"apiId": api_id, "name": title, "protocolType": PROTOCOL_HTTP,
                    "routeSelectionExpression": HTTP_ROUTE_SELECTION,
                    "apiEndpoint": api_endpoint(api_id), "createdDate": iso_now(),
                    "apiKeySelectionExpression": API_KEY_SELECTION, "disableExecuteApiEndpoint": False,
                    "ipAddressType": "ipv4", "tags": self.tags(doc)}
        if isinstance(info.get("description"), str) and info["description"]:
            api["description"] = info["description"]
        if info.get("version") is not None:
            api["version"] = str(info["version"])
        if doc.get(X + "cors") is not None:
            api["corsConfiguration"] = self.cors(doc[X + "cors"], (X + "cors",))
        endpoint, where = self.endpoint_extension(doc)
        if endpoint is not None:
            self.expect(endpoint, dict, where, "an object")
            disable = endpoint.get("disableExecuteApiEndpoint", False)
            api["disableExecuteApiEndpoint"] = self.expect(disable, bool, (*where, "disableExecuteApiEndpoint"),
                                                           "a boolean")
        return api

    def tags(self, doc: dict) -> dict[str, str]:
        """Root tags with `x-amazon-apigateway-tag-value` become the API's AWS tags (a tag without one gets
        an empty value, as AWS documents); plain OpenAPI tags have no value and are left alone."""
        out: dict[str, str] = {}
        for i, tag in enumerate(self.expect(doc.get("tags") or [], list, ("tags",), "a list")):
            if isinstance(tag, dict) and X + "tag-value" in tag and isinstance(tag.get("name"), str):
                out[tag["name"]] = str(tag[X + "tag-value"] if tag[X + "tag-value"] is not None else "")
            elif not isinstance(tag, dict):
                raise self.fail(("tags", i), "a tag must be an object")
        return out

    def cors(self, raw: Any, where: tuple[Any, ...]) -> Cors:
        self.expect(raw, dict, where, "an object")
        cors: Cors = {}
        for key in ("allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders"):
            if raw.get(key) is not None:
                cors[key] = self.strings(raw[key], (*where, key))
        if raw.get("maxAge") is not None:
            cors["maxAge"] = self.integer(raw["maxAge"], (*where, "maxAge"), -1, MAX_CORS_AGE)
        if raw.get("allowCredentials") is not None:
            cors["allowCredentials"] = self.expect(raw["allowCredentials"], bool, (*where, "allowCredentials"),
                                                   "a boolean")
        if cors.get("allowCredentials") and "*" in cors.get("allowOrigins", []):
            raise self.fail((*where, "allowCredentials"), CREDENTIALS_WITH_ORIGIN_STAR)
        return cors

    def base_path(self, doc: dict, mode: str) -> str:
        """The path every route gets in front of its own: nothing (`ignore`), the first server URL's path
        (`prepend`, with `{basePath}`-style variables at their defaults), or that path without its first
        segment (`split`: the segment names a stage)."""
        if mode == "ignore":
            return ""
        servers = doc.get("servers")
        server = servers[0] if isinstance(servers, list) and servers and isinstance(servers[0], dict) else {}
        url: str = server["url"] if isinstance(server.get("url"), str) else ""
        variables = server.get("variables")
        for name, var in (variables if isinstance(variables, dict) else {}).items():
            default = var.get("default") if isinstance(var, dict) else None
            url = url.replace("{" + str(name) + "}", str(default if default is not None else ""))
        path = url.split("://", 1)[1].partition("/")[2] if "://" in url else url.lstrip("/")
        parts = [p for p in path.split("/") if p]
        if mode == "split":
            parts = parts[1:]
        return "".join("/" + p for p in parts)

    # -- routes ------------------------------------------------------------------------------------
    def route_key(self, path: str, verb: str, op: dict, prefix: str, where: tuple[Any, ...]) -> str:
        """`GET /pets/{id}`; `$default` for the path `/$default` (with the `isDefaultRoute` flag AWS's
        exports set on its any-method)."""
        is_default = op.get("isDefaultRoute")
        if is_default is not None:
            self.expect(is_default, bool, (*where, "isDefaultRoute"), "a boolean")
        if path in ("/" + DEFAULT_ROUTE, DEFAULT_ROUTE) or is_default:
            if verb != "ANY":
                raise self.fail(where, "the $default route is declared with x-amazon-apigateway-any-method")
            return DEFAULT_ROUTE
        if not path.startswith("/"):
            raise self.fail(where[:-1], "a path must start with '/'")
        full = (prefix + path).rstrip("/") if path != "/" else prefix or "/"
        segments = full.split("/")[1:] if full != "/" else []
        for i, segment in enumerate(segments):
            if not _SEGMENT_RE.match(segment):
                raise self.fail(where[:-1], f"invalid path segment {segment!r}")
            if segment.endswith("+}") and i != len(segments) - 1:
                raise self.fail(where[:-1], "a greedy path variable ({name+}) must be the last segment")
        return f"{verb} {full}"

    def route(self, route_key: str, op: dict, schemes: dict[str, dict[str, Any]], default_security: Any,
              where: tuple[Any, ...]) -> Route:
        route: Route = {"routeId": ids.new_id(7, self.definition["routes"]), "routeKey": route_key,
                        "authorizationType": "NONE", "apiKeyRequired": False}
        if op.get("operationId") is not None:
            route["operationName"] = str(op["operationId"])
        self.authorization(route, op, schemes, default_security, where)
        raw = op.get(X + "integration")
        if raw is not None:
            integration_id = self.route_integration(raw, (*where, X + "integration"))
            if integration_id is not None:
                route["target"] = f"integrations/{integration_id}"
        return route

    def authorization(self, route: Route, op: dict, schemes: dict[str, dict[str, Any]], default_security: Any,
                      where: tuple[Any, ...]) -> None:
        """One security requirement at most (AWS refuses several); the document's `security` applies to
        operations without their own, `security: []` opens one; `x-amazon-apigateway-auth` sets IAM or NONE."""
        own = "security" in op
        security = op.get("security") if own else default_security
        place = (*where, "security") if own else ("security",)
        requirements = [r for r in self.expect(security or [], list, place, "a list") if r != {}]
        if len(requirements) > 1 or (requirements and len(self.expect(requirements[0], dict, (*place, 0),
                                                                       "an object")) > 1):
            raise self.fail(place, "an operation can have one security requirement only (IAM, a Lambda "
                                   "authorizer or a JWT authorizer)")
        for name, scopes in (requirements[0] if requirements else {}).items():
            meaning = schemes.get(name)
            if meaning is None:
                self.warn((*place, 0, name), f"security scheme {name!r} is not declared with an authorizer or "
                                             f"awsSigv4", "the route is not authorized")
                continue
            route.update(meaning)  # type: ignore[typeddict-item]
            if meaning["authorizationType"] == "JWT" and scopes:
                route["authorizationScopes"] = self.strings(scopes, (*place, 0, name))
        auth = op.get(X + "auth")
        if auth is not None:
            kind = str(self.expect(auth, dict, (*where, X + "auth"), "an object").get("type", "")).upper()
            if kind not in ("AWS_IAM", "NONE"):
                raise self.fail((*where, X + "auth", "type"), f"must be AWS_IAM or NONE, got {auth.get('type')!r}")
            route["authorizationType"] = kind
            route.pop("authorizerId", None)
            route.pop("authorizationScopes", None)

    # -- integrations --------------------------------------------------------------------------------
    def shared_integrations(self, doc: dict) -> dict[str, str]:
        """components.x-amazon-apigateway-integrations: each one integration, shared by the routes whose
        x-amazon-apigateway-integration is a `$ref` to it (name → integration id)."""
        components = self.expect(doc.get("components") or {}, dict, ("components",), "an object")
        where = ("components", X + "integrations")
        raw = self.expect(components.get(X + "integrations") or {}, dict, where, "an object")
        out: dict[str, str] = {}
        for name, spec in raw.items():
            integration = self.integration(spec, (*where, name))
            if integration is not None:
                self.definition["integrations"][integration["integrationId"]] = integration
                self.origins[integration["integrationId"]] = (*where, name)
                out[str(name)] = integration["integrationId"]
        return out

    def route_integration(self, raw: Any, where: tuple[Any, ...]) -> str | None:
        self.expect(raw, dict, where, "an object")
        if "$ref" in raw:
            ref = raw["$ref"]
            name = ref[len(INTEGRATIONS_REF):] if isinstance(ref, str) and ref.startswith(INTEGRATIONS_REF) else None
            if name is None or name not in self.shared:
                found = name is not None and name in ((self.doc.get("components") or {}).get(X + "integrations") or {})
                if not found:
                    raise self.fail((*where, "$ref"), f"$ref {ref!r} names no integration under "
                                                      f"components.{X}integrations")
                return None  # a shared integration skipped with a warning
            return self.shared[name]
        integration = self.integration(raw, where)
        if integration is None:
            return None
        self.definition["integrations"][integration["integrationId"]] = integration
        self.origins[integration["integrationId"]] = where
        return integration["integrationId"]

    def integration(self, raw: Any, where: tuple[Any, ...]) -> Integration | None:
        self.expect(raw, dict, where, "an object")
        kind = str(raw.get("type") or "").upper()
        if kind in UNSUPPORTED_INTEGRATIONS:
            self.warn((*where, "type"), f"HTTP APIs support aws_proxy and http_proxy integrations only, not "
                                        f"{raw['type']!r}", "the integration is skipped")
            return None
        if kind not in ("AWS_PROXY", "HTTP_PROXY"):
            raise self.fail((*where, "type"), f"unknown type {raw.get('type')!r} (expected aws_proxy or http_proxy)")
        version = self.payload_format(raw.get("payloadFormatVersion"), (*where, "payloadFormatVersion"))
        if kind == "HTTP_PROXY" and version != "1.0":
            raise self.fail((*where, "payloadFormatVersion"), "http_proxy integrations use payload format 1.0 only")
        timeout = raw.get("timeoutInMillis", DEFAULT_TIMEOUT_MS)
        integration: Integration = {
            "integrationId": ids.new_id(7, self.definition["integrations"]), "integrationType": kind,
            "payloadFormatVersion": version,
            "timeoutInMillis": self.integer(timeout, (*where, "timeoutInMillis"), MIN_TIMEOUT_MS, MAX_TIMEOUT_MS),
            "connectionType": str(raw.get("connectionType") or "INTERNET").upper(),
        }
        if integration["connectionType"] not in ("INTERNET", "VPC_LINK"):
            raise self.fail((*where, "connectionType"), f"must be INTERNET or VPC_LINK, got {raw['connectionType']!r}")
        for field, key in (("uri", "integrationUri"), ("integrationSubtype", "integrationSubtype"),
                           ("connectionId", "connectionId"), ("credentials", "credentialsArn"),
                           ("description", "description")):
            if raw.get(field) is not None:
                integration[key] = self.expect(raw[field], str, (*where, field), "a string")  # type: ignore[literal-required]
        if "integrationUri" not in integration and "integrationSubtype" not in integration:
            raise self.fail((*where, "uri"), f"a uri is required for {kind.lower()} integrations")
        if integration["connectionType"] == "VPC_LINK" and "connectionId" not in integration:
            raise self.fail((*where, "connectionId"), "a VPC_LINK integration needs a connectionId")
        method = raw.get("httpMethod")
        if method is not None:
            integration["integrationMethod"] = str(self.expect(method, str, (*where, "httpMethod"), "a string")).upper()
        elif kind == "HTTP_PROXY":
            raise self.fail((*where, "httpMethod"), "an httpMethod is required for http_proxy integrations")
        elif "integrationSubtype" not in integration:
            integration["integrationMethod"] = "POST"  # Lambda is invoked with POST whatever the document says
        # Empty maps are left out, as exports leave them out.
        if raw.get("requestParameters") is not None:
            request = self.string_map(raw["requestParameters"], (*where, "requestParameters"))
            if request:
                integration["requestParameters"] = request
        if raw.get("responseParameters") is not None:
            response = self.response_parameters(raw["responseParameters"], (*where, "responseParameters"))
            if response:
                integration["responseParameters"] = response
        if raw.get("tlsConfig") is not None:
            tls = self.string_map(raw["tlsConfig"], (*where, "tlsConfig"))
            if tls:
                integration["tlsConfig"] = tls
        return integration

    def payload_format(self, value: Any, where: tuple[Any, ...]) -> str:
        """"1.0" or "2.0" (a number in the document is taken, as AWS's own examples write 1.0). Absent, 1.0:
        the format REST APIs exported for migration speak (guess: AWS documents it as required)."""
        if value is None:
            return "1.0"
        text = f"{value:.1f}" if isinstance(value, float | int) and not isinstance(value, bool) else str(value)
        if text not in ("1.0", "2.0"):
            raise self.fail(where, f"must be 1.0 or 2.0, got {value!r}")
        return text

    def response_parameters(self, raw: Any, where: tuple[Any, ...]) -> dict[str, dict[str, str]]:
        """Status code → header and status mappings; YAML's unquoted 200 is taken as "200"."""
        out: dict[str, dict[str, str]] = {}
        for code, mapping in self.expect(raw, dict, where, "an object").items():
            if not re.fullmatch(r"[1-5]\d\d", str(code)):
                raise self.fail((*where, code), f"keys are status codes from 100 to 599, got {code!r}")
            out[str(code)] = self.string_map(mapping, (*where, code))
        return out

    # -- authorizers -------------------------------------------------------------------------------
    def security_schemes(self, doc: dict) -> dict[str, dict[str, Any]]:
        """Scheme name → what it makes of a route: a JWT or Lambda (REQUEST) authorizer, stored, or IAM."""
        where: tuple[Any, ...] = ("components", "securitySchemes")
        raw = self.expect((doc.get("components") or {}).get("securitySchemes") or {}, dict, where, "an object")
        schemes: dict[str, dict[str, Any]] = {}
        for name, scheme in raw.items():
            self.expect(scheme, dict, (*where, name), "an object")
            if scheme.get(X + "authorizer") is not None:
                authorizer = self.authorizer(str(name), scheme, (*where, name))
                if authorizer is not None:
                    self.definition["authorizers"][authorizer["authorizerId"]] = authorizer
                    kind = "JWT" if authorizer["authorizerType"] == "JWT" else "CUSTOM"
                    schemes[str(name)] = {"authorizationType": kind, "authorizerId": authorizer["authorizerId"]}
            elif str(scheme.get(X + "authtype", "")).lower() == "awssigv4":
                schemes[str(name)] = {"authorizationType": "AWS_IAM"}
        return schemes

    def authorizer(self, name: str, scheme: dict, where: tuple[Any, ...]) -> Authorizer | None:
        where = (*where, X + "authorizer")
        raw = self.expect(scheme[X + "authorizer"], dict, where, "an object")
        # AWS's exports leave `type` out of Lambda authorizers; what the fields say decides then.
        kind = str(raw.get("type") or ("jwt" if "jwtConfiguration" in raw else "request")).lower()
        if kind in ("token", "cognito_user_pools"):
            self.warn((*where, "type"), f"HTTP APIs support jwt and request authorizers only, not {raw['type']!r}",
                      "the authorizer is skipped")
            return None
        if kind not in ("jwt", "request"):
            raise self.fail((*where, "type"), f"unknown authorizer type {raw.get('type')!r} (expected jwt or request)")
        authorizer: Authorizer = {"authorizerId": ids.new_id(6, self.definition["authorizers"]), "name": name,
                                  "authorizerType": kind.upper(),
                                  "identitySource": self.identity_source(raw.get("identitySource"), kind,
                                                                         (*where, "identitySource"))}
        if kind == "jwt":
            authorizer["jwtConfiguration"] = self.jwt_configuration(raw, scheme, where)
            return authorizer
        uri = raw.get("authorizerUri")
        authorizer["authorizerUri"] = self.expect(uri, str, (*where, "authorizerUri"), "the Lambda function's URI")
        if raw.get("authorizerCredentials") is not None:
            authorizer["authorizerCredentialsArn"] = self.expect(raw["authorizerCredentials"], str,
                                                                 (*where, "authorizerCredentials"), "a string")
        version_where = (*where, "authorizerPayloadFormatVersion")
        if raw.get("authorizerPayloadFormatVersion") is None:
            raise self.fail(version_where, "required for Lambda authorizers of HTTP APIs: 1.0 or 2.0")
        authorizer["authorizerPayloadFormatVersion"] = self.payload_format(raw["authorizerPayloadFormatVersion"],
                                                                           version_where)
        ttl = raw.get("authorizerResultTtlInSeconds", 0)
        authorizer["authorizerResultTtlInSeconds"] = self.integer(ttl, (*where, "authorizerResultTtlInSeconds"), 0,
                                                                  MAX_AUTHORIZER_TTL)
        simple = raw.get("enableSimpleResponses", False)
        authorizer["enableSimpleResponses"] = self.expect(simple, bool, (*where, "enableSimpleResponses"), "a boolean")
        if simple and authorizer["authorizerPayloadFormatVersion"] != "2.0":
            raise self.fail((*where, "enableSimpleResponses"), "simple responses need authorizer payload format 2.0")
        if authorizer["authorizerResultTtlInSeconds"] and not authorizer["identitySource"]:
            raise self.fail((*where, "identitySource"), "caching authorizer results needs an identity source")
        return authorizer

    def identity_source(self, raw: Any, kind: str, where: tuple[Any, ...]) -> list[str]:
        """A comma-separated string (AWS's extension) or a list; REST's `method.request.header.X` forms are
        taken in the `$request.header.X` form HTTP APIs use. A JWT authorizer reads Authorization by default."""
        if raw is None:
            return ["$request.header.Authorization"] if kind == "jwt" else []
        items = [s.strip() for s in raw.split(",")] if isinstance(raw, str) else self.strings(raw, where)
        out = []
        for item in (s for s in items if s):
            for rest_form, http_form in _REST_SOURCES:
                if item.startswith(rest_form):
                    item = http_form + item[len(rest_form):]
            if not item.startswith(("$request.header.", "$request.querystring.", "$context.", "$stageVariables.")):
                raise self.fail(where, f"invalid identity source {item!r} (expected $request.header.NAME, "
                                       f"$request.querystring.NAME, $context.NAME or $stageVariables.NAME)")
            out.append(item)
        if kind == "jwt" and len(out) != 1:
            raise self.fail(where, "a JWT authorizer reads one identity source")
        return out

    def jwt_configuration(self, raw: dict, scheme: dict, where: tuple[Any, ...]) -> JwtConfiguration:
        """issuer and audience; an `openIdConnect` scheme may give the issuer by its discovery URL."""
        config = self.expect(raw.get("jwtConfiguration") or {}, dict, (*where, "jwtConfiguration"), "an object")
        out: JwtConfiguration = {}
        issuer = config.get("issuer")
        url = scheme.get("openIdConnectUrl")
        if issuer is None and isinstance(url, str) and url.endswith("/.well-known/openid-configuration"):
            issuer = url.removesuffix("/.well-known/openid-configuration")
        out["issuer"] = self.expect(issuer, str, (*where, "jwtConfiguration", "issuer"), "the issuer's URL")
        if config.get("audience") is not None:
            out["audience"] = self.strings(config["audience"], (*where, "jwtConfiguration", "audience"))
        return out


def import_http_api(document: Any, text: str, source: str, api_id: str, base_path: str | None = None, *,
                    strict: bool = False, origins: dict[str, tuple[Any, ...]] | None = None,
                    ) -> tuple[HttpApiDefinition, list[str]]:
    """An HTTP API and the import's warnings (each naming file, line and field). Raises DocumentError for
    the first error, and with `strict` for the first warning too. `base_path`: ignore (default), prepend or
    split, what ImportApi's `basepath` says. `origins`, when given, receives where in the document each
    route and integration (by id) is written, for errors found later (compiling a stage)."""
    if base_path is not None and base_path not in BASE_PATH_MODES:
        raise ValueError(f"base_path must be one of {', '.join(BASE_PATH_MODES)}, got {base_path!r}")
    importer = _Importer(document, text, source, strict)
    definition = importer.run(api_id, base_path)
    if origins is not None:
        origins.update(importer.origins)
    return definition, importer.warnings


# Record fields as the extension names them, for placing errors about a record in its document.
DOCUMENT_FIELDS = {"integrationUri": "uri", "integrationMethod": "httpMethod", "integrationType": "type",
                   "credentialsArn": "credentials", "target": X + "integration"}
_RECORD_ERROR_RE = re.compile(
    r"^(?:routes|integrations)/([a-z0-9]+)(?: \([^)]*\))?(?:\.([A-Za-z]+)(?:\.(.+?))?)?: (.*)$", re.S)


def locate_record_error(message: str, origins: dict[str, tuple[Any, ...]]) -> tuple[tuple[Any, ...], str] | None:
    """Where in the document an error about a stored record lies (`integrations/{id}.integrationUri: …` →
    the integration's `uri`), and the error's own words; None when the message names no imported record."""
    found = _RECORD_ERROR_RE.match(message)
    if found is None or found.group(1) not in origins:
        return None
    record_id, field, key, text = found.groups()
    where = origins[record_id]
    if field:
        where = (*where, DOCUMENT_FIELDS.get(field, field), *([key] if key else []))
    return where, text

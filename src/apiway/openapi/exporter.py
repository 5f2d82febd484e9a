"""An ApiDefinition → OpenAPI 3.0 / Swagger 2.0 document, shaped like API Gateway's GetExport output.

The inverse of `openapi_import`: a document exported here imports back into the same definition. The
shape (field names, defaults left out, `"{code} response"` descriptions, lowercase integration types, where
each extension sits) follows documents recorded from AWS; the tests compare against them. Where AWS's
behaviour is not visible in those recordings the choice is marked "guess" below.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import yaml

from apiway.model.rest import (
    DEFAULT_TIMEOUT_MS,
    ApiDefinition,
    Integration,
    IntegrationResponse,
    Method,
    MethodResponse,
    Resource,
    Stage,
)
from apiway.openapi.common import METHOD_KEYS, X, invoke_host

EXPORT_TYPES = ("oas30", "swagger")
EXTENSIONS = ("integrations", "apigateway", "authorizers", "postman")
# `postman` is treated like `apigateway` (guess: AWS documents it only as "Postman extensions", which we
# have nothing to put in). `apigateway` also exports authorizers (guess: the console's "with API Gateway
# extensions" export carries them, and leaving them out would lose them on re-import).
GATEWAY_EXTENSIONS = frozenset({"integrations", "apigateway", "postman"})
AUTHORIZER_EXTENSIONS = frozenset({"authorizers", "apigateway", "postman"})

PARAM_PLACES = {"path": "path", "querystring": "query", "header": "header"}
API_KEY_SCHEME = "api_key"
SIGV4_SCHEME = "sigv4"
JSON = "application/json"
# Model references as AWS stores them (absolute model URLs) or as either document type writes them.
MODEL_REF_RE = re.compile(r"^(?:https?://[^/]+/restapis/[^/]+/models/|#/definitions/|#/components/schemas/)([^/]+)$")


def export_openapi(definition: ApiDefinition, stage: Stage | None, export_type: str, extensions: set[str],
                   host: str | None = None, *, deployed_at: int | None = None) -> dict:
    """The export document. `host` replaces AWS's `{apiId}.execute-api.{region}.amazonaws.com`; give it a
    scheme (`https://example.com`) to choose one, otherwise it is served over plain HTTP as apiway is.
    `deployed_at` (epoch seconds) dates `info.version` when the API has no version of its own."""
    if export_type not in EXPORT_TYPES:
        raise ValueError(f"export type must be one of {', '.join(EXPORT_TYPES)}, got {export_type!r}")
    return _Exporter(definition, export_type == "swagger", set(extensions)).run(stage, host, deployed_at)


def render_export(doc: dict, accept: str | None) -> tuple[bytes, str]:
    """Body and Content-Type for GetExport. Without an Accept that names JSON or YAML AWS still sends JSON,
    labelled application/octet-stream (as recorded)."""
    kind = _accepted(accept)
    if kind == "application/yaml":
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1 << 16)
        return text.encode(), kind
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2), kind or "application/octet-stream"


def export_filename(doc: dict, export_type: str, accept: str | None) -> str:
    """The Content-Disposition file name AWS uses: `{type}_{info.version}.json` (recorded); `.yaml` is a guess."""
    suffix = "yaml" if _accepted(accept) == "application/yaml" else "json"
    return f"{export_type}_{doc.get('info', {}).get('version', '')}.{suffix}"


def _accepted(accept: str | None) -> str | None:
    """The first of JSON / YAML the Accept header lists (q-values ignored), or None."""
    for item in (accept or "").split(","):
        media = item.split(";", 1)[0].strip().lower()
        if media in (JSON, "application/yaml"):
            return media
    return None


def _timestamp(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _by_id(records: dict[str, dict[str, Any]], record_id: str | None) -> dict[str, Any] | None:
    return records.get(record_id) if record_id else None


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


class _Exporter:
    def __init__(self, definition: ApiDefinition, swagger: bool, extensions: set[str]) -> None:
        self.definition = definition
        self.api = definition["restApi"]
        self.swagger = swagger
        self.gateway = bool(extensions & GATEWAY_EXTENSIONS)
        self.authorizers = bool(extensions & AUTHORIZER_EXTENSIONS)
        self.ref_base = "#/definitions/" if swagger else "#/components/schemas/"
        self.schemas = self.model_schemas()

    # -- document ------------------------------------------------------------------------------------
    def run(self, stage: Stage | None, host: str | None, deployed_at: int | None) -> dict:
        doc: dict[str, Any] = {"swagger": "2.0"} if self.swagger else {"openapi": "3.0.1"}
        doc["info"] = self.info(deployed_at)
        doc.update(self.location(stage, host))
        doc["paths"] = self.paths()
        schemes = self.security_schemes()
        if self.swagger:
            if schemes:
                doc["securityDefinitions"] = schemes
            if self.schemas:
                doc["definitions"] = self.schemas
        else:  # AWS writes `components: {}` even when there is nothing in it (recorded)
            doc["components"] = {k: v for k, v in (("schemas", self.schemas), ("securitySchemes", schemes)) if v}
        if self.gateway:
            doc.update(self.root_extensions())
        return doc

    def info(self, deployed_at: int | None) -> dict[str, Any]:
        """AWS dates the version when the API has none; which date is not visible in the recordings (they
        replace it with a placeholder), so the deployment's is used when known, else the API's."""
        version = self.api.get("version") or _timestamp(deployed_at or self.api["createdDate"])
        description = {"description": self.api["description"]} if self.api.get("description") else {}
        if self.swagger:  # each type in the key order AWS writes (recorded)
            return {**description, "version": version, "title": self.api["name"]}
        return {"title": self.api["name"], **description, "version": version}

    def location(self, stage: Stage | None, host: str | None) -> dict[str, Any]:
        """Where the stage is invoked: `servers` (oas30) or `host`/`basePath`/`schemes` (swagger)."""
        scheme, name = invoke_host(self.api["id"], host)
        stage_name = stage["stageName"] if stage else None
        if self.swagger:
            return {"host": name, "basePath": f"/{stage_name}" if stage_name else "/", "schemes": [scheme]}
        server: dict[str, Any] = {"url": f"{scheme}://{name}"}
        if stage_name:
            server = {"url": f"{scheme}://{name}/{{basePath}}", "variables": {"basePath": {"default": stage_name}}}
        endpoint = self.endpoint_configuration()
        if endpoint and self.gateway:  # OpenAPI 3 carries it on the server object (AWS's extension docs)
            server[X + "endpoint-configuration"] = endpoint
        return {"servers": [server]}

    def endpoint_configuration(self) -> dict[str, Any]:
        """Only the fields the extension defines, and only when they differ from the defaults; endpoint
        types are not part of it (they are an import parameter on AWS)."""
        out: dict[str, Any] = {}
        if self.api.get("disableExecuteApiEndpoint"):
            out["disableExecuteApiEndpoint"] = True
        vpc = self.api.get("endpointConfiguration", {}).get("vpcEndpointIds")
        if vpc:
            out["vpcEndpointIds"] = list(vpc)
        return out

    def root_extensions(self) -> dict[str, Any]:
        api, out = self.api, {}
        if api.get("binaryMediaTypes"):
            out[X + "binary-media-types"] = list(api["binaryMediaTypes"])
        if api.get("apiKeySource", "HEADER") != "HEADER":  # the default is left out (recorded)
            out[X + "api-key-source"] = api["apiKeySource"]
        if api.get("minimumCompressionSize") is not None:
            out[X + "minimum-compression-size"] = api["minimumCompressionSize"]
        if api.get("policy"):
            out[X + "policy"] = _json_or_text(api["policy"])
        if self.swagger and self.endpoint_configuration():
            out[X + "endpoint-configuration"] = self.endpoint_configuration()
        if self.definition["gatewayResponses"]:
            out[X + "gateway-responses"] = {
                rtype: {k: response[k] for k in ("statusCode", "responseParameters", "responseTemplates")  # type: ignore[literal-required]
                        if response.get(k) is not None}
                for rtype, response in self.definition["gatewayResponses"].items()
            }
        if self.definition["requestValidators"]:
            out[X + "request-validators"] = {
                v["name"]: {"validateRequestBody": bool(v.get("validateRequestBody")),
                            "validateRequestParameters": bool(v.get("validateRequestParameters"))}
                for v in self.definition["requestValidators"].values()
            }
        return out

    # -- models and security schemes ----------------------------------------------------------------------
    def model_schemas(self) -> dict[str, Any]:
        """JSON models only: AWS cannot export others ("Only found non-JSON body models")."""
        out: dict[str, Any] = {}
        for model in self.definition["models"].values():
            if model.get("contentType", JSON) != JSON or not isinstance(model.get("schema"), str):
                continue
            schema = _json_or_text(model["schema"])
            if not isinstance(schema, dict):
                continue  # not JSON Schema text: nothing a document could hold
            # `$schema` is not allowed in an OpenAPI schema object (guess: AWS drops it as well).
            schema.pop("$schema", None)
            out[model["name"]] = self.local_refs(schema)
        return out

    def local_refs(self, node: Any) -> Any:
        """Point model references (AWS's absolute model URLs, or the other document type's) at this document."""
        if isinstance(node, dict):
            out = {k: self.local_refs(v) for k, v in node.items()}
            ref = node.get("$ref")
            match = MODEL_REF_RE.match(ref) if isinstance(ref, str) else None
            if match:
                out["$ref"] = self.ref_base + match.group(1)
            return out
        if isinstance(node, list):
            return [self.local_refs(v) for v in node]
        return node

    def security_schemes(self) -> dict[str, Any]:
        methods = [m for r in self.definition["resources"].values() for m in (r.get("resourceMethods") or {}).values()]
        schemes: dict[str, Any] = {}
        if any(m.get("apiKeyRequired") for m in methods):
            schemes[API_KEY_SCHEME] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
        if any(m.get("authorizationType") == "AWS_IAM" for m in methods):
            schemes[SIGV4_SCHEME] = {"type": "apiKey", "name": "Authorization", "in": "header",
                                     X + "authtype": "awsSigv4"}
        for authorizer in self.definition["authorizers"].values():
            schemes[authorizer["name"]] = self.authorizer_scheme(authorizer)
        return schemes

    def authorizer_scheme(self, authorizer: dict[str, Any]) -> dict[str, Any]:
        """An `apiKey` scheme naming the identity header; REQUEST authorizers may read several sources, so
        AWS writes the placeholder name "Unused" for them (guess, from AWS-exported documents)."""
        kind = authorizer["type"]
        source = authorizer.get("identitySource") or ""
        header = source.removeprefix("method.request.header.") if source.startswith("method.request.header.") \
            and "," not in source else None
        scheme: dict[str, Any] = {"type": "apiKey", "name": header if kind != "REQUEST" and header else "Unused",
                                  "in": "header",
                                  X + "authtype": authorizer.get("authType") or
                                  ("cognito_user_pools" if kind == "COGNITO_USER_POOLS" else "custom")}
        if self.authorizers:
            body: dict[str, Any] = {"type": kind.lower()}
            for field in ("authorizerUri", "authorizerCredentials", "providerARNs", "identitySource",
                          "identityValidationExpression", "authorizerResultTtlInSeconds"):
                if authorizer.get(field) is not None:
                    body[field] = authorizer[field]
            scheme[X + "authorizer"] = body
        return scheme

    # -- paths -------------------------------------------------------------------------------------------
    def paths(self) -> dict[str, Any]:
        """Resources with methods only: AWS leaves out a root without methods (recorded), and so the others."""
        out: dict[str, Any] = {}
        for resource in sorted(self.definition["resources"].values(), key=lambda r: r["path"]):
            methods = resource.get("resourceMethods")
            if methods:
                out[resource["path"]] = {METHOD_KEYS[verb]: self.operation(resource, method)
                                         for verb, method in methods.items() if verb in METHOD_KEYS}
        return out

    def operation(self, resource: Resource, method: Method) -> dict[str, Any]:
        op: dict[str, Any] = {}
        if method.get("operationName"):
            op["operationId"] = method["operationName"]
        if self.swagger:
            op.update(self.media_types(method))
        parameters = self.parameters(method)
        if parameters:
            op["parameters"] = parameters
        body = None if self.swagger else self.request_body(method)
        if body:
            op["requestBody"] = body
        op["responses"] = self.responses(method)
        security = self.security(method)
        if security:
            op["security"] = security
        if self.gateway:
            validator = _by_id(self.definition["requestValidators"], method.get("requestValidatorId"))
            if validator:
                op[X + "request-validator"] = validator["name"]
            if "methodIntegration" in method:
                op[X + "integration"] = self.integration(method["methodIntegration"], resource)
        return op

    def media_types(self, method: Method) -> dict[str, list[str]]:
        """Swagger's consumes/produces, from models and mapping templates; AWS derives them so even
        without extensions (recorded: a MOCK's request template makes `consumes`)."""
        integration = method.get("methodIntegration") or {}
        consumes = [*(method.get("requestModels") or {}), *(integration.get("requestTemplates") or {})]
        produces = [ctype for r in (method.get("methodResponses") or {}).values()
                    for ctype in r.get("responseModels") or {}]
        produces += [ctype for r in (integration.get("integrationResponses") or {}).values()
                     for ctype in r.get("responseTemplates") or {}]
        out = {"consumes": list(dict.fromkeys(consumes)), "produces": list(dict.fromkeys(produces))}
        return {k: v for k, v in out.items() if v}

    def parameters(self, method: Method) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key, required in (method.get("requestParameters") or {}).items():
            place, _, name = key.removeprefix("method.request.").partition(".")
            if place not in PARAM_PLACES or not name:
                continue
            param: dict[str, Any] = {"name": name, "in": PARAM_PLACES[place]}
            if self.swagger:
                param.update(required=bool(required), type="string")
            else:  # OpenAPI 3: `required` only when true (recorded)
                param.update({"required": True} if required else {})
                param["schema"] = {"type": "string"}
            out.append(param)
        if self.swagger:
            model = self.pick_model(method.get("requestModels"))
            if model:
                out.append({"in": "body", "name": model, "required": True, "schema": {"$ref": self.ref_base + model}})
        return out

    def pick_model(self, models: dict[str, str] | None) -> str | None:
        """Swagger has one body schema per operation/response: the JSON model, else the first."""
        models = {ctype: name for ctype, name in (models or {}).items() if name in self.schemas}
        return models.get(JSON) or next(iter(models.values()), None)

    def request_body(self, method: Method) -> dict[str, Any] | None:
        content = {ctype: {"schema": {"$ref": self.ref_base + name}}
                   for ctype, name in (method.get("requestModels") or {}).items() if name in self.schemas}
        return {"content": content, "required": True} if content else None

    def responses(self, method: Method) -> dict[str, Any]:
        return {code: self.response(r) for code, r in (method.get("methodResponses") or {}).items()}

    def response(self, spec: MethodResponse) -> dict[str, Any]:
        out: dict[str, Any] = {"description": f"{spec['statusCode']} response"}
        headers = [key.removeprefix("method.response.header.") for key in spec.get("responseParameters") or {}
                   if key.startswith("method.response.header.")]
        if self.swagger:
            model = self.pick_model(spec.get("responseModels"))
            if model:
                out["schema"] = {"$ref": self.ref_base + model}
            if headers:
                out["headers"] = {h: {"type": "string"} for h in headers}
            return out
        if headers:
            out["headers"] = {h: {"schema": {"type": "string"}} for h in headers}
        out["content"] = {ctype: {"schema": {"$ref": self.ref_base + name}}  # `{}` when none (recorded)
                          for ctype, name in (spec.get("responseModels") or {}).items() if name in self.schemas}
        return out

    def security(self, method: Method) -> list[dict[str, list[str]]]:
        """One requirement object per scheme, as AWS writes them (guess for the combination of an API key
        with an authorizer; the importer accepts both spellings)."""
        out: list[dict[str, list[str]]] = []
        if method.get("apiKeyRequired"):
            out.append({API_KEY_SCHEME: []})
        kind = method.get("authorizationType")
        authorizer = _by_id(self.definition["authorizers"], method.get("authorizerId"))
        if kind == "AWS_IAM":
            out.append({SIGV4_SCHEME: []})
        elif kind in ("CUSTOM", "COGNITO_USER_POOLS") and authorizer:
            scopes = list(method.get("authorizationScopes") or []) if kind == "COGNITO_USER_POOLS" else []
            out.append({authorizer["name"]: scopes})
        return out

    # -- integrations -------------------------------------------------------------------------------------
    def integration(self, integration: Integration, resource: Resource) -> dict[str, Any]:
        """AWS's spelling: lowercase type and passthrough behaviour; defaults (INTERNET connection, the
        29 s timeout, the resource id as cache namespace, no cache keys) left out (recorded)."""
        raw: dict[str, Any] = dict(integration)
        out: dict[str, Any] = {"type": raw["type"].lower()}
        for key in ("httpMethod", "uri", "credentials"):
            if raw.get(key) is not None:
                out[key] = raw[key]
        if raw.get("connectionType") not in (None, "INTERNET"):
            out["connectionType"] = raw["connectionType"]
        if raw.get("connectionId"):
            out["connectionId"] = raw["connectionId"]
        if raw.get("integrationResponses"):
            out["responses"] = {(r.get("selectionPattern") or "default"): self.integration_response(r)
                                for r in raw["integrationResponses"].values()}
        for key in ("requestParameters", "requestTemplates"):
            if raw.get(key):
                out[key] = dict(raw[key])
        if raw.get("passthroughBehavior"):
            out["passthroughBehavior"] = raw["passthroughBehavior"].lower()
        if raw.get("contentHandling"):
            out["contentHandling"] = raw["contentHandling"]
        if raw.get("timeoutInMillis", DEFAULT_TIMEOUT_MS) != DEFAULT_TIMEOUT_MS:
            out["timeoutInMillis"] = raw["timeoutInMillis"]
        if raw.get("cacheNamespace") and raw["cacheNamespace"] != resource["id"]:
            out["cacheNamespace"] = raw["cacheNamespace"]
        if raw.get("cacheKeyParameters"):
            out["cacheKeyParameters"] = list(raw["cacheKeyParameters"])
        if raw.get("tlsConfig"):
            out["tlsConfig"] = dict(raw["tlsConfig"])
        return out

    @staticmethod
    def integration_response(response: IntegrationResponse) -> dict[str, Any]:
        out: dict[str, Any] = {"statusCode": response["statusCode"]}
        for key in ("responseParameters", "responseTemplates"):
            if response.get(key):
                out[key] = dict(response[key])  # type: ignore[literal-required]
        if response.get("contentHandling"):
            out["contentHandling"] = response["contentHandling"]
        return out

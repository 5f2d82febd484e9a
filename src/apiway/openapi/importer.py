"""OpenAPI 3.0 / Swagger 2.0 (with AWS's x-amazon-apigateway-* extensions) → an ApiDefinition.

Validation happens entirely before anything is stored, so a bad file changes nothing; every error
names the place in the document (`paths./pets.get.x-amazon-apigateway-integration.type`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from apiway.mapping.templates import AWS_MACROS
from apiway.model import ids
from apiway.model.gateway_responses import RESPONSE_TYPES
from apiway.model.rest import (
    CONTENT_HANDLINGS,
    INTEGRATION_TYPES,
    METHOD_VERBS,
    PASSTHROUGH_BEHAVIORS,
    PATH_PART_RE,
    STATUS_CODE_RE,
    ApiDefinition,
    Integration,
    IntegrationResponse,
    Method,
    Resource,
    RestApi,
    now,
)
from apiway.openapi.common import OPERATION_KEYS, DocumentReader, X
from apiway.vtl.engine import TemplateSyntaxError, compile_vtl

JSON = "application/json"
# AWS stores references between models as absolute model URLs (recorded imports).
MODEL_URL = "https://apigateway.amazonaws.com/restapis/{api_id}/models/{name}"
PARAM_LOCATIONS = {"path": "path", "query": "querystring", "header": "header"}


class _Importer(DocumentReader):
    def string_map(self, value: Any, where: tuple[Any, ...], values: type | tuple[type, ...] = str) -> dict:
        self.expect(value, dict, where, "an object")
        for k, v in value.items():
            if not isinstance(k, str):  # YAML reads an unquoted key such as 200 as an integer
                raise self.fail((*where, k), f"keys must be strings, got {type(k).__name__}")
            if v is not None:
                self.expect(v, values, (*where, k), "a string" if values is str else "a boolean")
        return value

    def json_text(self, value: Any, where: tuple[Any, ...]) -> str:
        """`value` as JSON text; YAML can hold what JSON cannot (integer keys, huge integers, recursive aliases)."""
        try:
            return orjson.dumps(value).decode()
        except orjson.JSONEncodeError as exc:
            raise self.fail(where, f"cannot be written as JSON: {exc}") from None

    # -- document --------------------------------------------------------------------------------
    def run(self, api_id: str) -> ApiDefinition:
        doc = self.doc
        if not isinstance(doc, dict):
            raise self.fail((), "an OpenAPI document must be an object")
        version = str(doc.get("openapi") or doc.get("swagger") or "")
        if not (version.startswith("3.") or version == "2.0"):
            raise self.fail((), "not an OpenAPI 3.0 or Swagger 2.0 document (no 'openapi: 3.x' or "
                                "'swagger: \"2.0\"' field)")
        info = self.expect(doc.get("info") or {}, dict, ("info",), "an object")
        title = info.get("title")
        if not isinstance(title, str) or not title:
            raise self.fail(("info", "title"), "a title is required (it becomes the API name)")
        root_id = ids.new_resource_id()
        rest_api: RestApi = {
            "id": api_id,
            "name": title,
            "createdDate": now(),
            "apiKeySource": "HEADER",
            "endpointConfiguration": {"types": ["EDGE"]},
            "disableExecuteApiEndpoint": False,
            "rootResourceId": root_id,
        }
        if isinstance(info.get("description"), str) and info["description"]:
            rest_api["description"] = info["description"]
        if info.get("version") is not None:
            rest_api["version"] = str(info["version"])
        self.root_extensions(doc, rest_api)
        self.api_id = api_id
        self.swagger = version == "2.0"
        self.model_where: tuple[str, ...] = ("definitions",) if self.swagger else ("components", "schemas")
        definition: ApiDefinition = {
            "restApi": rest_api,
            "resources": {root_id: {"id": root_id, "path": "/"}},
            "gatewayResponses": self.gateway_responses(doc),
            "models": self.models(doc),
            "requestValidators": self.validators(doc),
            "authorizers": {},
        }
        self.definition = definition
        self.model_names = {m["name"] for m in definition["models"].values()}
        self.validator_ids = {v["name"]: v["id"] for v in definition["requestValidators"].values()}
        self.default_validator = self.validator_id(doc.get(X + "request-validator"), (X + "request-validator",))
        schemes = self.security_schemes(doc, version, definition)
        paths = self.expect(doc.get("paths") or {}, dict, ("paths",), "an object")
        by_path = {"/": definition["resources"][root_id]}
        for path, item in paths.items():
            where = ("paths", path)
            resource = self.resource_for(path, where, by_path, definition["resources"])
            if not isinstance(item, dict):
                raise self.fail(where, "a path item must be an object")
            shared_params = item.get("parameters") or []
            methods = resource.setdefault("resourceMethods", {})
            for key, op in item.items():
                verb = OPERATION_KEYS.get(key.lower()) if isinstance(key, str) else None
                if verb is None:
                    continue
                methods[verb] = self.method(op, shared_params, (*where, key), verb, schemes, doc)
            if not methods:
                del resource["resourceMethods"]
        return definition

    def root_extensions(self, doc: dict, api: RestApi) -> None:
        types = doc.get(X + "binary-media-types")
        if types is not None:
            self.expect(types, list, (X + "binary-media-types",), "a list of media types")
            for i, t in enumerate(types):
                self.expect(t, str, (X + "binary-media-types", i), "a media type string")
            api["binaryMediaTypes"] = list(types)
        source = doc.get(X + "api-key-source")
        if source is not None:
            if str(source).upper() not in ("HEADER", "AUTHORIZER"):
                raise self.fail((X + "api-key-source",), f"must be HEADER or AUTHORIZER, got {source!r}")
            api["apiKeySource"] = str(source).upper()
        endpoint, where = self.endpoint_extension(doc)
        if endpoint is not None:
            self.expect(endpoint, dict, where, "an object")
            types_ = self.expect(endpoint.get("types") or ["EDGE"], list, (*where, "types"), "a list")
            for i, t in enumerate(types_):
                if t not in ("EDGE", "REGIONAL", "PRIVATE"):
                    raise self.fail((*where, "types", i), f"unknown endpoint type {t!r}")
            api["endpointConfiguration"] = {"types": list(types_)}
            if endpoint.get("vpcEndpointIds"):
                api["endpointConfiguration"]["vpcEndpointIds"] = list(self.expect(
                    endpoint["vpcEndpointIds"], list, (*where, "vpcEndpointIds"), "a list"))
            api["disableExecuteApiEndpoint"] = bool(endpoint.get("disableExecuteApiEndpoint", False))
        policy = doc.get(X + "policy")
        if policy is not None:
            api["policy"] = policy if isinstance(policy, str) else self.json_text(policy, (X + "policy",))
        size = doc.get(X + "minimum-compression-size")
        if size is not None:
            if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= 10485760:
                raise self.fail((X + "minimum-compression-size",),
                                "Invalid minimum compression size, must be between 0 and 10485760")
            api["minimumCompressionSize"] = size

    def gateway_responses(self, doc: dict) -> dict[str, Any]:
        key = X + "gateway-responses"
        raw = doc.get(key)
        if raw is None:
            return {}
        self.expect(raw, dict, (key,), "an object")
        out = {}
        for rtype, spec in raw.items():
            where = (key, rtype)
            if rtype not in RESPONSE_TYPES:
                raise self.fail(where, f"unknown gateway response type {rtype!r}")
            self.expect(spec, dict, where, "an object")
            response: dict[str, Any] = {"responseType": rtype, "defaultResponse": False}
            if spec.get("statusCode") is not None:
                code = str(spec["statusCode"])
                if not STATUS_CODE_RE.match(code):
                    raise self.fail((*where, "statusCode"), f"invalid status code {code!r}")
                response["statusCode"] = code
            if spec.get("responseParameters") is not None:
                params = self.string_map(spec["responseParameters"], (*where, "responseParameters"))
                for target in params:
                    if not target.startswith("gatewayresponse.header."):
                        raise self.fail((*where, "responseParameters", target),
                                        "keys must look like gatewayresponse.header.NAME")
                response["responseParameters"] = dict(params)
            if spec.get("responseTemplates") is not None:
                response["responseTemplates"] = dict(
                    self.string_map(spec["responseTemplates"], (*where, "responseTemplates"))
                )
            out[rtype] = response
        return out

    def models(self, doc: dict) -> dict[str, Any]:
        where = self.model_where
        raw = doc.get(where[0]) or {}
        if len(where) == 2:
            raw = (raw.get("schemas") if isinstance(raw, dict) else None) or {}
        self.expect(raw, dict, where, "an object")
        models = {}
        for name, schema in raw.items():
            if not isinstance(name, str):
                raise self.fail((*where, name), f"model names must be strings, got {type(name).__name__}")
            model = self.model_record(name, schema, (*where, name))
            models[model["id"]] = model
        return models

    def model_record(self, name: str, schema: Any, where: tuple[Any, ...]) -> dict[str, Any]:
        """A Model as AWS stores it: references to the document's schemas become model URLs."""
        plain = orjson.loads(self.json_text(schema, where))  # JSON-safe and acyclic from here on
        model = {"id": ids.new_resource_id(), "name": name, "contentType": JSON,
                 "schema": orjson.dumps(self.model_urls(plain)).decode()}
        if isinstance(plain, dict) and isinstance(plain.get("description"), str):
            model["description"] = plain["description"]
        return model

    def model_urls(self, node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: self.model_urls(v) for k, v in node.items()}
            name = self.ref_model_name(node.get("$ref"))
            if name is not None:
                out["$ref"] = MODEL_URL.format(api_id=self.api_id, name=name)
            return out
        if isinstance(node, list):
            return [self.model_urls(v) for v in node]
        return node

    def ref_model_name(self, ref: Any) -> str | None:
        """`#/components/schemas/Pet` (or `#/definitions/Pet` in Swagger) → `Pet`; else None."""
        prefix = "#/" + "/".join(self.model_where) + "/"
        if isinstance(ref, str) and ref.startswith(prefix) and "/" not in ref[len(prefix):]:
            return ref[len(prefix):].replace("~1", "/").replace("~0", "~")
        return None

    def validators(self, doc: dict) -> dict[str, Any]:
        """RequestValidators keyed by id like every other record; methods refer to them by id."""
        key = X + "request-validators"
        raw = doc.get(key) or {}
        self.expect(raw, dict, (key,), "an object")
        out = {}
        for name, spec in raw.items():
            if not isinstance(name, str):
                raise self.fail((key, name), f"validator names must be strings, got {type(name).__name__}")
            if spec is not None:
                self.expect(spec, dict, (key, name), "an object")
            validator_id = ids.new_id(6)
            out[validator_id] = {"id": validator_id, "name": name,
                                 "validateRequestBody": bool((spec or {}).get("validateRequestBody")),
                                 "validateRequestParameters": bool((spec or {}).get("validateRequestParameters"))}
        return out

    def validator_id(self, name: Any, where: tuple[Any, ...]) -> str | None:
        if name is None:
            return None
        if not isinstance(name, str) or name not in self.validator_ids:
            raise self.fail(where, f"unknown request validator {name!r} (declare it under "
                                   f"{X}request-validators)")
        return self.validator_ids[name]

    def security_schemes(self, doc: dict, version: str, definition: ApiDefinition) -> dict[str, dict]:
        """Scheme name → what it means for a method: api key, or an authorizer (stored)."""
        if version.startswith("3."):
            where: tuple[str, ...] = ("components", "securitySchemes")
            components = doc.get("components") or {}
            raw = (components.get("securitySchemes") if isinstance(components, dict) else None) or {}
        else:
            where = ("securityDefinitions",)
            raw = doc.get("securityDefinitions") or {}
        self.expect(raw, dict, where, "an object")
        schemes: dict[str, dict] = {}
        for name, scheme in raw.items():
            self.expect(scheme, dict, (*where, name), "an object")
            authorizer = scheme.get(X + "authorizer")
            if authorizer is not None:
                self.expect(authorizer, dict, (*where, name, X + "authorizer"), "an object")
                kind = str(authorizer.get("type", "")).upper()
                if kind not in ("TOKEN", "REQUEST", "COGNITO_USER_POOLS"):
                    raise self.fail((*where, name, X + "authorizer", "type"),
                                    f"unknown authorizer type {authorizer.get('type')!r}")
                auth_id = ids.new_resource_id()
                stored = {"id": auth_id, "name": name, "type": kind}
                for field in ("authorizerUri", "authorizerCredentials", "identityValidationExpression",
                              "authorizerResultTtlInSeconds", "providerARNs"):
                    if field in authorizer:
                        stored[field] = authorizer[field]
                stored["identitySource"] = authorizer.get("identitySource") or (
                    f"method.request.header.{scheme.get('name', 'Authorization')}"
                )
                definition["authorizers"][auth_id] = stored
                schemes[name] = {"authorizationType": "COGNITO_USER_POOLS" if kind == "COGNITO_USER_POOLS"
                                 else "CUSTOM", "authorizerId": auth_id}
            elif str(scheme.get(X + "authtype", "")).lower() == "awssigv4":
                # SigV4 is written as an apiKey scheme on the Authorization header (AWS's exports)
                schemes[name] = {"authorizationType": "AWS_IAM"}
            elif scheme.get("type") == "apiKey":
                schemes[name] = {"apiKeyRequired": True}
        return schemes

    # -- paths -------------------------------------------------------------------------------------
    def resource_for(self, path: Any, where: tuple[Any, ...], by_path: dict[str, Resource],
                     resources: dict[str, Resource]) -> Resource:
        if not isinstance(path, str) or not path.startswith("/"):
            raise self.fail(where, "a path must start with '/'")
        parts = [p for p in path.split("/") if p]
        current = by_path["/"]
        for i, part in enumerate(parts):
            if not PATH_PART_RE.match(part):
                raise self.fail(where, f"invalid path segment {part!r} (letters, digits, _-.,: or a whole "
                                       f"{{variable}} / {{greedy+}})")
            if part.endswith("+}") and i != len(parts) - 1:
                raise self.fail(where, f"Cannot create a child of a resource with a greedy path variable: {part}")
            full = "/" + "/".join(parts[: i + 1])
            existing = by_path.get(full)
            if existing is None:
                if part.startswith("{"):
                    sibling = next((p for p, r in by_path.items() if r.get("parentId") == current["id"]
                                    and r.get("pathPart", "").startswith("{") and r.get("pathPart") != part), None)
                    if sibling is not None:
                        raise self.fail(where, f"A sibling ({by_path[sibling]['pathPart']}) of this resource "
                                               f"already has a variable path part -- only one is allowed")
                rid = ids.new_resource_id()
                existing = {"id": rid, "parentId": current["id"], "pathPart": part, "path": full}
                resources[rid] = existing
                by_path[full] = existing
            current = existing
        return current

    def method(self, op: Any, shared_params: Any, where: tuple[Any, ...], verb: str,
               schemes: dict[str, dict], doc: dict) -> Method:
        self.expect(op, dict, where, "an operation object")
        method: Method = {"httpMethod": verb, "authorizationType": "NONE", "apiKeyRequired": False}
        if isinstance(op.get("operationId"), str):
            method["operationName"] = op["operationId"]
        security = op.get("security", doc.get("security")) or []
        if not isinstance(security, list):
            raise self.fail((*where, "security"), "must be a list")
        for i, requirement in enumerate(security):
            if not isinstance(requirement, dict):
                continue
            for name, scopes in requirement.items():
                meaning = schemes.get(name)
                if meaning is None:
                    continue
                method.update(meaning)  # type: ignore[typeddict-item]
                if meaning.get("authorizationType") == "COGNITO_USER_POOLS" and scopes:
                    method["authorizationScopes"] = list(self.expect(scopes, list, (*where, "security", i, name),
                                                                     "a list of scopes"))
        auth = op.get(X + "auth")
        if isinstance(auth, dict) and str(auth.get("type", "")).upper() in ("AWS_IAM", "NONE"):
            method["authorizationType"] = str(auth["type"]).upper()
        validator = (self.validator_id(op[X + "request-validator"], (*where, X + "request-validator"))
                     if X + "request-validator" in op else self.default_validator)
        if validator:
            method["requestValidatorId"] = validator
        shared = self.expect(shared_params or [], list, (*where[:-1], "parameters"), "a list")
        own = self.expect(op.get("parameters") or [], list, (*where, "parameters"), "a list")
        params = [self.resolved(p, (*where, "parameters", i), doc) for i, p in enumerate([*shared, *own])]
        request_parameters = self.parameters(params, where)
        if request_parameters:
            method["requestParameters"] = request_parameters
        request_models = self.request_models(op, params, where, doc)
        if request_models:
            method["requestModels"] = request_models
        responses = self.method_responses(op, (*where, "responses"), doc)
        if responses:
            method["methodResponses"] = responses
        integration = op.get(X + "integration")
        if integration is not None:
            method["methodIntegration"] = self.integration(integration, (*where, X + "integration"))
        return method

    def resolved(self, node: Any, where: tuple[Any, ...], doc: dict) -> Any:
        """A parameter, request body, response or header object, following one local `$ref`."""
        if isinstance(node, dict) and "$ref" in node:
            return self.resolve_ref(node["$ref"], where, doc)
        return node

    def parameters(self, params: list, where: tuple[Any, ...]) -> dict[str, bool]:
        out: dict[str, bool] = {}
        for i, param in enumerate(params):
            if not isinstance(param, dict):
                raise self.fail((*where, "parameters", i), "a parameter must be an object")
            place = param.get("in")
            location = PARAM_LOCATIONS.get(place) if isinstance(place, str) else None  # may be a list or map
            if location is None or not isinstance(param.get("name"), str):
                continue  # body/formData/cookie parameters have no method.request mapping
            out[f"method.request.{location}.{param['name']}"] = bool(param.get("required", location == "path"))
        return out

    def resolve_ref(self, ref: Any, where: tuple[Any, ...], doc: dict) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise self.fail(where, f"only local $ref values are supported, got {ref!r}")
        node: Any = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise self.fail(where, f"$ref {ref!r} points to nothing")
            node = node[part]
        return node

    # -- models of request and response bodies -----------------------------------------------------------
    def request_models(self, op: dict, params: list, where: tuple[Any, ...], doc: dict) -> dict[str, str]:
        """Content type → model name: OpenAPI 3's requestBody content, or Swagger's body parameter filed
        under one of the operation's `consumes` types."""
        if self.swagger:
            for i, param in enumerate(params):
                if param.get("in") == "body" and param.get("schema") is not None:
                    name = self.schema_model(param["schema"], (*where, "parameters", i, "schema"))
                    return {self.swagger_media_type(op, doc, "consumes", where): name} if name else {}
            return {}
        if op.get("requestBody") is None:
            return {}
        body = self.expect(self.resolved(op["requestBody"], (*where, "requestBody"), doc), dict,
                           (*where, "requestBody"), "an object")
        return self.content_models(body.get("content"), (*where, "requestBody", "content"))

    def swagger_media_type(self, op: dict, doc: dict, key: str, where: tuple[Any, ...]) -> str:
        """Swagger has one body schema per operation or response; like AWS's importer, file it under JSON
        unless only other types are declared."""
        declared, place = (op[key], (*where, key)) if key in op else (doc.get(key), (key,))
        if declared is None:
            return JSON
        self.expect(declared, list, place, "a list of media types")
        if not declared or JSON in declared:
            return JSON
        return self.expect(declared[0], str, (*place, 0), "a media type string")

    def content_models(self, content: Any, where: tuple[Any, ...]) -> dict[str, str]:
        if content is None:
            return {}
        self.expect(content, dict, where, "an object")
        out: dict[str, str] = {}
        for ctype, media in content.items():
            if not isinstance(ctype, str):
                raise self.fail((*where, ctype), f"media types must be strings, got {type(ctype).__name__}")
            if media is None:
                continue
            self.expect(media, dict, (*where, ctype), "a media type object")
            if media.get("schema") is not None:
                name = self.schema_model(media["schema"], (*where, ctype, "schema"))
                if name:
                    out[ctype] = name
        return out

    def schema_model(self, schema: Any, where: tuple[Any, ...]) -> str | None:
        """The model a body schema names; an inline schema becomes a model of its own, named like the
        ones AWS's importer generates (`MODEL` and six hex digits, here a digest of the schema)."""
        self.expect(schema, dict, where, "a schema object")
        if not schema:
            return None  # `{}` describes nothing to validate
        name = self.ref_model_name(schema.get("$ref"))
        if name is not None:
            if name not in self.model_names:
                raise self.fail((*where, "$ref"), f"$ref {schema['$ref']!r} points to nothing")
            return name
        text = self.json_text(schema, where)
        name = "MODEL" + hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:6]
        if name not in self.model_names:
            model = self.model_record(name, schema, where)
            self.definition["models"][model["id"]] = model
            self.model_names.add(name)
        return name

    def method_responses(self, op: dict, where: tuple[Any, ...], doc: dict) -> dict[str, Any]:
        responses = self.expect(op.get("responses") or {}, dict, where, "an object")
        out: dict[str, Any] = {}
        for code, spec in responses.items():
            code = str(code)
            if not STATUS_CODE_RE.match(code):
                continue  # "default" and ranges have no MethodResponse equivalent
            spec = self.resolved(spec, (*where, code), doc)
            if spec is not None:
                self.expect(spec, dict, (*where, code), "a response object")
            response: dict[str, Any] = {"statusCode": code}
            headers = self.response_headers((spec or {}).get("headers"), (*where, code, "headers"), doc)
            if headers:
                response["responseParameters"] = headers
            models = self.response_models(spec or {}, op, (*where, code), doc)
            if models:
                response["responseModels"] = models
            out[code] = response
        return out

    def response_headers(self, headers: Any, where: tuple[Any, ...], doc: dict) -> dict[str, bool]:
        """`method.response.header.X` → required, from each header object's `required` flag."""
        if not isinstance(headers, dict):
            return {}
        out: dict[str, bool] = {}
        for name, spec in headers.items():
            spec = self.resolved(spec, (*where, name), doc)
            out[f"method.response.header.{name}"] = bool(spec.get("required")) if isinstance(spec, dict) else False
        return out

    def response_models(self, spec: dict, op: dict, where: tuple[Any, ...], doc: dict) -> dict[str, str]:
        if not self.swagger:
            return self.content_models(spec.get("content"), (*where, "content"))
        if spec.get("schema") is None:
            return {}
        name = self.schema_model(spec["schema"], (*where, "schema"))
        return {self.swagger_media_type(op, doc, "produces", where[:-2]): name} if name else {}

    def integration(self, raw: Any, where: tuple[Any, ...]) -> Integration:
        self.expect(raw, dict, where, "an object")
        kind = raw.get("type")
        if not isinstance(kind, str) or kind.upper() not in INTEGRATION_TYPES:
            raise self.fail((*where, "type"), f"unknown type {kind!r} (expected one of "
                                              f"{', '.join(t.lower() for t in INTEGRATION_TYPES)})")
        kind = kind.upper()
        integration: Integration = {"type": kind}
        uri = raw.get("uri")
        if kind != "MOCK":
            if not isinstance(uri, str) or not uri:
                raise self.fail((*where, "uri"), f"a uri is required for {kind.lower()} integrations")
            if not isinstance(raw.get("httpMethod"), str):
                raise self.fail((*where, "httpMethod"), f"an httpMethod is required for {kind.lower()} integrations")
        if uri is not None:
            integration["uri"] = self.expect(uri, str, (*where, "uri"), "a string")
        if raw.get("httpMethod") is not None:
            verb = str(raw["httpMethod"]).upper()
            if verb not in METHOD_VERBS:
                raise self.fail((*where, "httpMethod"), f"unknown HTTP method {raw['httpMethod']!r}")
            integration["httpMethod"] = verb
        passthrough = raw.get("passthroughBehavior")
        if passthrough is not None:
            if str(passthrough).upper() not in PASSTHROUGH_BEHAVIORS:
                raise self.fail((*where, "passthroughBehavior"), f"unknown passthrough behavior {passthrough!r}")
            integration["passthroughBehavior"] = str(passthrough).upper()
        elif kind in ("MOCK", "HTTP", "AWS"):
            integration["passthroughBehavior"] = "WHEN_NO_MATCH"
        handling = raw.get("contentHandling")
        if handling is not None:
            if handling not in CONTENT_HANDLINGS:
                raise self.fail((*where, "contentHandling"), f"unknown content handling {handling!r}")
            integration["contentHandling"] = handling
        timeout = raw.get("timeoutInMillis", 29000)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 50:
            raise self.fail((*where, "timeoutInMillis"), "must be an integer of at least 50")
        integration["timeoutInMillis"] = timeout
        for key in ("requestParameters", "requestTemplates"):
            if raw.get(key) is not None:
                integration[key] = dict(self.string_map(raw[key], (*where, key)))  # type: ignore[literal-required]
        self.check_templates(integration.get("requestTemplates"), (*where, "requestTemplates"))
        for key in ("credentials", "connectionType", "connectionId", "cacheNamespace"):
            if raw.get(key) is not None:
                integration[key] = self.expect(raw[key], str, (*where, key), "a string")  # type: ignore[literal-required]
        if raw.get("cacheKeyParameters") is not None:
            integration["cacheKeyParameters"] = list(self.expect(raw["cacheKeyParameters"], list,
                                                                 (*where, "cacheKeyParameters"), "a list"))
        if raw.get("tlsConfig") is not None:
            integration["tlsConfig"] = dict(self.expect(raw["tlsConfig"], dict, (*where, "tlsConfig"), "an object"))
        responses = raw.get("responses")
        if responses is not None:
            integration["integrationResponses"] = self.integration_responses(responses, (*where, "responses"))
        return integration

    def check_templates(self, templates: dict[str, str | None] | None, where: tuple[Any, ...]) -> None:
        """Mapping templates must parse: report the template's own line and column too."""
        for ctype, text in (templates or {}).items():
            if text is not None:
                try:
                    compile_vtl(text, macros=AWS_MACROS)
                except TemplateSyntaxError as exc:
                    raise self.fail((*where, ctype), f"template {exc}") from None

    def integration_responses(self, raw: Any, where: tuple[Any, ...]) -> dict[str, IntegrationResponse]:
        self.expect(raw, dict, where, "an object")
        out: dict[str, IntegrationResponse] = {}
        for pattern, spec in raw.items():
            w = (*where, pattern)
            self.expect(spec, dict, w, "an object")
            code = str(spec.get("statusCode", ""))
            if not STATUS_CODE_RE.match(code):
                raise self.fail((*w, "statusCode"), f"invalid status code {spec.get('statusCode')!r}")
            response: IntegrationResponse = {"statusCode": code}
            if pattern != "default":
                response["selectionPattern"] = str(pattern)
            for key in ("responseParameters", "responseTemplates"):
                if spec.get(key) is not None:
                    response[key] = dict(self.string_map(spec[key], (*w, key)))  # type: ignore[literal-required]
            self.check_templates(response.get("responseTemplates"), (*w, "responseTemplates"))
            if spec.get("contentHandling") is not None:
                if spec["contentHandling"] not in CONTENT_HANDLINGS:
                    raise self.fail((*w, "contentHandling"), f"unknown content handling {spec['contentHandling']!r}")
                response["contentHandling"] = spec["contentHandling"]
            out[code] = response
        return out


def import_openapi(doc: Any, text: str, source: str, api_id: str | None = None) -> ApiDefinition:
    """Validate and convert a parsed document; raises DocumentError naming file, line and field."""
    return _Importer(doc, text, source).run(api_id or ids.new_api_id())

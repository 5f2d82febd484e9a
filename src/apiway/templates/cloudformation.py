"""Plain CloudFormation API resources — what CDK synthesises and hand-written stacks hold — as OpenAPI
documents: `AWS::ApiGateway::RestApi` (its Body, or its Resources and Methods with their integrations,
authorizers, models, validators and gateway responses; stages from Stage and Deployment) and
`AWS::ApiGatewayV2::Api` (Body, quick create with Target, or Routes, Integrations, Authorizers and Stages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apiway.config import StageSpec
from apiway.model.documents import load_document
from apiway.model.http import DEFAULT_STAGE
from apiway.templates.context import Context
from apiway.templates.documents import (
    HTTP,
    REST,
    BuiltApi,
    X,
    apply_method_settings,
    http_document,
    operation_key,
    rest_document,
)
from apiway.templates.intrinsics import Where

REST_API, V2_API = "AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"
_LOCATIONS = {"querystring": "query", "header": "header", "path": "path"}


def read_plain_apis(ctx: Context) -> list[BuiltApi]:
    children: dict[str, dict[str, list[str]]] = {}  # API logical id → resource type → logical ids
    for logical, resource in ctx.resources.items():
        kind = str(resource.get("Type"))
        if not kind.startswith(("AWS::ApiGateway::", "AWS::ApiGatewayV2::")) or not ctx.active(logical):
            continue
        props = ctx.properties(logical)
        api = _logical_ref(props.get("RestApiId") if kind.startswith("AWS::ApiGateway::") else props.get("ApiId"))
        if api is not None:
            children.setdefault(api, {}).setdefault(kind.rsplit("::", 1)[1], []).append(logical)
    built = []
    for logical, resource in ctx.resources.items():
        if not ctx.active(logical):
            continue
        if resource.get("Type") == REST_API:
            built.append(_rest_api(ctx, logical, children.get(logical, {})))
        elif resource.get("Type") == V2_API:
            built.append(_v2_api(ctx, logical, children.get(logical, {})))
    return built


def _logical_ref(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("Ref"), str):
        return value["Ref"]
    return None


def _local_body(ctx: Context, value: Any, where: Where) -> dict[str, Any]:
    """BodyS3Location/BodyS3Location-like values naming a local file (as `cloudformation package` reads them)."""
    key = value.get("Key") if isinstance(value, dict) else value
    path = (ctx.path.parent / key).resolve() if isinstance(key, str) else None
    if path is None or not path.is_file():
        raise ctx.fail(where, "only a local file can be read (put the document in Body, or name a file beside "
                              "the template)")
    doc = load_document(Path(path))[0]
    if not isinstance(doc, dict):
        raise ctx.fail(where, "must be an OpenAPI document")
    return doc


# -- REST APIs -------------------------------------------------------------------------------------------

def _body(ctx: Context, props: dict[str, Any], where: tuple[Any, ...], empty: dict[str, Any],
          ) -> tuple[dict[str, Any], tuple[Any, ...] | None]:
    """An API resource's OpenAPI body (inline `Body`, or `BodyS3Location` naming a local file; else `empty`), titled,
    and where an inline body sits in the template (for errors inside it)."""
    body_where = None
    if isinstance(props.get("Body"), dict):
        doc, body_where = props["Body"], (*where, "Properties", "Body")
    elif props.get("BodyS3Location") is not None:
        doc = _local_body(ctx, props["BodyS3Location"], (*where, "Properties", "BodyS3Location"))
    else:
        doc = empty
    doc.setdefault("info", {}).setdefault("title", empty["info"]["title"])
    return doc, body_where


def _rest_api(ctx: Context, logical: str, parts: dict[str, list[str]]) -> BuiltApi:
    where = ("Resources", logical)
    props = ctx.resolved(logical)
    name = str(props.get("Name") or logical)
    doc, body_where = _body(ctx, props, where, rest_document(name))
    if props.get("BinaryMediaTypes"):
        doc[X + "binary-media-types"] = [str(t).replace("~1", "/") for t in props["BinaryMediaTypes"]]
    if props.get("ApiKeySourceType"):
        doc[X + "api-key-source"] = props["ApiKeySourceType"]
    if props.get("Policy"):
        doc[X + "policy"] = props["Policy"]
    authorizers = {a: _authorizer(ctx, a, doc) for a in parts.get("Authorizer", [])}
    validators = {}
    for v in parts.get("RequestValidator", []):
        spec = ctx.resolved(v)
        validators[v] = str(spec.get("Name") or v)
        doc.setdefault(X + "request-validators", {})[validators[v]] = {
            "validateRequestBody": bool(spec.get("ValidateRequestBody", False)),
            "validateRequestParameters": bool(spec.get("ValidateRequestParameters", False))}
    for m in parts.get("Model", []):
        spec = ctx.resolved(m)
        doc.setdefault("definitions", {})[str(spec.get("Name") or m)] = spec.get("Schema") or {}
    for g in parts.get("GatewayResponse", []):
        spec = ctx.resolved(g)
        response: dict[str, Any] = {}
        if spec.get("StatusCode"):
            response["statusCode"] = str(spec["StatusCode"])
        if spec.get("ResponseParameters"):
            response["responseParameters"] = spec["ResponseParameters"]
        if spec.get("ResponseTemplates"):
            response["responseTemplates"] = spec["ResponseTemplates"]
        doc.setdefault(X + "gateway-responses", {})[str(spec.get("ResponseType"))] = response
    paths = _resource_paths(ctx, parts.get("Resource", []))
    for m in parts.get("Method", []):
        _method(ctx, m, doc, paths, authorizers, validators)
    stages = _rest_stages(ctx, parts)
    if not stages:
        ctx.notes.append(f"{logical}: no AWS::ApiGateway::Stage or Deployment with a StageName: not served")
    return BuiltApi(logical, REST, doc, stages, where, body_where)


def _resource_paths(ctx: Context, resources: list[str]) -> dict[str, str]:
    """Resource logical id → its path, walking ParentId up to the root (`!GetAtt Api.RootResourceId`)."""
    paths: dict[str, str] = {}

    def path_of(logical: str, seen: tuple[str, ...]) -> str:
        if logical in paths:
            return paths[logical]
        where = ("Resources", logical, "Properties")
        if logical in seen:
            raise ctx.fail(where, "ParentId leads back to this resource")
        props = ctx.properties(logical)
        part = ctx.resolver.text(props.get("PathPart"), (*where, "PathPart"))
        parent = props.get("ParentId")
        parent_ref = _logical_ref(parent)
        if parent_ref is not None and parent_ref in resources:
            base = path_of(parent_ref, (*seen, logical))
        elif isinstance(parent, dict) and "Fn::GetAtt" in parent:
            base = ""  # the API's RootResourceId
        else:
            raise ctx.fail((*where, "ParentId"), "must be !GetAtt Api.RootResourceId or !Ref to a Resource of this "
                                                 "template")
        paths[logical] = f"{base}/{part}"
        return paths[logical]

    for r in resources:
        path_of(r, ())
    return paths


def _authorizer(ctx: Context, logical: str, doc: dict[str, Any]) -> str:
    spec = ctx.resolved(logical)
    name = str(spec.get("Name") or logical)
    kind = str(spec.get("Type", "TOKEN")).upper()
    authorizer: dict[str, Any] = {"type": kind.lower() if kind != "COGNITO_USER_POOLS" else "cognito_user_pools"}
    for field, key in (("AuthorizerUri", "authorizerUri"), ("IdentitySource", "identitySource"),
                       ("IdentityValidationExpression", "identityValidationExpression"),
                       ("AuthorizerResultTtlInSeconds", "authorizerResultTtlInSeconds"),
                       ("ProviderARNs", "providerARNs"), ("AuthorizerCredentials", "authorizerCredentials")):
        if spec.get(field) is not None:
            authorizer[key] = spec[field]
    if "authorizerResultTtlInSeconds" in authorizer:
        authorizer["authorizerResultTtlInSeconds"] = int(authorizer["authorizerResultTtlInSeconds"])
    header = str(spec.get("IdentitySource", "method.request.header.Authorization")).rpartition(".")[2]
    doc.setdefault("securityDefinitions", {})[name] = {
        "type": "apiKey", "in": "header", "name": header,
        X + "authtype": "cognito_user_pools" if kind == "COGNITO_USER_POOLS" else "custom",
        X + "authorizer": authorizer}
    return name


def _method(ctx: Context, logical: str, doc: dict[str, Any], paths: dict[str, str], authorizers: dict[str, str],
            validators: dict[str, str]) -> None:
    where = ("Resources", logical, "Properties")
    raw = ctx.properties(logical)
    props = ctx.resolved(logical)
    resource = _logical_ref(raw.get("ResourceId"))
    if resource in paths:
        path = paths[resource]
    elif isinstance(raw.get("ResourceId"), dict) and "Fn::GetAtt" in raw["ResourceId"]:
        path = "/"
    else:
        raise ctx.fail((*where, "ResourceId"), "must be !Ref to a Resource of this template or !GetAtt "
                                               "Api.RootResourceId")
    verb = str(props.get("HttpMethod", "")).upper()
    if not verb:
        raise ctx.fail((*where, "HttpMethod"), "required")
    operation: dict[str, Any] = {"responses": {}}
    security: list[dict[str, list[str]]] = []
    kind = str(props.get("AuthorizationType", "NONE")).upper()
    if kind in ("CUSTOM", "COGNITO_USER_POOLS"):
        authorizer = _logical_ref(raw.get("AuthorizerId"))
        if authorizer not in authorizers:
            raise ctx.fail((*where, "AuthorizerId"), "must be !Ref to an Authorizer of this API")
        security.append({authorizers[authorizer]: list(props.get("AuthorizationScopes") or [])})
    elif kind == "AWS_IAM":
        security.append({"sigv4": []})
        doc.setdefault("securityDefinitions", {})["sigv4"] = {"type": "apiKey", "name": "Authorization",
                                                              "in": "header", X + "authtype": "awsSigv4"}
    if props.get("ApiKeyRequired") in (True, "true"):
        security.append({"api_key": []})
        doc.setdefault("securityDefinitions", {})["api_key"] = {"type": "apiKey", "name": "x-api-key",
                                                                "in": "header"}
    if security:
        operation["security"] = security
    parameters = []
    for name, required in (props.get("RequestParameters") or {}).items():
        bits = str(name).split(".", 3)
        if len(bits) == 4 and bits[2] in _LOCATIONS:
            parameters.append({"name": bits[3], "in": _LOCATIONS[bits[2]], "type": "string",
                               "required": required in (True, "true")})
    for content_type, model in (props.get("RequestModels") or {}).items():
        parameters.append({"in": "body", "name": str(model), "required": True,
                           "schema": {"$ref": f"#/definitions/{model}"}})
        operation.setdefault("consumes", []).append(content_type)
    if parameters:
        operation["parameters"] = parameters
    validator = _logical_ref(raw.get("RequestValidatorId"))
    if validator in validators:
        operation[X + "request-validator"] = validators[validator]
    for response in props.get("MethodResponses") or []:
        entry: dict[str, Any] = {"description": f"{response.get('StatusCode')} response"}
        headers = {str(k).rpartition(".")[2]: {"type": "string"} for k in response.get("ResponseParameters") or {}}
        if headers:
            entry["headers"] = headers
        models = response.get("ResponseModels") or {}
        if models:
            entry["schema"] = {"$ref": f"#/definitions/{next(iter(models.values()))}"}
        operation["responses"][str(response.get("StatusCode"))] = entry
    integration = props.get("Integration")
    if integration:
        operation[X + "integration"] = _integration(ctx, integration, (*where, "Integration"))
    item = doc.setdefault("paths", {}).setdefault(path, {})
    item[operation_key(verb)] = operation


def _integration(ctx: Context, spec: dict[str, Any], where: Where) -> dict[str, Any]:
    kind = str(spec.get("Type", "")).lower()
    if kind not in ("aws_proxy", "aws", "http", "http_proxy", "mock"):
        raise ctx.fail((*where, "Type"), "AWS_PROXY, AWS, HTTP, HTTP_PROXY or MOCK")
    out: dict[str, Any] = {"type": kind}
    for field, key in (("IntegrationHttpMethod", "httpMethod"), ("Uri", "uri"), ("Credentials", "credentials"),
                       ("RequestParameters", "requestParameters"), ("RequestTemplates", "requestTemplates"),
                       ("ContentHandling", "contentHandling"), ("TimeoutInMillis", "timeoutInMillis"),
                       ("CacheKeyParameters", "cacheKeyParameters"), ("CacheNamespace", "cacheNamespace"),
                       ("ConnectionType", "connectionType")):
        if spec.get(field) is not None:
            out[key] = spec[field]
    if spec.get("PassthroughBehavior"):
        out["passthroughBehavior"] = str(spec["PassthroughBehavior"]).lower()
    if "timeoutInMillis" in out:
        out["timeoutInMillis"] = int(out["timeoutInMillis"])
    responses = {}
    for response in spec.get("IntegrationResponses") or []:
        entry = {"statusCode": str(response.get("StatusCode"))}
        for field, key in (("ResponseParameters", "responseParameters"), ("ResponseTemplates", "responseTemplates"),
                           ("ContentHandling", "contentHandling")):
            if response.get(field) is not None:
                entry[key] = response[field]
        responses[str(response.get("SelectionPattern") or "default")] = entry
    if responses:
        out["responses"] = responses
    return out


def _rest_stages(ctx: Context, parts: dict[str, list[str]]) -> list[StageSpec]:
    stages: dict[str, StageSpec] = {}
    for s in parts.get("Stage", []):
        spec = ctx.resolved(s)
        name = str(spec.get("StageName") or s)
        stages[name] = _stage(name, spec)
    for d in parts.get("Deployment", []):
        spec = ctx.resolved(d)
        deployed = spec.get("StageName")
        if isinstance(deployed, str) and deployed not in stages:
            described = spec.get("StageDescription") or {}
            stages[deployed] = _stage(deployed, described)
    return list(stages.values())


def _stage(name: str, spec: dict[str, Any]) -> StageSpec:
    stage = StageSpec(name, {str(k): str(v) for k, v in (spec.get("Variables") or {}).items()},
                      str(spec["Description"]) if spec.get("Description") else None)
    apply_method_settings(stage, spec.get("MethodSettings"), spec.get("CacheClusterEnabled"),
                          spec.get("CacheClusterSize"))
    return stage


# -- HTTP APIs (apigatewayv2) ----------------------------------------------------------------------------

def _v2_api(ctx: Context, logical: str, parts: dict[str, list[str]]) -> BuiltApi:
    where = ("Resources", logical)
    props = ctx.resolved(logical)
    if str(props.get("ProtocolType", "HTTP")).upper() != "HTTP" and not props.get("Body"):
        raise ctx.fail((*where, "Properties", "ProtocolType"), "WebSocket APIs are not read from templates yet "
                                                               "(write them in apiway.yaml, docs/websocket-apis.md)")
    name = str(props.get("Name") or logical)
    doc, body_where = _body(ctx, props, where, http_document(name))
    stages: dict[str, StageSpec] = {}
    if props.get("Target"):  # quick create: a route to the target and an auto-deploying $default stage
        route = str(props.get("RouteKey") or "$default")
        _add_route(doc, route, {"type": "aws_proxy", "uri": props["Target"], "payloadFormatVersion": "2.0",
                                "httpMethod": "POST"}, None)
        stages[DEFAULT_STAGE] = StageSpec(DEFAULT_STAGE)
    if props.get("CorsConfiguration"):
        doc[X + "cors"] = {k[0].lower() + k[1:]: v for k, v in props["CorsConfiguration"].items()}
    integrations = {i: _v2_integration(ctx, i) for i in parts.get("Integration", [])}
    authorizers = {a: _v2_authorizer(ctx, a, doc) for a in parts.get("Authorizer", [])}
    for r in parts.get("Route", []):
        spec = ctx.resolved(r)
        rwhere = ("Resources", r, "Properties")
        target = str(spec.get("Target") or "")
        integration = integrations.get(target.rpartition("/")[2])
        if integration is None:
            raise ctx.fail((*rwhere, "Target"), "must be integrations/ followed by !Ref to an Integration of this API")
        security = None
        kind = str(spec.get("AuthorizationType", "NONE")).upper()
        if kind in ("JWT", "CUSTOM"):
            authorizer = _logical_ref(ctx.properties(r).get("AuthorizerId"))
            if authorizer not in authorizers:
                raise ctx.fail((*rwhere, "AuthorizerId"), "must be !Ref to an Authorizer of this API")
            security = [{authorizers[authorizer]: list(spec.get("AuthorizationScopes") or [])}]
        elif kind == "AWS_IAM":
            security = [{"sigv4": []}]
            doc.setdefault("components", {}).setdefault("securitySchemes", {})["sigv4"] = {
                "type": "apiKey", "name": "Authorization", "in": "header", X + "authtype": "awsSigv4"}
        _add_route(doc, str(spec.get("RouteKey")), integration, security)
    for s in parts.get("Stage", []):
        spec = ctx.resolved(s)
        name = str(spec.get("StageName") or DEFAULT_STAGE)
        stages[name] = StageSpec(name, {str(k): str(v) for k, v in (spec.get("StageVariables") or {}).items()},
                                 str(spec["Description"]) if spec.get("Description") else None)
    if not stages:
        ctx.notes.append(f"{logical}: no AWS::ApiGatewayV2::Stage: served on $default")
        stages[DEFAULT_STAGE] = StageSpec(DEFAULT_STAGE)
    return BuiltApi(logical, HTTP, doc, list(stages.values()), where, body_where)


def _add_route(doc: dict[str, Any], route_key: str, integration: dict[str, Any],
               security: list[dict[str, list[str]]] | None) -> None:
    method, _, path = route_key.partition(" ")
    if route_key == "$default":
        method, path = "ANY", "$default"
    operation: dict[str, Any] = {X + "integration": dict(integration)}
    if security:
        operation["security"] = security
    doc.setdefault("paths", {}).setdefault(path, {})[operation_key(method)] = operation


def _v2_integration(ctx: Context, logical: str) -> dict[str, Any]:
    spec = ctx.resolved(logical)
    out: dict[str, Any] = {"type": str(spec.get("IntegrationType", "")).lower()}
    for field, key in (("IntegrationUri", "uri"), ("IntegrationMethod", "httpMethod"),
                       ("PayloadFormatVersion", "payloadFormatVersion"), ("TimeoutInMillis", "timeoutInMillis"),
                       ("RequestParameters", "requestParameters"), ("ResponseParameters", "responseParameters"),
                       ("IntegrationSubtype", "integrationSubtype"), ("CredentialsArn", "credentials")):
        if spec.get(field) is not None:
            out[key] = spec[field]
    if out["type"] == "aws_proxy":
        out.setdefault("payloadFormatVersion", "2.0")
        out.setdefault("httpMethod", "POST")
    if "timeoutInMillis" in out:
        out["timeoutInMillis"] = int(out["timeoutInMillis"])
    return out


def _v2_authorizer(ctx: Context, logical: str, doc: dict[str, Any]) -> str:
    spec = ctx.resolved(logical)
    name = str(spec.get("Name") or logical)
    sources = spec.get("IdentitySource") or []
    sources = sources if isinstance(sources, list) else [sources]
    schemes = doc.setdefault("components", {}).setdefault("securitySchemes", {})
    if str(spec.get("AuthorizerType")).upper() == "JWT":
        jwt = spec.get("JwtConfiguration") or {}
        config: dict[str, Any] = {"issuer": jwt.get("Issuer")}
        if jwt.get("Audience"):
            config["audience"] = jwt["Audience"]
        schemes[name] = {"type": "oauth2", X + "authorizer": {
            "type": "jwt", "jwtConfiguration": config,
            "identitySource": ", ".join(sources) or "$request.header.Authorization"}}
        return name
    authorizer: dict[str, Any] = {"type": "request", "authorizerUri": spec.get("AuthorizerUri"),
                                  "authorizerPayloadFormatVersion": str(spec.get("AuthorizerPayloadFormatVersion",
                                                                                 "2.0")),
                                  "identitySource": ", ".join(sources),
                                  "authorizerResultTtlInSeconds": int(spec.get("AuthorizerResultTtlInSeconds", 0))}
    if spec.get("EnableSimpleResponses") is not None:
        authorizer["enableSimpleResponses"] = spec["EnableSimpleResponses"] in (True, "true")
    schemes[name] = {"type": "apiKey", "in": "header", "name": "Unused", X + "authorizer": authorizer}
    return name

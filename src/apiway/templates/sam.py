"""SAM's API resources as OpenAPI documents: `AWS::Serverless::Api` and `AWS::Serverless::HttpApi` (their
DefinitionBody, or one built from the functions' `Api`/`HttpApi` events), and the implicit `ServerlessRestApi`
(stage `Prod`) and `ServerlessHttpApi` (`$default`) SAM makes for events that name no API."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from apiway.config import StageSpec
from apiway.model.documents import DocumentError, load_document
from apiway.model.http import DEFAULT_STAGE
from apiway.templates.context import IMPLICIT_HTTP, IMPLICIT_REST, Context, invocation_uri, lambda_arn
from apiway.templates.documents import (
    HTTP,
    REST,
    BuiltApi,
    X,
    add_operation,
    add_rest_cors,
    apply_method_settings,
    http_document,
    rest_document,
    security_schemes,
)
from apiway.templates.yaml_loader import parse_template

API, HTTP_API = "AWS::Serverless::Api", "AWS::Serverless::HttpApi"


def read_sam_apis(ctx: Context) -> list[BuiltApi]:
    events = _events(ctx)
    built = []
    for logical, resource in ctx.resources.items():
        if resource.get("Type") in (API, HTTP_API) and ctx.active(logical):
            built.append(_api(ctx, logical, resource["Type"] == HTTP_API, ctx.resolved(logical),
                              events.get(logical, [])))
    for implicit, http in ((IMPLICIT_REST, False), (IMPLICIT_HTTP, True)):
        if events.get(implicit) and implicit not in ctx.resources:
            props: dict[str, Any] = {"StageName": DEFAULT_STAGE if http else "Prod"}
            props.update(_globals(ctx, "HttpApi" if http else "Api"))
            built.append(_api(ctx, implicit, http, props, events[implicit]))
    return built


def _globals(ctx: Context, section: str) -> dict[str, Any]:
    raw = (ctx.template.get("Globals") or {}).get(section) or {}
    return ctx.resolver.resolve(raw, ("Globals", section)) if isinstance(raw, dict) else {}


def _events(ctx: Context) -> dict[str, list[tuple[str, str, dict[str, Any], tuple[Any, ...]]]]:
    """API logical id → [(function name, event type, event properties, where)]."""
    found: dict[str, list[tuple[str, str, dict[str, Any], tuple[Any, ...]]]] = {}
    for logical, name in ctx.function_names.items():
        resource = ctx.resources[logical]
        if resource.get("Type") != "AWS::Serverless::Function" or not ctx.active(logical):
            continue
        events = (resource.get("Properties") or {}).get("Events") or {}
        for event_name, event in events.items() if isinstance(events, dict) else ():
            where = ("Resources", logical, "Properties", "Events", event_name)
            if not isinstance(event, dict) or event.get("Type") not in ("Api", "HttpApi"):
                if isinstance(event, dict):
                    ctx.notes.append(f"{logical}: {event.get('Type')} event {event_name} is not emulated")
                continue
            props = ctx.resolver.resolve(event.get("Properties") or {}, (*where, "Properties"))
            http = event["Type"] == "HttpApi"
            target = _api_ref(ctx, event.get("Properties") or {}, "ApiId" if http else "RestApiId", where)
            found.setdefault(target or (IMPLICIT_HTTP if http else IMPLICIT_REST), []).append(
                (name, event["Type"], props, where))
    return found


def _api_ref(ctx: Context, raw: dict[str, Any], key: str, where: tuple[Any, ...]) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    wanted = HTTP_API if key == "ApiId" else API
    if isinstance(value, dict) and isinstance(value.get("Ref"), str) and value["Ref"] in ctx.resources:
        kind = ctx.resources[value["Ref"]].get("Type")
        if kind == wanted:
            return value["Ref"]
        raise ctx.fail((*where, "Properties", key), f"{value['Ref']} is a {kind}: an event's {key} names an "
                                                    f"{wanted} of this template")
    raise ctx.fail((*where, "Properties", key), f"{key} must be !Ref to an {wanted} of this template")


def _api(ctx: Context, logical: str, http: bool, props: dict[str, Any], events: list[Any]) -> BuiltApi:
    where = ("Resources", logical)
    base = (*where, "Properties")
    name = str(props.get("Name") or logical)
    body_where = None
    if props.get("DefinitionBody") is not None:
        doc = props["DefinitionBody"]
        body_where = (*base, "DefinitionBody")
        if not isinstance(doc, dict):
            raise ctx.fail(body_where, "must be an OpenAPI document")
    elif props.get("DefinitionUri") is not None:
        doc = _definition_file(ctx, props["DefinitionUri"], (*base, "DefinitionUri"))
    else:
        doc = http_document(name) if http else rest_document(name)
    doc = copy.deepcopy(doc)
    doc.setdefault("info", {}).setdefault("title", name)
    stage = str(props.get("StageName") or (DEFAULT_STAGE if http else ""))
    if not stage:
        raise ctx.fail(base, "StageName is required")
    auth = props.get("Auth") or {}
    origins = {}
    if http:
        for function, _, event, ewhere in events:
            origins[_http_event(ctx, doc, function, event, auth, ewhere)] = (*ewhere, "Properties")
        _http_api_settings(ctx, doc, props, auth, base)
        variables = props.get("StageVariables") or {}
    else:
        for name, model in (props.get("Models") or {}).items():
            doc.setdefault("definitions", {})[name] = model
        for function, _, event, ewhere in events:
            origins[_rest_event(ctx, doc, function, event, auth, ewhere)] = (*ewhere, "Properties")
        _rest_api_settings(ctx, doc, props, auth, base)
        variables = props.get("Variables") or {}
    stage_spec = StageSpec(stage, {str(k): str(v) for k, v in variables.items()})
    if not http:
        apply_method_settings(stage_spec, props.get("MethodSettings"), props.get("CacheClusterEnabled"),
                              props.get("CacheClusterSize"))
    return BuiltApi(logical, HTTP if http else REST, doc, [stage_spec], where, body_where, origins=origins)


def _definition_file(ctx: Context, uri: Any, where: tuple[Any, ...]) -> dict[str, Any]:
    if not isinstance(uri, str) or uri.startswith("s3://"):
        raise ctx.fail(where, "must be the path of a local OpenAPI file (not S3)")
    path = (ctx.path.parent / uri).resolve()
    if not path.is_file():
        raise ctx.fail(where, f"file not found: {path}")
    text = path.read_text(encoding="utf-8")
    doc = parse_template(text, str(path)) if "Fn::" in text or "!" in text else load_document(Path(path))[0]
    if not isinstance(doc, dict):
        raise DocumentError(str(path), (), "must be an OpenAPI document")
    return ctx.resolver.resolve(doc, where)


def _authorizer_arn(ctx: Context, value: Any, where: tuple[Any, ...]) -> str:
    if not isinstance(value, str):
        raise ctx.fail(where, "FunctionArn must be a function's ARN (!GetAtt MyAuthorizer.Arn)")
    return value


def _rest_event(ctx: Context, doc: dict[str, Any], function: str, event: dict[str, Any], api_auth: dict[str, Any],
                where: tuple[Any, ...]) -> str:
    """Adds the event's method; returns its path."""
    path, method = event.get("Path"), event.get("Method")
    if not isinstance(path, str) or not isinstance(method, str):
        raise ctx.fail((*where, "Properties"), "an Api event needs Path and Method")
    operation: dict[str, Any] = {
        "responses": {},
        X + "integration": {"type": "aws_proxy", "httpMethod": "POST",
                            "uri": invocation_uri(ctx.region, lambda_arn(ctx.region, function))}}
    auth = event.get("Auth") or {}
    security = _rest_security(ctx, auth, api_auth, (*where, "Properties", "Auth"))
    if security:
        operation["security"] = security
    parameters = []
    for i, entry in enumerate(event.get("RequestParameters") or []):
        items = entry.items() if isinstance(entry, dict) else [(entry, {})]
        for name, spec in items:
            parts = str(name).split(".")
            if len(parts) != 4 or parts[:2] != ["method", "request"] or parts[2] not in ("header", "querystring",
                                                                                          "path"):
                raise ctx.fail((*where, "Properties", "RequestParameters", i),
                               "like method.request.querystring.NAME or method.request.header.NAME")
            located = {"querystring": "query", "header": "header", "path": "path"}[parts[2]]
            parameters.append({"name": parts[3], "in": located, "type": "string",
                               "required": bool((spec or {}).get("Required", False))})
    model = event.get("RequestModel")
    if isinstance(model, dict) and model.get("Model"):
        if model["Model"] not in (doc.get("definitions") or {}):
            raise ctx.fail((*where, "Properties", "RequestModel", "Model"), f"no model {model['Model']!r} in the "
                                                                            f"API's Models")
        parameters.append({"in": "body", "name": str(model["Model"]), "required": bool(model.get("Required")),
                           "schema": {"$ref": f"#/definitions/{model['Model']}"}})
        if model.get("ValidateBody") or model.get("Required"):
            doc.setdefault(X + "request-validators", {})["body-only"] = {"validateRequestBody": True,
                                                                         "validateRequestParameters": False}
            operation[X + "request-validator"] = "body-only"
    if parameters:
        operation["parameters"] = parameters
    add_operation(doc, path, method, operation)
    return path


def _rest_security(ctx: Context, auth: dict[str, Any], api_auth: dict[str, Any],
                   where: tuple[Any, ...]) -> list[dict[str, list[str]]]:
    name = auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
    security: list[dict[str, list[str]]] = []
    if name == "AWS_IAM":
        security.append({"sigv4": []})
    elif name not in (None, "NONE"):
        if name not in (api_auth.get("Authorizers") or {}):
            raise ctx.fail((*where, "Authorizer"), f"no authorizer {name!r} in the API's Auth.Authorizers")
        security.append({name: []})
    if auth.get("ApiKeyRequired", api_auth.get("ApiKeyRequired")):
        security.append({"api_key": []})
    return security


def _rest_api_settings(ctx: Context, doc: dict[str, Any], props: dict[str, Any], auth: dict[str, Any],
                       base: tuple[Any, ...]) -> None:
    schemes = security_schemes(doc) if (auth.get("Authorizers") or auth.get("ApiKeyRequired")
                                        or auth.get("DefaultAuthorizer") == "AWS_IAM") else {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        where = (*base, "Auth", "Authorizers", name)
        identity = spec.get("Identity") or {}
        if "UserPoolArn" in spec:
            pools = spec["UserPoolArn"] if isinstance(spec["UserPoolArn"], list) else [spec["UserPoolArn"]]
            schemes[name] = {"type": "apiKey", "in": "header", "name": identity.get("Header", "Authorization"),
                             X + "authtype": "cognito_user_pools",
                             X + "authorizer": {"type": "cognito_user_pools", "providerARNs": pools}}
            continue
        arn = _authorizer_arn(ctx, spec.get("FunctionArn"), (*where, "FunctionArn"))
        ttl = int(identity.get("ReauthorizeEvery", 300))
        authorizer: dict[str, Any] = {"authorizerUri": invocation_uri(ctx.region, arn),
                                      "authorizerResultTtlInSeconds": ttl}
        if str(spec.get("FunctionPayloadType", "TOKEN")).upper() == "REQUEST":
            sources = [f"method.request.header.{h}" for h in identity.get("Headers") or []]
            sources += [f"method.request.querystring.{q}" for q in identity.get("QueryStrings") or []]
            sources += [f"stageVariables.{s}" for s in identity.get("StageVariables") or []]
            sources += [f"context.{c}" for c in identity.get("Context") or []]
            authorizer.update(type="request", identitySource=", ".join(sources))
            header = "Unused"
        else:
            header = identity.get("Header", "Authorization")
            authorizer.update(type="token", identitySource=f"method.request.header.{header}")
            if identity.get("ValidationExpression"):
                authorizer["identityValidationExpression"] = identity["ValidationExpression"]
        schemes[name] = {"type": "apiKey", "in": "header", "name": header, X + "authtype": "custom",
                         X + "authorizer": authorizer}
    if any("api_key" in s for item in doc.get("paths", {}).values() if isinstance(item, dict)
           for op in item.values() if isinstance(op, dict) for s in op.get("security") or []):
        schemes["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
    if auth.get("DefaultAuthorizer") == "AWS_IAM" or "sigv4" in str(doc.get("paths")):
        schemes["sigv4"] = {"type": "apiKey", "name": "Authorization", "in": "header", X + "authtype": "awsSigv4"}
    if auth.get("ResourcePolicy"):
        _resource_policy(ctx, doc, auth["ResourcePolicy"], (*base, "Auth", "ResourcePolicy"))
    if props.get("BinaryMediaTypes"):
        doc[X + "binary-media-types"] = [str(t).replace("~1", "/") for t in props["BinaryMediaTypes"]]
    cors = props.get("Cors")
    if cors:
        add_rest_cors(doc, {"AllowOrigin": cors} if isinstance(cors, str) else cors)


def _resource_policy(ctx: Context, doc: dict[str, Any], policy: Any, where: tuple[Any, ...]) -> None:
    """SAM's ResourcePolicy: CustomStatements as written, IP allow and deny lists over the whole API (SAM writes
    them per method; the effect is the same); the VPC and account lists need AWS and are refused."""
    if not isinstance(policy, dict):
        raise ctx.fail(where, "must be a mapping")
    unsupported = sorted(set(policy) - {"CustomStatements", "IpRangeWhitelist", "IpRangeBlacklist"})
    if unsupported:
        raise ctx.fail((*where, unsupported[0]), "not enforced here: only CustomStatements, IpRangeWhitelist and "
                                                 "IpRangeBlacklist are (write the rest as CustomStatements)")
    custom = policy.get("CustomStatements") or []
    statements = list(custom) if isinstance(custom, list) else [custom]
    every = "execute-api:/*"
    allowed, denied = policy.get("IpRangeWhitelist"), policy.get("IpRangeBlacklist")
    if allowed or denied:
        statements.append({"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": every})
    if allowed:
        statements.append({"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": every,
                           "Condition": {"NotIpAddress": {"aws:SourceIp": allowed}}})
    if denied:
        statements.append({"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": every,
                           "Condition": {"IpAddress": {"aws:SourceIp": denied}}})
    doc[X + "policy"] = {"Version": "2012-10-17", "Statement": statements}


def _http_event(ctx: Context, doc: dict[str, Any], function: str, event: dict[str, Any], api_auth: dict[str, Any],
                where: tuple[Any, ...]) -> str:
    """Adds the event's route; returns its path."""
    path, method = event.get("Path"), event.get("Method")
    if path is None and method is None:
        path, method = "$default", "ANY"
    if not isinstance(path, str) or not isinstance(method, str):
        raise ctx.fail((*where, "Properties"), "an HttpApi event needs Path and Method (or neither: $default)")
    version = str(event.get("PayloadFormatVersion", "2.0"))
    operation: dict[str, Any] = {X + "integration": {"type": "aws_proxy", "httpMethod": "POST",
                                                     "uri": lambda_arn(ctx.region, function),
                                                     "payloadFormatVersion": version}}
    if event.get("TimeoutInMillis"):
        operation[X + "integration"]["timeoutInMillis"] = int(event["TimeoutInMillis"])
    auth = event.get("Auth") or {}
    name = auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
    if name == "AWS_IAM":
        operation["security"] = [{"sigv4": []}]
    elif name not in (None, "NONE"):
        if name not in (api_auth.get("Authorizers") or {}):
            raise ctx.fail((*where, "Properties", "Auth", "Authorizer"),
                           f"no authorizer {name!r} in the API's Auth.Authorizers")
        operation["security"] = [{name: list(auth.get("AuthorizationScopes") or [])}]
    add_operation(doc, path, method.upper() if method.lower() != "any" else "any", operation)
    return path


def _http_api_settings(ctx: Context, doc: dict[str, Any], props: dict[str, Any], auth: dict[str, Any],
                       base: tuple[Any, ...]) -> None:
    schemes = security_schemes(doc) if auth.get("Authorizers") or "sigv4" in str(doc.get("paths")) else {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        where = (*base, "Auth", "Authorizers", name)
        if "JwtConfiguration" in spec:
            jwt = spec["JwtConfiguration"]
            config: dict[str, Any] = {"issuer": jwt.get("issuer") or jwt.get("Issuer")}
            audience = jwt.get("audience") or jwt.get("Audience")
            if audience:
                config["audience"] = audience if isinstance(audience, list) else [audience]
            schemes[name] = {"type": "oauth2", X + "authorizer": {
                "type": "jwt", "jwtConfiguration": config,
                "identitySource": spec.get("IdentitySource", "$request.header.Authorization")}}
            continue
        arn = _authorizer_arn(ctx, spec.get("FunctionArn"), (*where, "FunctionArn"))
        identity = spec.get("Identity") or {}
        sources = [f"$request.header.{h}" for h in identity.get("Headers") or []]
        sources += [f"$request.querystring.{q}" for q in identity.get("QueryStrings") or []]
        authorizer: dict[str, Any] = {
            "type": "request", "authorizerUri": invocation_uri(ctx.region, arn),
            "authorizerPayloadFormatVersion": str(spec.get("AuthorizerPayloadFormatVersion", "2.0")),
            "enableSimpleResponses": bool(spec.get("EnableSimpleResponses", False)),
            "identitySource": ", ".join(sources) if sources else "$request.header.Authorization",
            "authorizerResultTtlInSeconds": int(identity.get("ReauthorizeEvery", 300)) if sources else 0}
        schemes[name] = {"type": "apiKey", "in": "header", "name": "Unused", X + "authorizer": authorizer}
    if "sigv4" in str(doc.get("paths")):
        schemes["sigv4"] = {"type": "apiKey", "name": "Authorization", "in": "header", X + "authtype": "awsSigv4"}
    cors = props.get("CorsConfiguration")
    if cors is True:
        doc[X + "cors"] = {"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"]}
    elif isinstance(cors, dict):
        doc[X + "cors"] = {k[0].lower() + k[1:]: v for k, v in cors.items()}

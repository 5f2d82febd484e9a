"""`http` events → the service's REST API (`{stage}-{service}`, stage `provider.stage`) as an OpenAPI document:
Lambda proxy, Lambda (custom), mock, HTTP and HTTP proxy integrations, per-path CORS, `private` (API key),
Lambda TOKEN/REQUEST and Cognito authorizers, request parameters, and `provider.apiGateway`'s resource policy
and binary media types."""

from __future__ import annotations

import re
from typing import Any

from apiway.config import StageSpec
from apiway.templates.context import invocation_uri, lambda_arn
from apiway.templates.documents import REST, BuiltApi, X, add_operation, add_rest_cors, rest_document, security_schemes
from apiway.templates.serverless.service import REST_API, Service

CORS_HEADERS = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent,X-Amzn-Trace-Id"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
INTEGRATIONS = {"lambda-proxy": "aws_proxy", "aws_proxy": "aws_proxy", "aws-proxy": "aws_proxy",
                "lambda_proxy": "aws_proxy", "lambda": "aws", "aws": "aws", "mock": "mock", "http": "http",
                "http-proxy": "http_proxy", "http_proxy": "http_proxy"}
Event = tuple[str, dict[str, Any], tuple[Any, ...]]  # function key, event, where


def _map_of(expression: str) -> str:
    """A JSON object of a VTL map's entries, every value a string."""
    return (f'{{#foreach($key in {expression}.keySet())"$util.escapeJavaScript($key)": '
            f'"$util.escapeJavaScript({expression}.get($key))"#if($foreach.hasNext),#end#end}}')


# The event the Framework's `integration: lambda` hands a function (its default application/json template).
LAMBDA_EVENT_TEMPLATE = (
    '{"body": $input.json(\'$\'), "method": "$context.httpMethod", '
    '"principalId": "$context.authorizer.principalId", "stage": "$context.stage", '
    '"cognitoPoolClaims": {"sub": "$context.authorizer.claims.sub"}, '
    f'"enhancedAuthContext": {_map_of("$context.authorizer")}, '
    f'"headers": {_map_of("$input.params().header")}, "query": {_map_of("$input.params().querystring")}, '
    f'"path": {_map_of("$input.params().path")}, "identity": {_map_of("$context.identity")}, '
    f'"stageVariables": {_map_of("$stageVariables")}, "requestPath": "$context.resourcePath"}}')
# Its default responses: a function's error message carrying `[400]` … answers with that status.
LAMBDA_STATUS_CODES = {"200": "", "400": r"[\s\S]*\[400\][\s\S]*", "401": r"[\s\S]*\[401\][\s\S]*",
                       "403": r"[\s\S]*\[403\][\s\S]*", "404": r"[\s\S]*\[404\][\s\S]*",
                       "422": r"[\s\S]*\[422\][\s\S]*",
                       "500": r"[\s\S]*(Process\s?exited\s?before\s?completing\s?request|\[500\])[\s\S]*",
                       "502": r"[\s\S]*\[502\][\s\S]*",
                       "504": r"([\s\S]*\[504\][\s\S]*)|(.*Task timed out after \d+\.\d+ seconds$)"}


def read_rest_api(service: Service, events: list[Event]) -> BuiltApi | None:
    if not events:
        return None
    provider = service.config.get("provider") or {}
    name = str(provider.get("apiName") or f"{service.stage}-{service.name}")
    gateway = provider.get("apiGateway") or {}
    if isinstance(gateway, dict) and gateway.get("shouldStartNameWithService") and not provider.get("apiName"):
        name = f"{service.name}-{service.stage}"
    doc = rest_document(name)
    origins: dict[str, tuple[Any, ...]] = {}
    cors_paths: dict[str, dict[str, Any]] = {}
    for key, event, where in events:
        path, cors = _event(service, doc, key, event, where)
        origins[path] = where
        if cors is not None:
            cors_paths[path] = cors
    for path, cors in cors_paths.items():
        add_rest_cors({"paths": {path: doc["paths"][path]}}, cors)
    if any("api_key" in s for item in doc["paths"].values() for op in item.values() if isinstance(op, dict)
           for s in op.get("security") or []):
        security_schemes(doc)["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
    if isinstance(gateway, dict):
        _gateway_settings(service, doc, gateway)
    _gateway_responses(service, doc)
    return BuiltApi(REST_API, REST, doc, [StageSpec(service.stage)], ("functions",), origins=origins)


def _gateway_settings(service: Service, doc: dict[str, Any], gateway: dict[str, Any]) -> None:
    where = ("provider", "apiGateway")
    for shared in ("restApiId", "restApiRootResourceId", "websocketApiId"):
        if gateway.get(shared):
            raise service.fail((*where, shared), "an API of another stack is not served here (leave it out: the "
                                                 "service's own API is)")
    source = gateway.get("apiKeySourceType")
    if source is not None:
        doc[X + "api-key-source"] = str(source).upper()
    policy = gateway.get("resourcePolicy")
    if policy:
        if not isinstance(policy, list):
            raise service.fail((*where, "resourcePolicy"), "a list of IAM policy statements")
        doc[X + "policy"] = {"Version": "2012-10-17",
                             "Statement": service.intrinsics(policy, (*where, "resourcePolicy"))}
    types = gateway.get("binaryMediaTypes")
    if types:
        if not isinstance(types, list):
            raise service.fail((*where, "binaryMediaTypes"), "a list of media types")
        doc[X + "binary-media-types"] = [str(t) for t in types]


def _gateway_responses(service: Service, doc: dict[str, Any]) -> None:
    """`AWS::ApiGateway::GatewayResponse` resources of the service's REST API (`RestApiId: !Ref
    ApiGatewayRestApi`), commonly CORS headers on authorizer failures."""
    for logical, resource in service.cfn.resources.items():
        props = resource.get("Properties") or {}
        if resource.get("Type") != "AWS::ApiGateway::GatewayResponse" or not isinstance(props, dict) \
                or props.get("RestApiId") != {"Ref": REST_API}:
            continue
        spec = service.cfn.resolved(logical)
        response: dict[str, Any] = {}
        if spec.get("StatusCode"):
            response["statusCode"] = str(spec["StatusCode"])
        for key in ("ResponseParameters", "ResponseTemplates"):
            if spec.get(key):
                response[key[0].lower() + key[1:]] = spec[key]
        doc.setdefault(X + "gateway-responses", {})[str(spec.get("ResponseType"))] = response
        service.used_resources.add(logical)


def _event(service: Service, doc: dict[str, Any], key: str, event: dict[str, Any],
           where: tuple[Any, ...]) -> tuple[str, dict[str, Any] | None]:
    if not isinstance(event, dict):
        raise service.fail(where, "'METHOD path', or a mapping with path and method")
    path, method = event.get("path"), event.get("method")
    if not isinstance(path, str) or not isinstance(method, str):
        raise service.fail(where, "an http event needs a path and a method (or the `GET path` shorthand)")
    path = "/" + path.strip("/") if path.strip("/") else "/"
    method = method.upper() if method != "*" else "ANY"
    if method not in METHODS:
        raise service.fail((*where, "method"), f"{method}: one of {', '.join(METHODS)} (or *)")
    operation: dict[str, Any] = {"responses": {}, X + "integration": _integration(service, key, event, where)}
    security = _security(service, doc, event, where)
    if security:
        operation["security"] = security
    parameters = _parameters(service, event, where) + _body(service, doc, event, where, operation)
    if parameters:
        operation["parameters"] = parameters
    if not add_operation(doc, path, "any" if method == "ANY" else method, operation):
        raise service.fail((*where, "path"), f"{method} {path} is already an http event of another function")
    return path, _cors(service, event.get("cors"), (*where, "cors"))


def _integration(service: Service, key: str, event: dict[str, Any], where: tuple[Any, ...]) -> dict[str, Any]:
    raw = str(event.get("integration") or "lambda-proxy").lower()
    kind = INTEGRATIONS.get(raw)
    if kind is None:
        raise service.fail((*where, "integration"), f"{raw}: one of lambda-proxy, lambda, mock, http, http-proxy")
    request = event.get("request") or {}
    if not isinstance(request, dict):
        raise service.fail((*where, "request"), "must be a mapping")
    integration: dict[str, Any] = {"type": kind}
    if kind in ("aws_proxy", "aws"):
        integration.update(httpMethod="POST", uri=invocation_uri(service.region, lambda_arn(
            service.region, service.function_names[key])))
    elif kind in ("http", "http_proxy"):
        uri = request.get("uri")
        if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
            raise service.fail((*where, "request", "uri"), f"an {raw} integration needs request.uri, an http:// "
                                                           f"or https:// URL")
        verb = str(request.get("method") or event.get("method")).upper()
        integration.update(httpMethod="ANY" if verb in ("ANY", "*") else verb, uri=uri)
        params = _request_parameters(request.get("parameters"))
        if params:  # the URI's variables and the forwarded parameters come from the method's
            integration["requestParameters"] = {f"integration.request.{k}": f"method.request.{k}" for k in params}
    if kind in ("aws", "mock", "http"):
        templates: dict[str, str] = {"application/json": LAMBDA_EVENT_TEMPLATE} if kind == "aws" else {}
        given = request.get("template")
        if given is not None and not isinstance(given, dict):
            raise service.fail((*where, "request", "template"), "a mapping of content types to templates")
        for content_type, template in (given or {}).items():  # null removes a default template
            if template is None:
                templates.pop(str(content_type), None)
            else:
                templates[str(content_type)] = str(template)
        if kind == "mock" and not templates:
            templates = {"application/json": '{"statusCode": 200}'}
        if templates:
            integration["requestTemplates"] = templates
        integration["passthroughBehavior"] = str(request.get("passThrough") or "WHEN_NO_MATCH").lower()
        integration["responses"] = _responses(service, event.get("response"), (*where, "response"), kind == "aws")
    return integration


def _responses(service: Service, raw: Any, where: tuple[Any, ...], lambda_defaults: bool) -> dict[str, Any]:
    """The integration's responses: `response.statusCodes` with their patterns; else, for a Lambda function, the
    Framework's status codes chosen by `[NNN]` in the error message, and 200 for everything otherwise."""
    response = raw if isinstance(raw, dict) else {}
    headers = {f"method.response.header.{k}": str(v) for k, v in (response.get("headers") or {}).items()}
    template = response.get("template")
    codes = response.get("statusCodes")
    if (not isinstance(codes, dict) or not codes) and lambda_defaults:
        codes = {code: {"pattern": pattern} for code, pattern in LAMBDA_STATUS_CODES.items()}
    if not isinstance(codes, dict) or not codes:
        out: dict[str, Any] = {"statusCode": "200"}
        if headers:
            out["responseParameters"] = headers
        if template is not None:
            out["responseTemplates"] = {"application/json": str(template)}
        return {"default": out}
    responses = {}
    for code, spec in codes.items():
        spec = spec if isinstance(spec, dict) else {}
        pattern = str(spec.get("pattern", "default")) or "default"
        entry: dict[str, Any] = {"statusCode": str(code)}
        if template is not None:
            entry["responseTemplates"] = {"application/json": str(template)}
        if spec.get("template") is not None:
            value = spec["template"]
            entry["responseTemplates"] = ({str(k): str(v) for k, v in value.items()} if isinstance(value, dict)
                                          else {"application/json": str(value)})
        if headers or spec.get("headers"):
            entry["responseParameters"] = {**headers, **{f"method.response.header.{k}": str(v)
                                                         for k, v in (spec.get("headers") or {}).items()}}
        responses[pattern] = entry
    if "default" not in responses:
        raise service.fail((*where, "statusCodes"), "one status code needs no pattern (the default response)")
    return responses


def _body(service: Service, doc: dict[str, Any], event: dict[str, Any], where: tuple[Any, ...],
          operation: dict[str, Any]) -> list[dict[str, Any]]:
    """`request.schemas` (`{content type: schema}`, or the name of one of `provider.apiGateway.request.schemas`):
    the body's model, validated with the parameters, as the Framework's request validator does."""
    request = event.get("request") if isinstance(event.get("request"), dict) else {}
    schemas = (request or {}).get("schemas")
    if not schemas:
        return []
    at = (*where, "request", "schemas")
    if not isinstance(schemas, dict):
        raise service.fail(at, "a mapping of content types to JSON schemas (or to names of "
                               "provider.apiGateway.request.schemas)")
    content_type, schema = next(iter(schemas.items()))
    if len(schemas) > 1:
        service.notes.append(f"{'.'.join(map(str, at))}: the body is validated against the {content_type} schema "
                             f"only")
    if isinstance(schema, str):
        shared = (((service.config.get("provider") or {}).get("apiGateway") or {}).get("request") or {})
        named = (shared.get("schemas") or {}).get(schema)
        if not isinstance(named, dict) or not isinstance(named.get("schema"), dict):
            raise service.fail((*at, content_type), f"no schema {schema!r} in provider.apiGateway.request.schemas")
        model, schema = str(named.get("name") or schema), named["schema"]
    elif isinstance(schema, dict):
        model = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]", str(event["path"])) if p) + \
            str(event["method"]).capitalize() + "Model"
    else:
        raise service.fail((*at, content_type), "a JSON schema, or the name of one")
    doc.setdefault("definitions", {})[model] = schema
    doc.setdefault(X + "request-validators", {})["body-and-parameters"] = {"validateRequestBody": True,
                                                                           "validateRequestParameters": True}
    operation[X + "request-validator"] = "body-and-parameters"
    operation["consumes"] = [str(content_type)]
    return [{"in": "body", "name": model, "required": True, "schema": {"$ref": f"#/definitions/{model}"}}]


def _request_parameters(raw: Any) -> list[str]:
    """`request.parameters` ({querystrings|headers|paths: {name: required}}) as `querystring.name` …"""
    out = []
    for group, located in (("querystrings", "querystring"), ("headers", "header"), ("paths", "path")):
        for name in ((raw or {}).get(group) or {}) if isinstance(raw, dict) else {}:
            out.append(f"{located}.{name}")
    return out


def _parameters(service: Service, event: dict[str, Any], where: tuple[Any, ...]) -> list[dict[str, Any]]:
    raw = (event.get("request") or {}).get("parameters") if isinstance(event.get("request"), dict) else None
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise service.fail((*where, "request", "parameters"), "a mapping of querystrings, headers and paths")
    out = []
    for group, located in (("querystrings", "query"), ("headers", "header"), ("paths", "path")):
        entries = raw.get(group) or {}
        if not isinstance(entries, dict):
            raise service.fail((*where, "request", "parameters", group), "a mapping of names to true (required) or "
                                                                        "false")
        for name, required in entries.items():
            if isinstance(required, dict):
                required = required.get("required", False)
            out.append({"name": str(name), "in": located, "type": "string",
                        "required": located == "path" or required is True})
    return out


def _cors(service: Service, raw: Any, where: tuple[Any, ...]) -> dict[str, Any] | None:
    """The Framework's `cors: true` or `{origin(s), headers, allowCredentials, maxAge}` as SAM-style settings
    (header values quoted) for the OPTIONS method it adds to the path."""
    if raw in (None, False):
        return None
    if raw is True:
        return {"AllowOrigin": "*", "AllowHeaders": CORS_HEADERS}
    if not isinstance(raw, dict):
        raise service.fail(where, "true, or a mapping with origin(s), headers, allowCredentials, maxAge")
    origins = raw.get("origins", raw.get("origin", "*"))
    if isinstance(origins, list):
        if len(origins) != 1:
            origins = "*" if "*" in origins else origins[0]
            service.notes.append(f"{'.'.join(map(str, where))}: several CORS origins: the OPTIONS method answers "
                                 f"the first ({origins})")
        else:
            origins = origins[0]
    headers = raw.get("headers", CORS_HEADERS)
    cors: dict[str, Any] = {"AllowOrigin": str(origins),
                            "AllowHeaders": ",".join(map(str, headers)) if isinstance(headers, list) else str(headers)}
    if raw.get("methods"):
        cors["AllowMethods"] = ",".join(map(str, raw["methods"])) if isinstance(raw["methods"], list) \
            else str(raw["methods"])
    if raw.get("allowCredentials") is True:
        cors["AllowCredentials"] = True
    if raw.get("maxAge") is not None:
        cors["MaxAge"] = raw["maxAge"]
    return cors


def _security(service: Service, doc: dict[str, Any], event: dict[str, Any],
              where: tuple[Any, ...]) -> list[dict[str, list[str]]]:
    security: list[dict[str, list[str]]] = []
    authorizer = event.get("authorizer")
    if authorizer is not None:
        security.append(_authorizer(service, doc, authorizer, (*where, "authorizer")))
    if event.get("private") is True:
        security.append({"api_key": []})
    return security


def _authorizer(service: Service, doc: dict[str, Any], raw: Any, where: tuple[Any, ...]) -> dict[str, list[str]]:
    """A function of the service (or its ARN) → a Lambda TOKEN (or `type: request`) authorizer; a Cognito user
    pool ARN → COGNITO_USER_POOLS; `aws_iam` → SigV4."""
    spec: dict[str, Any] = raw if isinstance(raw, dict) else {"name": raw} if isinstance(raw, str) else {}
    target = spec.get("arn") or spec.get("name")
    if not isinstance(target, str):
        raise service.fail(where, "the name of a function of this service, a Lambda or Cognito user pool ARN, or "
                                  "aws_iam")
    schemes = security_schemes(doc)
    kind = str(spec.get("type") or "").upper()
    if target.lower() == "aws_iam" or kind == "AWS_IAM":
        schemes["sigv4"] = {"type": "apiKey", "name": "Authorization", "in": "header", X + "authtype": "awsSigv4"}
        return {"sigv4": []}
    source = str(spec.get("identitySource") or "method.request.header.Authorization")
    if ":cognito-idp:" in target or kind == "COGNITO_USER_POOLS":
        name = str(spec.get("name") or target.rsplit("/", 1)[-1])
        header = source.rsplit(".", 1)[-1]
        schemes[name] = {"type": "apiKey", "in": "header", "name": header, X + "authtype": "cognito_user_pools",
                         X + "authorizer": {"type": "cognito_user_pools", "providerARNs": [target]}}
        return {name: [str(s) for s in spec.get("scopes") or []]}
    function = service.function(target, (*where, "arn" if "arn" in spec else "name") if isinstance(raw, dict)
                                else where)
    name = str(spec.get("name")) if spec.get("name") and not str(spec["name"]).startswith("arn:") else function
    ttl = spec.get("resultTtlInSeconds", 300)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= 3600:
        raise service.fail((*where, "resultTtlInSeconds"), "seconds, an integer from 0 to 3600")
    authorizer: dict[str, Any] = {"authorizerUri": invocation_uri(service.region, lambda_arn(service.region,
                                                                                             function)),
                                  "authorizerResultTtlInSeconds": int(ttl)}
    if kind == "REQUEST":
        authorizer.update(type="request", identitySource=source if spec.get("identitySource") else "")
        if not authorizer["identitySource"]:
            del authorizer["identitySource"]
            authorizer["authorizerResultTtlInSeconds"] = 0
        header = "Unused"
    else:
        authorizer.update(type="token", identitySource=source)
        if spec.get("identityValidationExpression"):
            authorizer["identityValidationExpression"] = str(spec["identityValidationExpression"])
        header = source.rsplit(".", 1)[-1]
    schemes[name] = {"type": "apiKey", "in": "header", "name": header, X + "authtype": "custom",
                     X + "authorizer": authorizer}
    return {name: []}

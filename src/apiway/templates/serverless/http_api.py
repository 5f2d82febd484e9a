"""`httpApi` events → the service's HTTP API (`{stage}-{service}`, on its `$default` stage, as the Framework
deploys it) as an OpenAPI document: Lambda proxy routes in the payload format `provider.httpApi.payload` (or
the function's `httpApi.payload`, default 2.0), `provider.httpApi.cors`, and its JWT and Lambda authorizers."""

from __future__ import annotations

from typing import Any

from apiway.config import StageSpec
from apiway.model.http import DEFAULT_STAGE
from apiway.templates.context import invocation_uri, lambda_arn
from apiway.templates.documents import HTTP, BuiltApi, X, add_operation, http_document, security_schemes
from apiway.templates.serverless.service import HTTP_API, Service

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
CORS_HEADERS = ["Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "X-Amz-Security-Token",
                "X-Amz-User-Agent", "X-Amzn-Trace-Id"]
Event = tuple[str, Any, tuple[Any, ...]]


def read_http_api(service: Service, events: list[Event]) -> BuiltApi | None:
    if not events:
        return None
    provider = service.config.get("provider") or {}
    config = provider.get("httpApi") or {}
    if not isinstance(config, dict):
        raise service.fail(("provider", "httpApi"), "must be a mapping")
    if config.get("id"):
        raise service.fail(("provider", "httpApi", "id"), "an HTTP API of another stack is not served here (leave "
                                                          "out id: the service's own API is)")
    doc = http_document(str(config.get("name") or f"{service.stage}-{service.name}"))
    authorizers = _authorizers(service, doc, config.get("authorizers"))
    methods: set[str] = set()
    origins: dict[str, tuple[Any, ...]] = {}
    for key, event, where in events:
        path, method = _route(service, key, event, where, doc, config, authorizers)
        methods.add(method)
        origins[path] = where
    cors = config.get("cors")
    if cors:
        doc[X + "cors"] = _cors(service, cors, methods)
    return BuiltApi(HTTP_API, HTTP, doc, [StageSpec(DEFAULT_STAGE)], ("functions",), origins=origins)


def _route(service: Service, key: str, event: Any, where: tuple[Any, ...], doc: dict[str, Any],
           config: dict[str, Any], authorizers: set[str]) -> tuple[str, str]:
    if isinstance(event, str):
        if event.strip() == "*":
            method, path = "ANY", "*"
        else:
            method, _, path = event.strip().partition(" ")
        event = {}
    elif isinstance(event, dict):
        method, path = str(event.get("method", "")), str(event.get("path", ""))
    else:
        raise service.fail(where, "'METHOD /path', '*', or a mapping with method and path")
    if not (path == "*" or path.startswith("/")):
        raise service.fail(where, "the path starts with / (or is * for every path)")
    method = "ANY" if method in ("*", "") and path == "*" else method.upper() if method != "*" else "ANY"
    if method not in METHODS:
        raise service.fail(where, f"{method or 'no method'}: one of {', '.join(METHODS)} (or *)")
    function = (service.config.get("functions") or {}).get(key) or {}
    payload = str(((function.get("httpApi") or {}) if isinstance(function, dict) else {}).get("payload")
                  or config.get("payload") or "2.0")
    operation: dict[str, Any] = {X + "integration": {
        "type": "aws_proxy", "httpMethod": "POST", "uri": lambda_arn(service.region, service.function_names[key]),
        "payloadFormatVersion": payload}}
    authorizer = event.get("authorizer")
    if authorizer is not None:
        spec = authorizer if isinstance(authorizer, dict) else {"name": authorizer}
        if str(spec.get("type", "")).lower() == "aws_iam":
            security_schemes(doc)["sigv4"] = {"type": "apiKey", "name": "Authorization", "in": "header",
                                              X + "authtype": "awsSigv4"}
            operation["security"] = [{"sigv4": []}]
        elif spec.get("name") in authorizers:
            operation["security"] = [{str(spec["name"]): [str(s) for s in spec.get("scopes") or []]}]
        else:
            raise service.fail((*where, "authorizer"), f"no authorizer {spec.get('name')!r} in "
                                                       f"provider.httpApi.authorizers")
    route_path = "$default" if path == "*" else path
    if not add_operation(doc, route_path, "any" if method == "ANY" else method, operation):
        raise service.fail(where, f"the route {method} {path} is already an httpApi event of another function")
    return route_path, method


def _authorizers(service: Service, doc: dict[str, Any], raw: Any) -> set[str]:
    where = ("provider", "httpApi", "authorizers")
    if raw is None:
        return set()
    if not isinstance(raw, dict):
        raise service.fail(where, "a mapping of authorizer names to authorizers")
    schemes = security_schemes(doc)
    for name, spec in raw.items():
        at = (*where, name)
        if not isinstance(spec, dict):
            raise service.fail(at, "must be a mapping")
        sources = spec.get("identitySource") or []
        sources = [str(s) for s in (sources if isinstance(sources, list) else [sources])]
        if spec.get("type") == "request":
            if bool(spec.get("functionName")) == bool(spec.get("functionArn")):
                raise service.fail(at, "give either functionName or functionArn")
            function = service.function(spec.get("functionName") or spec.get("functionArn"),
                                        (*at, "functionName" if spec.get("functionName") else "functionArn"))
            ttl = spec.get("resultTtlInSeconds") or 0
            if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= 3600:
                raise service.fail((*at, "resultTtlInSeconds"), "seconds, an integer from 0 to 3600")
            if ttl and not sources:
                raise service.fail((*at, "resultTtlInSeconds"), "caching needs identitySource")
            authorizer: dict[str, Any] = {
                "type": "request", "authorizerUri": invocation_uri(service.region, lambda_arn(service.region,
                                                                                             function)),
                "authorizerPayloadFormatVersion": str(spec.get("payloadVersion") or "2.0"),
                "enableSimpleResponses": spec.get("enableSimpleResponses") is True,
                "authorizerResultTtlInSeconds": ttl}
            if sources:
                authorizer["identitySource"] = ", ".join(sources)
            schemes[str(spec.get("name") or name)] = {"type": "apiKey", "in": "header", "name": "Unused",
                                                      X + "authorizer": authorizer}
            continue
        if spec.get("type") not in (None, "jwt"):
            raise service.fail((*at, "type"), "request or jwt")
        if not isinstance(spec.get("issuerUrl"), str):
            raise service.fail(at, "a JWT authorizer needs issuerUrl (and audience)")
        audience = spec.get("audience") or []
        config = {"issuer": spec["issuerUrl"],
                  "audience": [str(a) for a in (audience if isinstance(audience, list) else [audience])]}
        schemes[str(spec.get("name") or name)] = {"type": "oauth2", X + "authorizer": {
            "type": "jwt", "jwtConfiguration": config,
            "identitySource": ", ".join(sources) if sources else "$request.header.Authorization"}}
    return {str(n) for n in raw}


def _cors(service: Service, raw: Any, methods: set[str]) -> dict[str, Any]:
    """`cors: true`: any origin, the Framework's header list, OPTIONS and the routes' methods."""
    where = ("provider", "httpApi", "cors")
    every = [*sorted({m for m in METHODS if m != "ANY"} if "ANY" in methods else methods), "OPTIONS"]
    if raw is True:
        return {"allowOrigins": ["*"], "allowHeaders": CORS_HEADERS, "allowMethods": sorted(set(every))}
    if not isinstance(raw, dict):
        raise service.fail(where, "true, or a mapping with allowedOrigins, allowedHeaders, allowedMethods, "
                                  "allowCredentials, exposedResponseHeaders, maxAge")

    def listed(key: str, default: list[str]) -> list[str]:
        value = raw.get(key, default)
        return [str(v) for v in (value if isinstance(value, list) else [value])]

    cors: dict[str, Any] = {"allowOrigins": listed("allowedOrigins", ["*"]),
                            "allowHeaders": listed("allowedHeaders", CORS_HEADERS),
                            "allowMethods": listed("allowedMethods", sorted(set(every)))}
    if raw.get("allowCredentials") is True:
        cors["allowCredentials"] = True
    if raw.get("exposedResponseHeaders"):
        cors["exposeHeaders"] = listed("exposedResponseHeaders", [])
    if raw.get("maxAge") is not None:
        if isinstance(raw["maxAge"], bool) or not isinstance(raw["maxAge"], int):
            raise service.fail((*where, "maxAge"), "seconds, an integer")
        cors["maxAge"] = raw["maxAge"]
    return cors

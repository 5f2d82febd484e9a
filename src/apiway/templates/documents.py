"""An API read from a template, as the OpenAPI document the importers take, plus its stages; and the pieces
both the SAM and the plain CloudFormation readers write into such documents."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from apiway.config import HTTP as HTTP_KIND
from apiway.config import REST as REST_KIND
from apiway.config import ApiSpec, StageSpec
from apiway.model.documents import DocumentError
from apiway.model.method_settings import ALL_METHODS, CACHE_SIZES, normalised_key
from apiway.openapi.http_importer import import_http_api
from apiway.openapi.importer import import_openapi

X = "x-amazon-apigateway-"
REST, HTTP = "REST", "HTTP"
VERBS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass
class BuiltApi:
    logical_id: str
    kind: str  # REST or HTTP
    doc: dict[str, Any]
    stages: list[StageSpec]
    where: tuple[Any, ...]  # the resource, for messages
    body_where: tuple[Any, ...] | None = None  # DefinitionBody/Body: the document's keys are the template's
    origins: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # a path built from an event → the event
    notes: list[str] = field(default_factory=list)


def imported(built: BuiltApi, api_id: str, source: str) -> ApiSpec:
    """The API as the deployer takes it, imported once here so that a problem is found (and located by the caller,
    from `failed_path`) before anything is served."""
    text = orjson.dumps(built.doc, option=orjson.OPT_SORT_KEYS).decode()
    if built.kind == HTTP:
        import_http_api(copy.deepcopy(built.doc), text, source, api_id, strict=True)
    else:
        import_openapi(copy.deepcopy(built.doc), text, source, api_id)
    return ApiSpec(Path(source), built.stages, api_id, REST_KIND if built.kind == REST else HTTP_KIND,
                   (built.doc, text))


def failed_path(exc: DocumentError) -> str | None:
    """The OpenAPI path an import error is about, if any."""
    return str(exc.where[1]) if len(exc.where) > 1 and exc.where[0] == "paths" else None


def operation_key(method: str) -> str:
    lowered = method.lower()
    return X + "any-method" if lowered in ("any", "x-amazon-apigateway-any-method") else lowered


def rest_document(title: str) -> dict[str, Any]:
    return {"swagger": "2.0", "info": {"title": title, "version": "1.0"}, "paths": {}}


def http_document(title: str) -> dict[str, Any]:
    return {"openapi": "3.0.1", "info": {"title": title, "version": "1.0"}, "paths": {}}


def add_operation(doc: dict[str, Any], path: str, method: str, operation: dict[str, Any]) -> bool:
    """Adds the operation unless the document already has one there (a definition body wins, as in SAM)."""
    item = doc.setdefault("paths", {}).setdefault(path, {})
    key = operation_key(method)
    if key in item:
        existing = item[key]
        for name, value in operation.items():
            existing.setdefault(name, value)
        return False
    item[key] = operation
    return True


def security_schemes(doc: dict[str, Any]) -> dict[str, Any]:
    if "swagger" in doc:
        return doc.setdefault("securityDefinitions", {})
    return doc.setdefault("components", {}).setdefault("securitySchemes", {})


def quoted(value: Any) -> str:
    """SAM's CORS values are header values in single quotes (`"'*'"`); a bare one is taken as written."""
    text = str(value)
    return text if len(text) >= 2 and text[0] == text[-1] == "'" else f"'{text}'"


def add_rest_cors(doc: dict[str, Any], cors: dict[str, Any]) -> None:
    """SAM's `Cors` on a REST API: an OPTIONS method answered by a MOCK integration on every path, with the
    Access-Control-* headers (a Lambda proxy still sets its own on the actual responses, as on AWS)."""
    headers = {"Access-Control-Allow-Origin": quoted(cors.get("AllowOrigin", "*"))}
    if cors.get("AllowHeaders") is not None:
        headers["Access-Control-Allow-Headers"] = quoted(cors["AllowHeaders"])
    if cors.get("MaxAge") is not None:
        headers["Access-Control-Max-Age"] = quoted(cors["MaxAge"])
    if cors.get("AllowCredentials") is True:
        headers["Access-Control-Allow-Credentials"] = "'true'"
    for item in doc.get("paths", {}).values():
        if not isinstance(item, dict) or "options" in item:
            continue
        methods = sorted({k.upper() for k in item if k in VERBS} | {"OPTIONS"}) \
            if X + "any-method" not in item else ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
        allowed = dict(headers)
        allowed["Access-Control-Allow-Methods"] = quoted(cors["AllowMethods"]) if cors.get("AllowMethods") \
            else f"'{','.join(methods)}'"
        item["options"] = {
            "consumes": ["application/json"], "produces": ["application/json"],
            "responses": {"200": {"description": "CORS", "headers": {h: {"type": "string"} for h in allowed}}},
            X + "integration": {
                "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                "passthroughBehavior": "when_no_match",
                "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": ""},
                                          "responseParameters": {f"method.response.header.{h}": v
                                                                 for h, v in allowed.items()}}}}}


_SETTINGS = {"ThrottlingRateLimit": float, "ThrottlingBurstLimit": int, "CachingEnabled": bool,
             "CacheTtlInSeconds": int, "CacheDataEncrypted": bool, "MetricsEnabled": bool, "DataTraceEnabled": bool,
             "LoggingLevel": str, "RequireAuthorizationForCacheControl": bool,
             "UnauthorizedCacheControlHeaderStrategy": str}


def apply_method_settings(stage: StageSpec, entries: Any, cache_enabled: Any = None, cache_size: Any = None) -> None:
    """CloudFormation's MethodSettings (`ResourcePath` `/*` or `/~1pets~1{id}`, `HttpMethod`) as the stage's
    methodSettings; the stage cache when the template enables it."""
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        path, verb = str(entry.get("ResourcePath", "/*")), str(entry.get("HttpMethod", "*")).upper()
        key = ALL_METHODS if path in ("/*", "*") and verb == "*" else normalised_key(f"{path}/{verb}")
        settings = stage.method_settings.setdefault(key, {})
        for name, kind in _SETTINGS.items():
            if name in entry:
                value = entry[name]
                if kind is bool:
                    value = value in (True, "true", "True")
                settings[name[0].lower() + name[1:]] = kind(value)
    if cache_enabled in (True, "true"):
        size = str(cache_size or CACHE_SIZES[0])
        stage.cache_size = size if size in CACHE_SIZES else CACHE_SIZES[0]

"""What a WebSocket API (`protocolType: WEBSOCKET`) accepts, checked the same way for the control plane and
the project file: each check returns None or the refusal in AWS's words (BadRequestException), so that the
caller words where it happened. Records keep the shape of model/http.py (integration responses, route
responses and models live in the definition's `integrationResponses`, `routeResponses` and `models`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

CONNECT, DISCONNECT, DEFAULT = "$connect", "$disconnect", "$default"
AUTHORIZATION_TYPES = ("NONE", "AWS_IAM", "CUSTOM")
INTEGRATION_TYPES = ("AWS", "HTTP", "MOCK", "HTTP_PROXY", "AWS_PROXY")
PROXY_TYPES = ("AWS_PROXY", "HTTP_PROXY")
API_KEY_SELECTIONS = ("$request.header.x-api-key", "$context.authorizer.usageIdentifierKey")
LOGGING_LEVELS = ("ERROR", "INFO", "OFF")
MAX_TIMEOUT_MS = 29000
MAX_TTL = 3600
MAX_SCHEMA = 32768
DEFAULT_RESPONSE_SELECTION = "${integration.response.statuscode}"

# AWS's words where they are known; the others are guesses written down in docs/behaviour.md.
AUTH_ON_CONNECT_ONLY = "Currently, authorization is restricted to the $connect route only"
RSE_REQUIRED = "Route selection expression is required for WebSocket APIs."

_PATH = r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*"
_PLAIN_SELECTION = re.compile(rf"^\$request\.body\.{_PATH}$")
_INTERPOLATION = re.compile(rf"\$\{{request\.body\.{_PATH}\}}")
_ROUTE_PARAMETER = re.compile(r"^route\.request\.(header|querystring)\.[^\s.][^\s]*$")
_IDENTITY_SOURCE = re.compile(r"^(route\.request\.(header|querystring)|stageVariables|context)\.[^\s,]+$")
_INTEGRATION_TARGET = re.compile(r"^integration\.request\.(header|querystring|path)\.[^\s]+$")
_INTEGRATION_SOURCE = re.compile(r"^((route\.request\.(header|querystring|path|body))|context|stageVariables)"
                                 r"\.[^\s]+$|^'[^']*'$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9]{1,128}$")
_STATUS = re.compile(r"^[1-5]\d\d$")


def route_selection_error(expression: Any) -> str | None:
    """`$request.body.a.b`, or text whose `$` is either `\\$` (a literal dollar) or a `${request.body.a.b}`
    interpolation (AWS's selection expressions for WebSocket routes)."""
    if not isinstance(expression, str) or not expression.strip():
        return RSE_REQUIRED
    if _PLAIN_SELECTION.match(expression):
        return None
    rest = _INTERPOLATION.sub("", expression.replace("\\$", ""))
    if "$" in rest or "{" in rest or "}" in rest:
        return (f"Invalid route selection expression: {expression}. Supported forms: $request.body.{{path}}, or text "
                "with ${request.body.{path}} interpolations and \\$ for a literal dollar sign.")
    return None


def api_key_selection_error(expression: Any) -> str | None:
    if expression not in API_KEY_SELECTIONS:
        return (f"Invalid API key selection expression: {expression}. Supported values: "
                f"{', '.join(API_KEY_SELECTIONS)}")
    return None


def route_response_selection_error(expression: Any) -> str | None:
    if expression != DEFAULT:
        return (f"Invalid route response selection expression: {expression}. Currently, only $default is "
                "supported.")
    return None


def route_key_error(key: Any) -> str | None:
    if not isinstance(key, str) or not key.strip():
        return "Route key is required"
    if key.startswith("$") and key not in (CONNECT, DISCONNECT, DEFAULT):
        return f"Invalid route key {key}: the predefined route keys are $connect, $disconnect and $default."
    return None


def route_authorization_error(route_key: str, authorization_type: str) -> str | None:
    if authorization_type not in AUTHORIZATION_TYPES:
        return (f"Unsupported authorization type {authorization_type} for WebSocket APIs. Supported values: "
                f"{', '.join(AUTHORIZATION_TYPES)}")
    if authorization_type != "NONE" and route_key != CONNECT:
        return AUTH_ON_CONNECT_ONLY
    return None


def route_parameters_error(route_key: str, parameters: Mapping[str, Any]) -> str | None:
    """`route.request.header.X` / `route.request.querystring.X` → `{"required": bool}`, on `$connect` only."""
    if parameters and route_key != CONNECT:
        return "Currently, request parameters are supported only on the $connect route"
    for key, constraint in parameters.items():
        if not _ROUTE_PARAMETER.match(str(key)):
            return (f"Invalid request parameter key {key}. A request parameter of a WebSocket route is "
                    "route.request.header.{name} or route.request.querystring.{name}.")
        if not isinstance(constraint, Mapping) or set(constraint) - {"required"}:
            return f"Invalid constraints for request parameter {key}: expected {{\"required\": true|false}}"
    return None


def identity_source_error(sources: list[str]) -> str | None:
    for source in sources:
        if not _IDENTITY_SOURCE.match(source):
            return (f"Invalid identity source: {source}. An identity source of a WebSocket API is "
                    "route.request.header.{name}, route.request.querystring.{name}, stageVariables.{name} or "
                    "context.{name}.")
    return None


def integration_parameters_error(parameters: Mapping[str, Any]) -> str | None:
    """`integration.request.{header|querystring|path}.X` ← a route request value, `context.x`,
    `stageVariables.x` or a 'static' value."""
    for target, source in parameters.items():
        if not _INTEGRATION_TARGET.match(str(target)):
            return (f"Invalid mapping expression specified: {target}. A request parameter of a WebSocket "
                    "integration is integration.request.header.{name}, integration.request.querystring.{name} or "
                    "integration.request.path.{name}.")
        if not isinstance(source, str) or not _INTEGRATION_SOURCE.match(source):
            return (f"Invalid mapping expression specified: {source}. A value is route.request.header.{{name}}, "
                    "route.request.querystring.{name}, route.request.body.{path}, context.{name}, "
                    "stageVariables.{name} or a static value in single quotes.")
    return None


def integration_response_key_error(key: Any) -> str | None:
    """`$default`, an exact status code, or `/regex/` matched against the status code."""
    text = str(key or "")
    if text == DEFAULT or _STATUS.match(text):
        return None
    if len(text) > 2 and text.startswith("/") and text.endswith("/"):
        try:
            re.compile(text[1:-1])
            return None
        except re.error:
            pass
    return (f"Invalid integration response key: {text}. Supported values: $default, a status code, or a regular "
            "expression in slashes such as /4\\d\\d/.")


def route_response_key_error(key: Any) -> str | None:
    if key != DEFAULT:
        return f"Invalid route response key: {key}. Currently, only $default is supported."
    return None


def model_name_error(name: Any) -> str | None:
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        return f"Model name must be alphanumeric, 1 to 128 characters: {name}"
    return None

"""Gateway responses: AWS's 21 response types with their default status, message and
x-amzn-ErrorType, and the per-API customisations (status, headers, simple templates) compiled once
per deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apiway.runtime.substitution import Template, compile_template

# type → (default status, default message, x-amzn-ErrorType); status None = family fallback only.
DEFAULTS: dict[str, tuple[int | None, str | None, str | None]] = {
    "ACCESS_DENIED": (403, "User is not authorized to access this resource", "AccessDeniedException"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error", "InternalServerErrorException"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None, "AuthorizerConfigurationException"),
    "AUTHORIZER_FAILURE": (500, None, "AuthorizerFailureException"),
    "BAD_REQUEST_PARAMETERS": (400, "Bad request", "BadRequestException"),
    "BAD_REQUEST_BODY": (400, "Invalid request body", "BadRequestException"),
    "DEFAULT_4XX": (None, None, None),
    "DEFAULT_5XX": (None, None, None),
    "EXPIRED_TOKEN": (403, "The security token included in the request is expired", "ExpiredTokenException"),
    "INTEGRATION_FAILURE": (504, "Internal server error", "InternalServerErrorException"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", "InternalServerErrorException"),
    "INVALID_API_KEY": (403, "Forbidden", "ForbiddenException"),
    "INVALID_SIGNATURE": (403, "The request signature we calculated does not match the signature you "
                          "provided. Check your AWS Secret Access Key and signing method. Consult the "
                          "service documentation for details.", "InvalidSignatureException"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token", "MissingAuthenticationTokenException"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded", "LimitExceededException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", None),
    "RESOURCE_NOT_FOUND": (404, "Not Found", "ResourceNotFoundException"),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type", "UnsupportedMediaTypeException"),
    "WAF_FILTERED": (403, "Forbidden", "WafFilteredException"),
}
RESPONSE_TYPES = tuple(DEFAULTS)
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'

@dataclass(slots=True)
class CompiledGatewayResponse:
    status: int
    error_type: str | None
    default_message: str | None
    headers: list[tuple[str, str]]  # static headers
    dynamic_headers: list[tuple[str, str, str]]  # (name, source kind, source name)
    template: Template | None  # None → default JSON message body


def _family(status: int) -> str:
    return "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"


def compile_gateway_responses(custom: dict[str, dict[str, Any]]) -> dict[str, CompiledGatewayResponse]:
    """Resolve every type once: its own customisation, else the DEFAULT_4XX/5XX customisation of its
    family, else AWS's default."""
    compiled: dict[str, CompiledGatewayResponse] = {}
    for rtype, (status, message, error_type) in DEFAULTS.items():
        if status is None:
            continue
        layer = custom.get(rtype) or custom.get(_family(status)) or {}
        merged_status = int(layer["statusCode"]) if layer.get("statusCode") else status
        static, dynamic = [], []
        for key, source in (layer.get("responseParameters") or {}).items():
            name = key.removeprefix("gatewayresponse.header.")
            if source.startswith("'") and source.endswith("'"):
                static.append((name, source[1:-1]))
            else:
                kind, _, src = source.partition(".")
                dynamic.append((name, kind, src))
        templates = layer.get("responseTemplates") or {}
        template_text = templates.get("application/json")
        if template_text is None and templates:
            template_text = next(iter(templates.values()))
        template = None
        if template_text is not None and template_text != DEFAULT_TEMPLATE:
            template = compile_template(template_text)
        compiled[rtype] = CompiledGatewayResponse(merged_status, error_type, message, static, dynamic, template)
    return compiled


DEFAULT_GATEWAY_RESPONSES = compile_gateway_responses({})


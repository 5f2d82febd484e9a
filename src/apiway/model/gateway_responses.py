"""AWS's gateway response types: each one's default status, message and x-amzn-ErrorType."""

from __future__ import annotations

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

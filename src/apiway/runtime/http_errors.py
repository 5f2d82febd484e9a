"""How an HTTP API answers gateway errors (spec §10.4): a fixed `{"message": …}` body per status, no
customisation, `apigw-requestid` instead of REST's id headers, and the API's CORS headers when the
request's Origin is allowed."""

from __future__ import annotations

import orjson

from apiway.checks.cors import CorsPolicy
from apiway.core.errors import GatewayError
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import StageRuntime
from apiway.integrations.http_api import BackendError

# REST's response types (the names every check raises) → the HTTP API's status.
_STATUS = {
    "MISSING_AUTHENTICATION_TOKEN": 404,  # no stage or no route
    "RESOURCE_NOT_FOUND": 404,
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "INVALID_API_KEY": 403,
    "INVALID_SIGNATURE": 403,
    "EXPIRED_TOKEN": 403,
    "WAF_FILTERED": 403,
    "THROTTLED": 429,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "BAD_REQUEST_PARAMETERS": 400,
    "BAD_REQUEST_BODY": 400,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "INTEGRATION_TIMEOUT": 503,  # an HTTP API's integration timeout is 503 (spec §3.4, §10.4)
}
_MESSAGES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_BODIES = {status: orjson.dumps({"message": message}) for status, message in _MESSAGES.items()}


class HttpErrors:
    """The error renderer of one HTTP API stage (its `errors`)."""

    __slots__ = ("cors",)

    def __init__(self, cors: CorsPolicy | None) -> None:
        self.cors = cors

    def render(self, err: GatewayError, req: HttpRequest, stage: StageRuntime | None,
               request_id: str) -> HttpResponse:
        status = err.status if isinstance(err, BackendError) and err.status else _STATUS.get(err.response_type, 500)
        headers = [("Content-Type", "application/json"), ("apigw-requestid", request_id)]
        extra = getattr(err, "headers", None)  # e.g. a JWT authorizer's `www-authenticate`
        if extra:
            headers += extra
        if self.cors is not None:
            headers += self.cors.response_headers(req)
        return HttpResponse(status, headers, _BODIES[status])


class NotFound(GatewayError):
    """No stage of an HTTP API takes the path: 404 Not Found, rendered by the API's renderer although no
    stage is known (the gateway asks the error for it)."""

    def __init__(self, renderer: HttpErrors) -> None:
        super().__init__("MISSING_AUTHENTICATION_TOKEN", "Not Found")
        self.renderer = renderer

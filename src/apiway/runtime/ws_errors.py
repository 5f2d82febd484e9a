"""How a WebSocket API answers failures: a refused handshake (or a plain HTTP request to the stage) is an HTTP
response with a `{"message": …}` JSON body and `x-amzn-RequestId`; a failed message is an error frame
`{"message": …, "connectionId": …, "requestId": …}` on the connection."""

from __future__ import annotations

import orjson

from apiway.core.errors import GatewayError
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import StageRuntime

# The checks' response types → the handshake's status.
_STATUS = {
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "RESOURCE_NOT_FOUND": 404,
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "INVALID_API_KEY": 403,
    "INVALID_SIGNATURE": 403,
    "EXPIRED_TOKEN": 403,
    "THROTTLED": 429,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "BAD_REQUEST_PARAMETERS": 400,
    "BAD_REQUEST_BODY": 400,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "INTEGRATION_TIMEOUT": 504,
}
MESSAGES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal server error",
    504: "Endpoint request timed out",
}


def status_of(err: GatewayError) -> int:
    return _STATUS.get(err.response_type, 500)


def frame_message(err: GatewayError) -> str:
    """The `message` of a failed message's error frame."""
    if err.response_type == "BAD_REQUEST_BODY" and err.message:
        return err.message
    return MESSAGES.get(status_of(err), "Internal server error")


def error_frame(message: str, connection_id: str, request_id: str) -> bytes:
    return orjson.dumps({"message": message, "connectionId": connection_id, "requestId": request_id})


class WsErrors:
    """The error renderer of a WebSocket stage (its `errors`)."""

    __slots__ = ()

    def render(self, err: GatewayError, req: HttpRequest, stage: StageRuntime | None,
               request_id: str) -> HttpResponse:
        status = status_of(err)
        body = orjson.dumps({"message": MESSAGES.get(status, "Internal server error")})
        return HttpResponse(status, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)], body)

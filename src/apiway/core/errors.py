"""Gateway errors: one exception family, each carrying the gateway response type that the API's
gateway responses turn into the client-facing error (see gateway_responses.py)."""

from __future__ import annotations


class GatewayError(Exception):
    """A request ends with the gateway response `response_type`.

    `message` is `$context.error.message`; None means the type's default message. `status` overrides
    the type's status for the few cases where AWS answers with another code than the type's default
    (Lambda invocation failures are 502 although they belong to INTEGRATION_FAILURE's family).
    """

    __slots__ = ("extended_id", "log", "message", "response_type", "status")
    body_key = "message"  # the key of the default JSON body
    error_type: str | None = None  # x-amzn-ErrorType when it differs from the response type's own

    def __init__(self, response_type: str, message: str | None = None, status: int | None = None,
                 log: str | None = None) -> None:
        super().__init__(message or response_type)
        self.response_type = response_type
        self.message = message
        self.status = status
        self.log = log  # the execution-log line saying why, when it says more than the message
        self.extended_id: str | None = None  # the routed request's x-amz-apigw-id, kept by its error response


class MissingAuthenticationToken(GatewayError):
    def __init__(self) -> None:
        super().__init__("MISSING_AUTHENTICATION_TOKEN")


class IntegrationFailure(GatewayError):
    """The backend answered badly: 502 Internal server error (malformed Lambda response, crash)."""

    def __init__(self, log: str) -> None:
        super().__init__("INTEGRATION_FAILURE", "Internal server error", status=502, log=log)


class IntegrationTimeout(GatewayError):
    def __init__(self) -> None:
        super().__init__("INTEGRATION_TIMEOUT")


class FunctionUnavailable(GatewayError):
    """The function could not be invoked at all (every environment busy: Lambda's 429), which API Gateway
    answers with 500 Internal server error."""

    def __init__(self, log: str) -> None:
        super().__init__("INTEGRATION_FAILURE", "Internal server error", status=500, log=log)


class ConfigurationError(GatewayError):
    """The API's configuration cannot serve this request: 500 API_CONFIGURATION_ERROR."""

    def __init__(self, log: str) -> None:
        super().__init__("API_CONFIGURATION_ERROR", log=log)


class AuthorizerConfigurationError(GatewayError):
    """An authorizer cannot be run or answered unusably: 500 AUTHORIZER_CONFIGURATION_ERROR, `{"message": null}`."""

    def __init__(self, log: str) -> None:
        super().__init__("AUTHORIZER_CONFIGURATION_ERROR", log=log)


class AccessDenied(GatewayError):
    """403 ACCESS_DENIED from a policy decision; AWS spells this body's key `Message`."""

    body_key = "Message"

    def __init__(self, message: str) -> None:
        super().__init__("ACCESS_DENIED", message)


class DeployError(Exception):
    """A deployment cannot be compiled (unknown function, bad URI, …); raised at deploy time."""

"""Keys of `Invocation.notes`: what only the pipeline knows about a request of an observed stage, written where it
happens (a check, an authorizer, an integration) and read at completion by access logs, execution logs and
metrics. A note is written only when `inv.notes is not None`, so an unobserved stage pays nothing.

Values are what AWS's `$context` variable of the same name holds (strings or ints); an unset note renders `-`."""

from __future__ import annotations

CACHE = "cache"  # "hit" or "miss": the response cache answered, or was asked and had nothing (REST)
THROTTLED = "throttled"  # True: a throttle or quota refused the request (429)
INTEGRATION_STATUS = "integration.integrationStatus"  # the backend's own status (a Lambda proxy: 200 from Invoke)
INTEGRATION_LATENCY = "integration.latency"  # ms, the integration's own time
INTEGRATION_ERROR = "integration.error"  # the integration's error message
INTEGRATION_REQUEST_ID = "integration.requestId"  # the Lambda invocation's request id
INTEGRATION_RESPONSE_STATUS = "integration.status"  # the status the integration's answer was mapped to
AUTHORIZER_LATENCY = "authorizer.latency"  # ms, the whole authorizer step (cache included)
AUTHORIZER_STATUS = "authorizer.status"  # the status the authorizer step returned (200, 401, 403, 500)
AUTHORIZER_ERROR = "authorizer.error"  # its error message
AUTHORIZER_INTEGRATION_LATENCY = "authorizer.integrationLatency"  # ms, the authorizer function's own time
AUTHORIZER_INTEGRATION_STATUS = "authorizer.integrationStatus"
AUTHORIZER_REQUEST_ID = "authorizer.requestId"
ERROR_MESSAGE = "error.message"  # the gateway's error message, as `$context.error.message`
XRAY_TRACE_ID = "xrayTraceId"  # the trace id of a sampled request
VALIDATION_ERROR = "error.validationErrorString"  # the request validator's detailed error (REST)

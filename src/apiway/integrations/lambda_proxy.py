"""AWS_PROXY to a local function: the event of the method's payload format in, the function's answer
read back by the same format (REST APIs: 1.0, events/rest_v1.py)."""

from __future__ import annotations

from apiway.core.errors import FunctionUnavailable, IntegrationFailure
from apiway.core.http import HttpResponse
from apiway.core.invocation import Invocation
from apiway.events import PayloadFormat, rest_v1
from apiway.functions.base import FunctionInvoker, FunctionThrottled


class LambdaProxyIntegration:
    """AWS_PROXY: invoke `function_name` with the proxy event."""

    __slots__ = ("build_event", "function_name", "invoker", "parse_response")

    def __init__(self, function_name: str, invoker: FunctionInvoker, payload: PayloadFormat = rest_v1.FORMAT) -> None:
        self.function_name = function_name
        self.invoker = invoker
        self.build_event = payload.build_event
        self.parse_response = payload.parse_response

    async def __call__(self, inv: Invocation) -> HttpResponse:
        event = self.build_event(inv)
        try:
            result = await self.invoker.invoke(self.function_name, event, inv.request_id, inv.trace_id(), inv.spans)
        except FunctionThrottled as exc:
            raise FunctionUnavailable(exc.log) from None
        if result.function_error:
            raise IntegrationFailure(
                f"Lambda execution failed with status 200 due to customer function error: "
                f"{result.payload[:500].decode('utf-8', 'replace')}"
            )
        return self.parse_response(result.payload, inv)

"""AWS_PROXY to a local function: the event of the method's payload format in, the function's answer
read back by the same format (REST APIs: 1.0, events/rest_v1.py)."""

from __future__ import annotations

import orjson

from apiway.core import trail
from apiway.core.errors import FunctionUnavailable, IntegrationFailure
from apiway.core.http import HttpResponse
from apiway.core.invocation import Invocation
from apiway.events import PayloadFormat, rest_v1
from apiway.functions.base import FunctionInvoker, FunctionThrottled
from apiway.model.aws import REGION


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
        if inv.trail is not None or inv.notes is not None:
            return await self._observed(inv, event)
        try:
            result = await self.invoker.invoke(self.function_name, event, inv.request_id, inv.trace_id(), inv.spans)
        except FunctionThrottled as exc:
            raise FunctionUnavailable(exc.log) from None
        if result.function_error:
            raise self._failure(result.payload)
        return self.parse_response(result.payload, inv)

    @staticmethod
    def _failure(payload: bytes) -> IntegrationFailure:
        return IntegrationFailure("Lambda execution failed with status 200 due to customer function error: "
                                  f"{payload[:500].decode('utf-8', 'replace')}")

    async def _observed(self, inv: Invocation, event: object) -> HttpResponse:
        """The same call on an observed stage: its execution-log lines and the integration's notes."""
        steps = inv.trail
        uri = (f"https://lambda.{REGION}.amazonaws.com/2015-03-31/functions/"
               f"arn:aws:lambda:{REGION}:{inv.stage.account_id}:function:{self.function_name}/invocations")
        if steps is not None:
            steps.append((trail.DATA, f"Endpoint request URI: {uri}"))
            steps.append((trail.DATA, "Endpoint request body after transformations: "
                          + orjson.dumps(event).decode()))
            steps.append((trail.INFO, f"Sending request to {uri}"))
        started = inv.stage.wall_ms()
        try:
            result = await self.invoker.invoke(self.function_name, event, inv.request_id, inv.trace_id(),
                                               inv.spans)
        except FunctionThrottled as exc:
            raise FunctionUnavailable(exc.log) from None
        latency = inv.stage.wall_ms() - started
        if inv.notes is not None:
            inv.notes["integration.integrationStatus"] = 200  # Invoke's own status (keys: telemetry/notes.py)
            inv.notes["integration.latency"] = latency
            inv.notes["integration.requestId"] = inv.request_id
            if result.function_error:
                inv.notes["integration.error"] = result.function_error
        if steps is not None:
            steps.append((trail.INFO, f"Received response. Status: 200, Integration latency: {latency} ms"))
            steps.append((trail.DATA, "Endpoint response body before transformations: "
                          + trail.body_text(result.payload)))
            steps.append((trail.INFO, f"AWS Integration Endpoint RequestId : {inv.request_id}"))
        if result.function_error:
            raise self._failure(result.payload)
        response = self.parse_response(result.payload, inv)
        if inv.notes is not None:
            inv.notes["integration.status"] = response.status  # the function's own answer
        return response

"""AWS (non-proxy) integrations. Lambda: the request body (after the request template) is the
event; a function error's `errorMessage` selects the integration response. Other AWS services:
aws_service.py."""

from __future__ import annotations

import orjson

from apiway.core.errors import FunctionUnavailable
from apiway.core.http import HttpResponse
from apiway.core.invocation import Invocation
from apiway.functions.base import FunctionInvoker, FunctionThrottled
from apiway.mapping.integration_response import ResponseSelector
from apiway.mapping.request_template import RequestTransform
from apiway.mapping.variables import TemplateScope


class LambdaIntegration:
    __slots__ = ("function_name", "invoker", "responses", "transform")

    def __init__(self, integration: dict, function_name: str, invoker: FunctionInvoker, where: str) -> None:
        self.function_name = function_name
        self.invoker = invoker
        self.transform = RequestTransform(integration, where)
        self.responses = ResponseSelector(integration.get("integrationResponses") or {}, where)

    async def __call__(self, inv: Invocation) -> HttpResponse:
        scope = TemplateScope(inv)
        body = self.transform.body(scope)
        try:
            event = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            event = body.decode("utf-8", "replace")
        try:
            result = await self.invoker.invoke(self.function_name, event, inv.request_id, inv.trace_id(), inv.spans)
        except FunctionThrottled as exc:
            raise FunctionUnavailable(exc.log) from None
        # A successful invocation always takes the default response; errors match errorMessage.
        selected = self.responses.default()
        if result.function_error:
            try:
                error = orjson.loads(result.payload)
            except orjson.JSONDecodeError:
                error = None
            message = error.get("errorMessage") if isinstance(error, dict) else None
            selected = self.responses.select("" if message is None else str(message))
        return selected.respond(scope, result.payload, [])

"""MOCK: the request template's `statusCode` selects the integration response; no backend."""

from __future__ import annotations

import orjson

from apiway.runtime.errors import ConfigurationError
from apiway.runtime.integration_response import ResponseSelector
from apiway.runtime.invocation import Invocation
from apiway.runtime.request import HttpResponse
from apiway.runtime.request_template import RequestTransform
from apiway.runtime.variables import template_variables


class MockIntegration:
    __slots__ = ("responses", "transform")

    def __init__(self, integration: dict, where: str) -> None:
        self.transform = RequestTransform(integration)
        self.responses = ResponseSelector(integration.get("integrationResponses") or {}, where)

    async def __call__(self, inv: Invocation) -> HttpResponse:
        variables = template_variables(inv)
        template = self.transform.template_for(inv)
        status = 200
        if template is not None:
            output = template.render(variables)
            try:
                doc = orjson.loads(output)
                status = int(doc["statusCode"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                raise ConfigurationError(
                    "MOCK request template must produce JSON with an integer statusCode"
                ) from None
        return self.responses.select(str(status)).respond(inv, b"", [], variables)

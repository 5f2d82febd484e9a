"""MOCK: the request template's `statusCode` selects the integration response; no backend."""

from __future__ import annotations

import re

import orjson

from apiway.core.errors import ConfigurationError
from apiway.core.http import HttpResponse
from apiway.core.invocation import Invocation
from apiway.mapping.integration_response import ResponseSelector
from apiway.mapping.request_template import RequestTransform
from apiway.mapping.variables import TemplateScope

# AWS reads the statusCode leniently: `{statusCode: 200}` (unquoted key) works, as recorded.
_LENIENT_STATUS = re.compile(rb'^\s*\{.*?["\']?statusCode["\']?\s*:\s*["\']?(\d{3})\b', re.DOTALL)


def _status_code(output: bytes) -> int:
    try:
        return int(orjson.loads(output)["statusCode"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        m = _LENIENT_STATUS.match(output)
        if m is None:
            raise ConfigurationError("MOCK request template must produce JSON with an integer statusCode") from None
        return int(m.group(1))


class MockIntegration:
    __slots__ = ("responses", "transform")

    def __init__(self, integration: dict, where: str) -> None:
        self.transform = RequestTransform(integration, where)
        self.responses = ResponseSelector(integration.get("integrationResponses") or {}, where)

    async def __call__(self, inv: Invocation) -> HttpResponse:
        return self.now(inv)

    def now(self, inv: Invocation) -> HttpResponse:
        """The answer, at once: a MOCK never waits."""
        scope = TemplateScope(inv)
        status = 200
        if self.transform.template_for(inv) is not None:
            status = _status_code(self.transform.body(scope))
        # A MOCK has no backend: response templates see an empty body.
        return self.responses.select(str(status)).respond(scope, b"", [])

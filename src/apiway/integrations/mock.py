"""MOCK: the request template's `statusCode` selects the integration response; no backend."""

from __future__ import annotations

import re

import orjson

from apiway.core.errors import ConfigurationError
from apiway.core.http import HttpResponse
from apiway.core.invocation import Invocation
from apiway.mapping.integration_response import CompiledIntegrationResponse, ResponseSelector
from apiway.mapping.request_template import RequestTransform
from apiway.mapping.variables import TemplateScope
from apiway.vtl.engine import CompiledTemplate

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


def _static_status(template: CompiledTemplate) -> int | None:
    """The status a request template without references or directives always selects (None: found per request,
    where a template that names none fails as AWS fails it)."""
    if template.static is None:
        return None
    try:
        return _status_code(template.static.encode())
    except ConfigurationError:
        return None


class MockIntegration:
    __slots__ = ("_responses", "_statuses", "responses", "transform")

    def __init__(self, integration: dict, where: str) -> None:
        self.transform = RequestTransform(integration, where)
        self.responses = ResponseSelector(integration.get("integrationResponses") or {}, where)
        # Worked out at deploy time where they cannot change: a static template's status, a status's response.
        self._statuses = {t: s for t in self.transform.templates.templates.values()
                          if (s := _static_status(t)) is not None}
        self._responses: dict[int, CompiledIntegrationResponse] = {}

    async def __call__(self, inv: Invocation) -> HttpResponse:
        return self.now(inv)

    def now(self, inv: Invocation) -> HttpResponse:
        """The answer, at once: a MOCK never waits."""
        scope = TemplateScope(inv)
        status = 200
        template = self.transform.template_for(inv)
        if template is not None:
            status = self._statuses.get(template) or _status_code(self.transform.body(scope))
        response = self._responses.get(status)
        if response is None:  # the selection is the same for every request with this status
            response = self._responses[status] = self.responses.select(str(status))
        # A MOCK has no backend: response templates see an empty body.
        return response.respond(scope, b"", [])

"""Non-proxy integration responses: pick the IntegrationResponse whose selectionPattern fully
matches the selection string (backend status code, or Lambda errorMessage), else the default one;
then apply its response parameters and the response template chosen by Accept."""

from __future__ import annotations

import re
from collections.abc import Callable

from apiway.runtime.errors import ConfigurationError, DeployError
from apiway.runtime.invocation import Invocation
from apiway.runtime.media import base_type
from apiway.runtime.request import HttpResponse
from apiway.vtl import Template, compile_template


class CompiledIntegrationResponse:
    __slots__ = ("dynamic_headers", "static_headers", "status", "templates")

    def __init__(self, spec: dict, where: str) -> None:
        status = str(spec.get("statusCode", ""))
        if not status.isdigit():
            raise DeployError(f"{where}.statusCode: invalid status code {status!r}")
        self.status = int(status)
        self.static_headers: list[tuple[str, str]] = []
        self.dynamic_headers: list[tuple[str, str]] = []  # (client header, integration header lower)
        for target, source in (spec.get("responseParameters") or {}).items():
            if not target.startswith("method.response.header."):
                raise DeployError(f"{where}.responseParameters: invalid target {target!r}")
            name = target.removeprefix("method.response.header.")
            if source.startswith("'") and source.endswith("'"):
                self.static_headers.append((name, source[1:-1]))
            elif source.startswith("integration.response.header."):
                self.dynamic_headers.append((name, source.removeprefix("integration.response.header.").lower()))
            else:
                # Body/JSONPath and context sources need the template engine's evaluator.
                raise DeployError(f"{where}.responseParameters.{target}: unsupported source {source!r}")
        self.templates: dict[str, Template] = {
            ctype.lower(): compile_template(text)
            for ctype, text in (spec.get("responseTemplates") or {}).items()
            if text is not None
        }

    def respond(
        self, inv: Invocation, body: bytes, backend_headers: list[tuple[str, str]],
        variables: Callable[[], dict],
    ) -> HttpResponse:
        headers = list(self.static_headers)
        if self.dynamic_headers:
            lower = {k.lower(): v for k, v in backend_headers}
            for name, src in self.dynamic_headers:
                value = lower.get(src)
                if value is not None:
                    headers.append((name, value))
        content_type = "application/json"
        if self.templates:
            accept = base_type(inv.request.header("accept"))
            template = self.templates.get(accept)
            if template is None:
                content_type, template = (
                    ("application/json", self.templates["application/json"])
                    if "application/json" in self.templates
                    else next(iter(self.templates.items()))
                )
            else:
                content_type = accept
            body = template.render(variables).encode()
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", content_type))
        return HttpResponse(self.status, headers, body)


class ResponseSelector:
    __slots__ = ("_default", "_patterns")

    def __init__(self, integration_responses: dict[str, dict], where: str) -> None:
        self._patterns: list[tuple[re.Pattern[str], CompiledIntegrationResponse]] = []
        self._default: CompiledIntegrationResponse | None = None
        for status, spec in integration_responses.items():
            compiled = CompiledIntegrationResponse(spec, f"{where}.responses.{status}")
            pattern = spec.get("selectionPattern")
            if pattern:
                try:
                    self._patterns.append((re.compile(pattern), compiled))
                except re.error as exc:
                    raise DeployError(f"{where}.responses.{status}.selectionPattern: {exc}") from None
            else:
                self._default = compiled

    def select(self, key: str) -> CompiledIntegrationResponse:
        for pattern, compiled in self._patterns:
            if pattern.fullmatch(key):
                return compiled
        return self.default()

    def default(self) -> CompiledIntegrationResponse:
        if self._default is None:
            raise ConfigurationError("No match for output mapping and no default output mapping")
        return self._default

"""Non-proxy integration responses: pick the IntegrationResponse whose selectionPattern fully
matches the selection string (backend status code, or Lambda errorMessage), else the default one;
then apply its response parameters and the response template chosen by Accept."""

from __future__ import annotations

import re
from collections.abc import Callable

from apiway.core.errors import ConfigurationError, DeployError
from apiway.core.http import HttpResponse, ensure_content_type, header_value
from apiway.core.invocation import Invocation
from apiway.mapping.content import convert
from apiway.mapping.sources import body_value, context_value
from apiway.mapping.templates import TemplateMap, render
from apiway.mapping.variables import TemplateScope
from apiway.patterns import Pattern

# A response-parameter source: (invocation, backend body, backend headers by lower-case name) → value.
ResponseSource = Callable[[Invocation, bytes, dict[str, list[str]]], str | None]


def compile_response_source(source: str, where: str) -> ResponseSource:
    """`integration.response.{header,multivalueheader}.X`, `integration.response.body[.a.b]`,
    `context.x`, `stageVariables.x` (the `'literal'` form is handled by the caller)."""
    for prefix, multi in (("integration.response.header.", False), ("integration.response.multivalueheader.", True)):
        if source.startswith(prefix):
            name = source.removeprefix(prefix).lower()
            if multi:
                return lambda _inv, _body, headers: ",".join(headers[name]) if name in headers else None
            return lambda _inv, _body, headers: headers[name][-1] if name in headers else None
    if source == "integration.response.body":
        return lambda _inv, body, _headers: body.decode("utf-8", "replace")
    if source.startswith("integration.response.body."):
        dotted = source.removeprefix("integration.response.body.").removeprefix("$.")
        return lambda _inv, body, _headers: body_value(body, dotted)
    if source.startswith("context."):
        dotted = source.removeprefix("context.")
        return lambda inv, _body, _headers: context_value(inv, dotted)
    if source.startswith("stageVariables."):
        name = source.removeprefix("stageVariables.")
        return lambda inv, _body, _headers: (inv.stage.variables or {}).get(name)
    raise DeployError(f"{where}: invalid mapping expression {source!r}")


class CompiledIntegrationResponse:
    __slots__ = ("content_handling", "dynamic_headers", "fixed", "static_headers", "status", "templates")

    def __init__(self, spec: dict, where: str) -> None:
        status = str(spec.get("statusCode", ""))
        if not status.isdigit():
            raise DeployError(f"{where}.statusCode: invalid status code {status!r}")
        self.status = int(status)
        self.static_headers: list[tuple[str, str]] = []
        self.dynamic_headers: list[tuple[str, ResponseSource]] = []
        for target, source in (spec.get("responseParameters") or {}).items():
            if not target.startswith("method.response.header."):
                raise DeployError(f"{where}.responseParameters: invalid target {target!r}")
            name = target.removeprefix("method.response.header.")
            if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
                self.static_headers.append((name, source[1:-1]))
            else:
                self.dynamic_headers.append(
                    (name, compile_response_source(source, f"{where}.responseParameters.{target}"))
                )
        self.templates = TemplateMap(spec.get("responseTemplates"), f"{where}.responseTemplates")
        self.content_handling = spec.get("contentHandling")
        # The whole answer when nothing of the request or the backend can change it (a MOCK's static response):
        # no dynamic parameter, no content handling, at most one template and that one static.
        # (headers, body; None: the backend's body as it is)
        self.fixed: tuple[list[tuple[str, str]], bytes | None] | None = None
        templates = list(self.templates.templates.items())
        if not self.dynamic_headers and not self.content_handling and len(templates) <= 1:
            content_type, static = "application/json", None
            if templates:
                content_type, static = templates[0][0], templates[0][1].static
            if not templates or static is not None:
                headers = list(self.static_headers)
                ensure_content_type(headers, content_type)
                self.fixed = headers, None if static is None else static.encode()

    def respond(
        self, scope: TemplateScope, body: bytes, backend_headers: list[tuple[str, str]]
    ) -> HttpResponse:
        """The method response: parameters, content handling, the template chosen by Accept, then the
        `$context.responseOverride` status and headers."""
        fixed = self.fixed
        if fixed is not None and not scope.overrides():
            return HttpResponse(self.status, fixed[0].copy(), body if fixed[1] is None else fixed[1])
        inv = scope.inv
        headers = list(self.static_headers)
        if self.dynamic_headers:
            by_name: dict[str, list[str]] = {}
            for k, v in backend_headers:
                by_name.setdefault(k.lower(), []).append(v)
            for name, source in self.dynamic_headers:
                value = source(inv, body, by_name)
                if value is not None:
                    headers.append((name, header_value(value)))
        content_type = "application/json"
        if self.content_handling:
            # The integration's payload is binary when its own Content-Type is a binary media type.
            backend_type = next((v for k, v in reversed(backend_headers) if k.lower() == "content-type"), None)
            body = convert(body, inv.stage.binary_types.matches(backend_type), self.content_handling)
        if self.templates:
            content_type, template = self.templates.for_accept(inv.request.header("accept"))
            payload = body
            body = render(template, lambda: scope.variables(payload)).encode()
        status = self.status
        override_status, override_headers = scope.response_override()
        if override_status is not None:
            status = override_status
        if override_headers:
            names = {name.lower() for name in override_headers}
            headers = [(k, v) for k, v in headers if k.lower() not in names]
            headers += [(k, header_value(str(v))) for k, v in override_headers.items()]
        ensure_content_type(headers, content_type)
        return HttpResponse(status, headers, body)


class ResponseSelector:
    __slots__ = ("_default", "_patterns")

    def __init__(self, integration_responses: dict[str, dict], where: str) -> None:
        self._patterns: list[tuple[Pattern, CompiledIntegrationResponse]] = []
        self._default: CompiledIntegrationResponse | None = None
        for status, spec in integration_responses.items():
            compiled = CompiledIntegrationResponse(spec, f"{where}.responses.{status}")
            pattern = spec.get("selectionPattern")
            if pattern:
                try:
                    self._patterns.append((Pattern(pattern), compiled))
                except re.error as exc:
                    raise DeployError(f"{where}.responses.{status}.selectionPattern: {exc}") from None
            else:
                self._default = compiled

    def select(self, key: str) -> CompiledIntegrationResponse:
        for pattern, compiled in self._patterns:
            try:
                if pattern.fullmatch(key):
                    return compiled
            except TimeoutError:  # the key (an error message) may come from the request: only this one fails
                raise ConfigurationError(f"selection pattern {pattern.pattern!r} ran past its time bound") from None
        return self.default()

    def default(self) -> CompiledIntegrationResponse:
        if self._default is None:
            raise ConfigurationError("No match for output mapping and no default output mapping")
        return self._default

"""Mapping templates for integrations: compiled once at deploy time (a syntax error names the
template and its line and column), chosen per request by media type, rendered with the request's
variables; a failure while rendering is AWS's 500, with the reason in the server log."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from apiway.core.errors import ConfigurationError, DeployError
from apiway.core.media import base_type
from apiway.vtl.engine import CompiledTemplate, TemplateRuntimeError, TemplateSyntaxError, compile_vtl

# API Gateway does not run inline `#macro`s (recorded renders print the call as text); neither do we.
AWS_MACROS = False


def compile_mapping(text: str, where: str) -> CompiledTemplate:
    try:
        return _compile(text)
    except TemplateSyntaxError as exc:
        raise DeployError(f"{where}: template {exc}") from None


@functools.lru_cache(maxsize=4096)
def _compile(text: str) -> CompiledTemplate:
    """Compiled templates are immutable and shared: a redeploy or a stage change recompiles a stage
    without recompiling the templates it already had (stage settings apply at once, in ~1 ms)."""
    return compile_vtl(text, macros=AWS_MACROS)


def render(template: CompiledTemplate, variables: Callable[[], dict[str, Any]]) -> str:
    if template.static is not None:
        return template.static
    try:
        return template.render(variables())
    except TemplateRuntimeError as exc:  # includes $util/$input failures (TemplateFunctionError)
        raise ConfigurationError(f"Execution failed due to configuration error: template failed: {exc}") from None


class TemplateMap:
    """`requestTemplates` / `responseTemplates`: media type → compiled template."""

    __slots__ = ("templates",)

    def __init__(self, templates: dict[str, str | None] | None, where: str) -> None:
        self.templates: dict[str, CompiledTemplate] = {
            ctype.lower(): compile_mapping(text, f"{where}.{ctype}")
            for ctype, text in (templates or {}).items()
            if text is not None
        }

    def __bool__(self) -> bool:
        return bool(self.templates)

    def for_content_type(self, content_type: str | None) -> CompiledTemplate | None:
        """Request side: the template for the request's Content-Type (application/json when absent)."""
        return self.templates.get(base_type(content_type) or "application/json")

    def for_accept(self, accept: str | None) -> tuple[str, CompiledTemplate]:
        """Response side: the first Accept type with a template, else application/json, else the first.
        Only call when templates exist."""
        media = base_type(accept)
        template = self.templates.get(media)
        if template is not None:
            return media, template
        if "application/json" in self.templates:
            return "application/json", self.templates["application/json"]
        return next(iter(self.templates.items()))

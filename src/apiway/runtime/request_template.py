"""Integration request body for non-proxy integrations: the request template chosen by
Content-Type (application/json when absent), or pass-through per `passthroughBehavior`."""

from __future__ import annotations

from collections.abc import Callable

from apiway.runtime.errors import GatewayError
from apiway.runtime.invocation import Invocation
from apiway.runtime.media import base_type
from apiway.vtl import Template, compile_template


class RequestTransform:
    __slots__ = ("behavior", "templates")

    def __init__(self, integration: dict) -> None:
        self.behavior = (integration.get("passthroughBehavior") or "WHEN_NO_MATCH").upper()
        self.templates: dict[str, Template] = {
            ctype.lower(): compile_template(text)
            for ctype, text in (integration.get("requestTemplates") or {}).items()
            if text is not None
        }

    def template_for(self, inv: Invocation) -> Template | None:
        """The template to apply, None to pass the body through, or 415 per passthroughBehavior."""
        content_type = base_type(inv.request.header("content-type")) or "application/json"
        template = self.templates.get(content_type)
        if template is not None:
            return template
        if self.behavior == "NEVER" or (self.behavior == "WHEN_NO_TEMPLATES" and self.templates):
            raise GatewayError("UNSUPPORTED_MEDIA_TYPE")
        return None

    def body(self, inv: Invocation, variables: Callable[[], dict]) -> bytes:
        template = self.template_for(inv)
        return inv.request.body if template is None else template.render(variables).encode()

"""Integration request body for non-proxy integrations: `contentHandling`, then the request template
chosen by Content-Type (application/json when absent), or pass-through per `passthroughBehavior`."""

from __future__ import annotations

from apiway.core.errors import GatewayError
from apiway.core.invocation import Invocation
from apiway.mapping.content import convert
from apiway.mapping.templates import TemplateMap, render
from apiway.mapping.variables import TemplateScope
from apiway.vtl.engine import CompiledTemplate


class RequestTransform:
    __slots__ = ("behavior", "content_handling", "templates")

    def __init__(self, integration: dict, where: str) -> None:
        self.behavior = (integration.get("passthroughBehavior") or "WHEN_NO_MATCH").upper()
        self.content_handling = integration.get("contentHandling")
        self.templates = TemplateMap(integration.get("requestTemplates"), f"{where}.requestTemplates")

    def template_for(self, inv: Invocation) -> CompiledTemplate | None:
        """The template to apply, None to pass the body through, or 415 per passthroughBehavior."""
        template = self.templates.for_content_type(inv.request.header("content-type"))
        if template is not None:
            return template
        if self.behavior == "NEVER" or (self.behavior == "WHEN_NO_TEMPLATES" and self.templates):
            raise GatewayError("UNSUPPORTED_MEDIA_TYPE")
        return None

    def body(self, scope: TemplateScope) -> bytes:
        inv = scope.inv
        template = self.template_for(inv)
        binary = inv.stage.binary_types.matches(inv.request.header("content-type"))
        body = convert(inv.request.body, binary, self.content_handling)
        if template is None:
            return body
        return render(template, lambda: scope.variables(body)).encode()

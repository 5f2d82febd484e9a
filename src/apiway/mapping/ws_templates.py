"""WebSocket APIs' non-proxy mapping (spec §11.1): the request template an integration's
`templateSelectionExpression` picks (`$default` as the fallback, else passthrough by `passthroughBehavior`),
and the integration response its `integrationResponseSelectionExpression` picks by `integrationResponseKey`
(an exact key, a `/regex/`, or `$default`), whose own template makes the frame sent back.

Templates run on the existing Velocity machinery with the event's WebSocket `$context`."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

import orjson

from apiway.core.errors import ConfigurationError, DeployError, GatewayError
from apiway.core.http import HttpResponse
from apiway.mapping.selection import Lookup, Path, SelectionExpression, body_lookup
from apiway.mapping.templates import compile_mapping, render
from apiway.mapping.variables import TemplateScope
from apiway.patterns import Pattern
from apiway.vtl.engine import CompiledTemplate

DEFAULT = "$default"


def message_document(body: bytes) -> Any:
    """The message parsed as JSON for selection expressions; None when it is not JSON."""
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None


def _templates(templates: Mapping[str, str | None] | None, where: str) -> dict[str, CompiledTemplate]:
    return {key: compile_mapping(text, f"{where}.{key}") for key, text in (templates or {}).items()
            if text is not None}


def _expression(text: str | None, where: str) -> SelectionExpression | None:
    return SelectionExpression(text, where) if text else None


def _choose(templates: dict[str, CompiledTemplate], expression: SelectionExpression | None,
            lookup: Lookup) -> CompiledTemplate | None:
    """The template the expression's value names, else the `$default` one, else None."""
    if expression is not None:
        key = expression.evaluate(lookup)
        if key is not None and key in templates:
            return templates[key]
    return templates.get(DEFAULT)


def convert(body: bytes, strategy: str | None) -> bytes:
    """`contentHandlingStrategy`: CONVERT_TO_TEXT base64-encodes, CONVERT_TO_BINARY base64-decodes."""
    if strategy == "CONVERT_TO_TEXT":
        return base64.b64encode(body)
    if strategy == "CONVERT_TO_BINARY":
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise ConfigurationError("Unable to base64 decode the payload for CONVERT_TO_BINARY") from None
    return body


class RequestTemplates:
    """An integration's request side."""

    __slots__ = ("behavior", "expression", "templates")

    def __init__(self, integration: Mapping[str, Any], where: str) -> None:
        self.templates = _templates(integration.get("requestTemplates"), f"{where}.requestTemplates")
        self.expression = _expression(integration.get("templateSelectionExpression"),
                                      f"{where}.templateSelectionExpression")
        self.behavior = (integration.get("passthroughBehavior") or "WHEN_NO_MATCH").upper()

    def __bool__(self) -> bool:
        return bool(self.templates)

    def body(self, scope: TemplateScope, body: bytes) -> bytes:
        """The integration request's body: the chosen template's output, or the message passed through."""
        template = _choose(self.templates, self.expression, body_lookup(message_document(body)))
        if template is None:
            if self.behavior == "NEVER" or (self.behavior == "WHEN_NO_TEMPLATES" and self.templates):
                raise GatewayError("UNSUPPORTED_MEDIA_TYPE", log="no request template matched the message")
            return body
        return render(template, lambda: scope.variables(body)).encode()


class _Response:
    __slots__ = ("expression", "strategy", "templates")

    def __init__(self, record: Mapping[str, Any], where: str) -> None:
        self.templates = _templates(record.get("responseTemplates"), f"{where}.responseTemplates")
        self.expression = _expression(record.get("templateSelectionExpression"), f"{where}.templateSelectionExpression")
        self.strategy = record.get("contentHandlingStrategy")


class IntegrationResponses:
    """An integration's responses by `integrationResponseKey`."""

    __slots__ = ("default", "exact", "expression", "patterns")

    def __init__(self, integration: Mapping[str, Any], records: Mapping[str, Mapping[str, Any]], where: str) -> None:
        self.expression = _expression(integration.get("integrationResponseSelectionExpression"),
                                      f"{where}.integrationResponseSelectionExpression")
        self.exact: dict[str, _Response] = {}
        self.patterns: list[tuple[Pattern, _Response]] = []
        self.default: _Response | None = None
        for record_id, record in records.items():
            key = str(record.get("integrationResponseKey") or "")
            at = f"{where}/integrationresponses/{record_id}"
            response = _Response(record, at)
            if key == DEFAULT:
                self.default = response
            elif len(key) >= 2 and key.startswith("/") and key.endswith("/"):
                try:
                    self.patterns.append((Pattern(key[1:-1]), response))
                except re.error as exc:
                    raise DeployError(f"{at}.integrationResponseKey: {exc}") from None
            elif key:
                self.exact[key] = response
            else:
                raise DeployError(f"{at}: an integration response needs an integrationResponseKey")

    def _select(self, value: str | None) -> _Response | None:
        if value is not None:
            found = self.exact.get(value)
            if found is not None:
                return found
            for pattern, response in self.patterns:
                try:
                    if pattern.fullmatch(value):
                        return response
                except TimeoutError:
                    raise ConfigurationError(f"integration response key {pattern.pattern!r} ran past its time "
                                             f"bound") from None
        return self.default

    def respond(self, scope: TemplateScope, status: int, body: bytes, message: bytes,
                selection: str | None = None) -> HttpResponse:
        """The answer of the integration: the integration response the expression's value selects (its value
        is `selection` when given — a Lambda function's error message — else evaluated with the backend's
        status as `integration.response.statuscode`) renders the frame; without one the backend's body is it."""
        status_text = str(status)

        def lookup(path: Path) -> str | None:
            if path == ("integration", "response", "statuscode"):
                return status_text
            if path == ("integration", "response", "body"):
                return body.decode("utf-8", "replace")
            return None

        both = body_lookup(message_document(message), lookup)
        if selection is None:
            selection = self.expression.evaluate(both) if self.expression is not None else None
        response = self._select(selection) if self.expression is not None else None
        if response is None:
            return HttpResponse(status, [], body)
        out = convert(body, response.strategy)
        template = _choose(response.templates, response.expression, both)
        if template is not None:
            payload = out
            out = render(template, lambda: scope.variables(payload)).encode()
        return HttpResponse(status, [], out)

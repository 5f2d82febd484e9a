"""How a REST API answers errors — its gateway responses: AWS's 21 response types with their default
status, message and x-amzn-ErrorType, and the per-API customisations (status, headers, simple
templates) compiled once per deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from apiway.core import request_ids
from apiway.core.errors import GatewayError
from apiway.core.http import HttpRequest, HttpResponse, header_value
from apiway.core.invocation import StageRuntime
from apiway.mapping.substitution import Template, compile_template
from apiway.model.gateway_responses import DEFAULT_TEMPLATE, DEFAULTS


@dataclass(slots=True)
class CompiledGatewayResponse:
    status: int
    error_type: str | None
    default_message: str | None
    headers: list[tuple[str, str]]  # static headers
    dynamic_headers: list[tuple[str, str, str]]  # (name, source kind, source name)
    template: Template | None  # None → default JSON message body


def _family(status: int) -> str:
    return "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"


def compile_gateway_responses(custom: dict[str, dict[str, Any]]) -> dict[str, CompiledGatewayResponse]:
    """Resolve every type once: its own customisation, else the DEFAULT_4XX/5XX customisation of its
    family, else AWS's default."""
    compiled: dict[str, CompiledGatewayResponse] = {}
    for rtype, (status, message, error_type) in DEFAULTS.items():
        if status is None:
            continue
        layer = custom.get(rtype) or custom.get(_family(status)) or {}
        merged_status = int(layer["statusCode"]) if layer.get("statusCode") else status
        static, dynamic = [], []
        for key, source in (layer.get("responseParameters") or {}).items():
            name = key.removeprefix("gatewayresponse.header.")
            if source.startswith("'") and source.endswith("'"):
                static.append((name, source[1:-1]))
            else:
                kind, _, src = source.partition(".")
                dynamic.append((name, kind, src))
        templates = layer.get("responseTemplates") or {}
        template_text = templates.get("application/json")
        if template_text is None and templates:
            template_text = next(iter(templates.values()))
        template = None
        if template_text is not None and template_text != DEFAULT_TEMPLATE:
            template = compile_template(template_text)
        compiled[rtype] = CompiledGatewayResponse(merged_status, error_type, message, static, dynamic, template)
    return compiled


DEFAULT_GATEWAY_RESPONSES = compile_gateway_responses({})


class GatewayResponses:
    """A REST API's error renderer (the stage's `errors`)."""

    __slots__ = ("responses",)

    def __init__(self, custom: dict[str, dict[str, Any]]) -> None:
        self.responses = compile_gateway_responses(custom) if custom else DEFAULT_GATEWAY_RESPONSES

    def render(self, err: GatewayError, req: HttpRequest, stage: StageRuntime | None,
               request_id: str) -> HttpResponse:
        return gateway_response(self.responses, err, req, stage, request_id)


def gateway_response(responses: dict[str, CompiledGatewayResponse], err: GatewayError, req: HttpRequest,
                     stage: StageRuntime | None, request_id: str) -> HttpResponse:
    spec = responses[err.response_type]
    message = err.message if err.message is not None else spec.default_message
    # An error's own status (502 for Lambda failures) applies unless the API customised the type's status.
    customised = spec.status != DEFAULT_GATEWAY_RESPONSES[err.response_type].status
    status = err.status if err.status is not None and not customised else spec.status
    extended_id = err.extended_id or request_ids.extended_request_id()
    if spec.template is None:
        body = orjson.dumps({err.body_key: message})
    else:
        context = {
            "requestId": request_id,
            "extendedRequestId": extended_id,
            "stage": stage.stage_name if stage else None,
            "apiId": stage.api_id if stage else None,
            "httpMethod": req.method,
            "error": {
                "message": message,
                "messageString": orjson.dumps(message).decode(),
                "responseType": err.response_type,
                "validationErrorString": getattr(err, "validation_error", None),  # request validation only
            },
        }
        variables = {"context": context, "stageVariables": (stage.variables if stage else None) or {}}
        body = spec.template.render(lambda: variables).encode()
    headers = [("Content-Type", "application/json"), *spec.headers]
    for name, kind, source in spec.dynamic_headers:
        value = _request_value(req, kind, source, stage)
        if value is not None:
            headers.append((name, header_value(value)))
    headers.append(("x-amzn-RequestId", request_id))
    headers.append(("x-amz-apigw-id", extended_id))
    error_type = err.error_type or spec.error_type
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return HttpResponse(status, headers, body)


def _request_value(req: HttpRequest, kind: str, source: str, stage: StageRuntime | None) -> str | None:
    """Sources of gateway-response header mappings: method.request.{header,querystring,path}.x,
    stageVariables.x (context.* values are not available here)."""
    if kind == "stageVariables":
        return ((stage.variables if stage else None) or {}).get(source)
    if kind == "method":
        where, _, name = source.removeprefix("request.").partition(".")
        if where == "header":
            return req.header(name.lower())
        if where == "querystring":
            return (req.query_params()[0] or {}).get(name)
    return None


DEFAULT_RENDERER = GatewayResponses({})

"""The VTL engine (`apiway.vtl`) as mapping templates run it: a template compiled once, rendered with the
variables of one request (`$input` over the body and parameters, `$util`, `$context`, `$stageVariables`).

Input: `template NUL body NUL query string NUL path parameter NUL header value`; missing parts are empty. The query
string fills `$input.params().querystring` (and `$context.requestOverride` starts empty), the path parameter is
`id` (and `proxy`), the header value is `X-Fuzz`.

Each template is compiled and rendered twice: the way the gateway does (`macros=False`, AWS's null handling) and
the way stock Velocity does (`macros=True`, `velocity_nulls=True`), which reaches macro calls and their depth limit.

Invariant: compiling raises nothing but `TemplateSyntaxError` (a deploy error); rendering returns text of at most
`MAX_OUTPUT` characters that encodes as UTF-8 (the gateway sends it as the integration request's body), or raises
nothing but `TemplateRuntimeError` (a 500 with the reason logged); whatever the template wrote into
`$context.requestOverride` / `responseOverride` reads back through the gateway's own code (`TemplateScope`) without
an exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apiway.core.query import parse_query
from apiway.mapping.variables import TemplateScope
from apiway.vtl.builtins import template_variables
from apiway.vtl.engine import MAX_OUTPUT, TemplateRuntimeError, TemplateSyntaxError, compile_vtl
from fuzz.common import Finding, sections, text

INSTRUMENT = ("apiway.vtl", "apiway.jsonpath", "apiway.patterns", "apiway.mapping")
OPTIONS = ("-max_len=8192", "-timeout=10", f"-dict={Path(__file__).resolve().parents[1] / 'dicts' / 'vtl.dict'}")
MODES = ({"macros": False, "velocity_nulls": False}, {"macros": True, "velocity_nulls": True})


def _context() -> dict[str, Any]:
    return {
        "accountId": "123456789012", "apiId": "fuzzvtl001", "httpMethod": "POST", "stage": "dev",
        "requestId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "resourcePath": "/items/{id}", "path": "/dev/items/7",
        "identity": {"sourceIp": "192.0.2.10", "userAgent": "curl/8.4.0", "apiKey": None, "caller": None},
        "requestTimeEpoch": 1764055800000, "authorizer": {"principalId": "user", "claims": {"sub": "x"}},
        "requestOverride": {"header": {}, "querystring": {}, "path": {}},
        "responseOverride": {"header": {}, "status": None},
    }


def one_input(data: bytes) -> None:
    template_raw, body, query_raw, path_raw, header_raw = sections(data, 5)
    source = text(template_raw)
    query = parse_query(text(query_raw))[0] or {}
    path_value = text(path_raw)
    for mode in MODES:
        try:
            compiled = compile_vtl(source, **mode)
        except TemplateSyntaxError as exc:
            if not isinstance(exc.line, int) or not isinstance(exc.column, int):
                raise Finding(f"syntax error without a position: {exc}") from None
            continue
        params = {"path": {"id": path_value, "proxy": path_value}, "querystring": dict(query),
                  "header": {"Accept": "application/json", "X-Fuzz": text(header_raw)}}
        context = _context()
        try:
            out = compiled.render(template_variables(body, params, context, {"v": "1", "name": "fuzz"}))
        except TemplateRuntimeError:
            continue
        if not isinstance(out, str):
            raise Finding(f"render gave {type(out).__name__}, not text")
        if len(out) > MAX_OUTPUT:
            raise Finding(f"render gave {len(out)} characters, over MAX_OUTPUT ({MAX_OUTPUT})")
        out.encode("utf-8")  # what the gateway does with the output: a UnicodeEncodeError here is a crash there
        _override_status(context)


def _override_status(context: dict[str, Any]) -> None:
    """What the gateway reads back from `$context` after a render: the request and response overrides, through
    the same code (`TemplateScope`). Whatever a template wrote there must read as an override or as none."""
    scope = TemplateScope.__new__(TemplateScope)
    scope._context = context
    scope.request_override()
    status, headers = scope.response_override()
    if status is not None and not isinstance(status, int):
        raise Finding(f"response override status {status!r}")
    if not all(isinstance(name, str) for name in headers):
        raise Finding(f"response override header names {list(headers)!r}")

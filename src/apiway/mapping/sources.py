"""Parameter mapping expressions (`method.request.header.X`, `context.requestId`,
`stageVariables.v`, `'literal'`, …) compiled once into small getters over an invocation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import orjson

from apiway import jsonpath
from apiway.core.errors import ConfigurationError, DeployError
from apiway.core.invocation import Invocation

Getter = Callable[[Invocation], str | None]


def _query(inv: Invocation, name: str, multi: bool) -> str | None:
    single, multiple = inv.request.query_params()
    if multi:
        values = (multiple or {}).get(name)
        return ",".join(values) if values else None
    return (single or {}).get(name)


def _header(inv: Invocation, name: str, multi: bool) -> str | None:
    lower = name.lower()
    if multi:
        values = [v for k, v in inv.request.headers if k.lower() == lower]
        return ",".join(values) if values else None
    return inv.request.header(lower)


def body_value(body: bytes, path: str) -> str | None:
    """`method.request.body.PATH` / `integration.response.body.PATH`: the JSONPath `$.PATH` (or PATH when
    it starts with `$`) of a JSON body; objects and arrays come back as JSON text."""
    try:
        document = orjson.loads(body or b"null")
    except orjson.JSONDecodeError:
        return None
    try:
        value = jsonpath.evaluate(path if path.startswith("$") else "$." + path, document)
    except jsonpath.JsonPathError:
        return None
    except TimeoutError:  # a filter's `=~` regex over the body ran past its time bound: this request fails
        raise ConfigurationError("Execution failed due to configuration error: JSONPath regex timed out") from None
    if value is None:
        return None
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def context_value(inv: Invocation, dotted: str) -> str | None:
    cur: Any = inv.context()
    for key in dotted.split("."):
        cur = cur.get(key) if isinstance(cur, dict) else None
    return None if cur is None else str(cur)


def compile_source(expr: str, stage_variables: dict[str, str], where: str) -> Getter:
    """`where` names the mapping in errors, e.g. `integration.request.header.x`."""
    if len(expr) >= 2 and expr.startswith("'") and expr.endswith("'"):
        literal = expr[1:-1]
        return lambda _inv: literal
    parts = expr.split(".", 3)
    if parts[0] == "stageVariables" and len(parts) == 2:
        value = stage_variables.get(parts[1])
        return lambda _inv: value
    if parts[0] == "context" and len(parts) >= 2:
        dotted = expr.removeprefix("context.")
        return lambda inv: context_value(inv, dotted)
    if parts[:2] == ["method", "request"] and len(parts) >= 3:
        kind = parts[2]
        if kind == "body" and len(parts) == 3:
            return lambda inv: inv.request.body.decode("utf-8", "replace")
        if len(parts) == 4:
            name = parts[3]
            if kind == "body":
                return lambda inv: body_value(inv.request.body, name)
            if kind == "path":
                return lambda inv: (
                    unquote(v) if (v := inv.path_params.get(name)) is not None and "%" in v else v
                )
            if kind in ("querystring", "multivaluequerystring"):
                multi = kind.startswith("multi")
                return lambda inv: _query(inv, name, multi)
            if kind in ("header", "multivalueheader"):
                multi = kind.startswith("multi")
                return lambda inv: _header(inv, name, multi)
    raise DeployError(f"{where}: invalid mapping expression {expr!r}")

"""Identity sources of HTTP API authorizers, compiled once per route: `$request.header.{name}` (any case,
repeated headers joined by `,` as payload 2.0 joins them), `$request.querystring.{name}` (case-sensitive,
repeats joined by `,`), `$context.{variable}` and `$stageVariables.{name}`. A getter answers the value, or
None when the request lacks it."""

from __future__ import annotations

from collections.abc import Callable

from apiway.core.errors import DeployError
from apiway.core.invocation import Invocation
from apiway.events.http_v2 import context_variable

Getter = Callable[[Invocation], str | None]
HEADER = "$request.header."
QUERY = "$request.querystring."
CONTEXT = "$context."
STAGE_VARIABLE = "$stageVariables."
KINDS = (HEADER, QUERY, CONTEXT, STAGE_VARIABLE)


def compile_source(source: str, where: str, kinds: tuple[str, ...] = KINDS) -> Getter:
    """The getter of one identity source; DeployError when it is not one of `kinds`."""
    for kind in kinds:
        if source.startswith(kind) and len(source) > len(kind):
            name = source[len(kind):]
            if kind == HEADER:
                return _header(name.lower())
            if kind == QUERY:
                return _query(name)
            if kind == CONTEXT:
                return lambda inv: context_variable(inv, name)
            return lambda inv: (inv.stage.variables or {}).get(name)
    raise DeployError(f"{where}: an identity source is one of {', '.join(k + '{name}' for k in kinds)}; "
                      f"got {source!r}")


def _header(lower: str) -> Getter:
    def get(inv: Invocation) -> str | None:
        req = inv.request
        value = req.header(lower)
        if value is None:
            return None
        values = [v for n, v in req.headers if n.lower() == lower]
        return value if len(values) == 1 else ",".join(values)

    return get


def _query(name: str) -> Getter:
    def get(inv: Invocation) -> str | None:
        values = (inv.request.query_params()[1] or {}).get(name)
        return ",".join(values) if values else None

    return get

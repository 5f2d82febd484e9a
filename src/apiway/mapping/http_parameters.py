"""HTTP API parameter mapping (spec §10.3): an integration's `requestParameters` change the request's headers,
query string and path before it reaches the backend, its `responseParameters` the backend's headers and status
per status code. Every key and value is compiled at deploy time into small closures; a bad one is a DeployError
naming the field.

Values are `$request.header.x`, `$request.querystring.x`, `$request.body[.jsonpath]`, `$request.path[.x]`,
`$context.x`, `$stageVariables.x` (and `$response.header.x`, `$response.body[.jsonpath]` for responses), static
text, or text mixing several as `${request.path.id}` (a bare `$request.…` inside text works too)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, unquote, unquote_plus

import orjson

from apiway import jsonpath
from apiway.core.errors import ConfigurationError, DeployError
from apiway.core.http import HttpResponse
from apiway.core.invocation import Invocation

# What a value reads: the invocation, and the integration's response when mapping one (None for requests).
Source = Callable[[Invocation, HttpResponse | None], str | None]
# `$context.{name}` of an HTTP API request (the HTTP API event format's, handed in by the compiler).
ContextVariable = Callable[[Invocation, str], str | None]

BODY_LIMIT = 100 * 1024  # `$request.body.{path}` reads the body cut to this many bytes
# `${…}` anywhere, or a bare `$request.…` that runs to the next space, `$` or `/`.
_TOKEN = re.compile(r"\$\{([^}]*)\}|\$((?:request|response|context|stageVariables)(?:\.[^\s$/]*)?)")
_ACTIONS = ("append", "overwrite", "remove")
# Headers a mapping may not name (the spec's reserved list): the gateway or the connection owns them.
_RESERVED = frozenset(
    ("authorization", "connection", "content-encoding", "content-length", "content-location", "forwarded",
     "keep-alive", "origin", "proxy-authenticate", "proxy-authorization", "te", "trailers", "transfer-encoding",
     "upgrade", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "via")
)
_RESERVED_PREFIXES = ("access-control-", "apigw-", "x-amz-", "x-amzn-")


def is_reserved(header: str) -> bool:
    lower = header.lower()
    return lower in _RESERVED or lower.startswith(_RESERVED_PREFIXES)


# -- values ---------------------------------------------------------------------------------------------------


def compile_value(text: str, stage_variables: dict[str, str], context: ContextVariable, where: str,
                  response: bool = False) -> Source:
    """A mapping value: None when it is one expression that finds nothing; text mixing expressions gets ""
    for each that finds nothing."""
    parts: list[str | Source] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            parts.append(text[pos:m.start()])
        expr = m.group(1) if m.group(1) is not None else m.group(2)
        parts.append(_source(expr, stage_variables, context, where, response))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    if not parts:
        return lambda _inv, _resp: ""
    if len(parts) == 1:
        only = parts[0]
        if isinstance(only, str):
            return lambda _inv, _resp: only
        return only
    pieces = tuple(parts)

    def joined(inv: Invocation, resp: HttpResponse | None) -> str:
        return "".join(p if isinstance(p, str) else (p(inv, resp) or "") for p in pieces)

    return joined


def _source(expr: str, stage_variables: dict[str, str], context: ContextVariable, where: str,
            response: bool) -> Source:
    kind, _, rest = expr.partition(".")
    if kind == "stageVariables" and rest:
        value = stage_variables.get(rest)
        return lambda _inv, _resp: value
    if kind == "context" and rest:
        return lambda inv, _resp: context(inv, rest)
    where_, _, name = rest.partition(".")
    if kind == "request":
        if where_ == "header" and name:
            lower = name.lower()
            return lambda inv, _resp: _joined_header(inv.request.headers, lower)
        if where_ == "querystring" and name:
            return lambda inv, _resp: _query_value(inv, name)
        if where_ == "path":
            if not name:
                return lambda inv, _resp: inv.path
            return lambda inv, _resp: _path_param(inv, name)
        if where_ == "body":
            if not name:
                return lambda inv, _resp: inv.request.body.decode("utf-8", "replace")
            path = _body_path(name, where)
            return lambda inv, _resp: _body_value(inv.request.body[:BODY_LIMIT], path)
    elif kind == "response" and response:
        if where_ == "header" and name:
            lower = name.lower()
            return lambda _inv, resp: _joined_header(resp.headers, lower) if resp is not None else None
        if where_ == "body":
            if not name:
                return lambda _inv, resp: resp.body.decode("utf-8", "replace") if resp is not None else None
            path = _body_path(name, where)
            return lambda _inv, resp: _body_value(resp.body[:BODY_LIMIT], path) if resp is not None else None
    raise DeployError(f"{where}: Invalid mapping expression specified: ${expr}")


def _joined_header(headers: list[tuple[str, str]], lower: str) -> str | None:
    values = [v for k, v in headers if k.lower() == lower]
    return ",".join(values) if values else None


def _query_value(inv: Invocation, name: str) -> str | None:
    multi = inv.request.query_params()[1]
    values = multi.get(name) if multi else None
    return ",".join(values) if values else None


def _path_param(inv: Invocation, name: str) -> str | None:
    value = inv.path_params.get(name)
    return unquote(value) if value is not None and "%" in value else value


def _body_path(name: str, where: str) -> jsonpath.CompiledPath:
    expression = name if name.startswith("$") else "$." + name
    if ".." in expression or "?(" in expression:  # AWS: no recursive descent, no filters
        raise DeployError(f"{where}: Invalid mapping expression specified: $request.body.{name}")
    try:
        return jsonpath.compile_path(expression)
    except jsonpath.JsonPathError:
        raise DeployError(f"{where}: Invalid mapping expression specified: $request.body.{name}") from None


def _body_value(body: bytes, path: jsonpath.CompiledPath) -> str | None:
    try:
        document = orjson.loads(body or b"null")
    except orjson.JSONDecodeError:
        return None
    value = path.evaluate(document)
    if value is None:
        return None
    return value if isinstance(value, str) else orjson.dumps(value).decode()


# -- request mapping ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class MappedRequest:
    headers: list[tuple[str, str]]
    query: str  # raw query string
    path: str | None  # None: the path is not overwritten


_Edit = tuple[str, str, str, Source]  # (action, "header" | "querystring", name, value)


class RequestMapping:
    """An integration's compiled `requestParameters`."""

    __slots__ = ("edits", "path")

    def __init__(self, edits: list[_Edit], path: Source | None) -> None:
        self.edits = edits
        self.path = path

    def apply(self, inv: Invocation) -> MappedRequest:
        """The request's headers, raw query and path as the backend gets them. Every value reads the request as
        the client sent it, before any edit."""
        req = inv.request
        values = [(action, where, name, source(inv, None)) for action, where, name, source in self.edits]
        headers = list(req.headers)
        query = [p for p in req.query.split("&") if p] if req.query else []
        for action, where, name, value in values:
            if where == "header":
                lower = name.lower()
                if action != "append":
                    headers = [(k, v) for k, v in headers if k.lower() != lower]
                if action != "remove" and value is not None:
                    headers.append((name, value))
            else:
                if action != "append":
                    query = [p for p in query if _query_name(p) != name]
                if action != "remove" and value is not None:
                    query.append(f"{quote(name, safe='')}={quote(value, safe='')}")
        path = None
        if self.path is not None:
            path = self.path(inv, None)
            if path is not None and not path.startswith("/"):
                path = "/" + path
        return MappedRequest(headers, "&".join(query), path)


def _query_name(pair: str) -> str:
    name = pair.partition("=")[0]
    return unquote_plus(name) if "%" in name or "+" in name else name


def compile_request(parameters: dict[str, str] | None, stage_variables: dict[str, str], context: ContextVariable,
                    where: str) -> RequestMapping | None:
    """None when the integration maps nothing (then the request passes untouched, at no cost)."""
    if not parameters:
        return None
    edits: list[_Edit] = []
    path: Source | None = None
    for key, text in parameters.items():
        field = f"{where}.requestParameters.{key}"
        action, _, target = key.partition(":")
        kind, _, name = target.partition(".")
        if action not in _ACTIONS:
            raise DeployError(f"{field}: Invalid mapping key: {key}; actions are append, overwrite and remove")
        if kind == "path" and not name:
            if action != "overwrite":
                raise DeployError(f"{field}: the path can only be overwritten")
            path = compile_value(text, stage_variables, context, field)
            continue
        if kind not in ("header", "querystring") or not name:
            raise DeployError(f"{field}: Invalid mapping key: {key}")
        if kind == "header" and is_reserved(name):
            raise DeployError(f"{field}: the header {name} is reserved and cannot be mapped")
        # `remove:` ignores its value (AWS asks for "").
        source = compile_value(text, stage_variables, context, field) if action != "remove" else _nothing
        edits.append((action, kind, name, source))
    return RequestMapping(edits, path)


def _nothing(_inv: Invocation, _resp: HttpResponse | None) -> None:
    return None


# -- response mapping -----------------------------------------------------------------------------------------


class ResponseMapping:
    """An integration's compiled `responseParameters`: by the backend's status code, its header edits and a new
    status."""

    __slots__ = ("by_status",)

    def __init__(self, by_status: dict[int, tuple[list[tuple[str, str, Source]], Source | None]]) -> None:
        self.by_status = by_status

    def apply(self, inv: Invocation, response: HttpResponse) -> None:
        found = self.by_status.get(response.status)
        if found is None:
            return
        edits, status = found
        values = [(action, name, source(inv, response)) for action, name, source in edits]
        new_status = status(inv, response) if status is not None else None
        headers = response.headers
        for action, name, value in values:
            lower = name.lower()
            if action != "append":
                headers = [(k, v) for k, v in headers if k.lower() != lower]
            if action != "remove" and value is not None:
                headers.append((name, value))
        response.headers = headers
        if new_status is not None:
            try:
                code = int(new_status)
            except ValueError:
                code = 0
            if not 100 <= code <= 599:
                raise ConfigurationError(f"Execution failed due to configuration error: invalid status code "
                                         f"{new_status!r} from responseParameters")
            response.status = code


def compile_response(parameters: dict[str, dict[str, str]] | None, stage_variables: dict[str, str],
                     context: ContextVariable, where: str) -> ResponseMapping | None:
    if not parameters:
        return None
    by_status: dict[int, tuple[list[tuple[str, str, Source]], Source | None]] = {}
    for code, mapping in parameters.items():
        if not code.isdigit() or not 200 <= int(code) <= 599:
            raise DeployError(f"{where}.responseParameters.{code}: the selection key must be a status code "
                              f"between 200 and 599")
        edits: list[tuple[str, str, Source]] = []
        status: Source | None = None
        for key, text in mapping.items():
            field = f"{where}.responseParameters.{code}.{key}"
            action, _, target = key.partition(":")
            kind, _, name = target.partition(".")
            if key == "overwrite:statuscode":
                status = compile_value(text, stage_variables, context, field, response=True)
                continue
            if action not in _ACTIONS or kind != "header" or not name:
                raise DeployError(f"{field}: Invalid mapping key: {key}")
            if is_reserved(name):
                raise DeployError(f"{field}: the header {name} is reserved and cannot be mapped")
            source = (compile_value(text, stage_variables, context, field, response=True) if action != "remove"
                      else _nothing)
            edits.append((action, name, source))
        by_status[int(code)] = (edits, status)
    return ResponseMapping(by_status)

"""HTTP_PROXY and HTTP integrations: requests to an HTTP backend through the pooled upstream
client, with AWS's header rules (Host rewritten, hop-by-hop headers dropped, X-Forwarded-* and
X-Amzn-Apigateway-Api-Id added) and parameter mappings merged in."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from apiway.core import trail
from apiway.core.errors import ConfigurationError, DeployError, GatewayError, IntegrationFailure, IntegrationTimeout
from apiway.core.http import DROPPED_REQUEST_HEADERS, STREAM_MIN, BodyStream, HttpResponse
from apiway.core.invocation import Invocation
from apiway.integrations.upstream import (
    UpstreamConnectError,
    UpstreamPool,
    UpstreamResponse,
    UpstreamTimeout,
)
from apiway.mapping.integration_response import ResponseSelector
from apiway.mapping.request_template import RequestTransform
from apiway.mapping.sources import Getter, compile_source
from apiway.mapping.variables import TemplateScope
from apiway.model.rest import DEFAULT_TIMEOUT_MS

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_\-.]+)\+?\}")
_PROXY_SKIP = DROPPED_REQUEST_HEADERS | frozenset(
    ("host", "content-encoding", "via", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto",
     "x-amzn-trace-id", "x-amzn-apigateway-api-id")
)
# Mapping one of these is a configuration error AWS reports as 500 on every call.
_FORBIDDEN_MAPPED = frozenset(("content-length", "transfer-encoding", "x-amzn-trace-id", "x-amzn-apigateway-api-id"))
# Never sent to an HTTP backend even when mapped (AWS's recorded header-remapping run).
_DROPPED_MAPPED = frozenset(("expect", "te", "proxy-authenticate", "via"))
# Values filling URI placeholders are decoded; they are percent-encoded again for the backend request.
# A greedy `{proxy}` value keeps its '/' separators; a '/' sent encoded (%2F) stays encoded, inside its segment.
_SEGMENT_SAFE = "!$&'()*+,;=:@"
_PATH_SAFE = "/" + _SEGMENT_SAFE
# A value of these characters needs no decoding nor encoding: unless it holds a dot-segment, it is used as is.
_PLAIN_PATH_VALUE = re.compile(r"[A-Za-z0-9_~\-/!$&'()*+,;=:@.]*")
_METHOD_PATH = "method.request.path."
_NO_BODY_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
_NO_VALUES: tuple[dict[str, str], dict[str, str]] = ({}, {})  # never written to (HTTP_PROXY has no overrides)


def _pieces(text: str) -> list[str | tuple[str]]:
    pieces: list[str | tuple[str]] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        pieces.append(text[pos : m.start()])
        pieces.append((m.group(1),))
        pos = m.end()
    pieces.append(text[pos:])
    return pieces


def _fill(pieces: list[str | tuple[str]], values: dict[str, str], safe: str) -> str:
    if len(pieces) == 1:
        return pieces[0]  # type: ignore[return-value]
    return "".join(p if isinstance(p, str) else quote(values.get(p[0], ""), safe=safe) for p in pieces)


def _path_text(value: str, encoded: bool) -> str:
    """A value as it fills a placeholder of the backend path: segment by segment (an `encoded` value, as the
    client sent it, is decoded per segment, so its %2F stays data and never becomes a separator), with its
    dot-segments (`.`, `..`, however encoded) resolved within the value itself: it can never climb above the
    place of its placeholder in the integration URI."""
    if _PLAIN_PATH_VALUE.fullmatch(value) and ("." not in value or not _has_dot_segment(value)):
        return value
    if not _has_dot_segment(value):
        if not encoded or "%" not in value:
            return quote(value, safe=_PATH_SAFE)
        lower = value.lower()
        if "%2f" not in lower and "%2e" not in lower:  # nothing encoded that could split or climb: at once
            return quote(unquote(value), safe=_PATH_SAFE)
    out: list[str] = []
    for segment in value.split("/"):
        if encoded and "%" in segment:
            segment = unquote(segment)
            if "/" in segment and _has_dot_segment(segment):
                # An encoded '/' beside a dot-segment (`..%2F..%2Fetc`): resolved as if it were a separator,
                # so that neither does a backend that decodes %2F climb.
                for piece in segment.split("/"):
                    _push(out, piece)
                continue
        _push(out, segment)
    return "/".join(out)


def _push(out: list[str], segment: str) -> None:
    """Add one decoded segment to a path being resolved: `..` drops the last one (never more), `.` nothing."""
    if segment == "..":
        if out:
            out.pop()
    elif segment != ".":
        out.append(quote(segment, safe=_SEGMENT_SAFE))


def _has_dot_segment(value: str) -> bool:
    bounded = f"/{value}/"
    return "/./" in bounded or "/../" in bounded


class UpstreamTarget:
    """A backend URI (stage variables already substituted) split once into connection and path."""

    __slots__ = ("host", "host_header", "path_pieces", "port", "query_pieces", "scheme")

    def __init__(self, uri: str, where: str) -> None:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeployError(f"{where}.uri: invalid HTTP endpoint {uri!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        try:
            self.port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise DeployError(f"{where}.uri: invalid port in {uri!r}") from None
        default_port = self.port == (443 if self.scheme == "https" else 80)
        self.host_header = self.host if default_port else f"{self.host}:{self.port}"
        self.path_pieces = _pieces(parts.path or "/")
        # Placeholders may also sit in the URI's query (`?testVar={pathVar}`, recorded AWS run).
        self.query_pieces = _pieces(parts.query)

    def placeholders(self) -> list[str]:
        return [p[0] for p in (*self.path_pieces, *self.query_pieces) if isinstance(p, tuple)]

    def query_placeholders(self) -> frozenset[str]:
        return frozenset(p[0] for p in self.query_pieces if isinstance(p, tuple))

    def target(self, path_values: dict[str, str], extra_query: str, raw: dict[str, str] | None = None) -> str:
        """The request target: `path_values` decoded, `raw` (which wins) as the client sent them."""
        pieces = self.path_pieces
        first = pieces[0]
        if len(pieces) == 1 and isinstance(first, str):  # no placeholder in the path
            path = first
        else:
            parts = []
            for piece in pieces:
                if isinstance(piece, str):
                    parts.append(piece)
                elif raw and (sent := raw.get(piece[0])) is not None:
                    parts.append(_path_text(sent, True))
                else:
                    parts.append(_path_text(path_values.get(piece[0], ""), False))
            path = "".join(parts)
        query = "&".join(q for q in (_fill(self.query_pieces, path_values, ""), extra_query) if q)
        return f"{path}?{query}" if query else path


class _Mappings:
    """Compiled `integration.request.{header,querystring,path}.*` mappings."""

    __slots__ = ("forbidden", "headers", "path", "path_params", "query")

    def __init__(self, integration: dict, stage_vars: dict[str, str], where: str) -> None:
        self.headers: list[tuple[str, Getter]] = []
        self.query: list[tuple[str, Getter]] = []
        self.path: dict[str, Getter] = {}
        self.path_params: dict[str, str] = {}  # path target → the method path parameter it is mapped from
        self.forbidden: str | None = None
        for target, source in (integration.get("requestParameters") or {}).items():
            kind, _, name = target.removeprefix("integration.request.").partition(".")
            getter = compile_source(source, stage_vars, f"{where}.requestParameters.{target}")
            if kind in ("header", "multivalueheader"):
                if name.lower() in _FORBIDDEN_MAPPED:
                    self.forbidden = f"Invalid mapping expression: header {name} cannot be mapped"
                if name.lower() not in _DROPPED_MAPPED:
                    self.headers.append((name, getter))
            elif kind in ("querystring", "multivaluequerystring"):
                self.query.append((name, getter))
            elif kind == "path":
                self.path[name] = getter
                if source.startswith(_METHOD_PATH):
                    self.path_params[name] = source[len(_METHOD_PATH):]
            else:
                raise DeployError(f"{where}.requestParameters: invalid target {target!r}")

    def path_values(self, inv: Invocation, placeholders: list[str], in_query: frozenset[str],
                    ) -> tuple[dict[str, str], dict[str, str]]:
        """The placeholders' values decoded, and those taken from a request path parameter as the client sent
        them (a path placeholder is filled from that, so that an encoded '/' or '.' keeps its meaning; only
        one also `in_query` needs its decoded value too)."""
        values = {}
        raw = {}
        for name in placeholders:
            getter = self.path.get(name)
            # Without a mapping, fill the placeholder from the same-named path parameter (decoded, as a
            # mapped method.request.path value is).
            param = self.path_params.get(name, name) if getter is None or name in self.path_params else None
            if param is not None:
                sent = inv.path_params.get(param)
                if sent is not None:
                    raw[name] = sent
                    if name in in_query:
                        values[name] = unquote(sent) if "%" in sent else sent
                    continue
                value = None
            else:
                assert getter is not None
                value = getter(inv)
            values[name] = "" if value is None else value
        return values, raw

    def extra_query(self, inv: Invocation) -> str:
        parts = []
        for name, getter in self.query:
            value = getter(inv)
            if value is not None:
                parts.append(f"{quote(name, safe='')}={quote(value, safe='')}")
        return "&".join(parts)

    def mapped_headers(self, inv: Invocation) -> list[tuple[str, str]]:
        out = []
        for name, getter in self.headers:
            value = getter(inv)
            if value:  # AWS drops a header whose mapped value is empty
                out.append((name, value))
        return out


def _gateway_headers(inv: Invocation, target: UpstreamTarget, mapped_names: set[str]) -> list[tuple[str, str]]:
    # Host is rewritten to the integration host unless a mapping sets it (AWS's recorded run).
    host = [] if "host" in mapped_names else [("Host", target.host_header)]
    return [*host, ("X-Amzn-Apigateway-Api-Id", inv.stage.api_id), *inv.forwarding_headers()]


class _HttpBase:
    __slots__ = ("in_query", "mappings", "method", "placeholders", "pool", "target", "timeout", "verify_tls")

    def __init__(self, integration: dict, stage_vars: dict[str, str], pool: UpstreamPool, where: str) -> None:
        uri = integration.get("uri")
        if not uri:
            raise DeployError(f"{where}.uri: an HTTP integration needs a uri")
        self.target = UpstreamTarget(uri, where)
        self.placeholders = self.target.placeholders()
        self.in_query = self.target.query_placeholders()
        self.method = (integration.get("httpMethod") or "ANY").upper()
        self.timeout = int(integration.get("timeoutInMillis") or DEFAULT_TIMEOUT_MS) / 1000
        self.verify_tls = not (integration.get("tlsConfig") or {}).get("insecureSkipVerification", False)
        self.mappings = _Mappings(integration, stage_vars, where)
        self.pool = pool

    async def _send(self, inv: Invocation, target: str, headers: list[tuple[bytes, bytes]],
                    body: bytes | BodyStream, stream_from: int | None = None) -> UpstreamResponse:
        if self.mappings.forbidden:
            raise ConfigurationError(self.mappings.forbidden)
        method = inv.request.method if self.method == "ANY" else self.method
        t = self.target
        try:
            if inv.trail is not None or inv.notes is not None:
                return await self._observed(inv, method, target, headers, body, stream_from)
            return await self.pool.request(t.scheme, t.host, t.port, method, target, headers, body,
                                           self.timeout, self.verify_tls, stream_from)
        except UpstreamTimeout:
            raise _noted(inv, IntegrationTimeout(), "Execution failed due to a timeout error") from None
        except UpstreamConnectError as exc:
            raise _noted(inv, ConfigurationError(f"Execution failed due to configuration error: {exc}")) from None
        except Exception as exc:  # protocol errors, resets mid-response
            raise _noted(inv, IntegrationFailure(f"Execution failed due to a network error: {exc}")) from None

    async def _observed(self, inv: Invocation, method: str, target: str, headers: list[tuple[bytes, bytes]],
                        body: bytes | BodyStream, stream_from: int | None) -> UpstreamResponse:
        """The same request on an observed stage: its execution-log lines and the integration's notes."""
        t = self.target
        url = f"{t.scheme}://{t.host}:{t.port}{target}"
        steps = inv.trail
        if steps is not None:
            steps.append((trail.DATA, f"Endpoint request URI: {url}"))
            steps.append((trail.DATA, f"Endpoint request headers: {trail.masked_headers(_decode(headers))}"))
            # a long HTTP_PROXY body goes upstream as it arrives: it is not held to be shown
            shown = trail.body_text(body) if isinstance(body, bytes) else f"[{body.length} bytes streamed, not shown]"
            steps.append((trail.DATA, f"Endpoint request body after transformations: {shown}"))
            steps.append((trail.INFO, f"Sending request to {url}"))
        started = inv.stage.wall_ms()
        resp = await self.pool.request(t.scheme, t.host, t.port, method, target, headers, body, self.timeout,
                                       self.verify_tls, None if steps is not None else stream_from)
        latency = inv.stage.wall_ms() - started
        if inv.notes is not None:  # keys: telemetry/notes.py
            inv.notes["integration.integrationStatus"] = inv.notes["integration.status"] = resp.status
            inv.notes["integration.latency"] = latency
        if steps is not None:
            steps.append((trail.INFO, f"Received response. Status: {resp.status}, Integration latency: {latency} ms"))
            steps.append((trail.DATA, f"Endpoint response headers: {trail.masked_headers(_decode(resp.headers))}"))
            steps.append((trail.DATA, "Endpoint response body before transformations: "
                          + trail.body_text(resp.body)))
        return resp


def _noted(inv: Invocation, err: GatewayError, reason: str | None = None) -> GatewayError:
    """The failure as `$context.integration.error`/`integrationErrorMessage` show it (observed stages only)."""
    if inv.notes is not None:
        inv.notes["integration.error"] = reason or err.log  # keys: telemetry/notes.py
    return err


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in headers]


def _decode(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


class HttpProxyIntegration(_HttpBase):
    """HTTP_PROXY: the client's request passes through; the backend's response comes back."""

    __slots__ = ()

    async def __call__(self, inv: Invocation) -> HttpResponse:
        req = inv.request
        mapped = self.mappings.mapped_headers(inv)
        mapped_names = {name.lower() for name, _ in mapped}
        headers = [(k, v) for k, v in req.headers if (lk := k.lower()) not in _PROXY_SKIP and lk not in mapped_names]
        headers += mapped
        headers += _gateway_headers(inv, self.target, mapped_names)
        extra = req.query
        if self.mappings.query:
            extra = "&".join(q for q in (req.query, self.mappings.extra_query(inv)) if q)
        path_values, raw = (self.mappings.path_values(inv, self.placeholders, self.in_query) if self.placeholders
                             else _NO_VALUES)
        target = self.target.target(path_values, extra, raw)
        # A long response body goes to the client as it arrives, unless a data trace logs it.
        resp = await self._send(inv, target, _encode(headers), req.stream or req.body, STREAM_MIN)
        return HttpResponse(resp.status, _decode(resp.headers), resp.body, resp.stream)


class HttpIntegration(_HttpBase):
    """HTTP (non-proxy): only mapped parameters reach the backend; integration responses map back."""

    __slots__ = ("responses", "transform")

    def __init__(self, integration: dict, stage_vars: dict[str, str], pool: UpstreamPool, where: str) -> None:
        super().__init__(integration, stage_vars, pool, where)
        self.transform = RequestTransform(integration, where)
        self.responses = ResponseSelector(integration.get("integrationResponses") or {}, where)

    async def __call__(self, inv: Invocation) -> HttpResponse:
        scope = TemplateScope(inv)
        body = self.transform.body(scope)
        mapped = self.mappings.mapped_headers(inv)
        mapped_names = {name.lower() for name, _ in mapped}
        headers = []
        defaults = [("Accept", "application/json"), ("User-Agent", f"AmazonAPIGateway_{inv.stage.api_id}")]
        # Content-Type only goes with a body-carrying integration method: AWS's recorded GET sent none
        # although the client did.
        method = inv.request.method if self.method == "ANY" else self.method
        if method not in _NO_BODY_METHODS:
            defaults.append(("Content-Type", inv.request.header("content-type") or "application/json"))
        for name, value in defaults:
            if name.lower() not in mapped_names:
                headers.append((name, value))
        headers += mapped
        headers += _gateway_headers(inv, self.target, mapped_names)
        path_values, raw = (self.mappings.path_values(inv, self.placeholders, self.in_query) if self.placeholders
                             else ({}, {}))
        query = self.mappings.extra_query(inv)
        override = scope.request_override()
        if override is not None:  # `$context.requestOverride.*` set by the request template wins
            headers, query = _apply_override(override, headers, query, path_values)
            for name in override["path"]:
                raw.pop(name, None)
        target = self.target.target(path_values, query, raw)
        resp = await self._send(inv, target, _encode(headers), body)
        selected = self.responses.select(str(resp.status))
        return selected.respond(scope, resp.body, _decode(resp.headers))


def _apply_override(
    override: dict[str, dict[str, str]], headers: list[tuple[str, str]], query: str, path_values: dict[str, str]
) -> tuple[list[tuple[str, str]], str]:
    replaced = {name.lower() for name in override["header"]}
    headers = [(k, v) for k, v in headers if k.lower() not in replaced]
    headers += [(k, str(v)) for k, v in override["header"].items()]
    if override["querystring"]:
        names = set(override["querystring"])
        kept = [p for p in query.split("&") if p and unquote(p.partition("=")[0]) not in names]
        kept += [f"{quote(k, safe='')}={quote(str(v), safe='')}" for k, v in override["querystring"].items()]
        query = "&".join(kept)
    path_values.update({k: str(v) for k, v in override["path"].items()})
    return headers, query

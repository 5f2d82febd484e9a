"""HTTP_PROXY and HTTP integrations: requests to an HTTP backend through the pooled upstream
client, with AWS's header rules (Host rewritten, hop-by-hop headers dropped, X-Forwarded-* and
X-Amzn-Apigateway-Api-Id added) and parameter mappings merged in."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from apiway.core import request_ids
from apiway.core.errors import ConfigurationError, DeployError, IntegrationFailure, IntegrationTimeout
from apiway.core.http import DROPPED_REQUEST_HEADERS, HttpResponse
from apiway.core.invocation import Invocation
from apiway.integrations.upstream import (
    UpstreamConnectError,
    UpstreamPool,
    UpstreamResponse,
    UpstreamTimeout,
)
from apiway.mapping.integration_response import ResponseSelector
from apiway.mapping.request_template import RequestTransform
from apiway.mapping.response_headers import HTTP_POLICY, HTTP_PROXY_POLICY
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
# A greedy `{proxy}` value keeps its '/' separators.
_PATH_SAFE = "/!$&'()*+,;=:@"
_NO_BODY_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


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

    def target(self, path_values: dict[str, str], extra_query: str) -> str:
        path = _fill(self.path_pieces, path_values, _PATH_SAFE)
        query = "&".join(q for q in (_fill(self.query_pieces, path_values, ""), extra_query) if q)
        return f"{path}?{query}" if query else path


class _Mappings:
    """Compiled `integration.request.{header,querystring,path}.*` mappings."""

    __slots__ = ("forbidden", "headers", "path", "query")

    def __init__(self, integration: dict, stage_vars: dict[str, str], where: str) -> None:
        self.headers: list[tuple[str, Getter]] = []
        self.query: list[tuple[str, Getter]] = []
        self.path: dict[str, Getter] = {}
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
            else:
                raise DeployError(f"{where}.requestParameters: invalid target {target!r}")

    def path_values(self, inv: Invocation, placeholders: list[str]) -> dict[str, str]:
        values = {}
        for name in placeholders:
            getter = self.path.get(name)
            # Without a mapping, fill the placeholder from the same-named path parameter (decoded, as a
            # mapped method.request.path value is).
            if getter is not None:
                value = getter(inv)
            else:
                value = inv.path_params.get(name)
                value = unquote(value) if value is not None and "%" in value else value
            values[name] = "" if value is None else value
        return values

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
    req = inv.request
    xff = req.header("x-forwarded-for")
    # Host is rewritten to the integration host unless a mapping sets it (AWS's recorded run).
    host = [] if "host" in mapped_names else [("Host", target.host_header)]
    return [
        *host,
        ("X-Amzn-Apigateway-Api-Id", inv.stage.api_id),
        ("X-Amzn-Trace-Id", request_ids.trace_header(req.header("x-amzn-trace-id"), inv.epoch_ms // 1000)),
        ("X-Forwarded-For", f"{xff}, {req.client_ip}" if xff else req.client_ip),
        ("X-Forwarded-Port", str(req.server_port)),
        ("X-Forwarded-Proto", req.scheme),
    ]


class _HttpBase:
    __slots__ = ("mappings", "method", "placeholders", "pool", "target", "timeout", "verify_tls")

    def __init__(self, integration: dict, stage_vars: dict[str, str], pool: UpstreamPool, where: str) -> None:
        uri = integration.get("uri")
        if not uri:
            raise DeployError(f"{where}.uri: an HTTP integration needs a uri")
        self.target = UpstreamTarget(uri, where)
        self.placeholders = self.target.placeholders()
        self.method = (integration.get("httpMethod") or "ANY").upper()
        self.timeout = int(integration.get("timeoutInMillis") or DEFAULT_TIMEOUT_MS) / 1000
        self.verify_tls = not (integration.get("tlsConfig") or {}).get("insecureSkipVerification", False)
        self.mappings = _Mappings(integration, stage_vars, where)
        self.pool = pool

    async def _send(self, inv: Invocation, target: str, headers: list[tuple[bytes, bytes]], body: bytes,
                    ) -> UpstreamResponse:
        if self.mappings.forbidden:
            raise ConfigurationError(self.mappings.forbidden)
        method = inv.request.method if self.method == "ANY" else self.method
        t = self.target
        try:
            return await self.pool.request(t.scheme, t.host, t.port, method, target, headers, body,
                                           self.timeout, self.verify_tls)
        except UpstreamTimeout:
            raise IntegrationTimeout() from None
        except UpstreamConnectError as exc:
            raise ConfigurationError(f"Execution failed due to configuration error: {exc}") from None
        except Exception as exc:  # protocol errors, resets mid-response
            raise IntegrationFailure(f"Execution failed due to a network error: {exc}") from None


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
        path_values = self.mappings.path_values(inv, self.placeholders) if self.placeholders else {}
        target = self.target.target(path_values, extra)
        resp = await self._send(inv, target, _encode(headers), req.body)
        return HttpResponse(resp.status, HTTP_PROXY_POLICY.apply(_decode(resp.headers)), resp.body)


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
        path_values = self.mappings.path_values(inv, self.placeholders) if self.placeholders else {}
        query = self.mappings.extra_query(inv)
        override = scope.request_override()
        if override is not None:  # `$context.requestOverride.*` set by the request template wins
            headers, query = _apply_override(override, headers, query, path_values)
        target = self.target.target(path_values, query)
        resp = await self._send(inv, target, _encode(headers), body)
        selected = self.responses.select(str(resp.status))
        out = selected.respond(scope, resp.body, _decode(resp.headers))
        out.headers = HTTP_POLICY.apply(out.headers)
        trace = request_ids.trace_header(inv.request.header("x-amzn-trace-id"), inv.epoch_ms // 1000)
        out.headers.append(("X-Amzn-Trace-Id", trace))
        return out


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

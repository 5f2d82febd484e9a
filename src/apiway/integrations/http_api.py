"""HTTP APIs' integrations: HTTP_PROXY (the request passes to a backend URL, the backend's answer comes back)
and the payload-format-aware Lambda proxy, with the integration's parameter mapping (spec §10.3) and its
timeout (`timeoutInMillis`). Failures a backend causes are answered the way a proxy does: 503 Service
Unavailable when it cannot be reached in time, 502 Bad Gateway when its answer is unreadable."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from apiway.core.errors import GatewayError
from apiway.core.http import STREAM_MIN, HttpRequest, HttpResponse
from apiway.core.invocation import Integration, Invocation
from apiway.events.http_v2 import raw_path
from apiway.integrations.http import _PATH_SAFE, UpstreamTarget, _path_text
from apiway.integrations.upstream import UpstreamConnectError, UpstreamPool, UpstreamTimeout
from apiway.mapping.http_parameters import RequestMapping

# Never passed to the backend: the connection's own headers and what the gateway sets itself.
_SKIPPED = frozenset(
    ("connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect",
     "content-length", "host", "forwarded", "via", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto",
     "x-amzn-trace-id")
)
# Never passed back to the client: the front-end frames the response itself.
_RESPONSE_SKIPPED = frozenset(("connection", "keep-alive", "transfer-encoding", "content-length"))
_STATUS_TEXT = {502: "Bad Gateway", 503: "Service Unavailable"}


class BackendError(GatewayError):
    """A backend that could not be reached in time (503) or answered unreadably (502): HTTP APIs answer with
    the proxy's status, not 500."""

    def __init__(self, status: int, log: str) -> None:
        super().__init__("INTEGRATION_TIMEOUT" if status == 503 else "INTEGRATION_FAILURE", _STATUS_TEXT[status],
                         status=status, log=log)


class HttpApiProxy:
    """HTTP_PROXY on an HTTP API route."""

    __slots__ = ("append_path", "mapping", "method", "placeholders", "pool", "target", "timeout", "verify_tls")

    def __init__(self, target: UpstreamTarget, method: str, timeout_ms: int, verify_tls: bool, pool: UpstreamPool,
                 mapping: RequestMapping | None, append_path: bool) -> None:
        self.target = target
        self.placeholders = bool(target.placeholders())
        self.method = method.upper()
        self.timeout = timeout_ms / 1000
        self.verify_tls = verify_tls
        self.pool = pool
        self.mapping = mapping
        # The `$default` route sends the path as the client sent it, after the integration URI's own path.
        self.append_path = append_path and not self.placeholders

    async def __call__(self, inv: Invocation) -> HttpResponse:
        req = inv.request
        if self.mapping is not None:
            mapped = self.mapping.apply(inv)
            sent_headers, query, path = mapped.headers, mapped.query, mapped.path
        else:
            sent_headers, query, path = req.headers, req.query, None
        headers = [(k, v) for k, v in sent_headers if k.lower() not in _SKIPPED]
        headers += _gateway_headers(inv, self.target)
        target = self._request_target(inv, query, path)
        method = req.method if self.method == "ANY" else self.method
        t = self.target
        encoded = [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in headers]
        try:
            resp = await self.pool.request(t.scheme, t.host, t.port, method, target, encoded, req.stream or req.body,
                                           self.timeout, self.verify_tls, STREAM_MIN)
        except UpstreamTimeout:
            raise _noted(inv, BackendError(503, f"Integration timed out after {self.timeout * 1000:.0f} ms")) from None
        except UpstreamConnectError as exc:
            raise _noted(inv, BackendError(503, f"Integration could not connect: {exc}")) from None
        except Exception as exc:  # protocol errors, resets mid-response
            raise _noted(inv, BackendError(502, f"Integration answered unreadably: {exc}")) from None
        if inv.notes is not None:
            inv.notes["integration.integrationStatus"] = resp.status  # keys: telemetry/notes.py
        out = []
        for name, value in resp.headers:
            text = name.decode("latin-1")
            if text.lower() not in _RESPONSE_SKIPPED:
                out.append((text, value.decode("latin-1")))
        return HttpResponse(resp.status, out, resp.body, resp.stream)  # a long body passed on as it arrives

    def _request_target(self, inv: Invocation, query: str, path: str | None) -> str:
        if path is not None:  # `overwrite:path` replaces the whole path; the URI's own query string stays
            base = quote(path, safe=_PATH_SAFE)
            joined = _joined(self.target.target({}, ""), query)
            return f"{base}?{joined}" if joined else base
        if self.placeholders:
            # `{proxy}`, `{id}`: the route's path variables as the client sent them.
            return self.target.target({}, query, inv.path_params)
        base = self.target.target({}, query)
        if not self.append_path:
            return base
        path_part, sep, query_part = base.partition("?")
        sent = _path_text(raw_path(inv).lstrip("/"), True)  # a named stage's segment included, as AWS does
        return f"{path_part.rstrip('/')}/{sent}{sep}{query_part}"


def _noted(inv: Invocation, err: BackendError) -> BackendError:
    """The failure as `$context.integration.error`/`integrationErrorMessage` show it (observed stages only)."""
    if inv.notes is not None:
        inv.notes["integration.error"] = err.log
    return err


def _joined(target: str, query: str) -> str:
    """A URI's own query (after `?` in `target`, if any) and the request's."""
    own = target.partition("?")[2]
    return "&".join(q for q in (own, query) if q)


def _gateway_headers(inv: Invocation, target: UpstreamTarget) -> list[tuple[str, str]]:
    req = inv.request
    return [("Host", target.host_header),
            ("Forwarded", f"for={req.client_ip};host={req.header('host') or ''};proto={req.scheme}"),
            *inv.forwarding_headers()]


class Mapped:
    """An integration that gets the request as its parameter mapping changed it (a Lambda function's event
    shows the mapped headers and query string)."""

    __slots__ = ("inner", "mapping")

    def __init__(self, inner: Integration, mapping: RequestMapping) -> None:
        self.inner = inner
        self.mapping = mapping

    async def __call__(self, inv: Invocation) -> HttpResponse:
        mapped = self.mapping.apply(inv)
        req = inv.request
        inv.request = HttpRequest(req.method, req.path, mapped.query, mapped.headers, req.body, req.client_ip,
                                  req.scheme, req.server_port, req.http_version)
        try:
            return await self.inner(inv)
        finally:
            inv.request = req  # the client's request again for what follows (CORS, logs)


class TimeLimited:
    """An integration bounded by its `timeoutInMillis` (a Lambda function may run longer): 503 when it ends."""

    __slots__ = ("inner", "timeout")

    def __init__(self, inner: Integration, timeout_ms: int) -> None:
        self.inner = inner
        self.timeout = timeout_ms / 1000

    async def __call__(self, inv: Invocation) -> HttpResponse:
        try:
            return await asyncio.wait_for(self.inner(inv), self.timeout)
        except TimeoutError:
            raise BackendError(503, f"Integration timed out after {self.timeout * 1000:.0f} ms") from None

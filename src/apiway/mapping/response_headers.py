"""What the gateway does to an integration's answer before the client sees it, per integration kind:
which headers pass as they are, which are renamed to `x-amzn-Remapped-{Name}` (the gateway writes its
own under that name) and which are dropped, as AWS's header table and recorded responses show; and
where the trace header is returned. `RESPONSE_FILTERS` is what compiling a method picks from."""

from __future__ import annotations

from apiway.core.http import HttpResponse
from apiway.core.invocation import Invocation, ResponseFilter

_REMAPPED = frozenset(("connection", "content-length", "date", "server", "x-amzn-requestid"))
# Non-proxy integrations: response parameters naming these also come back remapped (recorded AWS
# header-remapping run, HTTP `full-integration`).
_REMAPPED_NON_PROXY = _REMAPPED | frozenset(
    ("authorization", "content-md5", "expect", "host", "max-forwards", "proxy-authenticate", "trailer", "upgrade",
     "user-agent", "www-authenticate")
)


class HeaderPolicy:
    __slots__ = ("_dropped", "_remapped")

    def __init__(self, dropped: frozenset[str], remapped: frozenset[str] = _REMAPPED) -> None:
        self._dropped = dropped
        self._remapped = remapped

    def apply(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        out = []
        remapped = self._remapped
        for name, value in headers:
            lower = name.lower()
            if lower in remapped:
                out.append(("x-amzn-Remapped-" + name, value))
            elif lower not in self._dropped:
                out.append((name, value))
        return out


LAMBDA_POLICY = HeaderPolicy(frozenset(("transfer-encoding", "via")))
HTTP_PROXY_POLICY = HeaderPolicy(frozenset(("transfer-encoding", "via", "keep-alive")))
HTTP_POLICY = HeaderPolicy(frozenset(("transfer-encoding", "keep-alive")), _REMAPPED_NON_PROXY)


def _http(inv: Invocation, response: HttpResponse) -> None:
    response.headers = HTTP_POLICY.apply(response.headers)
    response.headers.append(("X-Amzn-Trace-Id", inv.trace_id()))


def _http_proxy(inv: Invocation, response: HttpResponse) -> None:
    response.headers = HTTP_PROXY_POLICY.apply(response.headers)


def _lambda(inv: Invocation, response: HttpResponse) -> None:
    response.headers.append(("X-Amzn-Trace-Id", inv.trace_id()))


def _lambda_proxy(inv: Invocation, response: HttpResponse) -> None:
    headers = response.headers = LAMBDA_POLICY.apply(response.headers)
    # AWS returns the trace id it handed the function on every successful proxy response (recorded with and
    # without a client X-Amzn-Trace-Id) unless the function set its own; gateway errors carry none.
    if not any(name.lower() == "x-amzn-trace-id" for name, _ in headers):
        headers.append(("X-Amzn-Trace-Id", inv.trace_id()))


# By integration type; MOCK answers as its templates say.
RESPONSE_FILTERS: dict[str, ResponseFilter | None] = {
    "MOCK": None, "HTTP": _http, "HTTP_PROXY": _http_proxy, "AWS": _lambda, "AWS_PROXY": _lambda_proxy,
}

"""Which integration response headers reach the client as they are, which are renamed to
`x-amzn-Remapped-{Name}` (the gateway writes its own under that name) and which are dropped —
per integration kind, as AWS's header table and recorded responses show."""

from __future__ import annotations

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

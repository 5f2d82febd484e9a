"""Which integration response headers reach the client as they are, which are renamed to
`x-amzn-Remapped-{Name}` (the gateway writes its own under that name) and which are dropped —
per integration kind, as AWS's header table and recorded responses show."""

from __future__ import annotations

_REMAPPED = frozenset(("connection", "content-length", "date", "server", "x-amzn-requestid"))


class HeaderPolicy:
    __slots__ = ("_dropped",)

    def __init__(self, dropped: frozenset[str]) -> None:
        self._dropped = dropped

    def apply(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        out = []
        for name, value in headers:
            lower = name.lower()
            if lower in _REMAPPED:
                out.append(("x-amzn-Remapped-" + name, value))
            elif lower not in self._dropped:
                out.append((name, value))
        return out


LAMBDA_POLICY = HeaderPolicy(frozenset(("transfer-encoding", "via")))
HTTP_PROXY_POLICY = HeaderPolicy(frozenset(("transfer-encoding", "via", "keep-alive")))
HTTP_POLICY = HeaderPolicy(frozenset(("transfer-encoding", "keep-alive")))

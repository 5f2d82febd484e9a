"""The core's view of HTTP: a small request object in, (status, headers, body) out. Front-ends
(ASGI, later a native server) adapt their server to these two types; the core never sees a server."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from apiway.core.query import parse_query

MAX_PAYLOAD = 10 * 1024 * 1024  # AWS's limit on a request's payload


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str  # raw (still percent-encoded) path, without the query string
    query: str  # raw query string without '?'
    headers: list[tuple[str, str]]  # header names in the client's casing, repeated names kept
    body: bytes
    client_ip: str = "127.0.0.1"
    scheme: str = "http"
    server_port: int = 80
    http_version: str = "1.1"
    _lower: dict[str, str] | None = field(default=None, repr=False)
    _query: tuple[dict[str, str] | None, dict[str, list[str]] | None] | None = field(default=None, repr=False)

    def header(self, lower_name: str) -> str | None:
        """Last value of a header, by lower-case name."""
        lower = self._lower
        if lower is None:
            lower = self._lower = {k.lower(): v for k, v in self.headers}
        return lower.get(lower_name)

    def query_params(self) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
        """(last value per name, all values per name), parsed once per request; None without a query.
        Shared by every reader of this request: treat them as read-only."""
        if self._query is None:
            self._query = parse_query(self.query)
        return self._query


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def aws_error(status: int, code: str, message: str, request_id: str) -> HttpResponse:
    """An error in the REST-JSON shape botocore reads for AWS's services (the control plane, Lambda's Invoke API):
    the code in `x-amzn-ErrorType`, the text under `message`."""
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id)]
    return HttpResponse(status, headers, orjson.dumps({"message": message}))


_UNSENDABLE = str.maketrans("\r\n\0", "   ")


def header_value(value: str) -> str:
    """A response header value made from request or template data, as it can be sent: CR and LF (which would end
    the header, or start one of the client's choosing) and NUL become spaces, as RFC 9110 (5.5) has recipients
    do."""
    if "\r" in value or "\n" in value or "\0" in value:
        return value.translate(_UNSENDABLE)
    return value


# Never visible to integrations (AWS strips them from the incoming request).
DROPPED_REQUEST_HEADERS = frozenset(
    ("connection", "content-length", "content-md5", "expect", "max-forwards", "proxy-authenticate",
     "server", "te", "transfer-encoding", "trailer", "upgrade", "www-authenticate")
)

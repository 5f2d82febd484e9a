"""The core's view of HTTP: a small request object in, (status, headers, body) out. Front-ends
(ASGI, later a native server) adapt their server to these two types; the core never sees a server."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import orjson

from apiway.core.query import parse_query

MAX_PAYLOAD = 10 * 1024 * 1024  # AWS's limit on a request's payload
# A body at least this long (by its Content-Length) is passed on while it still arrives (`BodyStream`): a
# request body reaches the core at its head, and a method that only passes it on (HTTP_PROXY) sends it upstream
# as it comes, any other reading it whole first; an HTTP_PROXY's upstream response body goes to the client as
# it comes, unless something must read it whole (a data trace, the response cache).
STREAM_MIN = 256 * 1024


class BodyStream:
    """A body still arriving — a client's request body, which the front-end feeds, or an upstream's response body,
    which the upstream connection feeds — its chunks taken in order by one reader. Reading is
    paused (`pause`) while more than `high` bytes wait and resumed (`resume`) once the reader has taken them,
    so a slow reader holds at most about `high` bytes of a body in memory."""

    __slots__ = (
        "_chunks",
        "_done",
        "_error",
        "_high",
        "_pause",
        "_paused",
        "_resume",
        "_waiter",
        "_waiting",
        "discarded",
        "length",
        "taken",
    )

    def __init__(self, length: int, pause: Callable[[], None], resume: Callable[[], None],
                 high: int = 256 * 1024) -> None:
        self.length = length  # the Content-Length
        self.taken = 0  # bytes the reader has taken
        self.discarded = False  # the request was answered without its body: what arrives is dropped
        self._chunks: deque[bytes] = deque()
        self._waiting = 0  # bytes fed and not yet taken
        self._high = high
        self._pause, self._resume = pause, resume
        self._paused = False
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    # -- the front-end's side

    def feed(self, chunk: bytes) -> None:
        if self.discarded:
            return
        self._chunks.append(chunk)
        self._waiting += len(chunk)
        if self._waiting > self._high and not self._paused:
            self._paused = True
            self._pause()
        self._wake()

    def end(self) -> None:
        self._done = True
        self._wake()

    def fail(self, error: BaseException) -> None:
        """The body will not arrive (the client went away, or stalled past its deadline)."""
        self._error = error
        self._wake()

    def discard(self) -> None:
        """Answered without reading it all: the rest is dropped as it arrives."""
        self.discarded = True
        self._chunks.clear()
        self._waiting = 0
        if self._paused:
            self._paused = False
            self._resume()

    @property
    def complete(self) -> bool:
        """Every byte arrived and was taken (or dropped)."""
        return self._done and not self._chunks

    # -- the reader's side

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._waiting -= len(chunk)
                self.taken += len(chunk)
                if self._paused and self._waiting <= self._high // 4:
                    self._paused = False
                    self._resume()
                yield chunk
            elif self._done:
                return
            elif self._error is not None:
                raise self._error
            else:
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


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
    # A long body still arriving (native front-end): `body` is empty until `read_body` takes it whole.
    stream: BodyStream | None = None
    _lower: dict[str, str] | None = field(default=None, repr=False)
    _query: tuple[dict[str, str] | None, dict[str, list[str]] | None] | None = field(default=None, repr=False)

    def header(self, lower_name: str) -> str | None:
        """Last value of a header, by lower-case name."""
        lower = self._lower
        if lower is None:
            lower = self._lower = {k.lower(): v for k, v in self.headers}
        return lower.get(lower_name)

    async def read_body(self) -> None:
        """Take a streamed body whole, for whatever needs all of it (templates, events, checks, services)."""
        stream = self.stream
        if stream is not None:
            self.body = await stream.read()
            self.stream = None

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
    # A long upstream body passed on as it arrives (HTTP_PROXY): `body` is empty, the front-end writes the stream.
    stream: BodyStream | None = None

    @property
    def length(self) -> int:
        """The body's length, streamed or not."""
        stream = self.stream
        return len(self.body) if stream is None else stream.length

    async def read_body(self) -> None:
        """Take a streamed body whole, for whatever needs all of it (the response cache)."""
        stream = self.stream
        if stream is not None:
            self.body = await stream.read()
            self.stream = None


def aws_error(status: int, code: str, message: str, request_id: str) -> HttpResponse:
    """An error in the REST-JSON shape botocore reads for AWS's services (the control plane, Lambda's Invoke API):
    the code in `x-amzn-ErrorType`, the text under `message`."""
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id)]
    return HttpResponse(status, headers, orjson.dumps({"message": message}))


def ensure_content_type(headers: list[tuple[str, str]], value: str, name: str = "Content-Type") -> None:
    """Append a Content-Type header (as `name`: `value`) unless `headers` has one, in any casing."""
    for existing, _ in headers:  # a loop, not any(): no generator on the request path
        if existing.lower() == "content-type":
            return
    headers.append((name, value))


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

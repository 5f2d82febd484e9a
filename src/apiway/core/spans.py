"""A sampled trace's spans as the pipeline records them into `Invocation.spans`: plain tuples, appended only when
the request is sampled (`inv.spans is not None`), turned into span documents later, off the request path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (kind, name, start, end, ok): epoch nanoseconds (time.time_ns); `ok` False when the step failed.
Span = tuple[str, str, int, int, bool]

GATEWAY = "gateway"  # the whole request on the stage (made at completion from the request's own start and end)
AUTHORIZER = "authorizer"  # the method's checks: authorizers, API keys, throttling, validation
INTEGRATION = "integration"  # the integration, from the request it builds to the answer it maps
LAMBDA = "lambda"  # a function's invocation inside an integration


class SampledSpans(list[Span]):
    """`Invocation.spans` of a sampled request: its spans, the trace they belong to, and `done`, called once when
    the request completes (request, response, invocation): the tracer's, so that only sampled requests reach it."""

    __slots__ = ("client_parent", "done", "root", "span_id", "start_ns")

    def __init__(self, root: str, span_id: int, client_parent: str | None, start_ns: int,
                 done: Callable[[Any, Any, Any], None]) -> None:
        super().__init__()
        self.root = root  # `1-5e1b4151-5ac6c58dc39d0c3f1b4a9cf0`, the X-Ray trace id
        self.span_id = span_id  # the gateway's span: the Parent its integration sees
        self.client_parent = client_parent  # the Parent the client sent, if any (16 hex digits)
        self.start_ns = start_ns
        self.done = done

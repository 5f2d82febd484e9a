"""A sampled trace's spans as the pipeline records them into `Invocation.spans`: plain tuples, appended only when
the request is sampled (`inv.spans is not None`), turned into span documents later, off the request path."""

from __future__ import annotations

# (kind, name, start, end, ok): epoch nanoseconds (time.time_ns); `ok` False when the step failed.
Span = tuple[str, str, int, int, bool]

GATEWAY = "gateway"  # the whole request on the stage (made at completion from the request's own start and end)
AUTHORIZER = "authorizer"  # the method's checks: authorizers, API keys, throttling, validation
INTEGRATION = "integration"  # the integration, from the request it builds to the answer it maps
LAMBDA = "lambda"  # a function's invocation inside an integration

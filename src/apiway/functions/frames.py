"""The frames between the gateway and apiway's own Python bootstrap, on a Unix socket pair per environment.

Lambda's Runtime API costs two loopback HTTP round trips per invocation; the bootstrap is apiway's, so it gets a
cheaper channel: each frame is a 17-byte head (kind, header length, payload length, and in an answer the runtime's
page faults so far; network order), a short header and the payload. The gateway pushes INVOKE (header: request id,
deadline ms, function ARN, trace id, client context, Cognito identity, NUL-separated; payload: the event) once the
runtime is READY, which it says once, after init; the runtime answers RESPONSE (payload: the result), TOO_LARGE
(header: the result's size; the result is not sent), ERROR or INIT_ERROR (header: the error type; payload: the
error document, empty when over the limit). The fault count tells the gateway whether the runtime's peak resident
memory (the REPORT line's `Max Memory Used`, which it reads from /proc) can have grown: it cannot without a page
fault. Stdlib only: the bootstrap imports it on every cold start.
"""

from __future__ import annotations

import struct

__all__ = ["ERROR", "HEAD", "INIT_ERROR", "INVOKE", "MAX_PAYLOAD", "READY", "RESPONSE", "TOO_LARGE", "frame"]

MAX_PAYLOAD = 6 * 1024 * 1024 + 100  # 6,291,556 bytes: Lambda's limit on a synchronous response
HEAD = struct.Struct("!BIIQ")
INVOKE, READY, RESPONSE, TOO_LARGE, ERROR, INIT_ERROR = range(6)


def frame(kind: int, header: bytes = b"", payload: bytes = b"", faults: int = 0) -> bytes:
    return HEAD.pack(kind, len(header), len(payload), faults) + header + payload

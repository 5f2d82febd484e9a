"""Execution-log entries (`Invocation.trail`): what a step of the pipeline did, in AWS's wording, appended where
it happens when the method's loggingLevel asks for a trail (`inv.trail is not None`; otherwise nothing is
built). Each entry is (kind, text): ERROR lines are written at ERROR and INFO levels, INFO lines at INFO, DATA
lines (headers and bodies) only when the method also has data tracing on. Secrets are masked where they are
written (`masked_headers`)."""

from __future__ import annotations

from collections.abc import Iterable

INFO = "INFO"
ERROR = "ERROR"
DATA = "DATA"

# Header values never written as they are (AWS masks them likewise): credentials and signatures.
_SECRET_HEADERS = frozenset(("authorization", "x-api-key", "x-amz-security-token", "proxy-authorization", "cookie",
                             "set-cookie", "x-amz-signature"))
_SIGNATURE = "Signature="


def mask(value: str) -> str:
    """A secret as AWS writes it: asterisks, and only the last four characters of a long one."""
    if len(value) < 12:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def masked_headers(headers: Iterable[tuple[str, str]]) -> str:
    """`{Name=value, ...}` (the way execution logs print a header map), secrets masked."""
    out = []
    for name, value in headers:
        lower = name.lower()
        if lower in _SECRET_HEADERS:
            value = mask(value)
        elif _SIGNATURE in value:  # a SigV4 signature elsewhere (e.g. a forwarded header)
            value = value[:value.index(_SIGNATURE) + len(_SIGNATURE)] + mask(value[value.index(_SIGNATURE)
                                                                                    + len(_SIGNATURE):])
        out.append(f"{name}={value}")
    return "{" + ", ".join(out) + "}"


def secrets(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The secret header values of a request, to mask wherever else they appear (a proxy event carries them)."""
    return [value for name, value in headers if name.lower() in _SECRET_HEADERS and len(value) >= 4]


def body_text(body: bytes) -> str:
    return body.decode("utf-8", "replace")

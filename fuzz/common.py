"""What the targets share: the failure they raise, and how they cut one fuzzer input into named parts."""

from __future__ import annotations

SEPARATOR = b"\x00"


class Finding(AssertionError):
    """The input broke the target's invariant (a wrong answer rather than an exception of the code under test)."""


def sections(data: bytes, count: int) -> list[bytes]:
    """`data` cut at NUL bytes into exactly `count` parts: the last part keeps any further NULs, missing parts are
    empty. Seeds write their parts joined by NUL; the fuzzer mutates them freely."""
    parts = data.split(SEPARATOR, count - 1)
    return parts + [b""] * (count - len(parts))


def text(data: bytes) -> str:
    """Bytes as the text a JSON or YAML document or a decoded request would carry: UTF-8, invalid bytes replaced."""
    return data.decode("utf-8", "replace")


def join(*parts: bytes | str) -> bytes:
    """The inverse of `sections` for seeds."""
    return SEPARATOR.join(part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part for part in parts)

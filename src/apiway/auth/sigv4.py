"""Verifies AWS Signature Version 4 on incoming requests (Authorization header or presigned query),
for the admin control plane (service `apigateway`) and `AWS_IAM` methods (service `execute-api`).
The canonical request is rebuilt from the request exactly as the client sent it."""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote

from apiway.core.clock import SYSTEM_CLOCK
from apiway.core.http import HttpRequest

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 300
MAX_EXPIRES_SECONDS = 604_800  # AWS's limit on a presigned URL's X-Amz-Expires: one week
_QUERY_MARKERS = ("X-Amz-Signature=", "X-Amz-Credential=", "X-Amz-Algorithm=")
# Text that encoding leaves unchanged (the common case skips the quote/unquote round trip).
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9_.~/-]*")
_NO_DATE = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.")


class SigV4Error(Exception):
    """`kind` is AWS's error type: MissingAuthenticationToken, IncompleteSignature, InvalidSignature,
    UnrecognizedClient."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(slots=True, frozen=True)
class SignedBy:
    access_key_id: str
    region: str
    service: str
    security_token: str | None


SecretLookup = Callable[[str], str | None]


def _presigned(query: str) -> bool:
    return any(marker in query for marker in _QUERY_MARKERS)


def verify(req: HttpRequest, secret_for: SecretLookup, service: str, now: float | None = None,
           region: str | None = None) -> SignedBy:
    """The signer's identity, or SigV4Error exactly as AWS words it. With `region`, the credential
    scope must name it (an API lives in one region)."""
    header = req.header("authorization")
    presigned = header is None and _presigned(req.query)
    if presigned:
        fields, amz_date, query_pairs = _from_query(req)
    elif header is None:
        raise SigV4Error("MissingAuthenticationToken", "Missing Authentication Token")
    else:
        amz_date = req.header("x-amz-date") or _basic_date(req.header("date")) or ""
        fields = _parse_header(header, bool(amz_date))
        query_pairs = _query_pairs(req.query)
    scope_parts = fields["Credential"].split("/")
    if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
        raise SigV4Error("IncompleteSignature", f"Credential should be scoped to a valid region. "
                                                f"(Credential={fields['Credential']})")
    key_id, day, signed_region, signed_service, _ = scope_parts
    if region is not None and signed_region != region:
        raise SigV4Error("InvalidSignature", f"Credential should be scoped to a valid region, not '{signed_region}'. ")
    if signed_service != service:
        raise SigV4Error("InvalidSignature", f"Credential should be scoped to correct service: '{service}'. ")
    stamp = _parse_date(amz_date)
    current = SYSTEM_CLOCK.time() if now is None else now
    if presigned:
        expires = _expires(fields.get("Expires", ""))
        if current > stamp + expires:
            raise SigV4Error("InvalidSignature", "Signature expired")
    elif current - stamp > MAX_SKEW_SECONDS:
        raise SigV4Error("InvalidSignature", f"Signature expired: {amz_date} is now earlier than "
                                             f"{_amz(current - MAX_SKEW_SECONDS)} ({_amz(current)} - 5 min.)")
    # Presigned or not, a signature dated ahead of the clock by more than the skew is refused: else a URL
    # dated years ahead would stay valid for years, whatever X-Amz-Expires says.
    if stamp - current > MAX_SKEW_SECONDS:
        raise SigV4Error("InvalidSignature", f"Signature not yet current: {amz_date} is still later than "
                                             f"{_amz(current + MAX_SKEW_SECONDS)} ({_amz(current)} + 5 min.)")
    secret = secret_for(key_id)
    if secret is None:
        raise SigV4Error("UnrecognizedClient", "The security token included in the request is invalid.")
    signed_headers = fields["SignedHeaders"].split(";")
    if "host" not in signed_headers:
        raise SigV4Error("IncompleteSignature", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    # The payload is always hashed here: only S3 lets a client declare its own hash (or UNSIGNED-PAYLOAD)
    # in x-amz-content-sha256, and botocore signs presigned URLs of other services with the body's hash.
    payload_hash = hashlib.sha256(req.body).hexdigest()
    canonical = "\n".join((
        req.method,
        req.path if _PLAIN_PATH.fullmatch(req.path) else quote(req.path or "/", safe="/~"),
        _canonical_query(query_pairs),
        _canonical_headers(req, signed_headers),
        fields["SignedHeaders"],
        payload_hash,
    ))
    scope = f"{day}/{signed_region}/{signed_service}/aws4_request"
    to_sign = f"{ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _signing_key(secret, day, signed_region, signed_service)
    expected = hmac.digest(key, to_sign.encode(), "sha256").hex()
    signature = fields["Signature"]  # compare_digest refuses str with non-ASCII characters (a TypeError)
    if not signature.isascii() or not hmac.compare_digest(expected, signature):
        raise SigV4Error("InvalidSignature", MISMATCH)
    token = req.header("x-amz-security-token") if not presigned else fields.get("Security-Token")
    return SignedBy(key_id, signed_region, signed_service, token)


def _parse_header(header: str, has_date: bool) -> dict[str, str]:
    """`AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`: AWS splits off the first word
    and reads the rest as comma-separated key=value pairs (so `Bearer x` lacks an equal sign and a
    bare token has no pairs at all)."""
    _, _, rest = header.strip().partition(" ")
    fields: dict[str, str] = {}
    for part in rest.split(",") if rest.strip() else ():
        name, eq, value = part.strip().partition("=")
        if not eq:
            digest = base64.b64encode(hashlib.sha256(header.encode()).digest()).decode()
            raise SigV4Error("IncompleteSignature", f"Invalid key=value pair (missing equal-sign) in Authorization "
                                                    f"header (hashed with SHA-256 and encoded with Base64): "
                                                    f"'{digest}'.")
        fields[name] = value
    problems = [f"Authorization header requires '{n}' parameter." for n in ("Credential", "Signature", "SignedHeaders")
                if n not in fields]
    if not has_date:
        problems.append(_NO_DATE)
    if problems:
        raise SigV4Error("IncompleteSignature", f"{' '.join(problems)} Authorization={header}")
    return fields


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """Raw (still percent-encoded) name/value pairs, in order."""
    if not query:
        return []
    return [(k, v) for k, _, v in (pair.partition("=") for pair in query.split("&") if pair)]


def _from_query(req: HttpRequest) -> tuple[dict[str, str], str, list[tuple[str, str]]]:
    pairs = _query_pairs(req.query)
    values = {unquote(k): unquote(v) for k, v in pairs}
    missing = [n for n in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders",
                           "X-Amz-Date") if n not in values]
    if missing:
        raise SigV4Error("IncompleteSignature", " ".join(f"AWS query-string parameters must include '{n}'."
                                                         for n in missing) + " Re-examine the query-string parameters.")
    fields = {"Credential": values["X-Amz-Credential"], "Signature": values["X-Amz-Signature"],
              "SignedHeaders": values["X-Amz-SignedHeaders"], "Expires": values.get("X-Amz-Expires", "")}
    if "X-Amz-Security-Token" in values:
        fields["Security-Token"] = values["X-Amz-Security-Token"]
    return fields, values["X-Amz-Date"], [(k, v) for k, v in pairs if unquote(k) != "X-Amz-Signature"]


def _expires(value: str) -> int:
    """X-Amz-Expires in seconds, within AWS's bounds (0 to a week), worded as AWS words them."""
    try:
        seconds = int(value) if value else 900
    except ValueError:
        raise SigV4Error("IncompleteSignature", "X-Amz-Expires should be a number") from None
    if seconds < 0:
        raise SigV4Error("IncompleteSignature", "X-Amz-Expires must be non-negative")
    if seconds > MAX_EXPIRES_SECONDS:
        raise SigV4Error("IncompleteSignature",
                         f"X-Amz-Expires must be less than a week (in seconds) that is; {MAX_EXPIRES_SECONDS}")
    return seconds


def _basic_date(value: str | None) -> str | None:
    """A `Date` header as the ISO 8601 basic timestamp the string to sign holds: SigV4 takes the date from
    `X-Amz-Date` or `Date`, and a client (botocore) that sends `Date` writes it the HTTP way (RFC 7231,
    `Tue, 25 Nov 2025 07:30:00 GMT`). Anything else is returned as it is, for _parse_date to refuse."""
    if not value or value[:1].isdigit():
        return value
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is not None:  # `-0000`, which botocore writes, reads as naive: UTC
            parsed = parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return value
    return parsed.strftime("%Y%m%dT%H%M%SZ")


@lru_cache(maxsize=64)
def _parse_date(value: str) -> float:
    """Epoch seconds of an ISO 8601 basic timestamp (`20150830T123600Z`); requests signed in the same
    second share the work."""
    if len(value) != 16 or value[8] != "T" or value[15] != "Z" or not (value[:8] + value[9:15]).isdigit():
        raise SigV4Error("IncompleteSignature", _NO_DATE)
    try:
        parts = (int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]), int(value[11:13]),
                 int(value[13:15]))
        datetime(*parts)  # rejects month 13, day 32, …
    except ValueError:
        raise SigV4Error("IncompleteSignature", _NO_DATE) from None
    return float(calendar.timegm(parts))


def _amz(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


def _rfc3986(text: str) -> str:
    return text if _UNRESERVED.fullmatch(text) else quote(unquote(text), safe="-_.~")


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    """Each name and value decoded and re-encoded the RFC 3986 way, sorted by name then value."""
    encoded = sorted((_rfc3986(k), _rfc3986(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _canonical_headers(req: HttpRequest, signed: list[str]) -> str:
    wanted: dict[str, list[str]] = {name: [] for name in signed}
    for k, v in req.headers:
        values = wanted.get(k.lower())
        if values is not None:
            values.append(" ".join(v.split()))
    return "".join(f"{name}:{','.join(values)}\n" for name, values in wanted.items())


@lru_cache(maxsize=256)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    """Derived once per key and day (four HMACs saved per request)."""
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key

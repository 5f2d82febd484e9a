"""Verifies AWS Signature Version 4 on incoming requests (Authorization header or presigned query),
for the admin control plane (service `apigateway`) and `AWS_IAM` methods (service `execute-api`).
The canonical request is rebuilt from the request exactly as the client sent it."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

from apiway.runtime.request import HttpRequest

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 300
_UNSIGNED = "UNSIGNED-PAYLOAD"
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


def is_signed(req: HttpRequest) -> bool:
    return (req.header("authorization") or "").startswith(ALGORITHM) or "X-Amz-Signature=" in req.query


def verify(req: HttpRequest, secret_for: SecretLookup, service: str, now: float | None = None) -> SignedBy:
    """The signer's identity, or SigV4Error exactly as AWS words it."""
    header = req.header("authorization")
    presigned = header is None and "X-Amz-Signature=" in req.query
    if presigned:
        fields, amz_date, query_pairs = _from_query(req)
    elif header is None:
        raise SigV4Error("MissingAuthenticationToken", "Missing Authentication Token")
    else:
        fields = _parse_header(header)
        amz_date = req.header("x-amz-date") or req.header("date") or ""
        query_pairs = parse_qsl(req.query, keep_blank_values=True)
    scope_parts = fields["Credential"].split("/")
    if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
        raise SigV4Error("IncompleteSignature", f"Credential should be scoped to a valid region. "
                                                f"(Credential={fields['Credential']})")
    key_id, day, region, signed_service, _ = scope_parts
    if signed_service != service:
        raise SigV4Error("InvalidSignature", f"Credential should be scoped to correct service: '{service}'.")
    stamp = _parse_date(amz_date)
    current = time.time() if now is None else now
    if not presigned and abs(current - stamp.timestamp()) > MAX_SKEW_SECONDS:
        raise SigV4Error("InvalidSignature", f"Signature expired: {amz_date} is now earlier than "
                                             f"{_amz(current - MAX_SKEW_SECONDS)} ({_amz(current)} - 5 min.)")
    if presigned:
        expires = int(dict(query_pairs).get("X-Amz-Expires", "900") or 900)
        if current > stamp.timestamp() + expires:
            raise SigV4Error("InvalidSignature", "Signature expired")
    secret = secret_for(key_id)
    if secret is None:
        raise SigV4Error("UnrecognizedClient", "The security token included in the request is invalid.")
    signed_headers = fields["SignedHeaders"].split(";")
    if "host" not in signed_headers:
        raise SigV4Error("IncompleteSignature", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    payload_hash = req.header("x-amz-content-sha256") or (_UNSIGNED if presigned else
                                                          hashlib.sha256(req.body).hexdigest())
    canonical = "\n".join((
        req.method,
        quote(req.path or "/", safe="/~"),
        _canonical_query(query_pairs),
        "".join(f"{h}:{_header_values(req, h)}\n" for h in signed_headers),
        ";".join(signed_headers),
        payload_hash,
    ))
    scope = f"{day}/{region}/{signed_service}/aws4_request"
    to_sign = f"{ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _signing_key(secret, day, region, signed_service)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise SigV4Error("InvalidSignature", MISMATCH)
    token = req.header("x-amz-security-token") or (dict(query_pairs).get("X-Amz-Security-Token") if presigned else None)
    return SignedBy(key_id, region, signed_service, token)


def _parse_header(header: str) -> dict[str, str]:
    rest = header[len(ALGORITHM):].strip()
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, value = part.strip().partition("=")
        if not eq:
            raise SigV4Error("IncompleteSignature", f"Invalid key=value pair (missing equal-sign) in Authorization "
                                                    f"header (hashed with SHA-256 and encoded with Base64): "
                                                    f"'{hashlib.sha256(header.encode()).hexdigest()}'.")
        fields[name] = value
    missing = [f"Authorization header requires '{n}' parameter." for n in ("Credential", "Signature", "SignedHeaders")
               if n not in fields]
    if missing:
        raise SigV4Error("IncompleteSignature", " ".join(missing))
    return fields


def _from_query(req: HttpRequest) -> tuple[dict[str, str], str, list[tuple[str, str]]]:
    pairs = parse_qsl(req.query, keep_blank_values=True)
    values = dict(pairs)
    missing = [n for n in ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
               if n not in values]
    if missing:
        raise SigV4Error("IncompleteSignature", " ".join(f"AWS query-string parameters must include '{n}'."
                                                         for n in missing))
    fields = {"Credential": values["X-Amz-Credential"], "Signature": values["X-Amz-Signature"],
              "SignedHeaders": values["X-Amz-SignedHeaders"]}
    return fields, values["X-Amz-Date"], [(k, v) for k, v in pairs if k != "X-Amz-Signature"]


def _parse_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SigV4Error("IncompleteSignature", "Authorization header requires existence of either a "
                                                "'X-Amz-Date' or a 'Date' header.") from None


def _amz(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(sorted(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs))


def _header_values(req: HttpRequest, name: str) -> str:
    return ",".join(" ".join(v.split()) for k, v in req.headers if k.lower() == name)


def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key

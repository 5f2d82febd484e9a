"""SigV4 verification (`apiway.auth.sigv4`): the Authorization header, the presigned query (`X-Amz-*`), dates,
credential scopes and the canonical request, for `AWS_IAM` methods and for the admin services.

Input: an HTTP request as text (latin-1, as front-ends decode it), lines ending in LF:

    METHOD SP PATH[?QUERY]
    Name: value
    ...
    (empty line)
    body

The request is verified as it is, once as an `AWS_IAM` method checks it (service `execute-api`, region
`us-east-1`) and once as the admin policy does (service `apigateway`, any region), with the clock at
`20251125T073000Z` and one known access key. When the request line starts with `~` (header signature) or `?`
(presigned URL), the request is first signed by botocore with that key at that time, so the fuzzer also reaches
everything past the signature check; for requests whose every part is plain ASCII that botocore and AWS encode
alike, the signature botocore made must then be accepted.

Invariant: `verify` returns the signer or raises `SigV4Error` of one of AWS's four kinds, nothing else.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime

from apiway.auth.sigv4 import SignedBy, SigV4Error, verify
from apiway.core.http import HttpRequest
from fuzz.common import Finding

INSTRUMENT = ("apiway.auth.sigv4",)
OPTIONS = ("-max_len=4096", "-timeout=10")

KEY = "AKIDEXAMPLEFUZZ00001"
SECRET = "fuzz/secret+KEY/example0123456789abcdef"
NOW = datetime(2025, 11, 25, 7, 30, 0, tzinfo=UTC)
NOW_EPOCH = float(calendar.timegm(NOW.timetuple()))
KINDS = frozenset(("MissingAuthenticationToken", "IncompleteSignature", "InvalidSignature", "UnrecognizedClient"))
CHECKS = (("execute-api", "us-east-1"), ("apigateway", None))
# What botocore and AWS put in a canonical request unchanged: no dot segments, escapes or empty segments.
_PLAIN_PATH = re.compile(r"(?:/[A-Za-z0-9_~-]+)+/?|/")
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9_.~-]+=[A-Za-z0-9_.~-]*(?:&[A-Za-z0-9_.~-]+=[A-Za-z0-9_.~-]*)*")
_TOKEN = re.compile(r"[A-Za-z0-9-]+")
_METHOD = re.compile(r"[A-Z]+")  # what the front-ends pass on (botocore signs the method upper-cased)
_PLAIN_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*")
_PLAIN_HOST = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?")


def _secret_for(key_id: str) -> str | None:
    return SECRET if key_id == KEY else None


def parse(data: bytes) -> HttpRequest:
    """The request the input describes. Header lines without a colon are skipped; CR before LF is dropped."""
    head, _, body = data.partition(b"\n\n")
    lines = head.decode("latin-1").split("\n")
    method, _, target = lines[0].rstrip("\r").partition(" ")
    path, _, query = target.partition("?")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.rstrip("\r").partition(":")
        if colon:
            headers.append((name, value.strip(" \t")))
    return HttpRequest(method, path, query, headers, body)


def one_input(data: bytes) -> None:
    signing = data[:1] if data[:1] in (b"~", b"?") else b""
    req = parse(data[len(signing):])
    plain = bool(signing) and _plain(req)
    if signing:
        signed = _botocore_signed(req, presign=signing == b"?")
        if signed is None:
            return
        req = signed
    for service, region in CHECKS:
        try:
            result = verify(req, _secret_for, service, NOW_EPOCH, region)
        except SigV4Error as exc:
            if exc.kind not in KINDS or not isinstance(exc.message, str):
                raise Finding(f"SigV4Error of kind {exc.kind!r}: {exc.message!r}") from None
            if plain and service == "execute-api":
                raise Finding(f"a request botocore signed was refused: {exc.kind}: {exc.message}") from None
            continue
        if not isinstance(result, SignedBy) or result.access_key_id != KEY:
            raise Finding(f"verify gave {result!r}")


def _plain(req: HttpRequest) -> bool:
    return bool(_METHOD.fullmatch(req.method) and _PLAIN_PATH.fullmatch(req.path)
                and (not req.query or _PLAIN_QUERY.fullmatch(req.query))
                and all(_TOKEN.fullmatch(k) and _PLAIN_VALUE.fullmatch(v) for k, v in req.headers)
                and all(_PLAIN_HOST.fullmatch(v) for k, v in req.headers if k.lower() == "host"))


def _botocore_signed(req: HttpRequest, presign: bool) -> HttpRequest | None:
    """`req` signed by botocore with the known key at NOW (None when botocore cannot represent it): the header
    signature adds `X-Amz-Date` and `Authorization`, the presigned form adds the `X-Amz-*` query parameters (and
    drops the body)."""
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host = next((v for k, v in req.headers if k.lower() == "host"), "")
    headers = [(k, v) for k, v in req.headers if k.lower() not in ("authorization", "x-amz-date", "host")]
    host = host or "fuzz.execute-api.localhost"
    headers.append(("Host", host))  # what the client's HTTP layer sends, and what botocore signs
    url = f"http://{host}{req.path}" + (f"?{req.query}" if req.query else "")
    signer_class = botocore.auth.SigV4QueryAuth if presign else botocore.auth.SigV4Auth
    body = b"" if presign else req.body  # a presigned URL carries no body (botocore would read it as a form)
    clock = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: NOW.replace(tzinfo=None)
    try:
        aws = AWSRequest(req.method, url, headers=dict(headers), data=body)
        signer_class(Credentials(KEY, SECRET), "execute-api", "us-east-1").add_auth(aws)
        prepared = aws.prepare()
    except Exception:  # botocore cannot sign or send it: not a request a client would make
        return None
    finally:
        botocore.auth.get_current_datetime = clock
    split = prepared.url.split("?", 1)
    path = split[0].split("/", 3)
    return HttpRequest(req.method, "/" + (path[3] if len(path) > 3 else ""), split[1] if len(split) > 1 else "",
                       [(k, v if isinstance(v, str) else v.decode("latin-1")) for k, v in prepared.headers.items()],
                       body)

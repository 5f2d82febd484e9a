"""The runtime of the Python client apiway generates (GetSdk `python`): the generated module is this file
followed by the API's own class, one method per resource and verb. The standard library sends the
requests; SigV4 signing (credentials given) uses botocore's signer, imported only then."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_UNRESERVED = "-_.~"


@dataclass(frozen=True)
class Response:
    """An answer: its status, its headers (names in lower case) and its body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None


class ApiError(Exception):
    """A 4xx or 5xx answer, kept whole in `response`."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"HTTP {response.status}: {response.text[:300]}")
        self.response = response
        self.status = response.status


class BaseClient:
    """Sends a method's request to the stage at `invoke_url` (default: where the generating gateway serves it):
    with `api_key` as `x-api-key`, and signed with SigV4 (service `execute-api`) when `access_key` and
    `secret_key` are given."""

    INVOKE_URL = ""  # the generated class's defaults
    REGION = "us-east-1"

    def __init__(self, invoke_url: str | None = None, *, api_key: str | None = None, access_key: str | None = None,
                 secret_key: str | None = None, session_token: str | None = None, region: str | None = None,
                 timeout: float = 30.0, default_content_type: str = "application/json",
                 default_accept_type: str = "application/json") -> None:
        if (access_key is None) != (secret_key is None):
            raise ValueError("access_key and secret_key are given together or not at all")
        self.invoke_url = (invoke_url or self.INVOKE_URL).rstrip("/")
        self.api_key = api_key
        self.region = region or self.REGION
        self.timeout = timeout
        self.default_content_type = default_content_type
        self.default_accept_type = default_accept_type
        self._credentials: tuple[str, str, str | None] | None = (
            (access_key, secret_key, session_token) if access_key and secret_key else None)

    def _request(self, verb: str, template: str, path: Mapping[str, str], query: Mapping[str, str | None],
                 headers: Mapping[str, str | None], body: Any = None, extra_headers: Mapping[str, str] | None = None,
                 extra_query: Mapping[str, str] | None = None) -> Response:
        """One call: the template's variables filled in, parameters that are None left out; a 4xx or 5xx
        answer raises ApiError."""
        url = self.invoke_url + _expand(template, path)
        query_string = _query_string({**{k: v for k, v in query.items() if v is not None}, **(extra_query or {})})
        if query_string:
            url += "?" + query_string
        sent: dict[str, str] = {"Accept": self.default_accept_type}
        sent.update({k: v for k, v in headers.items() if v is not None})
        sent.update(extra_headers or {})
        data = b"" if verb in ("GET", "HEAD") else _serialize(body)
        if data and not any(k.lower() == "content-type" for k in sent):
            sent["Content-Type"] = self.default_content_type
        if self.api_key:
            sent["x-api-key"] = self.api_key
        if self._credentials is not None:
            sent = _signed(self._credentials, self.region, verb, url, sent, data)
        request = urllib.request.Request(url, data=data or None, headers=sent, method=verb)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return Response(answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read())
        except urllib.error.HTTPError as error:
            with error:
                response = Response(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())
            if response.status >= 400:
                raise ApiError(response) from None
            return response


def _signed(credentials: tuple[str, str, str | None], region: str, verb: str, url: str, headers: dict[str, str],
            data: bytes) -> dict[str, str]:
    """The headers with SigV4's added (X-Amz-Date, Authorization, X-Amz-Security-Token), by botocore."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=verb, url=url, data=data, headers=headers)
    SigV4Auth(Credentials(*credentials), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def _expand(template: str, values: Mapping[str, str]) -> str:
    """`/pets/{id}` with its variables percent-encoded; a greedy `{key+}` keeps its slashes."""
    out, rest = [], template
    while "{" in rest:
        before, _, rest = rest.partition("{")
        name, _, rest = rest.partition("}")
        greedy = name.endswith("+")
        value = str(values[name.rstrip("+")])
        out += [before, urllib.parse.quote(value, safe=_UNRESERVED + ("/" if greedy else ""))]
    return "".join(out) + rest


def _query_string(params: Mapping[str, str]) -> str:
    pairs = sorted((urllib.parse.quote(str(k), safe=_UNRESERVED), urllib.parse.quote(str(v), safe=_UNRESERVED))
                   for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def _serialize(body: Any) -> bytes:
    """bytes as they are, str as UTF-8, None as nothing, anything else as JSON."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()

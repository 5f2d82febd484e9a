"""An HTTP API's CORS (spec §9.2), compiled once per stage from the API's `corsConfiguration`: the gateway
answers preflight requests itself (204, the integration never called), adds the configured headers to every
other response of a request whose `Origin` is allowed, and drops the CORS headers a backend returned."""

from __future__ import annotations

import re

from apiway.core.http import HttpRequest
from apiway.model.http import Cors

_CORS_PREFIX = "access-control-"


class CorsPolicy:
    """What `corsConfiguration` asks for, with every header value joined once."""

    __slots__ = ("_any_origin", "_exact", "_patterns", "_preflight", "_response")

    def __init__(self, config: Cors) -> None:
        origins = config.get("allowOrigins") or []
        self._any_origin = "*" in origins
        self._exact = frozenset(o.lower() for o in origins if "*" not in o)
        # `https://*.example.com`: the star stands for one or more characters of the host.
        self._patterns = tuple(re.compile("^" + ".+".join(map(re.escape, o.lower().split("*"))) + "$")
                               for o in origins if "*" in o and o != "*")
        credentials = [("Access-Control-Allow-Credentials", "true")] if config.get("allowCredentials") else []
        expose = _joined("Access-Control-Expose-Headers", config.get("exposeHeaders"))
        methods = _joined("Access-Control-Allow-Methods", config.get("allowMethods"))
        headers = _joined("Access-Control-Allow-Headers", config.get("allowHeaders"))
        max_age = config.get("maxAge")
        age = [("Access-Control-Max-Age", str(max_age))] if max_age is not None and max_age >= 0 else []
        self._response = (*credentials, *expose)
        self._preflight = (*credentials, *methods, *headers, *age)

    def allowed_origin(self, origin: str | None) -> str | None:
        """The `Access-Control-Allow-Origin` value for a request's Origin, None when it is not allowed."""
        if not origin:
            return None
        if self._any_origin:
            return "*"
        lower = origin.lower()
        if lower in self._exact or any(p.match(lower) for p in self._patterns):
            return origin
        return None

    def is_preflight(self, req: HttpRequest) -> bool:
        """A browser's preflight: OPTIONS with an Origin and the method it asks for."""
        return (req.method == "OPTIONS" and req.header("origin") is not None
                and req.header("access-control-request-method") is not None)

    def preflight_headers(self, req: HttpRequest) -> list[tuple[str, str]]:
        """The answer to a preflight: nothing when its origin is not allowed."""
        origin = self.allowed_origin(req.header("origin"))
        return [("Access-Control-Allow-Origin", origin), *self._preflight] if origin is not None else []

    def response_headers(self, req: HttpRequest) -> list[tuple[str, str]]:
        """What every other response to the request carries (gateway errors included)."""
        origin = self.allowed_origin(req.header("origin"))
        return [("Access-Control-Allow-Origin", origin), *self._response] if origin is not None else []

    def apply(self, req: HttpRequest, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """An integration's headers with its own CORS headers dropped and the configured ones added."""
        kept = [(k, v) for k, v in headers if not k.lower().startswith(_CORS_PREFIX)]
        kept += self.response_headers(req)
        return kept


def _joined(name: str, values: list[str] | None) -> list[tuple[str, str]]:
    return [(name, ",".join(values))] if values else []


def compile_cors(config: Cors | None) -> CorsPolicy | None:
    """The policy of an API's `corsConfiguration`; None without one (then CORS costs nothing)."""
    return CorsPolicy(config) if config else None

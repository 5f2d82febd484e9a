"""Who may call the services on the gateway's port that are not APIs — the control plane, Lambda's
Invoke API and whatever joins them: open on a loopback listener when no admin credentials are set; with
credentials every call must be SigV4-signed with them; otherwise every call is refused."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from apiway.auth import sigv4
from apiway.core import request_ids
from apiway.core.http import HttpRequest, HttpResponse, aws_error

KEY_ENV = "APIWAY_ADMIN_ACCESS_KEY_ID"
SECRET_ENV = "APIWAY_ADMIN_SECRET_ACCESS_KEY"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
# AWS's error codes for SigV4 failures, by the verifier's kind.
_CODES = {"MissingAuthenticationToken": "MissingAuthenticationTokenException",
          "UnrecognizedClient": "UnrecognizedClientException"}


class AdminDenied(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def response(self) -> HttpResponse:
        return aws_error(403, self.code, self.message, request_ids.request_id())


@dataclass(slots=True)
class AdminPolicy:
    open: bool
    credentials: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_listener(cls, host: str) -> AdminPolicy:
        key, secret = os.environ.get(KEY_ENV), os.environ.get(SECRET_ENV)
        credentials = {key: secret} if key and secret else {}
        return cls(open=host in LOOPBACK and not credentials, credentials=credentials)

    def check(self, req: HttpRequest, service: str) -> None:
        """Raise AdminDenied unless the request may call `service` (its SigV4 signing name)."""
        if self.open:
            return
        if not self.credentials:
            raise AdminDenied("AccessDeniedException", "Services other than APIs are not served on a non-loopback "
                              f"address without admin credentials: set {KEY_ENV} and {SECRET_ENV}, or use "
                              "--admin-port")
        try:
            sigv4.verify(req, self.credentials.get, service)
        except sigv4.SigV4Error as exc:
            raise AdminDenied(_CODES.get(exc.kind, exc.kind + "Exception"), exc.message) from None

    def describe(self) -> str:
        """What start-up output says about it."""
        if self.open:
            return "open to loopback callers"
        if self.credentials:
            return "SigV4 with the admin credentials required"
        return (f"every call refused: this address is not loopback and no admin credentials are set (set {KEY_ENV} "
                f"and {SECRET_ENV}, or serve them on loopback with --admin-port)")

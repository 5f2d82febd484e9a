"""The control plane on the gateway's port (or its own admin port): requests in the `apigateway`
namespace are matched to an operation, checked against the admin policy, dispatched to their
handler and answered in AWS's wire format. Unimplemented operations answer 501 naming themselves."""

from __future__ import annotations

import inspect
import os
import traceback
from dataclasses import dataclass, field

from apiway.auth import sigv4
from apiway.control import operations  # noqa: F401  (registers every handler)
from apiway.control.client import KEY_ENV, SECRET_ENV
from apiway.control.errors import ControlError
from apiway.control.plane import ControlPlane
from apiway.control.protocol import ServiceModel, error_response
from apiway.control.registry import HANDLERS
from apiway.core import request_ids
from apiway.core.http import HttpRequest, HttpResponse
from apiway.observe.log import log

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(slots=True)
class AdminPolicy:
    """Who may call the control plane. Open on a loopback address when no admin credentials are set;
    with credentials every call must be SigV4-signed with them; otherwise it is refused."""

    open: bool
    credentials: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_listener(cls, host: str) -> AdminPolicy:
        key, secret = os.environ.get(KEY_ENV), os.environ.get(SECRET_ENV)
        credentials = {key: secret} if key and secret else {}
        return cls(open=host in LOOPBACK and not credentials, credentials=credentials)

    def check(self, req: HttpRequest) -> None:
        if self.open:
            return
        if not self.credentials:
            raise ControlError("AccessDeniedException", "The control plane is not served on a non-loopback address "
                               f"without admin credentials: set {KEY_ENV} and {SECRET_ENV}, or use --admin-port", 403)
        try:
            sigv4.verify(req, self.credentials.get, "apigateway")
        except sigv4.SigV4Error as exc:
            code = {"MissingAuthenticationToken": "MissingAuthenticationTokenException",
                    "UnrecognizedClient": "UnrecognizedClientException"}.get(exc.kind, exc.kind + "Exception")
            raise ControlError(code, exc.message, 403) from None


class ControlPlaneHandler:
    def __init__(self, plane: ControlPlane, policy: AdminPolicy, model: ServiceModel | None = None) -> None:
        self.plane = plane
        self.policy = policy
        self.model = model or ServiceModel()

    def matches(self, req: HttpRequest) -> bool:
        return self.model.owns(req)

    async def handle(self, req: HttpRequest) -> HttpResponse:
        request_id = request_ids.request_id()
        name = None
        try:
            self.policy.check(req)
            found = self.model.match(req)
            if found is None:
                raise ControlError("NotFoundException", f"No control-plane operation for {req.method} {req.path}")
            op, labels = found
            name = op.name
            handler = HANDLERS.get(name)
            if handler is None:
                raise ControlError("NotImplementedException", f"apiway does not implement {name} yet")
            params = self.model.parse_input(op, labels, req)
            result = handler(self.plane, params)
            if inspect.isawaitable(result):
                result = await result
            return self.model.serialize(op, result, request_id)
        except ControlError as err:
            return error_response(err, request_id)
        except Exception as exc:
            log("ERROR", "control-plane failure", requestId=request_id, operation=name,
                error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
            return error_response(ControlError("InternalFailure", "Internal server error", 500), request_id)


class AdminEndpoint:
    """The control plane alone on its own listener (`--admin-port`)."""

    def __init__(self, handler: ControlPlaneHandler) -> None:
        self.handler = handler

    async def handle(self, req: HttpRequest) -> HttpResponse:
        if self.handler.matches(req):
            return await self.handler.handle(req)
        err = ControlError("NotFoundException", f"No control-plane operation for {req.method} {req.path}")
        return error_response(err, request_ids.request_id())

    async def upgrade(self, req: HttpRequest) -> HttpResponse:
        return await self.handle(req)  # the control plane switches no protocols

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        err = ControlError("BadRequestException", "Request body is too large", 413)
        return error_response(err, request_ids.request_id())

"""The control plane on the gateway's port (or its own admin port): requests in the `apigateway`
namespace are matched to an operation, dispatched to their handler and answered in AWS's wire format
(front/dispatch.py has checked the caller against the admin policy). Unimplemented operations answer 501
naming themselves."""

from __future__ import annotations

import inspect
import traceback

from apiway.control import operations  # noqa: F401  (registers every handler)
from apiway.control.errors import ControlError
from apiway.control.plane import ControlPlane
from apiway.control.protocol import ServiceModel, error_response
from apiway.control.registry import HANDLERS
from apiway.core import request_ids
from apiway.core.http import HttpRequest, HttpResponse
from apiway.observe.log import log


class ControlPlaneHandler:
    """The control plane as a service on a listener (the dispatcher applies the admin policy first)."""

    signing_name = "apigateway"

    def __init__(self, plane: ControlPlane, model: ServiceModel | None = None) -> None:
        self.plane = plane
        self.model = model or ServiceModel()

    def matches(self, req: HttpRequest) -> bool:
        return self.model.owns(req)

    async def handle(self, req: HttpRequest) -> HttpResponse:
        request_id = request_ids.request_id()
        name = None
        try:
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

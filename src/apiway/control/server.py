"""The control plane on the gateway's port (or its own admin port): requests in the namespace of the
`apigateway` service (REST APIs: `/restapis`, `/apikeys`, …) or of `apigatewayv2` (HTTP and WebSocket APIs:
`/v2/…`) are matched to an operation, dispatched to their handler and answered in AWS's wire format
(front/dispatch.py has checked the caller against the admin policy). Unimplemented operations answer 501
naming themselves.

Operations run in one thread of their own, one at a time, in the order they arrive: parsing a large
document, writing it and compiling a stage take seconds at 20,000 paths, and the event loop goes on
serving meanwhile. What they change that requests use reaches the loop's thread through the handoff
(core/handoff.py). The test-invoke operations, which run a request through the gateway, run on the loop."""

from __future__ import annotations

import asyncio
import inspect
import traceback
from concurrent.futures import ThreadPoolExecutor

from apiway.control import operations  # noqa: F401  (registers every handler)
from apiway.control.errors import ControlError
from apiway.control.plane import ControlPlane
from apiway.control.protocol import Operation, ServiceModel, error_response
from apiway.control.registry import HANDLERS, SERVICES, Handler
from apiway.core import request_ids
from apiway.core.collector import CollectionPause
from apiway.core.handoff import LoopHandoff
from apiway.core.http import HttpRequest, HttpResponse
from apiway.observe.log import log


class ControlPlaneHandler:
    """The control plane as a service on a listener (the dispatcher applies the admin policy first)."""

    signing_name = "apigateway"

    def __init__(self, plane: ControlPlane, handoff: LoopHandoff | None = None) -> None:
        self.plane = plane
        self.models = [ServiceModel(service) for service in SERVICES]
        self.handoff = handoff or LoopHandoff()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="control-plane")
        self._collection = CollectionPause()

    def matches(self, req: HttpRequest) -> bool:
        return any(model.owns(req) for model in self.models)

    async def handle(self, req: HttpRequest) -> HttpResponse:
        request_id = request_ids.request_id()
        name = None
        try:
            model = next(model for model in self.models if model.owns(req))
            found = model.match(req)
            if found is None:
                raise ControlError("NotFoundException", f"No control-plane operation for {req.method} {req.path}")
            op, labels = found
            name = op.name
            handler = HANDLERS[model.service].get(name)
            if handler is None:
                raise ControlError("NotImplementedException", f"apiway does not implement {name} yet")
            if inspect.iscoroutinefunction(handler):
                result = await handler(self.plane, model.parse_input(op, labels, req))
                return model.serialize(op, result, request_id)
            self.handoff.bind()
            with self._collection:  # ends once what the operation changed is served (handed over before)
                return await asyncio.get_running_loop().run_in_executor(
                    self._thread, self._run, model, handler, op, labels, req, request_id)
        except ControlError as err:
            return error_response(err, request_id)
        except Exception as exc:
            log("ERROR", "control-plane failure", requestId=request_id, operation=name,
                error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
            return error_response(ControlError("InternalFailure", "Internal server error", 500), request_id)

    def _run(self, model: ServiceModel, handler: Handler, op: Operation, labels: dict[str, str], req: HttpRequest,
             request_id: str) -> HttpResponse:
        """In the control plane's thread: one operation, parsed, run and serialized."""
        return model.serialize(op, handler(self.plane, model.parse_input(op, labels, req)), request_id)

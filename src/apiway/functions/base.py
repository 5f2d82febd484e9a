"""The seam between integrations and function runtimes: a function is invoked by name with an
event and answers a JSON payload, flagged as a function error when the handler failed — the same
contract as Lambda's Invoke API (`X-Amz-Function-Error: Unhandled`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from apiway.core.errors import DeployError
from apiway.core.spans import Span
from apiway.model.aws import ACCOUNT_ID, REGION


@dataclass(slots=True)
class FunctionSpec:
    name: str
    handler: str  # "path/to/file.py:function" relative to base_dir ("path/to/file.export" for nodejs)
    base_dir: Path
    timeout: float = 3.0
    memory: int = 128
    environment: dict[str, str] = field(default_factory=dict)
    mode: str = "worker"  # "worker": Lambda-like worker processes; "inline": in the gateway process (fastest)
    concurrency: int = 10  # worker mode: execution environments at most (reserved concurrency)
    runtime: str = "python"  # "python" or "nodejs": apiway runs the handler; "provided": an executable `bootstrap` does
    bootstrap: Path | None = None  # runtime "provided": the executable implementing the Runtime API client

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"


@dataclass(slots=True)
class InvokeResult:
    payload: bytes  # JSON document the function returned (or the error object)
    function_error: str | None = None  # "Unhandled" when the handler failed


class FunctionInvoker(Protocol):
    def has(self, name: str) -> bool: ...

    # `trace`: the invocation's X-Amzn-Trace-Id (`_X_AMZN_TRACE_ID`), else the event's own header or a new one;
    # `spans`: a sampled trace's spans, which gets the invocation's.
    async def invoke(self, name: str, event: Any, request_id: str, trace: str | None = None,
                     spans: list[Span] | None = None) -> InvokeResult: ...


def event_trace(event: Any) -> str | None:
    """The X-Amzn-Trace-Id header of a proxy event (the gateway put it there), if it has one."""
    headers = event.get("headers") if type(event) is dict else None
    incoming = headers.get("X-Amzn-Trace-Id") if type(headers) is dict else None
    return incoming if type(incoming) is str else None


def defined(invoker: FunctionInvoker, function: str, strict: bool, where: str) -> bool:
    """Whether an integration's or authorizer's function is defined here. One that is not stops a project
    file's deployment (`strict`: DeployError); what the control plane made deploys, as on AWS, and fails
    every call (False)."""
    if invoker.has(function):
        return True
    if strict:
        raise DeployError(f"{where}: unknown function {function!r} (define it under 'functions:' in the project "
                          f"file)")
    return False


_THROTTLED = orjson.dumps({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User",
                           "message": "Rate Exceeded."})


class FunctionThrottled(Exception):
    """Every environment of the function is busy: Lambda's 429 TooManyRequestsException (callers in the
    gateway turn it into their own error)."""

    status_code = 429
    payload = _THROTTLED

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.log = (f"Lambda invocation failed with status: 429 (TooManyRequestsException): function {name} has "
                    f"no free execution environment")


class FunctionNotFound(FunctionThrottled):
    """The function, or the version or alias a qualified name asks for, is gone since the integration was compiled
    (deleted through Lambda's API): Lambda's 404, which API Gateway, as for a throttled call, answers with 500."""

    status_code = 404

    def __init__(self, name: str) -> None:
        Exception.__init__(self, name)
        self.payload = orjson.dumps({"Type": "User", "Message": f"Function not found: arn:aws:lambda:{REGION}:"
                                                                f"{ACCOUNT_ID}:function:{name}"})
        self.log = f"Lambda invocation failed with status: 404 (ResourceNotFoundException): function {name} not found"

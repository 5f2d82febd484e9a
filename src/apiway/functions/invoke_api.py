"""Lambda's Invoke API on the gateway's own port, so AWS SDKs and the AWS CLI (`--endpoint-url`) can call the
project's functions: `POST /2015-03-31/functions/{FunctionName}/invocations`.

FunctionName is a name, a partial ARN (`123456789012:function:NAME`) or a full ARN, each with an optional
`:qualifier` (there or in `?Qualifier=`): a project function is always `$LATEST`, so its qualifier is ignored; a
function made through Lambda's API (functions/lambda_api.py) runs the version or alias the qualifier names.
`X-Amz-Invocation-Type` is `RequestResponse` (200 with the function's payload, `X-Amz-Function-Error: Unhandled`
when it failed), `Event` (202 at once; the invocation runs in the background) or `DryRun` (204).
`X-Amz-Log-Type: Tail` adds `X-Amz-Log-Result`, base64 of the last 4 KB of the invocation's log, for functions
whose runner keeps their logs (worker mode). Errors follow Lambda's REST-JSON protocol: a `{"Type", "message"}`
document and the error code in `x-amzn-ErrorType`.

Also the `apiway invoke` and `apiway logs` commands, which need no server.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from apiway.core import request_ids
from apiway.core.http import HttpRequest, HttpResponse
from apiway.functions.base import FunctionInvoker, FunctionNotFound, FunctionSpec, FunctionThrottled
from apiway.model.aws import ACCOUNT_ID, REGION
from apiway.observe.log import log

__all__ = ["MAX_SYNC_PAYLOAD", "InvokeApi", "parse_function_name"]

PREFIX = "/2015-03-31/functions/"
SUFFIX = "/invocations"
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024  # 6291456 bytes, Lambda's quota for a synchronous invocation's request
LOG_TAIL = 4096
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
_JSON = "application/json"


def parse_function_name(raw: str) -> tuple[str, str | None]:
    """(function name, qualifier) from a name, a partial ARN or a full ARN, each optionally `:qualifier`."""
    parts = raw.split(":")
    if len(parts) >= 7 and parts[0] == "arn":  # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        return parts[6], parts[7] if len(parts) > 7 else None
    if len(parts) >= 3 and parts[1] == "function":  # ACCOUNT:function:NAME[:QUALIFIER]
        return parts[2], parts[3] if len(parts) > 3 else None
    return parts[0], parts[1] if len(parts) > 1 else None


def _arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def _error(status: int, code: str, message: str, request_id: str, body: bytes | None = None) -> HttpResponse:
    payload = body if body is not None else orjson.dumps({"Type": "User", "message": message})
    headers = [("Content-Type", _JSON), ("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", code)]
    return HttpResponse(status, headers, payload)


def invocation_log(lines: list[str], request_id: str) -> list[str]:
    """The lines of one invocation: from its START line to its REPORT line (or the end)."""
    start = None
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(f"START RequestId: {request_id}"):
            start = i
            break
    if start is None:
        return []
    report = f"REPORT RequestId: {request_id}"
    for j in range(start, len(lines)):
        if lines[j].startswith(report):
            return lines[start:j + 1]
    return lines[start:]


class InvokeApi:
    """Answers Lambda Invoke requests: a service on the gateway's port, asked only about requests that are no
    API call, behind the admin policy."""

    signing_name = "lambda"

    def __init__(self, invoker: FunctionInvoker, specs: Mapping[str, FunctionSpec],
                 logs: Callable[[str], list[str]] | None = None) -> None:
        self.invoker = invoker
        self.specs = specs
        self.logs = logs  # the log lines a runner kept for a function, if it keeps any
        self.background: set[asyncio.Task[None]] = set()  # Event invocations in progress
        # The version a qualifier of a function made through Lambda's API names (None: no such function, version
        # or alias), once that API is served.
        self.versions: Callable[[str, str | None], str | None] | None = None

    @staticmethod
    def matches(req: HttpRequest) -> bool:
        return req.method == "POST" and req.path.startswith(PREFIX) and req.path.endswith(SUFFIX)

    async def handle(self, req: HttpRequest) -> HttpResponse:
        request_id = request_ids.request_id()
        raw_name = unquote(req.path[len(PREFIX):-len(SUFFIX)])
        name, qualifier = parse_function_name(raw_name)
        qualifier = qualifier or (req.query_params()[0] or {}).get("Qualifier")
        if len(req.body) > MAX_SYNC_PAYLOAD:
            return _error(413, "RequestTooLargeException",
                          f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation",
                          request_id)
        target = f"{name}:{qualifier}" if qualifier else name
        version: str | None = "$LATEST"
        if name and name in self.specs:
            target = name  # a project function: every qualifier is $LATEST
        elif name and self.versions is not None:
            version = self.versions(name, qualifier)  # a function made through Lambda's API
        if not name or not self.invoker.has(target) or version is None:
            return _error(404, "ResourceNotFoundException", f"Function not found: {_arn(target)}", request_id)
        invocation_type = req.header("x-amz-invocation-type") or "RequestResponse"
        if invocation_type not in INVOCATION_TYPES:
            return _error(400, "InvalidParameterValueException",
                          f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to "
                          f"satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, "
                          f"DryRun]", request_id)
        try:
            event = orjson.loads(req.body) if req.body.strip() else {}
        except orjson.JSONDecodeError as exc:
            return _error(400, "InvalidRequestContentException",
                          f"Could not parse request body into json: Could not parse payload into json: {exc}",
                          request_id)
        if invocation_type == "DryRun":
            return HttpResponse(204, [("x-amzn-RequestId", request_id)], b"")
        if invocation_type == "Event":
            task = asyncio.get_running_loop().create_task(self._run_event(target, event, request_id))
            self.background.add(task)
            task.add_done_callback(self.background.discard)
            return HttpResponse(202, [("Content-Type", _JSON), ("x-amzn-RequestId", request_id)], b"")
        try:
            result = await self.invoker.invoke(target, event, request_id)
        except FunctionNotFound as exc:  # deleted while the request was on its way
            return _error(404, "ResourceNotFoundException", str(exc), request_id, exc.payload)
        except FunctionThrottled as exc:
            return _error(429, "TooManyRequestsException", "Rate Exceeded.", request_id, exc.payload)
        except Exception as exc:
            log("ERROR", "invocation failed", function=name, requestId=request_id,
                error=f"{type(exc).__name__}: {exc}")
            return _error(500, "ServiceException", f"{type(exc).__name__}: {exc}", request_id,
                          orjson.dumps({"Type": "Service", "message": f"{type(exc).__name__}: {exc}"}))
        headers = [("Content-Type", _JSON), ("x-amzn-RequestId", request_id), ("X-Amz-Executed-Version", version)]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", result.function_error))
        if (req.header("x-amz-log-type") or "").lower() == "tail":
            tail = self._log_tail(name if version == "$LATEST" else f"{name}:{version}", request_id)
            if tail is not None:
                headers.append(("X-Amz-Log-Result", tail))
        return HttpResponse(200, headers, result.payload)

    def _log_tail(self, name: str, request_id: str) -> str | None:
        if self.logs is None:
            return None
        lines = invocation_log(self.logs(name), request_id)
        if not lines:
            return None
        data = "".join(line + "\n" for line in lines).encode()
        return base64.b64encode(data[-LOG_TAIL:]).decode()

    async def _run_event(self, name: str, event: Any, request_id: str) -> None:
        try:
            result = await self.invoker.invoke(name, event, request_id)
        except Exception as exc:  # a throttled Event invocation is dropped (Lambda would retry it later)
            log("ERROR", "asynchronous invocation failed", function=name, requestId=request_id,
                error=f"{type(exc).__name__}: {exc}")
            return
        if result.function_error:
            log("ERROR", "asynchronous invocation failed", function=name, requestId=request_id,
                functionError=result.function_error)

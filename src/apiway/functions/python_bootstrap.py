"""apiway's runtime client for Python handlers: `python -m apiway.functions.python_bootstrap FD`.

It runs inside an execution environment started by `workers.WorkerRunner` and behaves like AWS's Python runtime,
but talks to the gateway through frames on the Unix socket it inherits as descriptor FD (frames.py) rather than
through the Lambda Runtime API: the handler named by `_HANDLER` (`path/file.py:function` relative to
`LAMBDA_TASK_ROOT`) is imported once, an import failure is reported as an init error
(`Runtime.ImportModuleError`, `Runtime.UserCodeSyntaxError`, `Runtime.HandlerNotFound`,
`Runtime.MalformedHandlerName`) and the process exits; then each event the gateway pushes is passed to the
handler and its result sent back, or its exception as an error document. `logging` goes through Lambda's root
handler and format (lambda_logging).

Deliberately light: stdlib plus orjson (the serializer inline functions use, so both modes marshal results the
same way). The error documents have the shape of `inline.error_payload`; importing that module would pull in
asyncio and cost ~40 ms on every cold start.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import inspect
import os
import resource
import socket
import sys
import time
import traceback
from typing import Any

import orjson

from apiway.functions import lambda_logging
from apiway.functions.frames import ERROR, HEAD, INIT_ERROR, INVOKE, MAX_PAYLOAD, READY, RESPONSE, TOO_LARGE, frame

_TRACE_KEY = os.environ.encodekey("_X_AMZN_TRACE_ID")
# The mapping behind `os.environ`. Writing the per-invocation trace id through `os.environ[...]` calls
# setenv(3), and glibc never frees a replaced value: ~144 bytes per invocation, for ever. Handlers (and the
# X-Ray SDK) read the variable through `os.environ`, so that is where it is kept; the C-level environment,
# which only child processes and C extensions see, is left alone.
_ENVIRON_DATA: dict[bytes, bytes] = vars(os.environ)["_data"]
# Read on every invocation, as AWS's runtime does (a handler may change them), but from that mapping:
# `os.environ.get` encodes the name and goes through the generic Mapping code, half a warm invocation's Python.
_FUNCTION_NAME, _FUNCTION_VERSION, _MEMORY_SIZE, _LOG_GROUP, _LOG_STREAM = map(os.environ.encodekey, (
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME"))


def _variable(key: bytes, default: str) -> str:
    value = _ENVIRON_DATA.get(key)
    return default if value is None else os.environ.decodevalue(value)  # type: ignore[attr-defined]


class _SourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles the handler's file from source: a cached .pyc is trusted on its source's size and mtime in whole
    seconds, so a file rewritten within the second (a reload) could otherwise run its old code."""

    def get_code(self, fullname: str) -> Any:
        return self.source_to_code(self.get_data(self.path), self.path)


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, doc: dict[str, Any]) -> None:
        self.cognito_identity_id = doc.get("cognitoIdentityId")
        self.cognito_identity_pool_id = doc.get("cognitoIdentityPoolId")


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, doc: dict[str, Any]) -> None:
        self.client = doc.get("client")
        self.custom = doc.get("custom")
        self.env = doc.get("env")


class LambdaContext:
    """The context object of AWS's Python runtime, built from the `Lambda-Runtime-*` headers."""

    def __init__(self, request_id: str, deadline_ms: int, arn: str, client_context: str | None,
                 identity: str | None) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = _variable(_FUNCTION_NAME, "")
        self.function_version = _variable(_FUNCTION_VERSION, "$LATEST")
        self.memory_limit_in_mb = _variable(_MEMORY_SIZE, "")
        self.log_group_name = _variable(_LOG_GROUP, "")
        self.log_stream_name = _variable(_LOG_STREAM, "")
        self.client_context = ClientContext(orjson.loads(client_context)) if client_context else None
        self.identity = CognitoIdentity(orjson.loads(identity)) if identity else None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error_doc(error_type: str, message: str, request_id: str, frames: list[str]) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": frames}


def _frames(exc: BaseException) -> list[str]:
    """The traceback of the function's own code: this module's and the import machinery's frames left out."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename != __file__ and not f.filename.startswith("<frozen")]
    return traceback.format_list(frames)


def _log_error(doc: dict[str, Any]) -> None:
    print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", flush=True)
    if doc["stackTrace"]:
        print("Traceback (most recent call last):\n" + "".join(doc["stackTrace"]).rstrip("\n"), flush=True)


def load_handler() -> Any:
    spec = os.environ.get("_HANDLER", "")
    root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    file_part, sep, func_name = spec.rpartition(":")
    if not sep or not file_part or not func_name:
        raise _InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': expected 'path/file.py:function'")
    path = os.path.join(root, file_part)
    module_name = os.path.splitext(os.path.basename(file_part))[0]
    if not os.path.isfile(path):
        raise _InitError("Runtime.ImportModuleError",
                         f"Unable to import module '{module_name}': No module named '{module_name}'")
    module_dir = os.path.dirname(os.path.abspath(path))
    if module_dir not in sys.path:
        sys.path.insert(0, module_dir)
    module_spec = importlib.util.spec_from_file_location(module_name, path, loader=_SourceLoader(module_name, path))
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except ImportError as exc:
        raise _InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    except SyntaxError as exc:
        raise _InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}") from exc
    handler = getattr(module, func_name, None)
    if not callable(handler):
        raise _InitError("Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'")
    return handler


class _Channel:
    """The runtime's end of the frame channel to the gateway (frames.py), inherited as descriptor `fd`."""

    def __init__(self, fd: int) -> None:
        self._sock = socket.socket(fileno=fd)
        self._sock.set_inheritable(False)  # the handler's own child processes do not get it
        self._reader = self._sock.makefile("rb")

    def send(self, kind: int, header: bytes = b"", payload: bytes = b"") -> None:
        sys.stdout.flush()  # the handler's output reaches the log before the invocation ends
        sys.stderr.flush()
        usage = resource.getrusage(resource.RUSAGE_SELF)  # the gateway reads the peak memory again if these moved
        self._sock.sendall(frame(kind, header, payload, usage.ru_minflt + usage.ru_majflt))

    def respond(self, payload: bytes) -> None:
        if len(payload) > MAX_PAYLOAD:  # the gateway fails the invocation with the size alone
            self.send(TOO_LARGE, str(len(payload)).encode())
        else:
            self.send(RESPONSE, b"", payload)

    def error(self, kind: int, doc: dict[str, Any]) -> None:
        body = orjson.dumps(doc)
        self.send(kind, doc["errorType"].encode(), body if len(body) <= MAX_PAYLOAD else b"")

    def next(self) -> tuple[list[str], bytes]:
        """The next invocation's header fields and event (waits for it)."""
        head = self._reader.read(HEAD.size)
        if len(head) != HEAD.size:
            raise ConnectionError("the gateway closed the channel")
        kind, header_size, size, _ = HEAD.unpack(head)
        body = self._reader.read(header_size + size)
        if kind != INVOKE or len(body) != header_size + size:
            raise ConnectionError("the gateway closed the channel mid-frame")
        return body[:header_size].decode().split("\0"), body[header_size:]

    def wait_closed(self) -> None:
        self._reader.read(1)


def _set_trace_id(trace_id: str | None) -> None:
    """The invocation's `_X_AMZN_TRACE_ID`, visible through `os.environ` without growing the C environment."""
    if trace_id:
        _ENVIRON_DATA[_TRACE_KEY] = os.environ.encodevalue(trace_id)
    else:
        _ENVIRON_DATA.pop(_TRACE_KEY, None)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # prints and logging stay in order
    channel = _Channel(int(sys.argv.pop(1)))  # the handler sees the argv of AWS's runtime: the script alone
    os.environ.pop("_X_AMZN_TRACE_ID", None)  # an inherited C-level value would otherwise go stale
    lambda_logging.install(os.environ.get("AWS_LAMBDA_LOG_FORMAT"), os.environ.get("AWS_LAMBDA_LOG_LEVEL"))
    try:
        handler = load_handler()
    except Exception as exc:
        if isinstance(exc, _InitError):
            doc = _error_doc(exc.error_type, str(exc), "", [])
        else:  # the module's own code raised while it was imported
            doc = _error_doc(type(exc).__name__, str(exc), "", _frames(exc))
        _log_error(doc)
        channel.error(INIT_ERROR, doc)
        channel.wait_closed()  # the gateway stops the environment: exiting first could pass for a crash
        sys.exit(1)
    is_async = inspect.iscoroutinefunction(handler)
    channel.send(READY)
    while True:  # every answer flushed stdout and stderr before it went out
        (request_id, deadline_ms, arn, trace_id, client_context, identity), event = channel.next()
        lambda_logging.set_request_id(request_id)
        _set_trace_id(trace_id)
        try:
            context = LambdaContext(request_id, int(deadline_ms), arn, client_context or None, identity or None)
            result = handler(orjson.loads(event), context)
            if is_async or inspect.iscoroutine(result):
                import asyncio

                result = asyncio.run(result)
        except Exception as exc:
            doc = _error_doc(type(exc).__name__, str(exc), request_id, _frames(exc))
            _log_error(doc)
            channel.error(ERROR, doc)
            continue
        try:
            payload = orjson.dumps(result)
        except TypeError as exc:
            doc = _error_doc("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id, [])
            _log_error(doc)
            channel.error(ERROR, doc)
            continue
        channel.respond(payload)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, IndexError):
        sys.exit(1)  # the gateway went away (or answered nonsense): so does the environment

"""apiway's runtime client for Python handlers: `python -m apiway.functions.python_bootstrap`.

It runs inside an execution environment started by `workers.WorkerRunner`, talks to the Lambda Runtime API at
`AWS_LAMBDA_RUNTIME_API`, and behaves like AWS's Python runtime: the handler named by `_HANDLER`
(`path/file.py:function` relative to `LAMBDA_TASK_ROOT`) is imported once, an import failure is reported to
`/runtime/init/error` (`Runtime.ImportModuleError`, `Runtime.UserCodeSyntaxError`, `Runtime.HandlerNotFound`,
`Runtime.MalformedHandlerName`) and the process exits; then each event from `/invocation/next` is passed to the
handler and its result posted to `/response`, or its exception to `/error`. `logging` goes through Lambda's
root handler and format (lambda_logging).

Deliberately light: stdlib plus orjson (the serializer inline functions use, so both modes marshal results the
same way). The error documents have the shape of `inline.error_payload`; importing that module would pull in
asyncio and cost ~40 ms on every cold start.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import inspect
import os
import socket
import sys
import time
import traceback
from typing import Any

import orjson

from apiway.functions import lambda_logging

_BASE = "/2018-06-01/runtime"
_TRACE_KEY = os.environ.encodekey("_X_AMZN_TRACE_ID")
# The mapping behind `os.environ`. Writing the per-invocation trace id through `os.environ[...]` calls
# setenv(3), and glibc never frees a replaced value: ~144 bytes per invocation, for ever. Handlers (and the
# X-Ray SDK) read the variable through `os.environ`, so that is where it is kept; the C-level environment,
# which only child processes and C extensions see, is left alone.
_ENVIRON_DATA: dict[bytes, bytes] = vars(os.environ)["_data"]


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
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
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


class _Connection:
    """A minimal keep-alive HTTP/1.1 client for the Runtime API. http.client parses every response head with
    the email package, which costs more than the rest of a warm invocation; the Runtime API's answers are
    simple (a status line, a few headers, a Content-Length body)."""

    def __init__(self, host: str, port: int) -> None:
        self._sock = socket.create_connection((host, port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = self._sock.makefile("rb")
        self._host = f"Host: {host}:{port}\r\n".encode()

    def request(
        self, method: str, path: str, body: bytes = b"", extra: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._host + extra
        if method == "POST":
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        self._sock.sendall(head + b"\r\n" + body)
        status_line = self._reader.readline()
        if not status_line:
            raise ConnectionError("the Runtime API closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        while True:
            line = self._reader.readline()
            if not line:
                raise ConnectionError("the Runtime API closed the connection")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        data = self._reader.read(length) if length else b""
        if len(data) != length:
            raise ConnectionError("the Runtime API closed the connection mid-response")
        return status, headers, data


def _post(conn: _Connection, path: str, body: bytes, error_type: str | None = None) -> int:
    sys.stdout.flush()  # the handler's output reaches the log before the invocation ends
    sys.stderr.flush()
    extra = b"" if error_type is None else f"Lambda-Runtime-Function-Error-Type: {error_type}\r\n".encode()
    return conn.request("POST", _BASE + path, body, extra)[0]


def _set_trace_id(trace_id: str | None) -> None:
    """The invocation's `_X_AMZN_TRACE_ID`, visible through `os.environ` without growing the C environment."""
    if trace_id:
        _ENVIRON_DATA[_TRACE_KEY] = os.environ.encodevalue(trace_id)
    else:
        _ENVIRON_DATA.pop(_TRACE_KEY, None)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # prints and logging stay in order
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")
    conn = _Connection(host, int(port))
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
        _post(conn, "/init/error", orjson.dumps(doc), doc["errorType"])
        sys.exit(1)
    is_async = inspect.iscoroutinefunction(handler)
    while True:
        sys.stdout.flush()
        sys.stderr.flush()
        status, headers, body = conn.request("GET", _BASE + "/invocation/next")
        if status != 200:
            sys.exit(1)  # 403 or 500: the environment is unusable
        request_id = headers.get("lambda-runtime-aws-request-id", "")
        lambda_logging.set_request_id(request_id)
        _set_trace_id(headers.get("lambda-runtime-trace-id"))
        try:
            context = LambdaContext(request_id, int(headers.get("lambda-runtime-deadline-ms", "0")),
                                    headers.get("lambda-runtime-invoked-function-arn", ""),
                                    headers.get("lambda-runtime-client-context"),
                                    headers.get("lambda-runtime-cognito-identity"))
            result = handler(orjson.loads(body), context)
            if is_async or inspect.iscoroutine(result):
                import asyncio

                result = asyncio.run(result)
        except Exception as exc:
            doc = _error_doc(type(exc).__name__, str(exc), request_id, _frames(exc))
            _log_error(doc)
            _post(conn, f"/invocation/{request_id}/error", orjson.dumps(doc), doc["errorType"])
            continue
        try:
            payload = orjson.dumps(result)
        except TypeError as exc:
            doc = _error_doc("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id, [])
            _log_error(doc)
            _post(conn, f"/invocation/{request_id}/error", orjson.dumps(doc), doc["errorType"])
            continue
        _post(conn, f"/invocation/{request_id}/response", payload)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, IndexError):
        sys.exit(1)  # the gateway went away (or answered nonsense): so does the environment

"""The HTTP request path: raw bytes on one connection of the native HTTP/1.1 front-end (`apiway.front.native`,
httptools), and what parses through the dispatcher and the gateway to a small API (fuzz/api/api.yaml: MOCK
integrations with request and response templates, path parameters and `{proxy+}`, a request validator, an API
key, AWS_IAM, customised gateway responses). No socket: the connection object is fed directly, on one event
loop, and its transport is a buffer.

Input: the bytes a client sends on one connection (several pipelined requests, or garbage), delivered in chunks of
4096 bytes as a socket would.

Invariant: each request the front-end parses is answered by the dispatcher with an `HttpResponse` whose status is
an HTTP status (100 to 599) and whose header names are tokens and values hold no CR, LF or NUL; what does not parse
is refused the documented way (400 Bad Request, 431 for a head over 10 KB, 413 from the gateway for a body over
10 MB, or the connection simply closes); every request is answered (no task left pending). A crash is any exception
escaping the dispatcher, the gateway's last line of defence (`_crashed`, its 500 for an unexpected exception) or the
front-end's (its 500s for a failure while parsing, handling or serialising).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvloop

import apiway.front.native as native
import apiway.observe.log
import apiway.runtime.gateway as gateway_module
from apiway.app import App
from apiway.config import load_project
from apiway.core.http import HttpRequest, HttpResponse
from apiway.front.admin import AdminPolicy
from apiway.front.dispatch import Dispatcher
from apiway.project import deployer
from apiway.project.deployer import StartReport
from apiway.store.kinds import API_KEY, USAGE_PLAN, USAGE_PLAN_KEY
from apiway.store.sqlite import SqliteStore
from fuzz.common import Finding

INSTRUMENT = ("apiway",)
OPTIONS = ("-max_len=32768", "-timeout=20", f"-dict={Path(__file__).resolve().parents[1] / 'dicts' / 'http.dict'}")

PROJECT = Path(__file__).resolve().parents[1] / "api" / "apiway.yaml"
API_ID = "fuzzhttp01"
API_KEY_VALUE = "fuzz-api-key-0123456789abcdef"
CHUNK = 4096
MAX_TURNS = 10_000  # event-loop turns a connection's requests may take: MOCK integrations never wait on I/O
DATE = "Date: Tue, 25 Nov 2025 07:30:00 GMT\r\n"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN = re.compile(r"[\r\n\x00]")


def check_response(response: object) -> None:
    """The invariant on one answer; raises Finding."""
    if not isinstance(response, HttpResponse):
        raise Finding(f"the handler gave {type(response).__name__}, not an HttpResponse")
    status = response.status
    if type(status) is not int or not 100 <= status <= 599:
        raise Finding(f"invalid status {status!r}")
    if not isinstance(response.body, bytes):
        raise Finding(f"body is {type(response.body).__name__}, not bytes")
    for header in response.headers:
        if not (isinstance(header, tuple) and len(header) == 2 and all(isinstance(part, str) for part in header)):
            raise Finding(f"malformed header {header!r}")
        name, value = header
        if not _TOKEN.fullmatch(name):
            raise Finding(f"header name {name!r} is not a token")
        if _FORBIDDEN.search(value):
            raise Finding(f"header {name} has CR, LF or NUL in its value {value!r}")


class _Checked:
    """The dispatcher, with every answer checked and every exception kept (the front-end would turn it into a 500
    and carry on: here it is the finding)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.failures: list[BaseException] = []

    async def handle(self, req: HttpRequest) -> HttpResponse:
        return self._checked(await self._run(self.dispatcher.handle(req)))

    async def upgrade(self, req: HttpRequest) -> HttpResponse:
        return self._checked(await self._run(self.dispatcher.upgrade(req)))

    def reject(self, req: HttpRequest, response_type: str) -> HttpResponse:
        try:
            response = self.dispatcher.reject(req, response_type)
        except Exception as exc:
            self.failures.append(exc)
            raise
        return self._checked(response)

    async def _run(self, awaitable: Any) -> HttpResponse:
        try:
            response: HttpResponse = await awaitable
        except Exception as exc:
            self.failures.append(exc)
            raise
        return response

    def _checked(self, response: HttpResponse) -> HttpResponse:
        try:
            check_response(response)
        except Finding as finding:
            self.failures.append(finding)
            raise
        return response


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("192.0.2.10", 50000), "sockname": ("127.0.0.1", 80)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.data += data

    def write_eof(self) -> None:
        self.closing = True

    def can_write_eof(self) -> bool:
        return True

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class _Harness:
    def __init__(self) -> None:
        self.state_dir = Path(tempfile.mkdtemp(prefix="apiway-fuzz-http-"))
        atexit.register(shutil.rmtree, self.state_dir, True)
        project = load_project(PROJECT)
        self.app = App(project)
        prepared = deployer.prepare(project, self.app.deps)
        store = SqliteStore(self.state_dir / "state.db")
        deployer.apply(store, prepared.apis, StartReport())
        store.put_record(API_KEY, "fuzzkey1", {"id": "fuzzkey1", "name": "fuzz", "value": API_KEY_VALUE,
                                               "enabled": True})
        store.put_record(USAGE_PLAN, "fuzzplan1", {"id": "fuzzplan1", "name": "fuzz", "_createdDay": "2025-01-01",
                                                   "apiStages": [{"apiId": API_ID, "stage": "dev"}]})
        store.put_record(USAGE_PLAN_KEY, "fuzzplan1/fuzzkey1", {"usagePlanId": "fuzzplan1", "keyId": "fuzzkey1"})
        self.app.start(store, prepared.domains, prepared.api_refs)
        self.loop = uvloop.new_event_loop()
        self.handler = _Checked(Dispatcher(self.app.gateway, [self.app.invoke_api],
                                           AdminPolicy.for_listener("127.0.0.1")))
        self.server = native._Server(self.handler, self.loop)
        self.server.date = DATE  # no ticking clock: the server's timer is never started
        self.crashes: list[BaseException] = []

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """While an input runs: the log goes nowhere, and the last lines of defence report what reaches them."""
        crashed = gateway_module._crashed

        def gateway_crashed(exc: Exception, *args: Any) -> HttpResponse:
            self.crashes.append(exc)
            return crashed(exc, *args)

        def front_log(level: str, message: str, **fields: Any) -> None:
            if level == "ERROR":  # each of the front-end's ERROR lines is a 500 for something it did not expect
                error = str(fields.get("error") or "")
                self.crashes.append(Finding(f"the front-end logged: {message} ({error.partition(':')[0]}) {error}"))

        saved = (apiway.observe.log._out, native.log)
        apiway.observe.log._out = _NullSink()
        native.log = front_log
        gateway_module._crashed = gateway_crashed  # type: ignore[assignment]
        try:
            yield
        finally:
            apiway.observe.log._out, native.log = saved
            gateway_module._crashed = crashed

    def exchange(self, data: bytes) -> bytes:
        self.handler.failures.clear()
        self.crashes.clear()
        with self.watching():
            out = self.loop.run_until_complete(self._connection(data))
        for problem in (*self.handler.failures, *self.crashes):
            raise problem
        return out

    async def _connection(self, data: bytes) -> bytes:
        conn = native._Connection(self.server)
        transport = _Transport()
        conn.connection_made(transport)
        try:
            for start in range(0, len(data), CHUNK):
                conn.data_received(data[start : start + CHUNK])
                await self._settle(conn)
            return bytes(transport.data)
        finally:
            if conn._task is not None:
                conn._task.cancel()
            conn.connection_lost(None)

    @staticmethod
    async def _settle(conn: native._Connection) -> None:
        for _ in range(MAX_TURNS):
            if conn._task is None and not conn._queue:
                return
            await asyncio.sleep(0)
        raise Finding(f"requests still unanswered after {MAX_TURNS} event-loop turns")


class _NullSink:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


_harness: _Harness | None = None


def harness() -> _Harness:
    global _harness
    if _harness is None:
        _harness = _Harness()
    return _harness


def one_input(data: bytes) -> None:
    harness().exchange(data)

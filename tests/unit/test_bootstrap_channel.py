"""The gateway's end of the bootstrap channel, fed frames by hand: reassembly, outcomes, protocol violations."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from apiway.functions.base import InvokeResult
from apiway.functions.bootstrap_channel import BootstrapChannel
from apiway.functions.frames import ERROR, HEAD, INIT_ERROR, INVOKE, MAX_PAYLOAD, READY, RESPONSE, TOO_LARGE, frame
from apiway.functions.runtime_api import PendingEvent


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        pass


class _Recorder:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.delivered: list[PendingEvent] = []
        self.results: list[tuple[PendingEvent | None, InvokeResult]] = []
        self.broken = 0
        self.channel = BootstrapChannel(self.delivered.append, lambda inv, r: self.results.append((inv, r)),
                                        lambda r: self.results.append((None, r)), self._broke)
        self.transport = _Transport()
        self.channel.connection_made(self.transport)  # type: ignore[arg-type]

    def _broke(self) -> None:
        self.broken += 1

    def invocation(self, rid: str = "r-1") -> PendingEvent:
        future: asyncio.Future[InvokeResult] = self.loop.create_future()
        inv = PendingEvent(rid, b'{"a":1}', 3.0, "arn:fn", "Root=1-x", future, client_context='{"custom":{}}')
        self.channel.submit(inv)
        return inv


@pytest.fixture
def rec() -> Any:
    loop = asyncio.new_event_loop()
    yield _Recorder(loop)
    loop.close()


def test_the_invocation_waits_for_ready_then_goes_out_with_its_header(rec: _Recorder) -> None:
    inv = rec.invocation()
    assert rec.transport.written == [] and not inv.delivered
    rec.channel.data_received(frame(READY))
    assert rec.delivered == [inv] and inv.delivered
    kind, header_size, size, _ = HEAD.unpack_from(rec.transport.written[0])
    body = rec.transport.written[0][HEAD.size:]
    assert kind == INVOKE and size == 7 and body[header_size:] == b'{"a":1}'
    assert body[:header_size].split(b"\0") == [b"r-1", b"0", b"arn:fn", b"Root=1-x", b'{"custom":{}}', b""]


def test_frames_split_and_joined_anyhow_are_reassembled(rec: _Recorder) -> None:
    first = rec.invocation("r-1")
    data = frame(READY) + frame(RESPONSE, b"", b'{"ok":1}', faults=2**40 + 7)
    for at in range(len(data)):  # one byte at a time
        rec.channel.data_received(data[at:at + 1])
    assert rec.results == [(first, InvokeResult(b'{"ok":1}'))]
    assert rec.channel.faults == 2**40 + 7  # the runtime's page faults as it answered
    second = rec.invocation("r-2")
    rec.channel.data_received(frame(ERROR, b"KeyError", b'{"errorType":"KeyError"}')[:5])
    rec.channel.data_received(frame(ERROR, b"KeyError", b'{"errorType":"KeyError"}')[5:])
    assert rec.results[1] == (second, InvokeResult(b'{"errorType":"KeyError"}', "Unhandled"))
    assert rec.broken == 0


def test_outcomes_have_the_runtime_apis_shapes(rec: _Recorder) -> None:
    rec.channel.data_received(frame(READY))
    inv = rec.invocation()
    rec.channel.data_received(frame(TOO_LARGE, b"7000000"))
    assert orjson.loads(rec.results[0][1].payload) == {
        "errorMessage": f"Response payload size (7000000 bytes) exceeded maximum allowed payload size "
                        f"({MAX_PAYLOAD} bytes).", "errorType": "Function.ResponseSizeTooLarge"}
    inv = rec.invocation("r-2")
    rec.channel.data_received(frame(ERROR, b"ValueError"))  # a document over the limit is not sent
    assert rec.results[1] == (inv, InvokeResult(b'{"errorMessage":"Unknown application error occurred",'
                                                b'"errorType":"ValueError"}', "Unhandled"))


def test_an_init_error_fails_the_waiting_invocation(rec: _Recorder) -> None:
    rec.invocation()
    rec.channel.data_received(frame(INIT_ERROR, b"Runtime.ImportModuleError", b"not a document"))
    assert rec.results == [(None, InvokeResult(b'{"errorMessage":"Unknown application error occurred",'
                                               b'"errorType":"Runtime.ImportModuleError"}', "Unhandled"))]
    assert rec.transport.written == []


@pytest.mark.parametrize("data", [
    frame(RESPONSE, b"", b"{}"),  # an answer with no invocation
    frame(READY) + frame(READY),  # ready twice
    frame(99),  # no such kind
    HEAD.pack(RESPONSE, 0, MAX_PAYLOAD + 2048, 0),  # over the limit: not buffered
])
def test_a_frame_that_breaks_the_protocol_stops_the_environment(rec: _Recorder, data: bytes) -> None:
    rec.channel.data_received(data)
    assert rec.broken == 1 and rec.results == []

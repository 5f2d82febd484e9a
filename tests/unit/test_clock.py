"""The injected clock: the system one is the `time` functions themselves, a manual one moves only when told,
and a compiled stage stamps `$context.requestTimeEpoch` from the clock it was compiled with."""

from __future__ import annotations

import time

from apiway.core.clock import SYSTEM_CLOCK, ManualClock
from apiway.core.http import HttpRequest
from apiway.core.invocation import Invocation
from apiway.runtime.compile import compile_stage
from apiway.runtime.deps import CompileDeps
from apiway.store.deployments import stage_record


def test_the_system_clock_reads_the_time_functions_without_a_wrapper():
    assert SYSTEM_CLOCK.monotonic is time.monotonic and SYSTEM_CLOCK.time is time.time
    before = int(time.time() * 1000)
    assert before <= SYSTEM_CLOCK.wall_ms() <= int(time.time() * 1000)


def test_a_manual_clock_moves_both_readings_together_and_only_when_advanced():
    clock = ManualClock(10.0, epoch=1_700_000_000.0)
    assert (clock.monotonic(), clock.time(), clock.wall_ms()) == (10.0, 1_700_000_010.0, 1_700_000_010_000)
    clock.advance(0.25)
    assert (clock.monotonic(), clock.wall_ms()) == (10.25, 1_700_000_010_250)


def test_a_request_is_stamped_by_the_clock_its_stage_was_compiled_with():
    clock = ManualClock(0.0, epoch=1_600_000_000.5)
    definition = {"restApi": {"id": "clk", "name": "clk"}, "authorizers": {}, "resources": {
        "r": {"id": "r", "path": "/", "resourceMethods": {"GET": {
            "httpMethod": "GET", "authorizationType": "NONE", "methodIntegration": {"type": "MOCK"}}}}}}
    runtime = compile_stage(definition, stage_record("clk", "prod", "d1", {}), CompileDeps(None, None, clock=clock))
    inv = Invocation(HttpRequest("GET", "/prod/", "", [], b""), runtime, runtime.plans[0], {}, "/", "/prod/", "r")
    assert inv.epoch_ms == 1_600_000_000_500
    assert inv.context()["requestTimeEpoch"] == 1_600_000_000_500

"""The one clock the data plane reads: monotonic seconds for throttles, TTLs and timings, wall time for
`$context.requestTimeEpoch`, quota days and token expiry. Injected (design principle 7), so tests
advance a `ManualClock` instead of sleeping; nothing else in the data plane imports `time`."""

from __future__ import annotations

import time as _time
from typing import Protocol

_wall = _time.time
_wall_ns = _time.time_ns


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary start that never go back: intervals, TTLs, token refills."""
        ...

    def time(self) -> float:
        """Seconds since the Unix epoch (UTC)."""
        ...

    def wall_ms(self) -> int:
        """Milliseconds since the Unix epoch, as AWS stamps requests."""
        ...


def _wall_ms() -> int:
    # Integer nanoseconds floored: half the instructions of int(time() * 1000), whose int() is a type call.
    return _wall_ns() // 1_000_000


class SystemClock:
    """The real clock. Its methods are the `time` functions themselves (static, unbound), so a caller that
    stores `clock.monotonic` once pays nothing more per call than calling `time.monotonic`."""

    __slots__ = ()
    monotonic = staticmethod(_time.monotonic)
    time = staticmethod(_wall)
    wall_ms = staticmethod(_wall_ms)


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that moves only when told: `advance(seconds)` moves both readings together."""

    __slots__ = ("epoch", "now")

    def __init__(self, now: float = 1000.0, epoch: float = 1_700_000_000.0) -> None:
        self.now = now  # monotonic seconds
        self.epoch = epoch  # the wall time (epoch seconds) when `now` was 0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.epoch + self.now

    def wall_ms(self) -> int:
        return round((self.epoch + self.now) * 1000)

    def advance(self, seconds: float) -> None:
        self.now += seconds

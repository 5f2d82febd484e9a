"""The cyclic garbage collector around long control-plane work.

A compiled 20,000-path stage is half a million tracked objects, and a full collection walks every one
of them while holding the interpreter lock: 0.6 s in which no request moves. An import or a deploy that
size allocates enough to run several. So automatic collection pauses while an operation runs (in the
control plane's thread), and what an operation leaves behind — the definitions and stages it built —
is moved out of the collector's reach (`gc.freeze`) once it is served, as start-up does with what it
loads: collections then walk only what requests leave.

Freezing is safe for these because importing and compiling make no reference cycles (a stage replaced
later is freed by reference counting, frozen or not); an operation that leaves few objects is not
frozen, and the collector resumes as before.
"""

from __future__ import annotations

import gc
from types import TracebackType

FREEZE_AT = 50_000  # tracked objects an operation leaves behind, net, before they are frozen


class CollectionPause:
    """A context for work run from the event loop's thread; nested and overlapping uses pause once."""

    __slots__ = ("_depth", "_resume")

    def __init__(self) -> None:
        self._depth = 0
        self._resume = False

    def __enter__(self) -> None:
        if self._depth == 0:
            self._resume = gc.isenabled()
            gc.disable()
        self._depth += 1

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._depth -= 1
        if self._depth:
            return
        if gc.get_count()[0] >= FREEZE_AT:  # net objects allocated while paused
            gc.freeze()
        if self._resume:
            gc.enable()

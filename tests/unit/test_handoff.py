"""Work handed to the event loop's thread: run there, in the order handed, with results and errors
handed back; at once when no loop is bound or when already on its thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from apiway.core.handoff import LoopHandoff


def test_unbound_runs_in_the_callers_thread() -> None:
    handoff = LoopHandoff()
    ran: list[int] = []
    handoff.post(ran.append, threading.get_ident())
    assert ran == [threading.get_ident()] and handoff.call(len, "abc") == 3


def test_other_threads_hand_work_to_the_loop_in_order() -> None:
    handoff = LoopHandoff()
    ran: list[tuple[str, int]] = []

    def record(name: str) -> None:
        ran.append((name, threading.get_ident()))

    def boom() -> None:
        raise ValueError("from the loop")

    def worker() -> tuple[int, str]:
        for name in ("a", "b", "c"):
            handoff.post(record, name)
        with pytest.raises(ValueError, match="from the loop"):
            handoff.call(boom)
        return handoff.call(lambda: len(ran)), threading.current_thread().name

    async def main() -> tuple[int, tuple[int, str]]:
        handoff.bind()
        handoff.post(record, "on the loop")  # already there: runs now
        return threading.get_ident(), await asyncio.to_thread(worker)

    loop_thread, (count, worker_name) = asyncio.run(main())
    assert [name for name, _ in ran] == ["on the loop", "a", "b", "c"] and count == 4
    assert {thread for _, thread in ran} == {loop_thread} and worker_name != threading.current_thread().name

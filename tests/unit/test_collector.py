"""Collection paused around control-plane work: nested uses pause once, collection resumes afterwards,
and only an operation that leaves many objects behind has them frozen."""

from __future__ import annotations

import gc

from apiway.core.collector import FREEZE_AT, CollectionPause


def test_pause_resumes_and_freezes_only_large_leftovers() -> None:
    assert gc.isenabled()
    pause = CollectionPause()
    frozen = gc.get_freeze_count()
    kept: list[object] = []
    try:
        with pause:
            with pause:
                assert not gc.isenabled()
            assert not gc.isenabled()  # the outer use still runs
            kept.append([[i] for i in range(10)])
        assert gc.isenabled() and gc.get_freeze_count() == frozen  # a few objects: nothing frozen
        gc.collect()
        with pause:
            kept.append([[i] for i in range(FREEZE_AT + 1_000)])
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + FREEZE_AT
    finally:
        gc.unfreeze()
        gc.enable()

"""Log bounds: a rotating file keeps N files under the size bound; repeated lines are written a few times per
window and then counted."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from apiway.observe import log as server_log
from apiway.observe.repeats import Repeats, repeated
from apiway.observe.rotating import LogLimits, RotatingFile


def test_rotation_at_the_size_bound_keeps_n_files(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "Fn.log"
    file = RotatingFile(path, LogLimits(max_bytes=100, files=3))
    for n in range(50):
        file.write(f"line {n:03d} " + "x" * 20 + "\n")  # 30 bytes: three lines a file
    file.close()
    assert sorted(p.name for p in path.parent.iterdir()) == ["Fn.log", "Fn.log.1", "Fn.log.2"]
    assert all(p.stat().st_size <= 100 for p in path.parent.iterdir())
    assert path.read_text().splitlines()[-1].startswith("line 049")  # the current file has the newest lines
    assert (path.parent / "Fn.log.1").read_text().splitlines()[-1].startswith("line 047")


def test_one_file_just_starts_again_and_an_existing_file_counts_towards_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "Fn.log"
    path.write_text("y" * 90)
    file = RotatingFile(path, LogLimits(max_bytes=100, files=1))
    file.write("z" * 20)
    file.close()
    assert [p.name for p in tmp_path.iterdir()] == ["Fn.log"] and path.read_text() == "z" * 20


def test_repeats_pass_a_burst_per_window_then_count() -> None:
    repeats = Repeats(window=10, burst=3)
    assert [repeats.admit("a", 0.0 + n / 1000) for n in range(10)] == [True] * 3 + [False] * 7
    assert repeats.admit("b", 1.0) and repeats.summaries(1.0) == []
    assert repeats.admit("a", 10.5)  # a new window: the old one's count is due
    assert repeats.summaries(10.5) == [("a", 7, 10)]
    for n in range(5):
        repeats.admit("a", 11 + n)
    assert repeats.summaries(25.0) == [("a", 3, 10)]  # the window ended with no new copy: swept
    assert repeated("boom", 27000, 10) == "boom (repeated 27,000 times in the last 10 s)"


def test_server_log_writes_a_bounded_number_of_identical_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.BytesIO()
    monkeypatch.setattr(server_log, "_out", out)
    monkeypatch.setattr(server_log, "_repeats", Repeats())
    for n in range(1000):
        server_log.log("ERROR", "Execution failed: throttled", requestId=f"{n:08d}-1111-2222-3333-444444444444")
    server_log.log("INFO", "something else")
    server_log.flush_repeats()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(records) == 12
    assert [r["message"] for r in records[:10]] == ["Execution failed: throttled"] * 10
    assert records[10]["message"] == "something else"
    assert records[11]["repeated"] == 990
    assert records[11]["message"].startswith("Execution failed: throttled (repeated 990 times in the last ")

"""The instruction counts of `make bench`: reading a callgrind dump, the table, and the history table of
docs/performance.md that `benchmarks/run.py --write-doc` keeps (one row per release)."""

from __future__ import annotations

import pytest

from benchmarks import history, instructions

DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 4242
part: 1

desc: Trigger: dump

positions: line
events: Ir
summary: 343224000


ob=(1) /usr/bin/python3.11
fn=(0) 0x000000000001ab70
0 343224000

totals: 343300112
"""

HEADER = "| " + " | ".join(history.COLUMNS) + " |"


def row(version: str, rev: str, *figures: str) -> list[str]:
    return [version, rev, "2026-12-07", *figures]


def table_rows(doc: str) -> list[str]:
    body = doc[doc.index(history.START) + len(history.START) : doc.index(history.END)]
    return [ln for ln in body.splitlines() if ln.startswith("|")][2:]


def test_a_dump_gives_the_instructions_of_its_summary_line() -> None:
    assert instructions.parse_summary(DUMP) == 343224000
    with pytest.raises(instructions.CountFailed):
        instructions.parse_summary(DUMP.replace("summary:", "nothing:"))


def test_the_table_gives_each_count_against_the_reference() -> None:
    lines = instructions.render_table({"nginx": 8115.2, "apiway-mock": 171612.4}, "nginx")
    assert lines[2:] == ["| nginx | 8,115 | 1.0x |", "| apiway-mock | 171,612 | 21.1x |"]
    assert instructions.render_table({"apiway-mock": 171612.4}, "nginx")[2] == "| apiway-mock | 171,612 | — |"


def test_a_document_without_history_gets_the_section_at_its_end() -> None:
    doc = history.update("# Performance\n\nintro\n", row("0.1.0", "f79c538", "171.6k", "240.6k", "301.9k", "23.9", "4.2"))
    assert doc.startswith("# Performance\n\nintro\n\n## History\n")
    assert HEADER in doc
    assert table_rows(doc) == ["| 0.1.0 | f79c538 | 2026-12-07 | 171.6k | 240.6k | 301.9k | 23.9 | 4.2 |"]


def test_a_new_version_appends_a_row_and_the_same_version_replaces_its_own() -> None:
    doc = history.update("# Performance\n", row("0.1.0", "f79c538", "171.6k", "240.6k", "301.9k", "23.9", "4.2"))
    doc = history.update(doc + "\n## Later section\n", row("0.2.0", "aaaaaaa", "170.0k", "239.0k", "300.0k", "22.0", "4.1"))
    # Re-run of 0.2.0 without the CPU scenarios: its instruction counts change, its CPU figures stay.
    doc = history.update(doc, row("0.2.0", "bbbbbbb", "165.0k", "235.0k", "295.0k", history.MISSING, history.MISSING))
    assert table_rows(doc) == [
        "| 0.1.0 | f79c538 | 2026-12-07 | 171.6k | 240.6k | 301.9k | 23.9 | 4.2 |",
        "| 0.2.0 | bbbbbbb | 2026-12-07 | 165.0k | 235.0k | 295.0k | 22.0 | 4.1 |",
    ]
    assert doc.count("## History") == 1 and doc.rstrip().endswith("## Later section")


def test_figures_are_written_in_thousands_and_microseconds() -> None:
    assert history.kilo(171612.4) == "171.6k"
    assert history.micro(23.94) == "23.9"
    assert history.kilo(None) == history.micro(None) == history.MISSING
    with pytest.raises(ValueError):
        history.update("", ["0.1.0"])

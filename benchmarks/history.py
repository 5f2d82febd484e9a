"""The history table of docs/performance.md: one row per apiway release, so a slowdown between releases shows.

`benchmarks/run.py --write-doc` puts its run's row in: the row of the same version is replaced (a cell the run
did not measure keeps the old row's figure), a new version is appended, earlier rows stay.
"""

from __future__ import annotations

START = "<!-- bench-history:start -->"
END = "<!-- bench-history:end -->"
COLUMNS = (
    "apiway",
    "git",
    "date",
    "MOCK instr/req",
    "AWS_PROXY inline instr/req",
    "HTTP_PROXY instr/req",
    "MOCK CPU µs/req",
    "nginx CPU µs/req",
)
MISSING = "—"
SECTION = f"""## History

One row per release, from `make bench` (`benchmarks/run.py --write-doc`): instructions per request
(callgrind) of three methods, and from the same run the CPU µs per request of the MOCK method and of nginx
`return 200`. Instruction counts compare across rows measured on one architecture with the same Python; CPU µs
only against the nginx figure of the same row.

{START}
{END}
"""


def kilo(value: float | None) -> str:
    return MISSING if value is None else f"{value / 1000:,.1f}k"


def micro(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1f}"


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def merge_rows(rows: list[list[str]], row: list[str]) -> list[list[str]]:
    """`rows` with `row` in place of the row of its version (first cell), or after the last one."""
    for i, old in enumerate(rows):
        if old[0] == row[0]:
            if len(old) == len(row):
                row = [new if new != MISSING else prev for new, prev in zip(row, old, strict=True)]
            return [*rows[:i], row, *rows[i + 1 :]]
    return [*rows, row]


def update(doc: str, row: list[str]) -> str:
    """The document with `row` (one cell per column) in its history table; the section is added at the end when
    the document has none."""
    if len(row) != len(COLUMNS):
        raise ValueError(f"a history row has {len(COLUMNS)} cells, not {len(row)}")
    start, end = doc.find(START), doc.find(END)
    if start < 0 or end < start:
        doc = doc.rstrip("\n") + "\n\n" + SECTION
        start, end = doc.find(START), doc.find(END)
    body = doc[start + len(START) : end]
    # The table's own header and separator lines are rewritten; the data rows are every other table line.
    rows = [_cells(ln) for ln in body.splitlines() if ln.startswith("|")][2:]
    table = [_line(list(COLUMNS)), "| --- | --- | --- |" + " ---: |" * (len(COLUMNS) - 3)]
    table += [_line(r) for r in merge_rows(rows, row)]
    return doc[: start + len(START)] + "\n" + "\n".join(table) + "\n" + doc[end:]

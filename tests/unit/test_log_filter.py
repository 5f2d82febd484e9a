"""CloudWatch Logs filter patterns: terms, phrases, exclusions, any-of terms, regular expressions, JSON
selectors and space-delimited fields."""

from __future__ import annotations

import pytest

from apiway.telemetry.log_filter import InvalidPattern, compile_pattern

LINES = [
    "ERROR timeout calling backend",
    "INFO request done in 12 ms",
    "ERROR Exception: bad input",
    'WARN "quoted" thing',
]
JSON = [
    '{"status": 502, "latency": 1200, "path": "/pets", "user": {"id": "u1"}, "tags": ["a", "b"], "ok": false}',
    '{"status": 200, "latency": 35, "path": "/pets/1", "user": {"id": "u2"}, "tags": ["c"], "ok": true}',
    '{"status": "404", "latency": 80.5, "path": "/owners", "user": null, "ok": true}',
    "not json at all 502",
]


def matching(pattern: str, lines: list[str]) -> list[int]:
    test = compile_pattern(pattern)
    return [n for n, line in enumerate(lines) if test(line)]


@pytest.mark.parametrize(("pattern", "expected"), [
    ("", [0, 1, 2, 3]),
    ("ERROR", [0, 2]),
    ("ERROR timeout", [0]),  # every term
    ('"request done"', [1]),  # a phrase
    ("ERROR -Exception", [0]),  # not this term
    ("?timeout ?WARN", [0, 3]),  # any one of them
    ("error", []),  # case-sensitive
    ("%ERR(OR|X) t%", [0]),  # a regular expression
    ('"\\"quoted\\""', [3]),
])
def test_term_patterns(pattern: str, expected: list[int]) -> None:
    assert matching(pattern, LINES) == expected


@pytest.mark.parametrize(("pattern", "expected"), [
    ("{ $.status = 5* }", [0]),
    ("{ $.status = 502 }", [0]),
    ("{ $.status != 200 }", [0, 2]),
    ("{ $.status = 404 }", [2]),  # a number in a string still compares as a number
    ("{ $.latency > 100 }", [0]),
    ("{ $.latency <= 80.5 }", [1, 2]),
    ('{ $.path = "/pets*" }', [0, 1]),
    ("{ $.path = /owners }", [2]),
    ('{ $.user.id = "u2" }', [1]),
    ('{ $.tags[1] = "b" }', [0]),
    ("{ $.user IS NULL }", [2]),
    ("{ $.tags NOT EXISTS }", [2]),
    ("{ $.ok IS TRUE }", [1, 2]),
    ("{ $.ok IS FALSE }", [0]),
    ("{ ($.status = 200) || ($.latency > 1000) }", [0, 1]),
    ('{ $.latency < 100 && $.path = "/owners" }', [2]),
    ('{ ($.status = 5* || $.status = 2*) && $.ok IS TRUE }', [1]),
])
def test_json_selectors(pattern: str, expected: list[int]) -> None:
    assert matching(pattern, JSON) == expected


def test_space_delimited_fields() -> None:
    lines = ['127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326',
             '10.0.0.2 - bob [10/Oct/2000:13:55:37 -0700] "GET /b HTTP/1.0" 404 12']
    assert matching("[ip, id, user, timestamp, request, status_code = 4*, size]", lines) == [1]
    assert matching("[ip, ..., size > 1000]", lines) == [0]
    assert matching('[ip = "10.*", ...]', lines) == [1]
    assert matching("[ip, user]", lines) == []  # fewer fields than the line has, and no "..."


@pytest.mark.parametrize("pattern", ["{ $.a = 1", "{ status = 1 }", "{ $.a > abc }", "{ $.a = }",
                                     "{ ($.a = 1 }", "%(%", "[a, b c = 1]"])
def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidPattern):
        compile_pattern(pattern)

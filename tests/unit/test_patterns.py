"""Time-bounded patterns: patterns that cannot backtrack stay on `re`, the others run on `regex` with a timeout;
both give `re`'s answers, flags mean the same, and a runaway evaluation raises TimeoutError promptly."""

from __future__ import annotations

import re
import time

import pytest

from apiway.patterns import TIMEOUT, Pattern


@pytest.mark.parametrize(("source", "bounded"), [(",", False), ("abc", False), ("[a-z]", False), (r"\.", False),
                                                 ("a+", True), ("a|b", True), ("x{2}", True), ("(?:a)", True)])
def test_only_patterns_that_can_backtrack_take_the_bounded_engine(source: str, bounded: bool) -> None:
    assert Pattern(source).bounded is bounded


@pytest.mark.parametrize(("source", "flags", "text"), [
    (r"\w+", re.ASCII, "héllo"), (r"\w+", 0, "héllo"), ("A+", re.IGNORECASE, "aaA"), ("^b$", re.MULTILINE, "a\nb"),
    ("a.b", re.DOTALL, "a\nb"), ("a b # comment", re.VERBOSE, "ab"), (r"(?P<x>a)(?P=x)", 0, "aa"), ("x*", 0, "abxd"),
])
def test_same_answers_as_re(source: str, flags: int, text: str) -> None:
    ours, theirs = Pattern(source, flags), re.compile(source, flags)
    assert bool(ours.fullmatch(text)) == bool(theirs.fullmatch(text))
    assert [m.span() for m in ours.finditer(text)] == [m.span() for m in theirs.finditer(text)]
    assert ours.sub("-", text, 0) == theirs.sub("-", text)
    assert ours.groups == theirs.groups and ours.groupindex == dict(theirs.groupindex)


def test_runaway_evaluation_raises_timeout_error() -> None:
    pattern = Pattern("(a|aa)+b")
    for evaluate in (lambda t: pattern.fullmatch(t), lambda t: list(pattern.finditer(t)),
                     lambda t: pattern.sub("", t, 0)):
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            evaluate("a" * 40 + "!")
        assert time.monotonic() - started < TIMEOUT * 10


def test_invalid_pattern_is_re_error_on_either_engine() -> None:
    for source in ("(a", "(a+"):
        with pytest.raises(re.error):
            Pattern(source)

"""Regular expressions that API definitions hold (selection patterns, template and JSONPath regexes) and that
run against request data, each evaluation bounded in time: Python's `re` backtracks without bound, and
`(a|aa)+b` against thirty `a`s would hold the event loop, and every other request, for minutes."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import regex

# Seconds one evaluation may take before it raises TimeoutError. Real patterns take microseconds even over a
# large body; one that is cut off holds other requests up for about this long.
TIMEOUT = 0.1

# Repetition or alternation: only these let a backtracking engine try exponentially (or polynomially) many
# ways. `?` also catches `(?:`, `(?=` …, and an escaped `\*` counts too: doubt goes to the bounded engine.
_BACKTRACKS = re.compile(r"[*+?{|]")
# `re` flags as the `regex` module numbers them (ASCII differs).
_FLAGS = ((re.IGNORECASE, regex.IGNORECASE), (re.MULTILINE, regex.MULTILINE), (re.DOTALL, regex.DOTALL),
          (re.VERBOSE, regex.VERBOSE), (re.ASCII, regex.ASCII))


class Pattern:
    """`re.Pattern`'s fullmatch, sub and finditer, each raising TimeoutError past TIMEOUT.

    A pattern without repetition or alternation stays on `re`: it does at most pattern-length work per position
    of the text, and `re` is the faster engine per call (these methods are `re`'s own). Any other runs on the
    `regex` module (VERSION0: `re`'s syntax and matches), which avoids most catastrophic backtracking by itself
    and stops at the timeout."""

    __slots__ = ("bounded", "finditer", "fullmatch", "groupindex", "groups", "pattern", "sub")

    def __init__(self, source: str, flags: int = 0) -> None:
        """Raises re.error for a pattern the engine does not accept."""
        self.pattern = source
        compiled: Any
        self.bounded = _BACKTRACKS.search(source) is not None
        if not self.bounded:
            compiled = re.compile(source, flags)
            self.fullmatch: Callable[..., Any] = compiled.fullmatch
            self.sub: Callable[..., str] = compiled.sub
            self.finditer: Callable[..., Any] = compiled.finditer
        else:
            engine_flags = regex.VERSION0
            for theirs, ours in _FLAGS:
                if flags & theirs:
                    engine_flags |= ours
            try:
                compiled = regex.compile(source, engine_flags)
            except regex.error as exc:
                raise re.error(getattr(exc, "msg", str(exc)), source, getattr(exc, "pos", None)) from None
            self.fullmatch = functools.partial(compiled.fullmatch, timeout=TIMEOUT)
            self.sub = functools.partial(compiled.sub, timeout=TIMEOUT)
            self.finditer = functools.partial(compiled.finditer, timeout=TIMEOUT)
        self.groups: int = compiled.groups
        self.groupindex: dict[str, int] = dict(compiled.groupindex)

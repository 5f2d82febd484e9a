"""The fuzz targets (fuzz/targets/, see fuzz/README.md) replayed without atheris: every input a fuzzing run found
and that is kept in fuzz/crashers/<target>/, and every hostile seed of every target (fuzz.seeds.hostile), must now
hold the target's invariant — the documented outcome or error, no other exception — within a time bound."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apiway.core.http import HttpResponse
from fuzz import seeds
from fuzz.common import Finding
from fuzz.targets import TARGETS, entry
from fuzz.targets.http import check_response

CRASHERS = Path(__file__).resolve().parents[2] / "fuzz" / "crashers"
SECONDS = 10.0  # per input: the slowest documented refusals (a regex time bound, a YAML bomb) take well under 1 s


class Overran(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Fail instead of hanging the suite when the block runs longer than `seconds`."""

    def expired(signum: int, frame: Any) -> None:
        raise Overran(f"over {seconds} s: {what}")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def replay(target: str, data: bytes, what: str) -> None:
    started = time.monotonic()
    with time_limit(SECONDS, what):
        entry(target)(data)
    assert time.monotonic() - started < SECONDS, what


def crashers() -> list[Path]:
    return sorted(p for p in CRASHERS.glob("*/*") if p.is_file() and p.parent.name in TARGETS)


@pytest.mark.parametrize("path", crashers(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_kept_crasher_replays_cleanly(path: Path) -> None:
    replay(path.parent.name, path.read_bytes(), str(path))


@pytest.mark.parametrize("target", TARGETS)
def test_hostile_seeds_replay_cleanly(target: str) -> None:
    hostile = seeds.hostile(target)
    assert len(hostile) >= 10, "every target keeps hostile seeds"
    for name, data in hostile.items():
        replay(target, data, f"{target} seed {name}")


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_has_ordinary_seeds_that_pass(target: str) -> None:
    ordinary = [data for name, data in seeds.seeds(target).items() if not name.startswith(seeds.HOSTILE)]
    assert ordinary
    for data in ordinary[:20]:
        replay(target, data, f"{target} seed")


@pytest.mark.parametrize("response", [
    HttpResponse(200, [("X-A", "1\r\nSet-Cookie: x")], b""),
    HttpResponse(200, [("X-A", "a\x00b")], b""),
    HttpResponse(200, [("Bad Name", "x")], b""),
    HttpResponse(99999, [], b""),
    HttpResponse(200, [], "text"),  # type: ignore[arg-type]
], ids=["crlf", "nul", "name", "status", "body"])
def test_the_http_invariant_rejects_malformed_answers(response: HttpResponse) -> None:
    with pytest.raises(Finding):
        check_response(response)
    check_response(HttpResponse(200, [("Content-Type", "application/json")], b"{}"))


def test_an_undocumented_exception_escapes_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    """The targets swallow only what their surface documents: had a hostile input raised anything else, the tests
    above would have failed."""
    import fuzz.targets.jsonpath

    def broken(expression: str) -> None:
        raise RuntimeError("not a documented error")

    monkeypatch.setattr(fuzz.targets.jsonpath, "compile_path", broken)
    with pytest.raises(RuntimeError):
        entry("jsonpath")(b"$.a\x00{}")

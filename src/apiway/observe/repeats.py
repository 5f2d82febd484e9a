"""Rate limits repeated log lines: the first few copies of a line in a window pass, the rest are counted and
reported as one summary line ("… (repeated 27,000 times in the last 10 s)") when the window ends, so a storm
of identical errors (say, every throttled request) writes a bounded number of lines."""

from __future__ import annotations

from collections.abc import Hashable

WINDOW = 10.0  # seconds
BURST = 10  # copies of a line written per window before it is only counted
MAX_KEYS = 10_000  # lines tracked at once: beyond that, new distinct lines pass untracked (memory stays bounded)


class Repeats:
    """`admit(key, now)` says whether to write a line; `summaries(now)` returns the lines standing in for the
    ones held back, as (key, count, seconds), once their window is over (all of them with `final`)."""

    __slots__ = ("_burst", "_next_sweep", "_pending", "_seen", "_window")

    def __init__(self, window: float = WINDOW, burst: int = BURST) -> None:
        self._window = window
        self._burst = burst
        self._seen: dict[Hashable, list[float]] = {}  # key -> [window start, written, held back]
        self._pending: list[tuple[Hashable, int, float]] = []
        self._next_sweep = 0.0

    def admit(self, key: Hashable, now: float) -> bool:
        entry = self._seen.get(key)
        if entry is None:
            if len(self._seen) < MAX_KEYS:
                self._seen[key] = [now, 1, 0]
            return True
        if now - entry[0] >= self._window:  # a new window: what the old one held back is reported first
            if entry[2]:
                self._pending.append((key, int(entry[2]), self._window))
            entry[0], entry[1], entry[2] = now, 1, 0
            return True
        if entry[1] < self._burst:
            entry[1] += 1
            return True
        entry[2] += 1
        return False

    def summaries(self, now: float, final: bool = False) -> list[tuple[Hashable, int, float]]:
        if not final and not self._pending and now < self._next_sweep:
            return []
        out, self._pending = self._pending, []
        if final or now >= self._next_sweep:  # at most once a second: forget lines whose window is over
            self._next_sweep = now + 1.0
            for key, entry in list(self._seen.items()):
                if final or now - entry[0] >= self._window:
                    del self._seen[key]
                    if entry[2]:
                        out.append((key, int(entry[2]), self._window if not final else now - entry[0]))
        return out


def repeated(text: str, count: int, seconds: float) -> str:
    return f"{text} (repeated {count:,} times in the last {max(1, round(seconds))} s)"

"""Gateway-response templates. AWS does not run full VTL on them: only `$context.*` and
`$stageVariables.*` references are substituted and everything else is copied verbatim."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# `$x.y`, `$!x.y` or `${x.y}`: a closing brace belongs to the reference only when it opened one.
_NAME = r"(context|stageVariables)((?:\.[A-Za-z0-9_]+)+)"
_REF = re.compile(rf"\$!?(?:\{{{_NAME}\}}|{_NAME})")


def _lookup(values: Any, dotted: str) -> Any:
    cur = values
    for part in dotted.strip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


class Template:
    """A compiled template. `static` is the output when the template references nothing."""

    __slots__ = ("_pieces", "static", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        pieces: list[str | tuple[str, str]] = []
        pos = 0
        for m in _REF.finditer(text):
            pieces.append(text[pos : m.start()])
            pieces.append((m.group(1) or m.group(3), m.group(2) or m.group(4)))
            pos = m.end()
        pieces.append(text[pos:])
        self._pieces = pieces
        self.static: str | None = text if len(pieces) == 1 else None

    def render(self, variables: Callable[[], dict[str, Any]]) -> str:
        """`variables()` builds {"context": …, "stageVariables": …} only when a reference needs it."""
        if self.static is not None:
            return self.static
        values = variables()
        out = []
        for piece in self._pieces:
            if isinstance(piece, str):
                out.append(piece)
            else:
                value = _lookup(values.get(piece[0]) or {}, piece[1])
                out.append("" if value is None else str(value))
        return "".join(out)


def compile_template(text: str) -> Template:
    return Template(text)

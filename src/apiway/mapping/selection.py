"""WebSocket APIs' selection expressions (spec §11.1), compiled once: `routeSelectionExpression`,
`templateSelectionExpression`, `integrationResponseSelectionExpression`, `apiKeySelectionExpression`.

An expression is a variable (`$request.body.action`, `$request.header.x-api-key`), or text with `${…}`
interpolations (`${request.body.service}-${request.body.action}`), or a literal; `\\$` writes a literal `$`
(`\\$default`). A variable is a dotted path looked up by the caller (`("request", "body", "action")`): the
value is the text the lookup gives, and the whole expression has no value (None) when any variable has none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from apiway.core.errors import DeployError

Path = tuple[str, ...]
Lookup = Callable[[Path], str | None]
_BARE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)*)")
_BRACED = re.compile(r"\$\{([^}]*)\}")


class SelectionExpression:
    __slots__ = ("literal", "pieces", "text")

    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.pieces: list[str | Path] = []
        if text == "$default":  # the special key itself, as AWS's own records write it unescaped
            text = "\\$default"
        i = 0
        literal: list[str] = []
        while i < len(text):
            if text.startswith("\\$", i):
                literal.append("$")
                i += 2
                continue
            if text[i] == "$":
                found = _BRACED.match(text, i) or _BARE.match(text, i)
                if found is None or not found.group(1).strip():
                    raise DeployError(f"{where}: invalid selection expression {text!r}")
                if literal:
                    self.pieces.append("".join(literal))
                    literal = []
                self.pieces.append(tuple(found.group(1).strip().split(".")))
                i = found.end()
                continue
            literal.append(text[i])
            i += 1
        if literal:
            self.pieces.append("".join(literal))
        # An expression without variables is its text (`\$default`): no lookup needed.
        self.literal = "".join(p for p in self.pieces if isinstance(p, str)) \
            if all(isinstance(p, str) for p in self.pieces) else None

    def variables(self) -> list[Path]:
        return [p for p in self.pieces if not isinstance(p, str)]

    def evaluate(self, lookup: Lookup) -> str | None:
        if self.literal is not None:
            return self.literal
        out: list[str] = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            value = lookup(piece)
            if value is None:
                return None
            out.append(value)
        return "".join(out)


def text_of(value: Any) -> str | None:
    """A JSON value as a selection value: strings as they are, numbers and booleans as JSON writes them;
    objects, arrays and null have none."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def member(doc: Any, path: Path) -> str | None:
    """The text of the member at `path` in a parsed JSON document (`()` is the document itself)."""
    for name in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(name)
    return text_of(doc)


def body_lookup(doc: Any, fallback: Lookup | None = None) -> Lookup:
    """Reads `request.body.*` from a parsed message; any other variable through `fallback`."""

    def lookup(path: Path) -> str | None:
        if path[:2] == ("request", "body"):
            return member(doc, path[2:])
        return fallback(path) if fallback is not None else None

    return lookup

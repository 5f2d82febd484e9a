"""Media-type helpers: binaryMediaTypes matching (with `image/*`, `*/*` wildcards) and template
selection by Content-Type / Accept."""

from __future__ import annotations

from collections.abc import Iterable


def base_type(value: str | None) -> str:
    """`Application/JSON; charset=utf-8` → `application/json`; first entry of a list."""
    if not value:
        return ""
    return value.split(",", 1)[0].split(";", 1)[0].strip().lower()


class BinaryTypes:
    """Compiled `binaryMediaTypes` of an API."""

    __slots__ = ("_any", "_exact", "_prefixes")

    def __init__(self, types: Iterable[str]) -> None:
        self._exact: set[str] = set()
        self._prefixes: tuple[str, ...] = ()
        self._any = False
        prefixes = []
        for t in types:
            t = t.strip().lower()
            if t == "*/*":
                self._any = True
            elif t.endswith("/*"):
                prefixes.append(t[:-1])
            else:
                self._exact.add(t)
        self._prefixes = tuple(prefixes)

    def __bool__(self) -> bool:
        return self._any or bool(self._exact) or bool(self._prefixes)

    def matches(self, content_type: str | None) -> bool:
        if not self:
            return False
        media = base_type(content_type)
        if not media:
            return False
        return self._any or media in self._exact or media.startswith(self._prefixes)

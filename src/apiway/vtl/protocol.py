"""How templates see host objects ($input, $util, …): only through these two methods, so a template
can reach nothing of Python that an object does not explicitly offer."""

from __future__ import annotations

from typing import Any


class Missing(Exception):
    """The object has no such property or method (the engine then treats the reference as undefined)."""


class VtlObject:
    """Base for objects exposed to templates. Values passed in and out are plain template values:
    str, int, float, bool, None, dict (a Java Map, insertion-ordered), list (a Java List), or VtlObject."""

    def vtl_get(self, name: str) -> Any:
        """`$obj.name` (also what `$obj.getName()` falls back to)."""
        raise Missing(name)

    def vtl_call(self, name: str, args: list[Any]) -> Any:
        """`$obj.name(args…)`."""
        raise Missing(name)

    def vtl_str(self) -> str:
        """How `$obj` renders on its own."""
        return ""

"""How an evaluation ends without a value: JsonPathError for an expression that is not JSONPath, NotFound aborting
an evaluation (Jayway's PathNotFoundException), and MISSING, the "no result" marker callers can ask for."""

from __future__ import annotations

from typing import Any


class JsonPathError(ValueError):
    """The expression is not valid JSONPath."""


class _MissingType:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _MissingType()
"""Passed as `missing=` to `CompiledPath.evaluate` to tell "no result" apart from a JSON null."""


class NotFound(Exception):
    """Jayway's PathNotFoundException: aborts the whole evaluation."""

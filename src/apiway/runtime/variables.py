"""The variables a mapping template sees, built lazily per request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiway.runtime.invocation import Invocation


def template_variables(inv: Invocation) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        return {"context": inv.context(), "stageVariables": inv.stage.variables or {}}

    return build

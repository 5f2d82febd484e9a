"""Lambda event formats, one module per payload format: what a function is sent and how its answer is
read. `PayloadFormat` is the pair an integration or authorizer is compiled with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apiway.core.http import HttpResponse
from apiway.core.invocation import Invocation


@dataclass(frozen=True, slots=True)
class PayloadFormat:
    version: str  # "1.0" (REST APIs; HTTP APIs that ask for it), "2.0" (HTTP APIs)
    build_event: Callable[[Invocation], dict[str, Any]]
    parse_response: Callable[[bytes, Invocation], HttpResponse]

"""A deployed API as the gateway serves it: one object per API id that knows its kind's rule for picking
the stage of a request (REST: the first path segment names it) and holds the compiled stages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from apiway.core.errors import MissingAuthenticationToken
from apiway.core.invocation import StageRuntime
from apiway.model.http import DEFAULT_STAGE
from apiway.runtime.http_errors import NotFound
from apiway.runtime.invoke_url import forbidden


class ApiRuntime(Protocol):
    stages: Mapping[str, StageRuntime]

    def select(self, path: str) -> tuple[StageRuntime, str]:
        """The stage a request path after the API names, and the path left for the router ("" or "/…");
        raises the kind's GatewayError when it names none."""
        ...


class RestApiRuntime:
    """REST APIs: `/{stage}/{path}`; no stage segment is 403 Missing Authentication Token, an unknown stage
    403 Forbidden."""

    __slots__ = ("stages",)

    def __init__(self, stages: Mapping[str, StageRuntime]) -> None:
        self.stages = stages

    def select(self, path: str) -> tuple[StageRuntime, str]:
        stage_name, _, rest = path.lstrip("/").partition("/")
        if not stage_name:
            raise MissingAuthenticationToken()
        found = self.stages.get(stage_name)
        if found is None:
            raise forbidden()
        return found, "/" + rest if rest else ""


class HttpApiRuntime:
    """HTTP APIs (spec §10.2): a first path segment naming a stage selects it and is removed; any other path
    goes whole to the `$default` stage; without one, 404 Not Found."""

    __slots__ = ("_default", "_not_found", "stages")

    def __init__(self, stages: Mapping[str, StageRuntime]) -> None:
        self.stages = stages
        self._default = stages.get(DEFAULT_STAGE)
        # With no stage known, the 404 still carries the API's CORS headers (one stage's, they share the API).
        self._not_found = next(iter(stages.values())).errors

    def select(self, path: str) -> tuple[StageRuntime, str]:
        stage_name, _, rest = path.lstrip("/").partition("/")
        found = self.stages.get(stage_name)
        if found is not None:
            return found, "/" + rest if rest else ""
        if self._default is None:
            raise NotFound(self._not_found)  # type: ignore[arg-type]
        return self._default, path if path != "/" else ""


class WsApiRuntime:
    """WebSocket APIs (spec §11.2): `/{stage}` and nothing else; a missing or unknown stage is 403 Forbidden."""

    __slots__ = ("stages",)

    def __init__(self, stages: Mapping[str, StageRuntime]) -> None:
        self.stages = stages

    def select(self, path: str) -> tuple[StageRuntime, str]:
        stage_name, _, rest = path.lstrip("/").partition("/")
        found = self.stages.get(stage_name)
        if found is None:
            raise forbidden()
        return found, "/" + rest if rest else ""


# By API kind: the runtime that selects a request's stage.
RUNTIMES: dict[str, Callable[[Mapping[str, StageRuntime]], ApiRuntime]] = {
    "REST": RestApiRuntime, "HTTP": HttpApiRuntime, "WEBSOCKET": WsApiRuntime,
}


def api_runtime(stages: Mapping[str, StageRuntime]) -> ApiRuntime:
    """The runtime of the API's kind (every stage of an API has its kind) for its compiled stages. Installs
    build a new one rather than change one a request may be reading."""
    return RUNTIMES[next(iter(stages.values())).kind](stages)

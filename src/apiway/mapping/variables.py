"""What the mapping templates of one request see, built on first use.

The request template and the response template share one `$context`: overrides a request template
sets (`$context.responseOverride.status`) survive to the response, as AWS's recorded MOCK runs show.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from apiway.core.invocation import Invocation
from apiway.vtl.builtins import template_variables


class TemplateScope:
    __slots__ = ("_context", "_params", "inv")

    def __init__(self, inv: Invocation) -> None:
        self.inv = inv
        self._context: dict[str, Any] | None = None
        self._params: dict[str, dict[str, str]] | None = None

    def context(self) -> dict[str, Any]:
        if self._context is None:
            context = self.inv.context()
            context["requestOverride"] = {"header": {}, "querystring": {}, "path": {}}
            context["responseOverride"] = {"header": {}, "status": None}
            self._context = context
        return self._context

    def params(self) -> dict[str, dict[str, str]]:
        """`$input.params()`: path (decoded), querystring and header maps, one value per name."""
        if self._params is None:
            inv = self.inv
            self._params = {
                "path": {k: unquote(v) if "%" in v else v for k, v in inv.path_params.items()},
                "querystring": dict(inv.request.query_params()[0] or {}),  # templates may change their copy
                "header": dict(inv.request.headers),
            }
        return self._params

    def variables(self, body: bytes) -> dict[str, Any]:
        """Variables of a template whose `$input` body is `body`: the method request's (after content
        handling) for request templates, the integration response's for response templates."""
        return template_variables(body, self.params(), self.context(), self.inv.stage.variables)

    def request_override(self) -> dict[str, dict[str, str]] | None:
        """The `$context.requestOverride` maps when a template set any of them. Templates may overwrite or remove
        the maps themselves: what is not a map then counts as an empty one."""
        if self._context is None:
            return None
        override = _map(self._context.get("requestOverride"))
        maps = {part: _map(override.get(part)) for part in ("header", "querystring", "path")}
        return maps if any(maps.values()) else None

    def overrides(self) -> bool:
        """Whether a template may have set `$context.responseOverride` (only a rendered one can)."""
        return self._context is not None

    def response_override(self) -> tuple[int | None, dict[str, str]]:
        if self._context is None:
            return None, {}
        override = _map(self._context.get("responseOverride"))
        status = override.get("status")
        try:
            status = int(status) if status not in (None, "") else None
        except (TypeError, ValueError):
            status = None
        if status is not None and not 100 <= status <= 599:
            status = None  # not an HTTP status (a template may set any number): ignored, like one that is no number
        return status, {str(name): value for name, value in _map(override.get("header")).items()}


def _map(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}

"""Route selection of a WebSocket API (spec §11.2): the API's `routeSelectionExpression` evaluated on each
message parsed as JSON. The value selects the route whose key it equals; a message that is not JSON, a
binary one, one the expression finds no value in, or a value naming no route selects `$default`. The
special `$connect` and `$disconnect` routes are never selected by a message."""

from __future__ import annotations

from collections.abc import Callable, Collection

import orjson

from apiway.mapping.selection import SelectionExpression, body_lookup

DEFAULT = "$default"
_SPECIAL = frozenset(("$connect", "$disconnect"))
Selector = Callable[[bytes, bool], str]


def compile_selector(expression: str, route_keys: Collection[str], where: str) -> Selector:
    """`select(data, text) -> route key` for the API's expression and the stage's routes."""
    compiled = SelectionExpression(expression, where)
    keys = frozenset(route_keys) - _SPECIAL
    if compiled.literal is not None:  # a constant expression: every message goes to one route
        fixed = compiled.literal if compiled.literal in keys else DEFAULT
        return lambda data, text: fixed
    evaluate = compiled.evaluate

    def select(data: bytes, text: bool) -> str:
        if not text:
            return DEFAULT
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            return DEFAULT
        value = evaluate(body_lookup(doc))
        return value if value is not None and value in keys else DEFAULT

    return select

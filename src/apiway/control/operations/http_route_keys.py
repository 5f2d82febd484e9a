"""Route keys as AWS accepts them. HTTP APIs: `$default`, or `METHOD /path` where METHOD is an HTTP verb or
`ANY`, path variables are whole segments (`{id}`) and a greedy `{name+}` may only end the path; no two
routes share a key, and two variables on the same level of the same path must share a name. WebSocket
APIs: `$connect`, `$disconnect`, `$default` or a custom key (`sendmessage`, …) not starting with `$`."""

from __future__ import annotations

import re

from apiway.control.errors import bad_request, conflict
from apiway.model import websocket
from apiway.model.http import DEFAULT_ROUTE, PROTOCOL_HTTP, ROUTE_METHODS, HttpApiDefinition

_VARIABLE = re.compile(r"^\{[A-Za-z0-9._\-]+\+?\}$")
_LITERAL = re.compile(r"^[A-Za-z0-9._\-~:@!$&'()*,;=%]+$")
ROUTE_KEY_REQUIRED = "Route key is required"  # recorded from AWS


def check_route_key(key: str, protocol: str) -> None:
    if not key or not key.strip():
        raise bad_request(ROUTE_KEY_REQUIRED)
    if protocol != PROTOCOL_HTTP:
        error = websocket.route_key_error(key)
        if error:
            raise bad_request(error)
        return
    if key == DEFAULT_ROUTE:
        return
    method, _, path = key.partition(" ")
    if method not in ROUTE_METHODS:
        raise bad_request(f"Unable to create route {key}: the method must be one of {', '.join(ROUTE_METHODS)} "
                          "followed by a space and a path starting with '/'.")
    if not path.startswith("/"):
        raise bad_request(f"Unable to create route {key}: the path must start with '/'.")
    if path == "/":
        return
    segments = path[1:].split("/")
    for i, segment in enumerate(segments):
        if not segment:
            raise bad_request(f"Unable to create route {key}: a path may not contain an empty segment or end "
                              "with '/'.")
        if "{" in segment or "}" in segment:
            if not _VARIABLE.match(segment):
                raise bad_request(f"Unable to create route {key}: a path variable must be a whole segment, "
                                  "such as {id} or {proxy+}.")
            if segment.endswith("+}") and i != len(segments) - 1:
                raise bad_request(f"Unable to create route {key}: a greedy path variable such as {segment} "
                                  "must be the last segment of the path.")
        elif not _LITERAL.match(segment):
            raise bad_request(f"Unable to create route {key}: invalid path segment '{segment}'.")


def check_new_route_key(definition: HttpApiDefinition, key: str, route_id: str | None = None) -> None:
    """A key that may be given to route `route_id` (None: a new route): valid, not taken by another route,
    and (HTTP APIs) without a variable that differs from a sibling's on the same level of the same path."""
    protocol = definition["api"]["protocolType"]
    check_route_key(key, protocol)
    others = [r["routeKey"] for r in definition["routes"].values() if r["routeId"] != route_id]
    if key in others:
        raise conflict(f"Route with key {key} already exists for this API")
    if protocol != PROTOCOL_HTTP or key == DEFAULT_ROUTE:
        return
    for other in others:
        if other != DEFAULT_ROUTE and _conflicting_variable(key, other):
            raise conflict(f'The provided route key "{key}" has a conflicting variable on the same hierarchical '
                           f'level as "{other}"')  # recorded from AWS


def _conflicting_variable(key: str, other: str) -> bool:
    """Whether the first level where the two paths differ has a (non-greedy) variable in both."""
    mine = key.partition(" ")[2].split("/")
    theirs = other.partition(" ")[2].split("/")
    for a, b in zip(mine, theirs, strict=False):
        if a == b:
            continue
        return _is_plain_variable(a) and _is_plain_variable(b)
    return False


def _is_plain_variable(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}") and not segment.endswith("+}")

"""`websocket` events → the service's WebSocket API (`{stage}-{service}-websockets`, stage `provider.stage`),
written as a project file's `kind: websocket` entry and built by the same builder (model/ws_project.py): a
Lambda proxy per route, a route response for `routeResponseSelectionExpression: $default`, and a Lambda
REQUEST authorizer on `$connect` (identity `route.request.header.Auth` unless given)."""

from __future__ import annotations

from typing import Any

from apiway.config import WEBSOCKET, ApiSpec, StageSpec
from apiway.model.ws_project import ProjectError, build_websocket_api
from apiway.templates.serverless.service import WEBSOCKETS_API, Service

DEFAULT_IDENTITY = ["route.request.header.Auth"]
Event = tuple[str, Any, tuple[Any, ...]]


def read_websocket_api(service: Service, events: list[Event]) -> ApiSpec | None:
    if not events:
        return None
    provider = service.config.get("provider") or {}
    routes: dict[str, dict[str, Any]] = {}
    authorizers: dict[str, dict[str, Any]] = {}
    origins: dict[str, tuple[Any, ...]] = {}
    for key, event, where in events:
        spec = event if isinstance(event, dict) else {"route": event}
        route = spec.get("route")
        if not isinstance(route, str) or not route:
            raise service.fail(where, "a websocket event needs a route ($connect, $disconnect, $default or a key)")
        if route in routes:
            raise service.fail(where, f"the route {route} is already a websocket event of another function")
        entry: dict[str, Any] = {"function": service.function_names[key]}
        selection = spec.get("routeResponseSelectionExpression")
        if selection == "$default":
            entry["response"] = True
        elif selection is not None:
            entry["routeResponseSelectionExpression"] = selection
        if spec.get("authorizer") is not None:
            entry["authorizer"] = _authorizer(service, spec["authorizer"], (*where, "authorizer"), authorizers)
            origins[entry["authorizer"]] = (*where, "authorizer")
        routes[route] = entry
        origins[route] = where
    name = str(provider.get("websocketsApiName") or f"{service.stage}-{service.name}-websockets")
    entry_api: dict[str, Any] = {"kind": "websocket", "name": name, "routes": routes, "authorizers": authorizers,
                 "routeSelectionExpression": provider.get("websocketsApiRouteSelectionExpression")
                 or "$request.body.action", "stages": {service.stage: {}}}
    try:
        definition, stages = build_websocket_api(entry_api, set(service.function_names.values()), ())
    except ProjectError as exc:
        # The builder names the route or the authorizer: the event that declared it
        found = next((w for w in exc.where if isinstance(w, str) and w in origins), None)
        raise service.fail(origins[found] if found else ("provider",), exc.message) from None
    return ApiSpec(service.path, [StageSpec(s.name) for s in stages], service.api_id(WEBSOCKETS_API), WEBSOCKET,
                   websocket=(definition, stages))


def _authorizer(service: Service, raw: Any, where: tuple[Any, ...], authorizers: dict[str, dict[str, Any]]) -> str:
    spec = raw if isinstance(raw, dict) else {"name": raw}
    target = spec.get("arn") or spec.get("name")
    function = service.function(target, where)
    sources = spec.get("identitySource") or DEFAULT_IDENTITY
    name = str(spec.get("name") if spec.get("name") and not str(spec["name"]).startswith("arn:") else function)
    authorizers[name] = {"function": function,
                         "identitySource": [str(s) for s in (sources if isinstance(sources, list) else [sources])]}
    return name

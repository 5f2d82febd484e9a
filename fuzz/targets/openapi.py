"""OpenAPI import: the bytes a client PUTs to ImportRestApi (and PutRestApi), through the control plane's own
operation handlers — UTF-8 decoding, `parse_text` with the document limits of `model/document_limits.py`
(nesting depth, YAML alias expansion), the importer, the documentation parts read from the same body — down to the
JSON the store writes.

Input: the request body. Each body is imported by ImportRestApi, then (when that imports it) again with
`failOnWarnings=true` if it gave warnings or has no paths, and by PutRestApi (`mode=merge`) onto an API imported
before.

Invariant: each call returns the API, or raises `ControlError` with status 400 (the control plane's
BadRequestException, which it answers as such); the definition it saves serialises to JSON. Anything else is what
the control plane would answer as a 500 InternalFailure. (A hang is the per-input timeout of the fuzzer; the
regression test bounds each input's time.)
"""

from __future__ import annotations

from typing import Any

import orjson

from apiway.control.errors import ControlError
from apiway.control.plane import ControlPlane
from apiway.control.registry import HANDLERS, V1
from apiway.control.server import operations  # noqa: F401  (registers every handler)
from apiway.model.rest import ApiDefinition
from fuzz.common import Finding

# PyYAML is left uninstrumented: it is not ours, and instrumenting it makes every input about ten times slower.
INSTRUMENT = ("apiway.openapi", "apiway.model", "apiway.control", "apiway.vtl.parser")
OPTIONS = ("-max_len=16384", "-timeout=20")

BASE = b"""openapi: 3.0.1
info: {title: Base, version: "1"}
paths:
  /pets/{id}:
    get:
      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{"statusCode": 200}'}}
"""


class _Store:
    """The part of the store ImportRestApi and PutRestApi use: APIs by id, written as the SQLite store writes
    them (one JSON document each)."""

    def __init__(self) -> None:
        self.apis: dict[str, bytes] = {}

    def put_api(self, definition: ApiDefinition) -> None:
        self.apis[definition["restApi"]["id"]] = orjson.dumps(definition)

    def get_api(self, api_id: str) -> ApiDefinition | None:
        stored = self.apis.get(api_id)
        return None if stored is None else orjson.loads(stored)

    def has_api(self, api_id: str) -> bool:
        return api_id in self.apis


class _NoRuntime:
    """Import never reaches the running gateway."""


_state: tuple[ControlPlane, _Store, str, bytes] | None = None


def _setup() -> tuple[ControlPlane, _Store, str, bytes]:
    """The control plane, its store, and one API imported from BASE (with its stored form) for PutRestApi."""
    global _state
    if _state is None:
        store = _Store()
        plane = ControlPlane(store, _NoRuntime())  # type: ignore[arg-type]
        base_id = HANDLERS[V1]["ImportRestApi"](plane, {"body": BASE})["id"]  # type: ignore[index]
        _state = plane, store, base_id, store.apis[base_id]
    return _state


def one_input(data: bytes) -> None:
    plane, store, base_id, base = _setup()
    try:
        imported = _call(plane, "ImportRestApi", {"body": data})
        if imported is None:
            return  # refused: the other calls read the body the same way
        if imported.get("warnings") or b"paths" not in data:
            _call(plane, "ImportRestApi", {"body": data, "failOnWarnings": True})
        _call(plane, "PutRestApi", {"body": data, "restApiId": base_id, "mode": "merge"})
    finally:  # every input starts from the base API alone
        store.apis.clear()
        store.apis[base_id] = base


def _call(plane: ControlPlane, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The operation's result, or None when it refused the body the documented way."""
    try:
        result = HANDLERS[V1][name](plane, params)
    except ControlError as exc:
        if exc.status != 400 or exc.code not in ("BadRequestException", "ValidationException"):
            raise Finding(f"{name}: {exc.code} ({exc.status}): {exc.message}") from None
        return None
    if not isinstance(result, dict) or not isinstance(result.get("id"), str):
        raise Finding(f"{name} gave {result!r}")
    return result

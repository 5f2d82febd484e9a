"""What reading and writing OpenAPI documents share for every kind of API: AWS's extension prefix, the
operation keys, the reader every importer builds on (errors that name their place and line) and the invoke
URL an export's server names."""

from __future__ import annotations

from typing import Any

from apiway.model.aws import REGION
from apiway.model.documents import DocumentError, line_of

X = "x-amazon-apigateway-"
# An operation's key in a path item → its HTTP method (REST's method verb, an HTTP API route key's method).
OPERATION_KEYS = {"get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE", "options": "OPTIONS",
                  "head": "HEAD", "patch": "PATCH", X + "any-method": "ANY"}
# The reverse, for exports.
METHOD_KEYS = {verb: key for key, verb in OPERATION_KEYS.items()}


class DocumentReader:
    """An importer's base: the document, its text (to find an error's line) and its source's name."""

    def __init__(self, doc: Any, text: str, source: str) -> None:
        self.doc = doc
        self.text = text
        self.source = source

    def fail(self, where: tuple[Any, ...], message: str) -> DocumentError:
        return DocumentError(self.source, where, message, line_of(self.text, where))

    def expect(self, value: Any, kind: type | tuple[type, ...], where: tuple[Any, ...], what: str) -> Any:
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(where, f"must be {what}, got {type(value).__name__}")
        return value

    @staticmethod
    def endpoint_extension(doc: dict) -> tuple[Any, tuple[Any, ...]]:
        """The endpoint-configuration extension and where it sits: at the root (Swagger), or on a server
        object, where OpenAPI 3 documents (AWS's exports among them) carry it."""
        key = X + "endpoint-configuration"
        if doc.get(key) is not None:
            return doc[key], (key,)
        servers = doc.get("servers")
        for i, server in enumerate(servers if isinstance(servers, list) else ()):
            if isinstance(server, dict) and server.get(key) is not None:
                return server[key], ("servers", i, key)
        return None, ()


def invoke_host(api_id: str, host: str | None) -> tuple[str, str]:
    """(scheme, host name) of an export's server: the given host (`http` unless it names a scheme), else the
    API's AWS endpoint."""
    if not host:
        return "https", f"{api_id}.execute-api.{REGION}.amazonaws.com"
    scheme, _, name = host.rpartition("://")
    return scheme or "http", name

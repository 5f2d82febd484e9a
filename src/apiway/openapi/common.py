"""What reading and writing OpenAPI documents share for every kind of API: AWS's extension prefix, the
operation keys, the reader every importer builds on (errors that name their place and line) and the invoke
URL an export's server names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiway.model.aws import ACCOUNT_ID, REGION
from apiway.model.documents import DocumentError, line_of

X = "x-amazon-apigateway-"
# An operation's key in a path item → its HTTP method (REST's method verb, an HTTP API route key's method).
OPERATION_KEYS = {"get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE", "options": "OPTIONS",
                  "head": "HEAD", "patch": "PATCH", X + "any-method": "ANY"}
# The reverse, for exports.
METHOD_KEYS = {verb: key for key, verb in OPERATION_KEYS.items()}


# AWS's import resolves these anywhere in a document (developer guide, "AWS variables for OpenAPI import");
# `${stageVariables.x}` stays for the stage to substitute.
AWS_VARIABLES = {"${AWS::Region}": REGION, "${AWS::AccountId}": ACCOUNT_ID, "${AWS::Partition}": "aws"}


def resolve_aws_variables(doc: Any, fail: Callable[[tuple[Any, ...], str], DocumentError]) -> None:
    """Substitutes AWS's import variables in place; a CloudFormation function (`Fn::Sub`, `Ref`, …) left in a
    document outside a template is refused where it stands, since nothing here could resolve it."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(doc, ())]
    while stack:
        node, where = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        if isinstance(node, dict) and len(node) == 1:
            (key, value), = node.items()
            if isinstance(key, str) and (key.startswith("Fn::") or (key == "Ref" and isinstance(value, str))):
                raise fail((*where, key), f"{key} is a CloudFormation function, resolved only in a template: use "
                                          f"a SAM/CloudFormation template, or write the value")
        for key, value in items:
            if isinstance(value, str):
                if "${AWS::" in value:
                    for name, resolved in AWS_VARIABLES.items():
                        value = value.replace(name, resolved)
                    node[key] = value
            elif isinstance(value, dict | list):
                stack.append((value, (*where, key)))


class DocumentReader:
    """An importer's base: the document, its text (to find an error's line) and its source's name."""

    def __init__(self, doc: Any, text: str, source: str) -> None:
        self.doc = doc
        self.text = text
        self.source = source
        if "${AWS::" in text or "Fn::" in text or "Ref" in text:  # a large document without them is not walked
            resolve_aws_variables(doc, self.fail)

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

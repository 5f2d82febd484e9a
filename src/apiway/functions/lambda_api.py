"""Lambda's control plane on the gateway's port, for boto3's `lambda` client and the AWS CLI (`--endpoint-url`):
functions made from a zip in the request, their configuration, numbered versions, aliases and resource policy,
kept by functions/catalog.py. Invoke stays with functions/invoke_api.py, which is asked first.

Lambda speaks REST-JSON: the operation is the method and the path under `/2015-03-31/functions`, parameters in
the path, the query and a JSON body; an error is its status, the code in `x-amzn-ErrorType` and a
`{"Type", "Message"}` document (botocore reads the code from the header and the text from either spelling)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import orjson

from apiway.core import request_ids
from apiway.core.http import HttpRequest, HttpResponse
from apiway.functions.catalog import Catalog, LambdaError, invalid
from apiway.functions.invoke_api import parse_function_name

__all__ = ["LambdaApi"]

PREFIX = "/2015-03-31/functions"
DEFAULT_PAGE = 50
MAX_PAGE = 10000
_JSON = "application/json"

Handler = Callable[["Call"], tuple[int, Any]]


class Call:
    """One request's parameters: the function (name and qualifier) from the path, the query, the body."""

    __slots__ = ("body", "name", "qualifier", "query", "rest")

    def __init__(self, name: str, qualifier: str | None, rest: list[str], query: dict[str, str],
                 body: dict[str, Any]) -> None:
        self.name = name
        self.qualifier = qualifier
        self.rest = rest  # the path's segments after the function
        self.query = query
        self.body = body


class LambdaApi:
    """A service on the gateway's port behind the admin policy (SigV4 name `lambda`)."""

    signing_name = "lambda"

    def __init__(self, catalog: Catalog, taken: Callable[[str], bool],
                 created: Callable[[], None] | None = None) -> None:
        self.catalog = catalog
        self.taken = taken  # a name the project's own functions use
        self.created = created  # a function was made: stages that name it can now call it
        c = catalog
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", ""): lambda call: (200, {"Configuration": c.configuration(call.name, call.qualifier),
                                             "Code": {"RepositoryType": "S3", "Location": c.code_location(
                                                 call.name, call.qualifier).resolve().as_uri()}}),
            ("DELETE", ""): lambda call: _done(lambda: c.delete(call.name, call.qualifier)),
            ("GET", "configuration"): lambda call: (200, c.configuration(call.name, call.qualifier)),
            ("PUT", "configuration"): lambda call: (200, c.update_configuration(call.name, call.body)),
            ("PUT", "code"): lambda call: (200, c.update_code(call.name, call.body)),
            ("POST", "versions"): lambda call: (201, c.publish(call.name, call.body)),
            ("GET", "versions"): lambda call: (200, _page(c.versions(call.name), "Versions", call.query)),
            ("POST", "aliases"): lambda call: (201, c.put_alias(call.name, call.body.get("Name", ""), call.body,
                                                                creating=True)),
            ("GET", "aliases"): lambda call: (200, _page(c.aliases(call.name, call.query.get("FunctionVersion")),
                                                         "Aliases", call.query)),
            ("GET", "aliases/"): lambda call: (200, c.alias(call.name, call.rest[1])),
            ("PUT", "aliases/"): lambda call: (200, c.put_alias(call.name, call.rest[1], call.body, creating=False)),
            ("DELETE", "aliases/"): lambda call: _done(lambda: c.delete_alias(call.name, call.rest[1])),
            ("POST", "policy"): lambda call: (201, {"Statement": orjson.dumps(
                c.add_permission(call.name, call.qualifier, call.body)).decode()}),
            ("GET", "policy"): self._policy,
            ("DELETE", "policy/"): lambda call: _done(lambda: c.remove_permission(call.name, call.qualifier,
                                                                                    call.rest[1])),
        }

    def matches(self, req: HttpRequest) -> bool:
        """A path and method of one of Lambda's operations answered here (anything else is left to the port's
        other services, and to its 404)."""
        if req.path != PREFIX and not req.path.startswith(PREFIX + "/"):
            return False
        segments = _segments(req)
        if not segments:
            return req.method in ("GET", "POST")
        return len(segments) <= 3 and (req.method, _operation(segments[1:])) in self.routes

    async def handle(self, req: HttpRequest) -> HttpResponse:
        request_id = request_ids.request_id()
        try:
            status, document = self._answer(req)
        except LambdaError as exc:
            kind = "User" if exc.status < 500 else "Service"
            return _response(exc.status, {"Type": kind, "Message": exc.message}, request_id,
                             [("x-amzn-ErrorType", exc.code)])
        return _response(status, document, request_id)

    def _answer(self, req: HttpRequest) -> tuple[int, Any]:
        query = {k: v for k, v in (req.query_params()[0] or {}).items()}
        segments = _segments(req)
        body = _body(req)
        if not segments:
            if req.method == "POST":
                made = self.catalog.create(body, self.taken)
                if self.created is not None:
                    self.created()
                return 201, made
            return 200, self._list(query)
        name, qualifier = parse_function_name(segments[0])
        qualifier = qualifier or query.get("Qualifier") or None
        rest = segments[1:]
        return self.routes[(req.method, _operation(rest))](Call(name, qualifier, rest, query, body))

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        everything = query.get("FunctionVersion") == "ALL"
        if "FunctionVersion" in query and not everything:
            raise invalid(f"1 validation error detected: Value '{query['FunctionVersion']}' at 'functionVersion' "
                          f"failed to satisfy constraint: Member must satisfy enum value set: [ALL]")
        configurations: list[dict[str, Any]] = []
        for name in self.catalog.names():
            try:
                if everything:
                    configurations.extend(self.catalog.versions(name))
                else:
                    configurations.append(self.catalog.configuration(name))
            except LambdaError:  # deleted meanwhile
                continue
        return _page(configurations, "Functions", query)

    def _policy(self, call: Call) -> tuple[int, Any]:
        document, revision = self.catalog.policy(call.name, call.qualifier)
        return 200, {"Policy": orjson.dumps(document).decode(), "RevisionId": revision}


def _body(req: HttpRequest) -> dict[str, Any]:
    if not req.body.strip():
        return {}
    try:
        body = orjson.loads(req.body)
    except orjson.JSONDecodeError as exc:
        raise LambdaError(400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}") \
            from None
    if not isinstance(body, dict):
        raise LambdaError(400, "InvalidRequestContentException", "Could not parse request body into json: the "
                                                                 "request body must be a JSON object")
    return body


def _page(items: list[dict[str, Any]], key: str, query: dict[str, str]) -> dict[str, Any]:
    """One page of `items` from `Marker` (an opaque position), `MaxItems` long, with `NextMarker` for the rest."""
    size = query.get("MaxItems", str(DEFAULT_PAGE))
    if not size.isdigit() or not 1 <= int(size) <= MAX_PAGE:
        raise invalid(f"1 validation error detected: Value '{size}' at 'maxItems' failed to satisfy constraint: "
                      f"Member must have value between 1 and {MAX_PAGE}")
    start = 0
    marker = query.get("Marker")
    if marker:
        try:
            start = int(base64.urlsafe_b64decode(marker.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise invalid("Invalid marker") from None
    end = start + int(size)
    page: dict[str, Any] = {key: items[start:end]}
    if end < len(items):
        page["NextMarker"] = base64.urlsafe_b64encode(str(end).encode()).decode()
    return page


def _done(action: Callable[[], None]) -> tuple[int, Any]:
    """An operation that answers 204 and no document."""
    action()
    return 204, None


def _segments(req: HttpRequest) -> list[str]:
    return [unquote(s) for s in req.path[len(PREFIX):].split("/") if s]


def _operation(rest: list[str]) -> str:
    """The route's key of the path after the function: `""`, `code`, `aliases`, `aliases/` (with a name), ..."""
    return rest[0] + ("/" if len(rest) == 2 else "") if rest else ""


def _response(status: int, document: Any, request_id: str,
              extra: list[tuple[str, str]] | None = None) -> HttpResponse:
    headers = [("Content-Type", _JSON), ("x-amzn-RequestId", request_id), *(extra or [])]
    if status == 204:
        return HttpResponse(204, headers[1:], b"")
    return HttpResponse(status, headers, orjson.dumps(document))

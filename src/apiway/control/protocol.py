"""The rest-json wire protocol of the `apigateway` control plane, driven by botocore's own service
model: a request is matched to its operation by method + URI template, its input members are read
from the URI, query string, headers and JSON body, and the result is serialised the same way. The
model is loaded and the routes compiled once, at start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from botocore.loaders import Loader

from apiway.control.errors import ControlError, validation
from apiway.core.http import HttpRequest, HttpResponse, aws_error
from apiway.model.document_limits import DocumentTooLarge, check_depth

_LABEL = re.compile(r"\{([A-Za-z0-9_-]+)(\+?)\}")
_DASH = "_dash_"  # a label's "-" (apigatewayv2's `{resource-arn}`) in its regex group name


@dataclass(slots=True)
class Operation:
    name: str
    method: str
    pattern: re.Pattern[str]
    static_query: dict[str, str]  # e.g. mode=import: part of the route, not an input
    literal_length: int  # more literal characters = more specific route
    status: int
    input: dict[str, Any] | None
    output: dict[str, Any] | None


class ServiceModel:
    def __init__(self, service: str = "apigateway") -> None:
        self.service = service
        model = Loader().load_service_model(service, "service-2")
        self.shapes: dict[str, Any] = model["shapes"]
        self.routes: dict[str, list[Operation]] = {}
        self.prefixes: set[str] = set()
        for name, op in model["operations"].items():
            http = op["http"]
            path, _, query = http["requestUri"].partition("?")
            regex = _LABEL.sub(lambda m: f"(?P<{m.group(1).replace('-', _DASH)}>{'.+' if m.group(2) else '[^/]+'})",
                               re.escape(path).replace(r"\{", "{").replace(r"\}", "}").replace(r"\+", "+")
                               .replace(r"\-", "-"))
            operation = Operation(
                name=name, method=http["method"], pattern=re.compile(f"^{regex}$"),
                static_query=dict(parse_qsl(query)), literal_length=len(_LABEL.sub("", path)),
                status=http.get("responseCode", 200),
                input=self.shapes[op["input"]["shape"]] if "input" in op else None,
                output=self.shapes[op["output"]["shape"]] if "output" in op else None,
            )
            self.routes.setdefault(operation.method, []).append(operation)
            self.prefixes.add(path.split("/")[1])
        for ops in self.routes.values():  # the most specific route wins: static query first, then literals
            ops.sort(key=lambda o: (-len(o.static_query), -o.literal_length))

    def owns(self, req: HttpRequest) -> bool:
        """Whether the path is in the control plane's namespace (`/restapis`, `/apikeys`, …)."""
        return req.path.split("/", 2)[1] in self.prefixes

    def match(self, req: HttpRequest) -> tuple[Operation, dict[str, str]] | None:
        query = req.query_params()[0] or {}
        for op in self.routes.get(req.method, ()):
            m = op.pattern.match(req.path)
            if m and all(query.get(k) == v for k, v in op.static_query.items()):
                return op, {k.replace(_DASH, "-"): unquote(v) for k, v in m.groupdict().items()}
        return None

    # -- input ---------------------------------------------------------------------------------------

    def parse_input(self, op: Operation, labels: dict[str, str], req: HttpRequest) -> dict[str, Any]:
        shape = op.input
        if shape is None:
            return {}
        members: dict[str, Any] = shape["members"]
        query = req.query_params()[1] or {}  # parsed once per request, shared with match()
        claimed = set(op.static_query)
        params: dict[str, Any] = {}
        errors: list[str] = []
        body_members = {}
        for name, member in members.items():
            location = member.get("location")
            wire = member.get("locationName", name)
            target = self.shapes[member["shape"]]
            if location == "uri":
                params[name] = labels[wire]
            elif location == "header":
                value = req.header(wire.lower())
                if value is not None:
                    params[name] = value
            elif location == "querystring":
                if target["type"] == "map":
                    continue  # gets every query key no other member claims, below
                claimed.add(wire)
                values = query.get(wire)
                if values:
                    params[name] = self._coerce(values, target, name, op, errors)
            elif shape.get("payload") == name:
                if target["type"] == "blob":
                    params[name] = req.body
                elif req.body:
                    params[name] = _json(req.body)
            else:
                body_members[name] = member
        for name, member in members.items():
            if member.get("location") == "querystring" and self.shapes[member["shape"]]["type"] == "map":
                extra = {k: v[-1] for k, v in query.items() if k not in claimed}
                if extra:
                    params[name] = extra
        if body_members and req.body:
            body = _json(req.body)
            if not isinstance(body, dict):
                raise ControlError("SerializationException", "Request body must be a JSON object", 400)
            for name, member in body_members.items():
                wire = member.get("locationName", name)  # e.g. PutIntegration's integrationHttpMethod is "httpMethod"
                if body.get(wire) is not None:
                    params[name] = self._typed(body[wire], member["shape"])
        for name in shape.get("required", ()):
            if params.get(name) is None:
                errors.append(f"Value null at '{_lower_first(op.name)}Input.{name}' failed to satisfy "
                              f"constraint: Member must not be null")
        if errors:
            raise validation(errors)
        return params

    def _typed(self, value: Any, shape_name: str) -> Any:
        """The value if it has the JSON type the model's shape wants (recursively), else AWS's
        SerializationException: handlers never see a list where a string belongs."""
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            if not isinstance(value, dict):
                raise _not_convertible(value, "Structure")
            members = shape["members"]
            for key, item in value.items():
                member = members.get(key)
                if member is not None and item is not None:
                    self._typed(item, member["shape"])
        elif kind in ("list", "map"):
            container = list if kind == "list" else dict
            if not isinstance(value, container):
                raise _not_convertible(value, "List" if kind == "list" else "Map")
            items = value if kind == "list" else value.values()
            element = shape["member" if kind == "list" else "value"]["shape"]
            for item in items:
                if item is not None:
                    self._typed(item, element)
        elif not isinstance(value, _JSON_TYPES.get(kind, str)) or (kind != "boolean" and isinstance(value, bool)):
            raise _not_convertible(value, _JAVA_NAMES.get(kind, "String"))
        return value

    def _coerce(self, values: list[str], shape: dict[str, Any], name: str, op: Operation,
                errors: list[str]) -> Any:
        kind = shape["type"]
        if kind == "list":
            return [part for v in values for part in v.split(",") if part]
        value = values[-1]
        if kind == "integer":
            try:
                return int(value)
            except ValueError:
                errors.append(f"Value '{value}' at '{_lower_first(op.name)}Input.{name}' failed to satisfy "
                              f"constraint: Member must be a number")
                return None
        if kind == "boolean":
            return value.lower() == "true"
        return value

    # -- output --------------------------------------------------------------------------------------

    def serialize(self, op: Operation, result: dict[str, Any] | None, request_id: str) -> HttpResponse:
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
        shape = op.output
        if shape is None or result is None:
            return HttpResponse(op.status, headers, b"" if op.status in (202, 204) or shape is None else b"{}")
        payload = shape.get("payload")
        body: dict[str, Any] = {}
        raw: bytes | None = None
        for name, value in result.items():
            member = shape["members"].get(name)
            if member is None or value is None:
                continue
            location = member.get("location")
            if location == "header":
                _set_header(headers, member["locationName"], str(value))
            elif name == payload:
                raw = value if isinstance(value, bytes) else orjson.dumps(value)
            elif location is None:
                body[member.get("locationName", name)] = value
        return HttpResponse(op.status, headers, raw if raw is not None else orjson.dumps(body))


def error_response(err: ControlError, request_id: str) -> HttpResponse:
    response = aws_error(err.status, err.code, err.message, request_id)
    if err.status == 429:
        response.headers.append(("Retry-After", "1"))
    return response


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "boolean": bool, "integer": int, "long": int, "double": (int, float), "float": (int, float),
    "timestamp": (int, float, str), "blob": str, "string": str,
}
_JAVA_NAMES = {"boolean": "Boolean", "integer": "Integer", "long": "Long", "double": "Double", "float": "Float"}
# What AWS names the JSON value it could not convert (recorded: "class java.lang.Boolean can not be
# converted to an String"; numbers are "com.amazon.coral.value.json.numbers.TruncatingBigNumber").
_JAVA_CLASSES = ((bool, "java.lang.Boolean"), ((int, float), "com.amazon.coral.value.json.numbers.TruncatingBigNumber"),
                 (str, "java.lang.String"), (list, "java.util.ArrayList"), (dict, "java.util.LinkedHashMap"))


def _not_convertible(value: Any, expected: str) -> ControlError:
    java = next(name for kind, name in _JAVA_CLASSES if isinstance(value, kind))
    return ControlError("SerializationException", f"class {java} can not be converted to an {expected}", 400)


def _json(body: bytes) -> Any:
    try:
        doc = orjson.loads(body)
        check_depth(doc)  # no operation takes deeply nested input; later recursive walks must not overflow
        return doc
    except (orjson.JSONDecodeError, DocumentTooLarge) as exc:
        raise ControlError("SerializationException", f"Could not parse request body into json: {exc}", 400) from None


def _set_header(headers: list[tuple[str, str]], name: str, value: str) -> None:
    headers[:] = [(k, v) for k, v in headers if k.lower() != name.lower()]
    headers.append((name, value))


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]

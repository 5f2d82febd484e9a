"""A WebSocket API entry of the project file (`kind: websocket`) turned into the apigatewayv2 definition the
control plane would hold (model/http.py), checked by the same rules (model/websocket.py). Shorthands name a
project function (`function:`), a mock (`mock:`) or a URL (`http:`); a full `integration:`, `route` members
and `authorizers` take the control plane's own member names (camelCase as stored, or PascalCase as the CLI
prints them), so a recorded definition can be pasted. Problems raise ProjectError(where, message), which the
project loader turns into `file:line: field: message`. Ids are derived from names, so they stay the same
across restarts; the API's id, endpoint and dates are the deployer's."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from apiway.model import websocket as ws
from apiway.model.aws import ACCOUNT_ID, REGION
from apiway.model.http import PROTOCOL_WEBSOCKET, HttpApiDefinition, RouteSettings

DEFAULT_SELECTION = "$request.body.action"
DEFAULT_STAGE_NAME = "dev"
MOCK_OK = '{"statusCode": 200}'
LITERAL_DEFAULT = "\\$default"  # a template selection expression that always selects the `$default` template
STAGE_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")

API_KEYS = ("kind", "id", "name", "description", "routeSelectionExpression", "apiKeySelectionExpression",
            "disableSchemaValidation", "routes", "authorizers", "models", "stages")
ROUTE_SHORTHANDS = ("function", "mock", "http", "integration", "authorizer", "response", "template",
                    "responseTemplate", "integrationResponses")
ROUTE_MEMBERS = ("authorizationType", "apiKeyRequired", "requestParameters", "modelSelectionExpression",
                 "requestModels", "routeResponseSelectionExpression", "operationName")
INTEGRATION_MEMBERS = ("integrationType", "integrationUri", "integrationMethod", "connectionType", "connectionId",
                       "credentialsArn", "description", "requestParameters", "requestTemplates",
                       "templateSelectionExpression", "passthroughBehavior", "contentHandlingStrategy",
                       "timeoutInMillis", "payloadFormatVersion", "integrationResponseSelectionExpression")
INTEGRATION_RESPONSE_MEMBERS = ("responseTemplates", "templateSelectionExpression", "responseParameters",
                                "contentHandlingStrategy")
ROUTE_RESPONSE_MEMBERS = ("modelSelectionExpression", "responseModels", "responseParameters")
AUTHORIZER_KEYS = ("function", "ttl", "authorizerUri", "authorizerType", "identitySource",
                   "authorizerResultTtlInSeconds", "authorizerCredentialsArn", "identityValidationExpression")
MODEL_KEYS = ("schema", "contentType", "description")
STAGE_KEYS = ("variables", "description", "throttling", "logging", "dataTrace", "routes")
SETTINGS_KEYS = ("throttling", "logging", "dataTrace")
PASSTHROUGH = ("WHEN_NO_MATCH", "NEVER", "WHEN_NO_TEMPLATES")
CONTENT_HANDLING = ("CONVERT_TO_BINARY", "CONVERT_TO_TEXT")

Where = tuple[Any, ...]


class ProjectError(Exception):
    def __init__(self, where: Where, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


@dataclass(slots=True)
class WsStage:
    name: str
    variables: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    default_route_settings: RouteSettings = field(default_factory=dict)  # type: ignore[assignment]
    route_settings: dict[str, RouteSettings] = field(default_factory=dict)


def function_uri(name: str) -> str:
    """The Lambda invocation URI of a project function (project functions answer to their name)."""
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


def stable_id(*parts: str, size: int = 7) -> str:
    """An id made from names: the same entry gets the same ids on every start."""
    number = int.from_bytes(hashlib.sha256("\0".join(parts).encode()).digest()[:8], "big")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(size):
        number, rest = divmod(number, 36)
        out += digits[rest]
    return out


def _mapping(value: Any, where: Where, allowed: tuple[str, ...] | None = None, what: str = "") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ProjectError(where, "must be a mapping")
    if allowed is None:
        return dict(value)
    for key in value:
        if _member(key) not in allowed:
            raise ProjectError((*where, key), f"unknown key for {what} (expected one of: {', '.join(allowed)})")
    return {_member(k): v for k, v in value.items()}


def _member(key: Any) -> str:
    """A member name as stored: `IntegrationUri` (as the CLI prints it) → `integrationUri`."""
    text = str(key)
    return text[:1].lower() + text[1:] if text[:2].isalpha() and not text[:2].isupper() else text


def _text(value: Any, where: Where, what: str = "a string") -> str:
    if not isinstance(value, str) or not value:
        raise ProjectError(where, f"must be {what}")
    return value


def _check(error: str | None, where: Where) -> None:
    if error:
        raise ProjectError(where, error)


class _Builder:
    def __init__(self, entry: Any, functions: set[str], where: Where) -> None:
        self.where = where
        self.entry = _mapping(entry, where, API_KEYS, "a WebSocket API")
        self.functions = functions
        name = _text(self.entry.get("name"), (*where, "name"), "the API's name")
        self.name = name
        self.definition: HttpApiDefinition = {
            "api": {"apiId": "", "name": name, "protocolType": PROTOCOL_WEBSOCKET, "apiEndpoint": "", "createdDate": "",
                    "routeSelectionExpression": "", "apiKeySelectionExpression": ws.API_KEY_SELECTIONS[0],
                    "disableExecuteApiEndpoint": False, "ipAddressType": "ipv4", "tags": {}},
            "routes": {}, "integrations": {}, "authorizers": {}, "integrationResponses": {}, "routeResponses": {},
            "models": {}}

    def build(self) -> tuple[HttpApiDefinition, list[WsStage]]:
        api, e, w = self.definition["api"], self.entry, self.where
        selection = e.get("routeSelectionExpression", DEFAULT_SELECTION)
        _check(ws.route_selection_error(selection), (*w, "routeSelectionExpression"))
        api["routeSelectionExpression"] = selection
        if e.get("apiKeySelectionExpression") is not None:
            _check(ws.api_key_selection_error(e["apiKeySelectionExpression"]), (*w, "apiKeySelectionExpression"))
            api["apiKeySelectionExpression"] = e["apiKeySelectionExpression"]
        if e.get("description") is not None:
            api["description"] = str(e["description"])
        if e.get("disableSchemaValidation") is not None:
            api["disableSchemaValidation"] = self.flag(e["disableSchemaValidation"], (*w, "disableSchemaValidation"))
        for name, spec in _mapping(e.get("models"), (*w, "models")).items():
            self.model(name, spec, (*w, "models", name))
        for name, spec in _mapping(e.get("authorizers"), (*w, "authorizers")).items():
            self.authorizer(name, spec, (*w, "authorizers", name))
        routes = _mapping(e.get("routes"), (*w, "routes"))
        if not routes:
            raise ProjectError((*w, "routes"), "a WebSocket API needs at least one route ($connect, $disconnect, "
                                               "$default or a custom key)")
        for key, spec in routes.items():
            self.route(str(key), spec, (*w, "routes", key))
        stages = self.stages(e.get("stages"), (*w, "stages"))
        return self.definition, stages

    @staticmethod
    def flag(value: Any, where: Where) -> bool:
        if not isinstance(value, bool):
            raise ProjectError(where, "must be true or false")
        return value

    def function(self, value: Any, where: Where) -> str:
        name = _text(value, where, "the name of a function")
        if name not in self.functions:
            raise ProjectError(where, f"no function {name!r} under 'functions'")
        return function_uri(name)

    def model(self, name: Any, spec: Any, where: Where) -> None:
        _check(ws.model_name_error(name), where)
        spec = _mapping(spec, where, MODEL_KEYS, "a model")
        schema = spec.get("schema")
        if isinstance(schema, Mapping):
            schema = orjson.dumps(schema).decode()
        if not isinstance(schema, str) or not schema.strip():
            raise ProjectError((*where, "schema"), "a JSON Schema (draft 4) is required, as a mapping or JSON text")
        content_type = str(spec.get("contentType") or "application/json")
        if "json" in content_type:
            try:
                parsed = orjson.loads(schema)
            except orjson.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, dict):
                raise ProjectError((*where, "schema"), "must be a JSON object (a JSON Schema)")
        if len(schema) > ws.MAX_SCHEMA:
            raise ProjectError((*where, "schema"), f"at most {ws.MAX_SCHEMA} characters")
        model_id = stable_id("model", str(name), size=6)
        record: dict[str, Any] = {"modelId": model_id, "name": name, "contentType": content_type, "schema": schema}
        if spec.get("description") is not None:
            record["description"] = str(spec["description"])
        self.definition["models"][model_id] = record

    def model_names(self, models: Any, where: Where) -> dict[str, str]:
        models = _mapping(models, where)
        known = {m["name"] for m in self.definition.get("models", {}).values()}
        for key, name in models.items():
            if name not in known:
                raise ProjectError((*where, key), f"no model {name!r} under 'models'")
        return {str(k): str(v) for k, v in models.items()}

    def authorizer(self, name: Any, spec: Any, where: Where) -> None:
        spec = _mapping(spec, where, AUTHORIZER_KEYS, "an authorizer")
        if spec.get("authorizerType", "REQUEST") != "REQUEST":
            raise ProjectError((*where, "authorizerType"), "a WebSocket API takes REQUEST (Lambda) authorizers only")
        if (spec.get("function") is None) == (spec.get("authorizerUri") is None):
            raise ProjectError(where, "give the authorizer's 'function' (or a full 'authorizerUri')")
        uri = (self.function(spec["function"], (*where, "function")) if spec.get("function") is not None
               else _text(spec["authorizerUri"], (*where, "authorizerUri")))
        sources = spec.get("identitySource", [])
        if isinstance(sources, str):
            sources = [s.strip() for s in sources.split(",")]
        if not isinstance(sources, list):
            raise ProjectError((*where, "identitySource"), "a list such as [route.request.querystring.token]")
        _check(ws.identity_source_error([str(s) for s in sources]), (*where, "identitySource"))
        ttl_key = "ttl" if "ttl" in spec else "authorizerResultTtlInSeconds"
        ttl = spec.get(ttl_key, 0)
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= ws.MAX_TTL:
            raise ProjectError((*where, ttl_key), f"seconds, an integer from 0 to {ws.MAX_TTL}")
        if ttl and not sources:
            raise ProjectError((*where, ttl_key), "caching needs at least one identity source")
        authorizer_id = stable_id("authorizer", str(name), size=6)
        record: dict[str, Any] = {"authorizerId": authorizer_id, "name": str(name), "authorizerType": "REQUEST",
                                  "identitySource": [str(s) for s in sources], "authorizerUri": uri,
                                  "authorizerResultTtlInSeconds": ttl}
        for key in ("authorizerCredentialsArn", "identityValidationExpression"):
            if spec.get(key) is not None:
                record[key] = str(spec[key])
        self.definition["authorizers"][authorizer_id] = record  # type: ignore[assignment]

    def route(self, key: str, spec: Any, where: Where) -> None:
        _check(ws.route_key_error(key), where)
        spec = _mapping(spec, where, ROUTE_SHORTHANDS + ROUTE_MEMBERS, "a route")
        route_id = stable_id("route", key)
        route: dict[str, Any] = {"routeId": route_id, "routeKey": key, "authorizationType": "NONE",
                                 "apiKeyRequired": False}
        if spec.get("authorizer") is not None:
            wanted = spec["authorizer"]
            found = [a for a in self.definition["authorizers"].values() if a["name"] == wanted]
            if not found:
                raise ProjectError((*where, "authorizer"), f"no authorizer {wanted!r} under 'authorizers'")
            route.update(authorizationType="CUSTOM", authorizerId=found[0]["authorizerId"])
        if spec.get("authorizationType") is not None:
            if spec["authorizationType"] == "CUSTOM" and "authorizerId" not in route:
                raise ProjectError((*where, "authorizationType"), "CUSTOM needs 'authorizer: NAME'")
            route["authorizationType"] = spec["authorizationType"]
        _check(ws.route_authorization_error(key, route["authorizationType"]),
               (*where, "authorizer" if "authorizer" in spec else "authorizationType"))
        if spec.get("apiKeyRequired") is not None:
            route["apiKeyRequired"] = self.flag(spec["apiKeyRequired"], (*where, "apiKeyRequired"))
        if spec.get("requestParameters") is not None:
            parameters = self.constraints(spec["requestParameters"], (*where, "requestParameters"))
            _check(ws.route_parameters_error(key, parameters), (*where, "requestParameters"))
            route["requestParameters"] = parameters
        if spec.get("requestModels") is not None:
            route["requestModels"] = self.model_names(spec["requestModels"], (*where, "requestModels"))
        for member in ("modelSelectionExpression", "operationName"):
            if spec.get(member) is not None:
                route[member] = str(spec[member])
        integration_id = self.integration(key, spec, where)
        if integration_id is not None:
            route["target"] = f"integrations/{integration_id}"
        self.two_way(route, spec, where)
        self.definition["routes"][route_id] = route  # type: ignore[assignment]

    @staticmethod
    def constraints(raw: Any, where: Where) -> dict[str, dict[str, bool]]:
        """`{name: {required: bool}}`; a bare boolean is the `required` flag."""
        out = {}
        for name, value in _mapping(raw, where).items():
            if isinstance(value, bool):
                value = {"required": value}
            value = _mapping(value, (*where, name), ("required",), "a request parameter")
            out[str(name)] = {"required": bool(value.get("required", False))}
        return out

    def two_way(self, route: dict[str, Any], spec: dict[str, Any], where: Where) -> None:
        """`response: true` (or a route response's members) makes the route two-way."""
        response = spec.get("response")
        selection = spec.get("routeResponseSelectionExpression")
        if selection is not None:
            _check(ws.route_response_selection_error(selection), (*where, "routeResponseSelectionExpression"))
        if response in (None, False):
            if selection is not None:
                route["routeResponseSelectionExpression"] = selection
            return
        members = {} if response is True else _mapping(response, (*where, "response"), ROUTE_RESPONSE_MEMBERS,
                                                      "a route response")
        record: dict[str, Any] = {"routeResponseId": stable_id("route-response", route["routeKey"], size=6),
                                  "routeResponseKey": ws.DEFAULT}
        if members.get("responseModels") is not None:
            record["responseModels"] = self.model_names(members["responseModels"], (*where, "response",
                                                                                    "responseModels"))
        if members.get("modelSelectionExpression") is not None:
            record["modelSelectionExpression"] = str(members["modelSelectionExpression"])
        if members.get("responseParameters") is not None:
            record["responseParameters"] = self.constraints(members["responseParameters"],
                                                            (*where, "response", "responseParameters"))
        route["routeResponseSelectionExpression"] = ws.DEFAULT
        self.definition["routeResponses"][route["routeId"]] = {record["routeResponseId"]: record}

    def integration(self, key: str, spec: dict[str, Any], where: Where) -> str | None:
        """The route's integration from `function`, `mock`, `http` or `integration` (exactly one, or none)."""
        given = [k for k in ("function", "mock", "http", "integration") if spec.get(k) not in (None, False)]
        if len(given) > 1:
            raise ProjectError((*where, given[1]), f"a route has one integration: give either {given[0]!r} or "
                                                   f"{given[1]!r}")
        if not given:
            for stray in ("template", "responseTemplate", "integrationResponses"):
                if spec.get(stray) is not None:
                    raise ProjectError((*where, stray), "needs an integration ('mock', 'http' or 'integration')")
            return None
        kind = given[0]
        record: dict[str, Any]
        if kind == "function":
            record = {"integrationType": "AWS_PROXY", "integrationUri": self.function(spec["function"],
                                                                                      (*where, "function"))}
        elif kind == "mock":
            record = {"integrationType": "MOCK", "requestTemplates": {ws.DEFAULT: MOCK_OK},
                      "templateSelectionExpression": LITERAL_DEFAULT}
        elif kind == "http":
            uri = _text(spec["http"], (*where, "http"), "an http:// or https:// URL")
            if not uri.startswith(("http://", "https://")):
                raise ProjectError((*where, "http"), "must be an http:// or https:// URL")
            record = {"integrationType": "HTTP_PROXY", "integrationUri": uri, "integrationMethod": "POST"}
        else:
            record = _mapping(spec["integration"], (*where, "integration"), INTEGRATION_MEMBERS, "an integration")
        if spec.get("template") is not None:
            if record["integrationType"] in ws.PROXY_TYPES:
                raise ProjectError((*where, "template"), "request templates need a non-proxy integration (mock, AWS "
                                                         "or HTTP)")
            record["requestTemplates"] = {ws.DEFAULT: _text(spec["template"], (*where, "template"), "a template")}
            record["templateSelectionExpression"] = LITERAL_DEFAULT
        integration_id = stable_id("integration", key)
        record = self.checked_integration(record, (*where, kind))
        record["integrationId"] = integration_id
        self.definition["integrations"][integration_id] = record  # type: ignore[assignment]
        self.integration_responses(integration_id, record, spec, where)
        return integration_id

    def checked_integration(self, raw: dict[str, Any], where: Where) -> dict[str, Any]:
        kind = raw.get("integrationType")
        if kind not in ws.INTEGRATION_TYPES:
            raise ProjectError((*where, "integrationType"), f"one of {', '.join(ws.INTEGRATION_TYPES)}")
        result = dict(raw)
        if kind != "MOCK" and not result.get("integrationUri"):
            raise ProjectError((*where, "integrationUri"), f"required for {kind} integrations")
        if kind in ("HTTP", "HTTP_PROXY") and not result.get("integrationMethod"):
            result["integrationMethod"] = "POST"
        if kind in ("AWS", "AWS_PROXY"):
            result.setdefault("integrationMethod", "POST")
        if result.setdefault("payloadFormatVersion", "1.0") != "1.0":
            raise ProjectError((*where, "payloadFormatVersion"), "1.0 is the only payload format of WebSocket APIs")
        timeout = result.setdefault("timeoutInMillis", ws.MAX_TIMEOUT_MS)
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 50 <= timeout <= ws.MAX_TIMEOUT_MS:
            raise ProjectError((*where, "timeoutInMillis"), f"milliseconds, from 50 to {ws.MAX_TIMEOUT_MS}")
        _check(ws.integration_parameters_error(_mapping(result.get("requestParameters"),
                                                        (*where, "requestParameters"))),
               (*where, "requestParameters"))
        for member, allowed in (("passthroughBehavior", PASSTHROUGH), ("contentHandlingStrategy", CONTENT_HANDLING)):
            if result.get(member) is not None and result[member] not in allowed:
                raise ProjectError((*where, member), f"one of {', '.join(allowed)}")
        result.setdefault("connectionType", "INTERNET")
        if kind not in ws.PROXY_TYPES:
            result.setdefault("passthroughBehavior", "WHEN_NO_MATCH")
        result.setdefault("integrationResponseSelectionExpression", ws.DEFAULT_RESPONSE_SELECTION)
        return result

    def integration_responses(self, integration_id: str, integration: dict[str, Any], spec: dict[str, Any],
                              where: Where) -> None:
        """`responseTemplate:` (the `$default` integration response's template) or `integrationResponses:`
        {key: members}; a two-way mock or AWS/HTTP route without either answers with the body as it is."""
        responses: dict[str, Any] = {}
        if spec.get("responseTemplate") is not None:
            responses[ws.DEFAULT] = {"responseTemplates": {ws.DEFAULT: _text(spec["responseTemplate"],
                                                                              (*where, "responseTemplate"))},
                                     "templateSelectionExpression": LITERAL_DEFAULT}
        for key, members in _mapping(spec.get("integrationResponses"), (*where, "integrationResponses")).items():
            at = (*where, "integrationResponses", key)
            _check(ws.integration_response_key_error(key), at)
            if key in responses:
                raise ProjectError(at, "the $default integration response is already given by 'responseTemplate'")
            responses[str(key)] = _mapping(members, at, INTEGRATION_RESPONSE_MEMBERS, "an integration response")
        if responses and integration["integrationType"] in ws.PROXY_TYPES:
            raise ProjectError((*where, "responseTemplate" if "responseTemplate" in spec else "integrationResponses"),
                               "a proxy integration answers as it is: integration responses need mock, AWS or HTTP")
        stored = {}
        for key, members in responses.items():
            response_id = stable_id("integration-response", integration_id, key, size=6)
            stored[response_id] = {"integrationResponseId": response_id, "integrationResponseKey": key, **members}
        if stored:
            self.definition["integrationResponses"][integration_id] = stored

    def stages(self, raw: Any, where: Where) -> list[WsStage]:
        specs = _mapping(raw, where) or {DEFAULT_STAGE_NAME: {}}
        keys = {r["routeKey"] for r in self.definition["routes"].values()}
        stages = []
        for name, spec in specs.items():
            at = (*where, name)
            if not isinstance(name, str) or not STAGE_NAME.match(name):
                raise ProjectError(at, f"invalid stage name {name!r} (letters, digits, '-' and '_', up to 128; no "
                                       "$default stage for WebSocket APIs)")
            spec = _mapping(spec, at, STAGE_KEYS, "a WebSocket API stage")
            stage = WsStage(name, description=None if spec.get("description") is None else str(spec["description"]))
            stage.default_route_settings = {"detailedMetricsEnabled": False, **self.settings(spec, at)}
            for key, settings in _mapping(spec.get("routes"), (*at, "routes")).items():
                if key not in keys:
                    raise ProjectError((*at, "routes", key), f"no route {key!r} in this API")
                settings = _mapping(settings, (*at, "routes", key), SETTINGS_KEYS, "route settings")
                stage.route_settings[str(key)] = self.settings(settings, (*at, "routes", key))
            stage.variables = {str(k): str(v) for k, v in _mapping(spec.get("variables"), (*at, "variables")).items()}
            stages.append(stage)
        return stages

    def settings(self, spec: dict[str, Any], where: Where) -> RouteSettings:
        """`throttling: {burstLimit, rateLimit}`, `logging: OFF|ERROR|INFO`, `dataTrace: bool`."""
        out: dict[str, Any] = {}
        throttling = _mapping(spec.get("throttling"), (*where, "throttling"), ("burstLimit", "rateLimit"),
                              "throttling")
        for key, member in (("burstLimit", "throttlingBurstLimit"), ("rateLimit", "throttlingRateLimit")):
            value = throttling.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ProjectError((*where, "throttling", key), "a number, 0 or more")
            out[member] = float(value) if key == "rateLimit" else int(value)
        if spec.get("logging") is not None:
            if spec["logging"] not in ws.LOGGING_LEVELS:
                raise ProjectError((*where, "logging"), f"one of {', '.join(ws.LOGGING_LEVELS)}")
            out["loggingLevel"] = spec["logging"]
        if spec.get("dataTrace") is not None:
            out["dataTraceEnabled"] = self.flag(spec["dataTrace"], (*where, "dataTrace"))
        return out  # type: ignore[return-value]


def build_websocket_api(entry: Any, functions: set[str], where: Where,
                        check_variables: Callable[[dict[str, Any], Where], dict[str, str]] | None = None,
                        ) -> tuple[HttpApiDefinition, list[WsStage]]:
    """The definition and stages of one `kind: websocket` entry of `apis` (at `where` in the file);
    `check_variables` checks a stage's `variables` as the loader checks every stage's."""
    definition, stages = _Builder(entry, functions, where).build()
    if check_variables is not None:
        raw = _mapping(_mapping(entry, where).get("stages"), (*where, "stages"))
        for stage in stages:
            stage.variables = check_variables(_mapping(raw.get(stage.name), (*where, "stages", stage.name)),
                                              (*where, "stages", stage.name))
    return definition, stages

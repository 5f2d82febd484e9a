"""WebSocket APIs in the project file (`kind: websocket`, model/ws_project.py): the definition a valid entry
becomes (the control plane's record shapes, ids stable across loads), the deployer writing it with its
stages and keeping its id and deployment across starts, and every error named with file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apiway.app import App
from apiway.config import WEBSOCKET, load_project
from apiway.model.documents import DocumentError
from apiway.model.ws_project import function_uri
from apiway.project import deployer
from apiway.project.deployer import StartReport
from apiway.store import http_deployments
from apiway.store.sqlite import SqliteStore
from tests.support import REPO

PROJECT = """apis:
  - kind: websocket
    name: chat
    routeSelectionExpression: $request.body.action
    apiKeySelectionExpression: $request.header.x-api-key
    routes:
      $connect:
        function: Fn
        authorizer: auth
        apiKeyRequired: true
        requestParameters: {route.request.querystring.token: {required: true}}
      $disconnect: {function: Fn}
      sendmessage: {function: Fn, response: true, requestModels: {$default: Message},
                    modelSelectionExpression: $default}
      echo: {mock: true, response: true, responseTemplate: '{"echo": 1}'}
      fetch:
        integration:
          IntegrationType: HTTP
          IntegrationUri: http://127.0.0.1:9/fetch
          IntegrationMethod: GET
          RequestParameters: {integration.request.header.x-conn: context.connectionId}
          RequestTemplates: {$default: '{"a": 1}'}
        integrationResponses:
          /2\\d\\d/: {responseTemplates: {$default: ok}}
        response: {responseModels: {$default: Message}}
      $default: {http: http://127.0.0.1:9/default}
    authorizers:
      auth: {function: Fn, identitySource: [route.request.querystring.token], ttl: 60}
    models:
      Message: {schema: {type: object, properties: {action: {type: string}}}}
    stages:
      prod:
        variables: {room: lobby}
        throttling: {burstLimit: 10, rateLimit: 5}
        logging: ERROR
        dataTrace: true
        routes: {sendmessage: {throttling: {burstLimit: 1}, logging: INFO}}
functions:
  Fn: {handler: fn.py:handler}
"""


def write(root: Path, text: str = PROJECT) -> Path:
    (root / "fn.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    (root / "apiway.yaml").write_text(text)
    return root / "apiway.yaml"


def definition_of(root: Path, text: str = PROJECT) -> tuple[Any, Any]:
    project = load_project(write(root, text))
    [api] = project.apis
    assert api.kind == WEBSOCKET and api.websocket is not None
    return api.websocket


def by_key(definition: Any) -> dict[str, Any]:
    return {r["routeKey"]: r for r in definition["routes"].values()}


def test_a_websocket_api_entry_becomes_the_control_planes_definition(tmp_path: Path):
    definition, [stage] = definition_of(tmp_path)
    api = definition["api"]
    assert (api["name"], api["protocolType"], api["routeSelectionExpression"]) == (
        "chat", "WEBSOCKET", "$request.body.action")
    routes = by_key(definition)
    assert sorted(routes) == ["$connect", "$default", "$disconnect", "echo", "fetch", "sendmessage"]
    connect = routes["$connect"]
    [authorizer] = definition["authorizers"].values()
    assert authorizer == {"authorizerId": authorizer["authorizerId"], "name": "auth", "authorizerType": "REQUEST",
                          "identitySource": ["route.request.querystring.token"], "authorizerUri": function_uri("Fn"),
                          "authorizerResultTtlInSeconds": 60}
    assert (connect["authorizationType"], connect["authorizerId"], connect["apiKeyRequired"]) == (
        "CUSTOM", authorizer["authorizerId"], True)
    assert connect["requestParameters"] == {"route.request.querystring.token": {"required": True}}
    integrations = definition["integrations"]

    def integration(key: str) -> dict[str, Any]:
        return integrations[routes[key]["target"].removeprefix("integrations/")]

    assert integration("$connect")["integrationType"] == "AWS_PROXY"
    assert integration("$connect")["integrationUri"] == function_uri("Fn")
    assert integration("echo")["integrationType"] == "MOCK"
    fetch = integration("fetch")
    assert (fetch["integrationType"], fetch["integrationMethod"], fetch["passthroughBehavior"]) == (
        "HTTP", "GET", "WHEN_NO_MATCH")
    assert fetch["requestParameters"] == {"integration.request.header.x-conn": "context.connectionId"}
    assert integration("$default")["integrationType"] == "HTTP_PROXY"
    [fetch_response] = definition["integrationResponses"][fetch["integrationId"]].values()
    assert fetch_response["integrationResponseKey"] == "/2\\d\\d/"
    [echo_response] = definition["integrationResponses"][integration("echo")["integrationId"]].values()
    assert echo_response["responseTemplates"] == {"$default": '{"echo": 1}'}
    for key in ("sendmessage", "echo", "fetch"):
        assert routes[key]["routeResponseSelectionExpression"] == "$default"
        [response] = definition["routeResponses"][routes[key]["routeId"]].values()
        assert response["routeResponseKey"] == "$default"
    assert "routeResponseSelectionExpression" not in routes["$disconnect"]
    [model] = definition["models"].values()
    assert model["name"] == "Message" and model["contentType"] == "application/json"
    assert routes["sendmessage"]["requestModels"] == {"$default": "Message"}
    assert (stage.name, stage.variables) == ("prod", {"room": "lobby"})
    assert stage.default_route_settings == {"detailedMetricsEnabled": False, "throttlingBurstLimit": 10,
                                            "throttlingRateLimit": 5.0, "loggingLevel": "ERROR",
                                            "dataTraceEnabled": True}
    assert stage.route_settings == {"sendmessage": {"throttlingBurstLimit": 1, "loggingLevel": "INFO"}}
    again, _ = definition_of(tmp_path)
    assert again == definition  # ids come from names


def test_the_example_project_validates(capsys: pytest.CaptureFixture[str]):
    from apiway.serve import validate

    assert validate(REPO / "examples" / "websocket-chat" / "apiway.yaml", None) == 0
    assert "WebSocket API 'chat', 5 routes" in capsys.readouterr().out


def test_the_deployer_writes_it_and_keeps_its_id_and_deployment(tmp_path: Path):
    path = write(tmp_path)
    store = SqliteStore(tmp_path / "state.db")

    def start() -> StartReport:
        project = load_project(path)
        report = StartReport()
        deployer.apply(store, deployer.prepare(project, App(project).deps).apis, report)
        return report

    first = start()
    [deployed] = first.deployed
    api_id = deployed.split("/")[0]
    stored = http_deployments.get_api(store, api_id)
    assert stored is not None and stored["api"]["apiEndpoint"] == f"wss://{api_id}.execute-api.us-east-1.amazonaws.com"
    stage = http_deployments.get_stage(store, api_id, "prod")
    assert stage is not None and stage["autoDeploy"] and stage["deploymentId"]
    assert stage["routeSettings"]["sendmessage"]["loggingLevel"] == "INFO"
    assert stage["stageVariables"] == {"room": "lobby"}
    assert start().reused == [f"{api_id}/prod"]
    assert http_deployments.get_stage(store, api_id, "prod")["deploymentId"] == stage["deploymentId"]  # type: ignore[index]
    write(tmp_path, PROJECT.replace("logging: ERROR", "logging: INFO"))
    assert start().deployed == [f"{api_id}/prod"]  # a change keeps the id, deploys anew
    changed = http_deployments.get_stage(store, api_id, "prod")
    assert changed is not None and changed["deploymentId"] != stage["deploymentId"]
    assert changed["defaultRouteSettings"]["loggingLevel"] == "INFO"


def _entry(body: str) -> str:
    return ("apis:\n  - kind: websocket\n    name: chat\n" + body
            + "functions:\n  Fn: {handler: fn.py:handler}\n")


ROUTES = "    routes:\n      $default: {function: Fn}\n"

# (entry body, line, field, message start)
ERRORS = [
    ("    routeSelectionExpression: $request.header.x\n" + ROUTES, 4, "apis.0.routeSelectionExpression",
     "Invalid route selection expression: $request.header.x."),
    ("    apiKeySelectionExpression: nope\n" + ROUTES, 4, "apis.0.apiKeySelectionExpression",
     "Invalid API key selection expression: nope."),
    ("    colour: red\n" + ROUTES, 4, "apis.0.colour", "unknown key for a WebSocket API"),
    ("    routes: {}\n", 4, "apis.0.routes", "a WebSocket API needs at least one route"),
    ("    routes:\n      $connect2: {function: Fn}\n", 5, "apis.0.routes.$connect2", "Invalid route key $connect2"),
    ("    routes:\n      $connect: {function: Missing}\n", 5, "apis.0.routes.$connect.function",
     "no function 'Missing' under 'functions'"),
    ("    routes:\n      send: {function: Fn, authorizer: auth}\n"
     "    authorizers:\n      auth: {function: Fn, identitySource: [route.request.header.A]}\n", 5,
     "apis.0.routes.send.authorizer", "Currently, authorization is restricted to the $connect route only"),
    ("    routes:\n      $connect: {function: Fn, authorizer: nobody}\n", 5, "apis.0.routes.$connect.authorizer",
     "no authorizer 'nobody' under 'authorizers'"),
    ("    routes:\n      send: {function: Fn, mock: true}\n", 5, "apis.0.routes.send.mock",
     "a route has one integration"),
    ("    routes:\n      send: {function: Fn, responseTemplate: x}\n", 5, "apis.0.routes.send.responseTemplate",
     "a proxy integration answers as it is"),
    ("    routes:\n      send: {function: Fn, colour: red}\n", 5, "apis.0.routes.send.colour",
     "unknown key for a route"),
    ("    routes:\n      send:\n        function: Fn\n        requestParameters: {route.request.header.A: true}\n",
     7, "apis.0.routes.send.requestParameters",
     "Currently, request parameters are supported only on the $connect route"),
    ("    routes:\n      send:\n        integration: {integrationType: HTTP}\n", 6,
     "apis.0.routes.send.integration.integrationUri", "required for HTTP integrations"),
    ("    routes:\n      send:\n        integration: {integrationType: MOCK, timeoutInMillis: 30000}\n", 6,
     "apis.0.routes.send.integration.timeoutInMillis", "milliseconds, from 50 to 29000"),
    ("    routes:\n      send:\n        integration: {integrationType: MOCK, payloadFormatVersion: '2.0'}\n", 6,
     "apis.0.routes.send.integration.payloadFormatVersion", "1.0 is the only payload format"),
    ("    routes:\n      send:\n        integration:\n          integrationType: MOCK\n"
     "          requestParameters: {integration.request.header.a: method.request.header.b}\n", 8,
     "apis.0.routes.send.integration.requestParameters", "Invalid mapping expression specified"),
    ("    routes:\n      send:\n        mock: true\n        integrationResponses: {'/(/': {}}\n", 7,
     "apis.0.routes.send.integrationResponses./(/", "Invalid integration response key: /(/."),
    ("    routes:\n      send: {function: Fn, requestModels: {$default: Nope}}\n", 5,
     "apis.0.routes.send.requestModels.$default", "no model 'Nope' under 'models'"),
    ("    routes:\n      send: {function: Fn, routeResponseSelectionExpression: x}\n", 5,
     "apis.0.routes.send.routeResponseSelectionExpression", "Invalid route response selection expression: x."),
    (ROUTES + "    authorizers:\n      a: {function: Fn, identitySource: [$request.header.A]}\n", 7,
     "apis.0.authorizers.a.identitySource", "Invalid identity source: $request.header.A."),
    (ROUTES + "    authorizers:\n      a: {function: Fn, ttl: 4000, identitySource: [context.x]}\n", 7,
     "apis.0.authorizers.a.ttl", "seconds, an integer from 0 to 3600"),
    (ROUTES + "    authorizers:\n      a: {function: Fn, authorizerType: JWT}\n", 7,
     "apis.0.authorizers.a.authorizerType", "a WebSocket API takes REQUEST (Lambda) authorizers only"),
    (ROUTES + "    models:\n      Bad-Name: {schema: {type: object}}\n", 7, "apis.0.models.Bad-Name",
     "Model name must be alphanumeric"),
    (ROUTES + "    models:\n      M: {schema: '[1]'}\n", 7, "apis.0.models.M.schema", "must be a JSON object"),
    (ROUTES + "    stages:\n      $default: {}\n", 7, "apis.0.stages.$default", "invalid stage name '$default'"),
    (ROUTES + "    stages:\n      prod: {logging: DEBUG}\n", 7, "apis.0.stages.prod.logging",
     "one of ERROR, INFO, OFF"),
    (ROUTES + "    stages:\n      prod: {throttling: {burstLimit: -1}}\n", 7,
     "apis.0.stages.prod.throttling.burstLimit", "a number, 0 or more"),
    (ROUTES + "    stages:\n      prod: {routes: {nothere: {logging: INFO}}}\n", 7,
     "apis.0.stages.prod.routes.nothere", "no route 'nothere' in this API"),
    (ROUTES + "    stages:\n      prod: {variables: {'bad name': x}}\n", 7,
     "apis.0.stages.prod.variables.bad name", "stage variable names are letters"),
]


@pytest.mark.parametrize(("body", "line", "where", "message"), ERRORS)
def test_every_error_names_file_line_and_field(tmp_path: Path, body: str, line: int, where: str, message: str):
    path = write(tmp_path, _entry(body))
    with pytest.raises(DocumentError) as info:
        load_project(path)
    assert str(info.value).startswith(f"{path}:{line}: {where}: {message}"), str(info.value)

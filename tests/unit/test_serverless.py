"""Reading Serverless Framework service files: the variables, the events that become REST, HTTP and WebSocket
APIs, and the errors that name the file, the line and the fix for whatever cannot be served."""

from __future__ import annotations

from pathlib import Path

import pytest

from apiway.config import HTTP, REST, WEBSOCKET
from apiway.model.documents import DocumentError
from apiway.templates.load import template_project
from apiway.templates.serverless.load import load_service

HEAD = """service: shop
frameworkVersion: '3'
provider:
  name: aws
  runtime: python3.12
"""
FUNCTION = """functions:
  hello:
    handler: handler.hello
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "handler.py").write_text("def hello(event, context):\n    return {}\n")
    path = tmp_path / "serverless.yml"
    path.write_text(text)
    return path


def failure(tmp_path: Path, text: str, stage: str | None = None) -> str:
    with pytest.raises(DocumentError) as info:
        load_service(write(tmp_path, text), stage)
    return str(info.value)


def environment(tmp_path: Path, variables: str, stage: str | None = None, extra: str = "") -> dict[str, str]:
    text = HEAD + "  environment:\n" + variables + extra + FUNCTION
    project, _ = load_service(write(tmp_path, text), stage)
    return project.functions[0].environment


def test_variables_self_opt_sls_aws_defaults_and_nesting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_COLOUR", "blue")
    monkeypatch.delenv("SHOP_MISSING", raising=False)
    custom = """custom:
  sizes: {dev: small, prod: large}
  table: ${self:service}-${sls:stage}-orders
"""
    env = environment(tmp_path, """    STAGE: ${sls:stage}
    OPT: ${opt:stage, 'dev'}
    REGION: ${aws:region}
    ACCOUNT: ${aws:accountId}
    SIZE: ${self:custom.sizes.${sls:stage}}
    TABLE: ${self:custom.table}
    DEFAULT: ${self:custom.nothing, 'fallback, with a comma'}
    NUMBER: ${self:custom.nothing, 5}
    CHAIN: ${env:SHOP_MISSING, self:custom.sizes.dev}
    COLOUR: ${env:SHOP_COLOUR}
    SUB: !Sub '${AWS::Region}-${ApiGatewayRestApi}'
""", stage="prod", extra=custom)
    assert env["STAGE"] == env["OPT"] == "prod"
    assert env["REGION"] == "us-east-1" and env["ACCOUNT"] == "123456789012"
    assert env["SIZE"] == "large" and env["TABLE"] == "shop-prod-orders"
    assert env["DEFAULT"] == "fallback, with a comma" and env["NUMBER"] == "5"
    assert env["CHAIN"] == "small" and env["COLOUR"] == "blue"
    assert env["SUB"].startswith("us-east-1-") and len(env["SUB"]) == len("us-east-1-") + 10


def test_provider_stage_and_local_files(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "dev.yml").write_text("db:\n  name: shop-db\nlevel: ${sls:stage}\n")
    text = HEAD + """  stage: ${opt:stage, 'dev'}
  environment:
    DB: ${file(./config/${sls:stage}.yml):db.name}
    LEVEL: ${file(./config/dev.yml):level}
""" + FUNCTION
    project, notes = load_service(write(tmp_path, text), None)
    assert project.functions[0].environment["DB"] == "shop-db"
    assert project.functions[0].environment["LEVEL"] == "dev"
    assert project.functions[0].name == "shop-dev-hello"
    assert notes[0] == "service shop, stage dev, region us-east-1"


@pytest.mark.parametrize(("value", "expected"), [
    ("${ssm:/shop/db-password}", "reads SSM Parameter Store, which a local gateway cannot: give the value in "
                                 "`custom`"),
    ("${cf:other-stack.TableName}", "reads another CloudFormation stack's outputs"),
    ("${s3:bucket/key}", "reads an S3 object"),
    ("${param:dbName}", "reads Serverless Dashboard parameters"),
    ("${file(./values.js):x}", "a JavaScript file runs code"),
    ("${file(./absent.yml):x}", "cannot read"),
    ("${opt:stage}", "no value (give --stage to `apiway serve`)"),
    ("${opt:verbose}", "passes only --stage to a service"),
    ("${opt:region}", "`apiway serve` has no --region option"),
    ("${env:SHOP_NOT_SET}", "SHOP_NOT_SET is not set in the environment"),
    ("${self:custom.absent}", "no fallback such as ${self:custom.absent, 'default'}"),
    ("${weird:thing}", "unknown variable source 'weird'"),
    ("${self:provider.environment.LOOP}", "refers to itself"),
])
def test_unsupported_variables_name_the_line_and_the_fix(tmp_path: Path, value: str, expected: str) -> None:
    message = failure(tmp_path, HEAD + f"  environment:\n    LOOP: {value}\n" + FUNCTION)
    assert message.startswith(f"{tmp_path / 'serverless.yml'}:7: provider.environment.LOOP: ")
    assert expected in message


@pytest.mark.parametrize(("body", "line", "field", "expected"), [
    ("functions:\n  hello:\n    handler: handler.hello\n    runtime: java21\n", 9, "functions.hello.runtime",
     "only python3.x and nodejs functions are served"),
    ("functions:\n  hello:\n    handler: src/missing.hello\n", 8, "functions.hello.handler", "handler file not found"),
    (FUNCTION + "    events:\n      - sqs: arn:aws:sqs:us-east-1:1:q\n      - kafka2: {}\n", 11,
     "functions.hello.events.1.kafka2", "unknown event type 'kafka2'"),
    (FUNCTION + "    events:\n      - http:\n          path: a\n          method: get\n          authorizer: nobody\n",
     13, "functions.hello.events.0.http.authorizer", "no function 'nobody' in `functions`"),
    (FUNCTION + "    events:\n      - httpApi:\n          method: get\n          path: /a\n          authorizer: jwt\n",
     13, "functions.hello.events.0.httpApi.authorizer", "no authorizer 'jwt' in provider.httpApi.authorizers"),
    (FUNCTION + "    events:\n      - httpApi: 'GET /a'\n      - httpApi: 'GET /a'\n", 11,
     "functions.hello.events.1.httpApi", "already an httpApi event"),
    (FUNCTION + "    events:\n      - websocket: {route: say, authorizer: hello}\n", 10,
     "functions.hello.events.0.websocket", "$connect"),
    (FUNCTION + "    events:\n      - http: {path: a, method: get, integration: http-proxy}\n", 10,
     "functions.hello.events.0.http.request.uri", "needs request.uri"),
    ("resource:\n  Resources: {}\n" + FUNCTION, 6, "resource", "unknown key"),
])
def test_unsupported_constructs_name_the_line(tmp_path: Path, body: str, line: int, field: str,
                                              expected: str) -> None:
    message = failure(tmp_path, HEAD + body)
    assert message.startswith(f"{tmp_path / 'serverless.yml'}:{line}: {field}: "), message
    assert expected in message


def test_events_become_three_apis_with_the_frameworks_names(tmp_path: Path) -> None:
    text = HEAD + """  stage: beta
  httpApi:
    authorizers:
      jwt: {identitySource: $request.header.Authorization, issuerUrl: 'https://issuer.example', audience: [app]}
plugins:
  - serverless-offline
  - serverless-domain-manager
resources:
  Resources:
    Orders: {Type: AWS::DynamoDB::Table, Properties: {}}
""" + FUNCTION + """    events:
      - http: GET hello
      - httpApi: {method: get, path: /hello, authorizer: {name: jwt, scopes: [read]}}
      - websocket: $default
      - schedule: rate(1 hour)
"""
    project, notes = load_service(write(tmp_path, text), None)
    kinds = {api.kind: api for api in project.apis}
    assert set(kinds) == {REST, HTTP, WEBSOCKET}
    assert [s.name for s in kinds[REST].stages] == ["beta"]
    assert [s.name for s in kinds[HTTP].stages] == ["$default"]
    assert kinds[REST].document is not None and kinds[REST].document[0]["info"]["title"] == "beta-shop"
    assert kinds[WEBSOCKET].websocket is not None
    assert kinds[WEBSOCKET].websocket[0]["api"]["name"] == "beta-shop-websockets"
    http_doc = kinds[HTTP].document[0] if kinds[HTTP].document else {}
    assert http_doc["paths"]["/hello"]["get"]["security"] == [{"jwt": ["read"]}]
    assert any("plugin serverless-domain-manager is not run here" in n and ":12:" in n for n in notes)
    assert not any("serverless-offline" in n for n in notes)
    assert "resources not emulated (accepted, left out): AWS::DynamoDB::Table" in notes
    assert "events not emulated (their functions are served): schedule" in notes


def test_api_keys_with_several_usage_plans(tmp_path: Path) -> None:
    text = HEAD + """  apiGateway:
    apiKeys:
      - free: [free-key]
      - paid: [{name: paid-key, value: paid-key-0123456789abcdef}]
    usagePlan:
      - free: {quota: {limit: 10, period: DAY}}
      - paid: {throttle: {rateLimit: 100, burstLimit: 200}}
""" + FUNCTION + "    events:\n      - http: {path: a, method: get, private: true}\n"
    project, notes = load_service(write(tmp_path, text), None)
    plans = {r["name"]: r for kind, _, r in project.records if kind == "usageplan"}
    keys = {r["name"]: r for kind, _, r in project.records if kind == "apikey"}
    links = {(p, k) for kind, _, r in project.records if kind == "usageplankey" for p, k in [(r["usagePlanId"],
                                                                                               r["keyId"])]}
    assert plans["shop-free-dev"]["quota"] == {"limit": 10, "offset": 0, "period": "DAY"}
    assert plans["shop-paid-dev"]["throttle"] == {"burstLimit": 200, "rateLimit": 100.0}
    assert keys["paid-key"]["value"] == "paid-key-0123456789abcdef"
    assert links == {(plans["shop-free-dev"]["id"], keys["free-key"]["id"]),
                     (plans["shop-paid-dev"]["id"], keys["paid-key"]["id"])}
    assert any("x-api-key" in n for n in notes)


def test_a_folder_with_a_service_file_is_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, HEAD + FUNCTION)
    monkeypatch.chdir(tmp_path)
    found = template_project(None, {}, "qa")
    assert found is not None and found[1][0] == "no apiway.yaml here: serving serverless.yml"
    assert found[0].functions[0].name == "shop-qa-hello"
    with pytest.raises(DocumentError, match="a service file has no parameters"):
        template_project(tmp_path / "serverless.yml", {"A": "b"})


def test_stage_parameters_and_unused_custom_values(tmp_path: Path) -> None:
    text = HEAD + """  environment:
    DB: ${param:db}
    LEVEL: ${param:level}
stages:
  prod: {params: {db: prod-db}}
  default: {params: {db: any-db, level: info}}
custom:
  domains: ${ssm:/only/for/a/plugin}
""" + FUNCTION
    prod, _ = load_service(write(tmp_path, text), "prod")
    assert prod.functions[0].environment["DB"] == "prod-db" and prod.functions[0].environment["LEVEL"] == "info"
    dev, _ = load_service(write(tmp_path, text), None)
    assert dev.functions[0].environment["DB"] == "any-db"


def test_a_service_file_of_another_name_is_told_by_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "api.yml"
    path.write_text(HEAD + FUNCTION)
    (tmp_path / "handler.py").write_text("def hello(event, context):\n    return {}\n")
    found = template_project(path, {})
    assert found is not None and found[0].functions[0].name == "shop-dev-hello"


def test_dotenv_files_feed_env_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_DB", raising=False)
    monkeypatch.setenv("SHOP_TOKEN", "from-the-shell")
    (tmp_path / ".env").write_text("# shared\nSHOP_DB=any-db\nSHOP_TOKEN=from-the-file\n")
    (tmp_path / ".env.prod").write_text("export SHOP_DB='prod-db'  \n")
    provider = """provider:
  name: aws
  runtime: python3.12
  environment:
    DB: ${env:SHOP_DB}
    TOKEN: ${env:SHOP_TOKEN}
""" + FUNCTION
    v4 = "service: shop\n" + provider
    dev, notes = load_service(write(tmp_path, v4), None)
    assert dev.functions[0].environment["DB"] == "any-db"
    assert dev.functions[0].environment["TOKEN"] == "from-the-shell"  # the process's own environment wins
    assert "${env:…} also reads SHOP_DB, SHOP_TOKEN from .env" in notes
    prod, _ = load_service(write(tmp_path, v4), "prod")
    assert prod.functions[0].environment["DB"] == "prod-db"
    # v3 reads .env only with useDotenv: true
    v3 = "service: shop\nframeworkVersion: '3'\n" + provider
    assert "SHOP_DB is not set in the environment" in failure(tmp_path, v3)
    with_dotenv, _ = load_service(write(tmp_path, "useDotenv: true\n" + v3), None)
    assert with_dotenv.functions[0].environment["DB"] == "any-db"


def test_rest_api_settings_and_http_integrations(tmp_path: Path) -> None:
    text = HEAD + """  apiGateway:
    apiKeySourceType: AUTHORIZER
    binaryMediaTypes: ['image/png']
""" + FUNCTION + """    events:
      - http:
          path: files/{key}
          method: get
          integration: http-proxy
          request:
            uri: https://backend.example/files/{key}
            method: post
            parameters: {paths: {key: true}, headers: {x-trace: false}}
"""
    project, _ = load_service(write(tmp_path, text), None)
    doc = project.apis[0].document[0] if project.apis[0].document else {}
    assert doc["x-amazon-apigateway-api-key-source"] == "AUTHORIZER"
    assert doc["x-amazon-apigateway-binary-media-types"] == ["image/png"]
    operation = doc["paths"]["/files/{key}"]["get"]
    integration = operation["x-amazon-apigateway-integration"]
    assert integration["httpMethod"] == "POST" and integration["type"] == "http_proxy"
    assert integration["requestParameters"] == {"integration.request.path.key": "method.request.path.key",
                                                "integration.request.header.x-trace": "method.request.header.x-trace"}
    assert {(p["name"], p["in"], p["required"]) for p in operation["parameters"]} == {("key", "path", True),
                                                                                      ("x-trace", "header", False)}


def test_an_api_of_another_stack_is_refused(tmp_path: Path) -> None:
    message = failure(tmp_path, HEAD + "  apiGateway:\n    restApiId: abc123\n" + FUNCTION
                      + "    events:\n      - http: GET a\n")
    assert message.startswith(f"{tmp_path / 'serverless.yml'}:7: provider.apiGateway.restApiId: an API of another "
                              f"stack is not served here")


@pytest.mark.parametrize(("text", "expected"), [
    ("service: a\nprovider: x\n", ":2: provider: must be a mapping"),
    (HEAD + "  timeout: abc\n" + FUNCTION, ":6: provider.timeout: seconds"),
    (HEAD + "  apiGateway: 5\n" + FUNCTION, ":6: provider.apiGateway: must be a mapping"),
    (HEAD + FUNCTION + "    events:\n      - http: 5\n", ":10: functions.hello.events.0.http: 'METHOD path'"),
    (HEAD + FUNCTION + "    events:\n      - websocket: {route: $connect, authorizer: {name: hello, identitySource: 5}}\n",
     ":10: functions.hello.events.0.websocket.authorizer: Invalid identity source"),
    (HEAD + FUNCTION + "    events:\n      - http: {path: a, method: get, authorizer: {name: hello, "
                       "resultTtlInSeconds: x}}\n", ":10: functions.hello.events.0.http.authorizer.resultTtlInSeconds"),
])
def test_settings_of_the_wrong_shape_are_located(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in failure(tmp_path, text)


def test_node_functions_are_served_by_the_node_runtime(tmp_path: Path) -> None:
    (tmp_path / "handler.js").write_text("exports.hello = async () => ({statusCode: 200, body: 'hi'});\n")
    (tmp_path / "serverless.yml").write_text(HEAD + "functions:\n  hello:\n    handler: handler.hello\n"
                                             "    runtime: nodejs20.x\n")
    (spec,) = template_project(tmp_path / "serverless.yml", {})[0].functions  # type: ignore[index]
    assert spec.runtime == "nodejs" and spec.handler == "handler.hello" and spec.base_dir == tmp_path

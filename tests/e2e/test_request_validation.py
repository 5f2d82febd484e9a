"""Request validation end to end (spec §5, §1.9, §1.10): an OpenAPI project declaring request validators,
a root default and per-operation choices, with models referring to each other, served by `apiway serve`.

Ground truth: the AWS recordings of `test_api_gateway_request_validator`, `…_with_ref_models` and
`…_with_ref_one_ofmodels` (common; INDEX row 10): the same models, parameters and expected messages."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support import Reply, Server, recorded

PLAIN = "reqval0001"
CUSTOM = "reqval0002"
STAGE = "dev"
COMMON = "tests/aws/services/apigateway/test_apigateway_common.py::TestApiGatewayCommon::"

MOCK = """
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}', text/plain: '{"statusCode": 200}'}
        responses:
          default: {statusCode: "200", responseTemplates: {application/json: '{"data": "ok"}'}}"""
API = """openapi: 3.0.1
info: {title: Validation}
x-amazon-apigateway-request-validators:
  all: {validateRequestBody: true, validateRequestParameters: true}
  params-only: {validateRequestBody: false, validateRequestParameters: true}
  body-only: {validateRequestBody: true, validateRequestParameters: false}
x-amazon-apigateway-request-validator: all
components:
  schemas:
    testSchema:
      {$schema: "http://json-schema.org/draft-04/schema#", title: testSchema, type: object,
       properties: {a: {type: number}, b: {type: number}}, required: [a, b]}
    testSchemaList: {type: array, items: {$ref: "#/components/schemas/testSchema"}}
    StatusModel:
      {type: object, properties: {Status: {type: string}, Order: {type: integer}}, required: [Status, Order]}
    TestModel:
      type: object
      properties: {status: {oneOf: [{type: "null"}, {$ref: "#/components/schemas/StatusModel"}]}}
      required: [status]
  requestBodies:
    test: {content: {application/json: {schema: {$ref: "#/components/schemas/testSchema"}}}}
paths:
  /nested/{test}:
    parameters:
      - {name: test, in: path, required: true, schema: {type: string}}
      - {name: x-header-param, in: header, required: true, schema: {type: string}}
      - {name: qs1, in: query, required: true, schema: {type: string}}
    get:
      requestBody: {$ref: "#/components/requestBodies/test"}
      responses: {"200": {description: ok}}MOCK
    post:
      requestBody: {$ref: "#/components/requestBodies/test"}
      responses: {"200": {description: ok}}MOCK
  /renamed/{test}:
    post:
      parameters:
        - {name: x-header-param, in: header, required: true}
        - {name: issuer, in: path, required: true}
        - {name: qs1, in: query, required: true}
      requestBody: {$ref: "#/components/requestBodies/test"}
      responses: {"200": {description: ok}}MOCK
  /list:
    post:
      x-amazon-apigateway-request-validator: body-only
      parameters: [{name: ignored, in: query, required: true}]
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/testSchemaList"}}}}
      responses: {"200": {description: ok}}MOCK
  /status:
    post:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/TestModel"}}}}
      responses: {"200": {description: ok}}MOCK
  /params-only:
    post:
      x-amazon-apigateway-request-validator: params-only
      parameters: [{name: qs1, in: query, required: true}]
      requestBody: {$ref: "#/components/requestBodies/test"}
      responses: {"200": {description: ok}}MOCK
  /inline:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {n: {type: number, minimum: 5, exclusiveMinimum: true}}}
      responses: {"200": {description: ok}}MOCK
""".replace("MOCK", MOCK)
GATEWAY_RESPONSES = """x-amazon-apigateway-gateway-responses:
  BAD_REQUEST_BODY:
    statusCode: "422"
    responseParameters: {gatewayresponse.header.X-Why: "'validation'"}
    responseTemplates:
      application/json: '{"message": $context.error.messageString, "why": "$context.error.validationErrorString"}'
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("validation")
    (root / "plain.yaml").write_text(API)
    (root / "custom.yaml").write_text(API.replace("components:", GATEWAY_RESPONSES + "components:", 1))
    (root / "apiway.yaml").write_text(f"apis:\n  - {{openapi: plain.yaml, id: {PLAIN}}}\n"
                                      f"  - {{openapi: custom.yaml, id: {CUSTOM}}}\n")
    (root / "state").mkdir()
    server = Server(root / "apiway.yaml", root / "state" / "state.db")
    yield server
    server.stop()


def recorded_content(test: str) -> dict[str, Any]:
    return recorded("test_apigateway_common.snapshot.json")[COMMON + test]["recorded-content"]


def call(gateway: Server, method: str, path: str, *, query: str = "qs1=1", header: bool = True,
         body: Any = None, content_type: str = "application/json", api: str = PLAIN) -> Reply:
    headers = {"Content-Type": content_type} if body is not None else {}
    if header:
        headers["x-header-param"] = "test"
    data = body if isinstance(body, str | None) else orjson.dumps(body).decode()
    return gateway.call(method, api, STAGE, f"{path}?{query}" if query else path, headers=headers, body=data)


def assert_rejected(reply: Reply, expected: dict[str, str]) -> None:
    """A validation failure as AWS answers it: 400, the recorded message, BadRequestException."""
    assert reply.status == 400, (reply.status, reply.body)
    assert reply.json() == expected
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("x-amzn-ErrorType") == "BadRequestException"
    assert uuid.UUID(reply.header("x-amzn-RequestId"))


def assert_ok(reply: Reply) -> None:
    assert reply.status == 200, (reply.status, reply.body)
    assert reply.json() == {"data": "ok"}


def test_missing_parameters(gateway: Server) -> None:
    content = recorded_content("test_api_gateway_request_validator")
    assert_rejected(call(gateway, "POST", "/renamed/x", query="", header=False, body={"a": 1, "b": 2}),
                    content["missing-all-required-request-params-post"])
    assert_rejected(call(gateway, "GET", "/nested/x", header=False), content["missing-required-headers-request-params-get"])
    assert_rejected(call(gateway, "GET", "/nested/x", query=""), content["missing-required-qs-request-params-get"])
    assert_rejected(call(gateway, "GET", "/nested/x", query="qs1="), content["missing-required-qs-request-params-get"])


def test_parameters_are_checked_before_the_body(gateway: Server) -> None:
    content = recorded_content("test_api_gateway_request_validator")
    assert_rejected(call(gateway, "POST", "/nested/x", query="", body="not json"),
                    content["missing-required-qs-request-params-get"])


def test_body_against_the_model(gateway: Server) -> None:
    content = recorded_content("test_api_gateway_request_validator")
    assert_ok(call(gateway, "POST", "/nested/x", body={"a": 1, "b": 2.5}))
    assert_rejected(call(gateway, "POST", "/nested/x", body={"a": 1}), content["invalid-request-body"])
    assert_rejected(call(gateway, "POST", "/nested/x", body="{oops"), content["invalid-request-body"])
    # a GET has no body, which is validated as {}: the required properties are missing
    assert_rejected(call(gateway, "GET", "/nested/x"), content["invalid-request-body"])
    # a content type without a model is not validated
    assert_ok(call(gateway, "POST", "/nested/x", body="{oops", content_type="text/plain"))


def test_models_referring_to_models(gateway: Server) -> None:
    refs = recorded_content("test_api_gateway_request_validator_with_ref_models")
    assert call(gateway, "POST", "/list", body=[{"a": 1, "b": 2}]).json() == refs["successful"]
    assert_rejected(call(gateway, "POST", "/list", body=[{"a": 1}]), refs["failed-validation"])
    one_of = recorded_content("test_api_gateway_request_validator_with_ref_one_ofmodels")
    assert call(gateway, "POST", "/status", body={"status": None}).json() == one_of["successful"]
    assert call(gateway, "POST", "/status", body={"status": {"Status": "on", "Order": 1}}).json() == one_of[
        "successful-with-data"]
    assert_rejected(call(gateway, "POST", "/status", body={}), one_of["failed-validation-no-data"])
    assert_rejected(call(gateway, "POST", "/status", body={"status": {"Status": "on"}}), one_of["failed-validation-bad-data"])


def test_each_validator_checks_only_what_it_is_for(gateway: Server) -> None:
    assert_ok(call(gateway, "POST", "/params-only", body="not json"))
    assert call(gateway, "POST", "/params-only", query="", body={}).status == 400
    assert_ok(call(gateway, "POST", "/list", query="", body=[]))  # body-only: the required query is not checked


def test_inline_schema_in_draft_4(gateway: Server) -> None:
    assert_ok(call(gateway, "POST", "/inline", body={"n": 5.1}))
    assert call(gateway, "POST", "/inline", body={"n": 5}).status == 400  # exclusiveMinimum: true


def test_customised_bad_request_body_gets_the_validation_error_string(gateway: Server) -> None:
    reply = call(gateway, "POST", "/nested/x", body={"a": "1"}, api=CUSTOM)
    assert reply.status == 422
    assert reply.header("X-Why") == "validation"
    assert reply.header("x-amzn-ErrorType") == "BadRequestException"
    assert reply.body.decode() == (
        '{"message": "Invalid request body", "why": "[object has missing required properties (["b"]), '
        'instance type (string) does not match any allowed primitive type (allowed: ["number"])]"}')
    # the other types keep their defaults
    assert call(gateway, "POST", "/nested/x", query="", body={}, api=CUSTOM).json() == {
        "message": "Missing required request parameters: [qs1]"}


def test_a_model_that_cannot_compile_stops_the_deployment(tmp_path: Path) -> None:
    broken = API.replace("properties: {a: {type: number}", "properties: {a: {type: number, pattern: '('}", 1)
    (tmp_path / "api.yaml").write_text(broken)
    result = subprocess.run([sys.executable, "-m", "apiway", "validate", str(tmp_path / "api.yaml")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "model 'testSchema': invalid JSON schema" in result.stderr
    assert "Traceback" not in result.stderr

"""OpenAPI/Swagger import: AWS's own exports import unchanged; bad documents are rejected with the
file, line and field of the problem."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
import yaml

from apiway.model.documents import DocumentError, parse_text
from apiway.openapi.importer import import_openapi
from tests.support import recorded


def load(text: str, source: str = "api.yaml"):
    return import_openapi(parse_text(text, source), text, source)


def recorded_exports() -> list[tuple[str, dict]]:
    data = recorded("test_apigateway_extended.snapshot.json")
    out = []
    for key, value in data.items():
        if "export" in key:
            out.append((key.split("::")[-1], value["recorded-content"]["get-export-with-extensions"]["body"]))
    return out


def methods(definition) -> dict[tuple[str, str], dict]:
    return {
        (r["path"], verb): m
        for r in definition["resources"].values()
        for verb, m in (r.get("resourceMethods") or {}).items()
    }


@pytest.mark.parametrize(("name", "export"), recorded_exports(), ids=[n for n, _ in recorded_exports()])
def test_aws_exports_import_unchanged(name: str, export: dict) -> None:
    """Documents AWS produced with `get-export --extensions integrations` import as JSON and as YAML."""
    for text in (orjson.dumps(export).decode(), yaml.safe_dump(export)):
        definition = load(text)
        found = methods(definition)
        assert found, name
        for (path, verb), method in found.items():
            assert method["methodIntegration"]["type"] in ("HTTP", "MOCK", "HTTP_PROXY", "AWS_PROXY", "AWS"), path
            assert verb in ("GET", "POST", "OPTIONS", "PUT", "DELETE", "PATCH", "HEAD", "ANY")
        paths = {r["path"] for r in definition["resources"].values()}
        for path in export["paths"]:
            assert path in paths


def test_resource_tree_and_extensions() -> None:
    text = """
openapi: 3.0.1
info: {title: Shop, version: "2"}
x-amazon-apigateway-binary-media-types: [image/png, "*/*"]
x-amazon-apigateway-gateway-responses:
  DEFAULT_4XX:
    responseParameters: {gatewayresponse.header.Access-Control-Allow-Origin: "'*'"}
paths:
  /items/{id}/parts/{proxy+}:
    x-amazon-apigateway-any-method:
      parameters: [{name: id, in: path, required: true}]
      x-amazon-apigateway-integration:
        type: HTTP_PROXY
        httpMethod: ANY
        uri: http://backend/{proxy}
        passthroughBehavior: when_no_match
"""
    d = load(text)
    by_path = {r["path"]: r for r in d["resources"].values()}
    assert set(by_path) == {"/", "/items", "/items/{id}", "/items/{id}/parts", "/items/{id}/parts/{proxy+}"}
    leaf = by_path["/items/{id}/parts/{proxy+}"]
    assert leaf["pathPart"] == "{proxy+}" and leaf["parentId"] == by_path["/items/{id}/parts"]["id"]
    method = leaf["resourceMethods"]["ANY"]
    assert method["requestParameters"] == {"method.request.path.id": True}
    assert method["methodIntegration"]["passthroughBehavior"] == "WHEN_NO_MATCH"
    assert method["methodIntegration"]["timeoutInMillis"] == 29000
    assert d["restApi"]["binaryMediaTypes"] == ["image/png", "*/*"]
    assert d["restApi"]["name"] == "Shop" and d["restApi"]["version"] == "2"
    assert len(d["restApi"]["id"]) == 10 and d["restApi"]["id"].isalnum()
    assert d["gatewayResponses"]["DEFAULT_4XX"]["responseParameters"]


def test_integration_responses_keyed_by_status_with_patterns() -> None:
    text = """
swagger: "2.0"
info: {title: T}
paths:
  /m:
    get:
      responses: {"200": {description: ok}, "404": {description: nf}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses:
          default: {statusCode: "200"}
          "4\\\\d{2}": {statusCode: "404", responseTemplates: {application/json: '{}'}}
"""
    integration = methods(load(text))[("/m", "GET")]["methodIntegration"]
    assert integration["integrationResponses"]["200"] == {"statusCode": "200"}
    assert integration["integrationResponses"]["404"]["selectionPattern"] == "4\\d{2}"


BAD_CASES = [
    ("type: FOO", "paths./pets.get.x-amazon-apigateway-integration.type: unknown type 'FOO'", 9),
    # a missing field is reported at the line of the object that lacks it
    ("type: http_proxy", "paths./pets.get.x-amazon-apigateway-integration.uri: a uri is required", 8),
    ("type: mock\n          passthroughBehavior: sometimes",
     "paths./pets.get.x-amazon-apigateway-integration.passthroughBehavior: unknown passthrough behavior", 10),
    ("type: mock\n          responses: {default: {statusCode: '99'}}",
     "paths./pets.get.x-amazon-apigateway-integration.responses.default.statusCode: invalid status code", 10),
    ("type: mock\n          timeoutInMillis: 10",
     "paths./pets.get.x-amazon-apigateway-integration.timeoutInMillis: must be an integer of at least 50", 10),
]


@pytest.mark.parametrize(("integration", "message", "line"), BAD_CASES)
def test_bad_integration_names_path_and_line(integration: str, message: str, line: int) -> None:
    text = f"""openapi: 3.0.1
info:
  title: Pets
paths:
  /pets:
    get:
      responses: {{}}
      x-amazon-apigateway-integration:
          {integration}
"""
    with pytest.raises(DocumentError) as exc:
        load(text, "pets.yaml")
    assert message in str(exc.value)
    assert str(exc.value).startswith(f"pets.yaml:{line}: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("openapi: 3.0.1\ninfo: {title: T}\npaths:\n  /a/{p+}/b:\n    get: {}\n",
         "paths./a/{p+}/b: Cannot create a child of a resource with a greedy path variable"),
        ("openapi: 3.0.1\ninfo: {title: T}\npaths:\n  /a b:\n    get: {}\n", "invalid path segment 'a b'"),
        ("openapi: 3.0.1\ninfo: {title: T}\npaths:\n  /{a}:\n    get: {}\n  /{b}:\n    get: {}\n",
         "already has a variable path part -- only one is allowed"),
        ("openapi: 3.0.1\ninfo: {}\npaths: {}\n", "info.title: a title is required"),
        ("hello: world\n", "not an OpenAPI 3.0 or Swagger 2.0 document"),
        ("openapi: 3.0.1\ninfo: {title: T}\nx-amazon-apigateway-gateway-responses: {NOPE: {}}\npaths: {}\n",
         "x-amazon-apigateway-gateway-responses.NOPE: unknown gateway response type 'NOPE'"),
        ("openapi: 3.0.1\ninfo: {title: T}\nx-amazon-apigateway-binary-media-types: image/png\npaths: {}\n",
         "x-amazon-apigateway-binary-media-types: must be a list of media types"),
    ],
)
def test_structural_errors(text: str, message: str) -> None:
    with pytest.raises(DocumentError) as exc:
        load(text)
    assert message in str(exc.value)


def test_syntax_errors_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as exc:
        parse_text("openapi: 3.0.1\ninfo:\n  title: [unclosed\n", "x.yaml")
    assert str(exc.value).startswith("x.yaml:") and "invalid YAML" in str(exc.value)
    with pytest.raises(DocumentError) as exc:
        parse_text('{"openapi": "3.0.1",\n "info": }', "x.json")
    assert str(exc.value).startswith("x.json:2: invalid JSON")


def test_security_schemes_set_api_key_and_authorizers() -> None:
    text = """
openapi: 3.0.1
info: {title: T}
components:
  securitySchemes:
    api_key: {type: apiKey, name: x-api-key, in: header}
    tokenAuth:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer:
        type: token
        authorizerUri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:Auth/invocations
paths:
  /k:
    get:
      security: [{api_key: []}, {tokenAuth: []}]
      x-amazon-apigateway-integration: {type: mock}
"""
    d = load(text)
    method = methods(d)[("/k", "GET")]
    assert method["apiKeyRequired"] is True
    assert method["authorizationType"] == "CUSTOM"
    authorizer = d["authorizers"][method["authorizerId"]]
    assert authorizer["type"] == "TOKEN" and authorizer["identitySource"] == "method.request.header.Authorization"


# -- models, request validators and what else AWS's importer stores -------------------------------------------
IMPORT_SNAPSHOT = "test_apigateway_import.snapshot.json"
SWAGGER_IMPORT = "tests/aws/services/apigateway/test_apigateway_import.py::TestApiGatewayImportRestApi::" \
                 "test_import_swagger_api"


def recorded_swagger_export() -> dict:
    return dict(recorded_exports())["test_export_swagger_openapi[TEST_IMPORT_PETSTORE_SWAGGER]"]


def models_by_name(definition) -> dict[str, dict]:
    return {m["name"]: m for m in definition["models"].values()}


def test_swagger_body_and_response_schemas_become_method_models() -> None:
    """AWS's own Swagger export imports with the request and response models AWS's importer records
    (import snapshot: `method-pets-get` answers with the `Pets` model)."""
    export = recorded_swagger_export()
    d = load(orjson.dumps(export).decode())
    found = methods(d)
    assert found[("/pets", "POST")]["requestModels"] == {"application/json": "NewPet"}
    assert found[("/pets", "POST")]["methodResponses"]["200"]["responseModels"] == {"application/json": "NewPetResponse"}
    recorded_get = recorded(IMPORT_SNAPSHOT)[SWAGGER_IMPORT]["recorded-content"]["method-pets-get"]
    assert found[("/pets", "GET")]["methodResponses"] == recorded_get["methodResponses"]
    assert found[("/pets/{petId}", "OPTIONS")]["methodResponses"]["200"]["responseModels"] == {
        "application/json": "Empty"}


def test_model_references_become_aws_model_urls() -> None:
    """As recorded (`get-models`): references between models are absolute model URLs."""
    export = recorded_swagger_export()
    d = load(orjson.dumps(export).decode())
    api_id = d["restApi"]["id"]
    recorded_models = {m["name"]: m["schema"] for m in
                       recorded(IMPORT_SNAPSHOT)[SWAGGER_IMPORT]["recorded-content"]["get-models"]["items"]}
    for name in ("NewPet", "Pets", "NewPetResponse", "PetType"):
        text = models_by_name(d)[name]["schema"]
        text = text.replace("https://apigateway.amazonaws.com", "<model-base-url>").replace(api_id, "<rest-id:1>")
        assert orjson.loads(text) == recorded_models[name], name
        assert models_by_name(d)[name]["contentType"] == "application/json"


OAS_MODELS = """
openapi: 3.0.1
info: {title: Models}
components:
  schemas:
    Pet: {type: object, required: [name], properties: {name: {type: string}}}
  requestBodies:
    PetBody:
      content:
        application/json: {schema: {$ref: "#/components/schemas/Pet"}}
  responses:
    Listed:
      description: pets
      headers:
        X-Total: {required: true, schema: {type: integer}}
        X-Page: {schema: {type: integer}}
      content:
        application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Pet"}}}
paths:
  /pets:
    get:
      responses:
        "200": {$ref: "#/components/responses/Listed"}
      x-amazon-apigateway-integration: {type: mock}
    post:
      requestBody: {$ref: "#/components/requestBodies/PetBody"}
      responses:
        "201":
          description: created
          content:
            application/json: {schema: {$ref: "#/components/schemas/Pet"}}
            text/plain: {schema: {type: array, items: {$ref: "#/components/schemas/Pet"}}}
      x-amazon-apigateway-integration: {type: mock}
    put:
      requestBody:
        content:
          application/json: {schema: {type: object, properties: {pet: {$ref: "#/components/schemas/Pet"}}}}
          application/xml: {}
      responses: {}
      x-amazon-apigateway-integration: {type: mock}
"""


def test_openapi_3_body_models_refs_and_inline_schemas() -> None:
    d = load(OAS_MODELS)
    found = methods(d)
    assert found[("/pets", "POST")]["requestModels"] == {"application/json": "Pet"}
    listed = found[("/pets", "GET")]["methodResponses"]["200"]
    assert listed["responseParameters"] == {"method.response.header.X-Total": True,
                                            "method.response.header.X-Page": False}
    inline_list = listed["responseModels"]["application/json"]
    created = found[("/pets", "POST")]["methodResponses"]["201"]["responseModels"]
    assert created == {"application/json": "Pet", "text/plain": inline_list}  # one model per distinct schema
    put = found[("/pets", "PUT")]["requestModels"]
    assert list(put) == ["application/json"]  # a media type without a schema names no model
    names = models_by_name(d)
    assert set(names) == {"Pet", inline_list, put["application/json"]}
    for name in (inline_list, put["application/json"]):
        assert name.startswith("MODEL") and len(name) == 11 and name[5:].isalnum()
    url = f"https://apigateway.amazonaws.com/restapis/{d['restApi']['id']}/models/Pet"
    assert orjson.loads(names[inline_list]["schema"]) == {"type": "array", "items": {"$ref": url}}
    assert set(models_by_name(load(OAS_MODELS))) == set(names)  # a digest of the schema: stable across imports


def test_request_body_referring_to_a_missing_model_is_refused() -> None:
    text = OAS_MODELS.replace('requestBody: {$ref: "#/components/requestBodies/PetBody"}',
                              'requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Nope"}}}}')
    with pytest.raises(DocumentError, match=r"schema.\$ref: \$ref '#/components/schemas/Nope' points to nothing"):
        load(text)


VALIDATORS = """
swagger: "2.0"
info: {title: V}
consumes: [application/xml]
x-amazon-apigateway-request-validators:
  all: {validateRequestBody: true, validateRequestParameters: true}
  params: {validateRequestParameters: true}
x-amazon-apigateway-request-validator: all
definitions:
  Pet: {type: object}
paths:
  /a:
    post:
      parameters: [{in: body, name: Pet, schema: {$ref: "#/definitions/Pet"}}]
      x-amazon-apigateway-integration: {type: mock}
    get:
      x-amazon-apigateway-request-validator: params
      consumes: [text/plain, application/json]
      parameters: [{in: body, name: Pet, schema: {type: object, required: [a]}}]
      x-amazon-apigateway-integration: {type: mock}
"""


def test_request_validators_by_id_with_the_root_default_and_per_operation_choice() -> None:
    d = load(VALIDATORS)
    validators = d["requestValidators"]
    assert {v["name"] for v in validators.values()} == {"all", "params"}
    for validator_id, validator in validators.items():
        assert validator["id"] == validator_id and len(validator_id) == 6 and validator_id.isalnum()
    assert next(v for v in validators.values() if v["name"] == "params") == {
        "id": next(k for k, v in validators.items() if v["name"] == "params"), "name": "params",
        "validateRequestBody": False, "validateRequestParameters": True}
    found = methods(d)
    assert validators[found[("/a", "POST")]["requestValidatorId"]]["name"] == "all"
    assert validators[found[("/a", "GET")]["requestValidatorId"]]["name"] == "params"
    # Swagger files the body schema under one type: JSON when declared (or nothing is), else the first one
    assert found[("/a", "POST")]["requestModels"] == {"application/xml": "Pet"}
    assert list(found[("/a", "GET")]["requestModels"]) == ["application/json"]


def test_unknown_request_validator_is_refused() -> None:
    key = "x-amazon-apigateway-request-validator"
    with pytest.raises(DocumentError, match=re.escape(f"paths./a.get.{key}: unknown request validator 'nope'")):
        load(VALIDATORS.replace(f"{key}: params", f"{key}: nope"))
    with pytest.raises(DocumentError, match=re.escape(f"{key}: unknown request validator 'x'")):
        load(VALIDATORS.replace(f"{key}: all", f"{key}: x"))


def test_sigv4_scheme_means_iam_not_an_api_key() -> None:
    text = """
openapi: 3.0.1
info: {title: T}
components:
  securitySchemes:
    sigv4: {type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4}
paths:
  /k:
    get:
      security: [{sigv4: []}]
      x-amazon-apigateway-integration: {type: mock}
"""
    method = methods(load(text))[("/k", "GET")]
    assert method["authorizationType"] == "AWS_IAM" and method["apiKeyRequired"] is False


def test_endpoint_configuration_on_the_server_object() -> None:
    text = """
openapi: 3.0.1
info: {title: T}
servers:
  - url: https://example.com/{basePath}
    x-amazon-apigateway-endpoint-configuration: {disableExecuteApiEndpoint: true, vpcEndpointIds: [vpce-1]}
paths: {}
"""
    api = load(text)["restApi"]
    assert api["disableExecuteApiEndpoint"] is True
    assert api["endpointConfiguration"] == {"types": ["EDGE"], "vpcEndpointIds": ["vpce-1"]}
    with pytest.raises(DocumentError, match=re.escape("servers.0.x-amazon-apigateway-endpoint-configuration.types.0: "
                                                      "unknown endpoint type 'NOPE'")):
        load(text.replace("{disableExecuteApiEndpoint: true", "{types: [NOPE]"))

"""HTTP API OpenAPI import and export (openapi/http_importer.py, openapi/http_exporter.py): what each part of a
document becomes, the errors and warnings AWS's importer gives, and exports that import back into the same
API."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
import yaml

from apiway.model.documents import DocumentError, parse_text
from apiway.model.http import HttpApiDefinition, integration_id_of
from apiway.openapi.http_exporter import export_http_api
from apiway.openapi.http_importer import import_http_api, is_http_api_document, locate_record_error
from apiway.store.http_deployments import new_stage

LAMBDA = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:{}/invocations"

PETS = f"""openapi: 3.0.1
info: {{title: Pets, version: "1.0", description: A pet store}}
tags:
  - {{name: team, x-amazon-apigateway-tag-value: pets}}
paths:
  /pets:
    get:
      operationId: ListPets
      security: [{{jwt: [pets/read]}}]
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: {LAMBDA.format("PetsFn")}
        payloadFormatVersion: 2.0
    post:
      security: [{{lam: []}}]
      x-amazon-apigateway-integration: {{$ref: "#/components/x-amazon-apigateway-integrations/shared"}}
  /pets/{{id}}:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-auth: {{type: AWS_IAM}}
      x-amazon-apigateway-integration: {{$ref: "#/components/x-amazon-apigateway-integrations/shared"}}
  /proxy/{{proxy+}}:
    get:
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: http://127.0.0.1:9090/{{proxy}}
        timeoutInMillis: 5000
        requestParameters: {{"overwrite:header.x-a": "$request.path.proxy"}}
        responseParameters: {{200: {{"overwrite:header.x-b": "1"}}}}
        tlsConfig: {{serverNameToVerify: backend.example.com}}
  /$default:
    x-amazon-apigateway-any-method:
      isDefaultRoute: true
      x-amazon-apigateway-integration:
        {{type: http_proxy, httpMethod: ANY, uri: "http://127.0.0.1:9090", payloadFormatVersion: "1.0"}}
components:
  x-amazon-apigateway-integrations:
    shared: {{type: aws_proxy, uri: "{LAMBDA.format("Other")}", payloadFormatVersion: "1.0"}}
    spare: {{type: aws_proxy, uri: "{LAMBDA.format("Spare")}", payloadFormatVersion: "2.0"}}
  securitySchemes:
    jwt:
      type: oauth2
      x-amazon-apigateway-authorizer:
        type: jwt
        identitySource: $request.header.Authorization
        jwtConfiguration: {{issuer: "https://issuer.example.com", audience: [a, b]}}
    lam:
      type: apiKey
      name: x-token
      in: header
      x-amazon-apigateway-authorizer:
        type: request
        identitySource: method.request.header.x-token, $request.querystring.t
        authorizerUri: {LAMBDA.format("Auth")}
        authorizerPayloadFormatVersion: "2.0"
        enableSimpleResponses: true
        authorizerResultTtlInSeconds: 60
x-amazon-apigateway-cors: {{allowOrigins: ["https://a.example"], allowMethods: [GET], maxAge: 10}}
"""


def load(text: str, **kw: Any) -> tuple[HttpApiDefinition, list[str]]:
    return import_http_api(parse_text(text, "api.yaml"), text, "api.yaml", "abcdefghij", **kw)


def routes(definition: HttpApiDefinition) -> dict[str, dict[str, Any]]:
    return {r["routeKey"]: r for r in definition["routes"].values()}


def integration(definition: HttpApiDefinition, route_key: str) -> dict[str, Any]:
    integration_id = integration_id_of(routes(definition)[route_key])
    assert integration_id is not None
    return dict(definition["integrations"][integration_id])


def canonical(definition: HttpApiDefinition) -> tuple[Any, ...]:
    """The definition with its ids replaced by what they point at, and its creation date left out."""
    def strip(record: Any, *keys: str) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k not in keys}

    names = {a_id: a["name"] for a_id, a in definition["authorizers"].items()}
    by_key = {}
    for route in definition["routes"].values():
        target = integration_id_of(route)
        by_key[route["routeKey"]] = {**strip(route, "routeId", "target", "authorizerId"),
                                     "integration": strip(definition["integrations"][target], "integrationId")
                                     if target else None, "authorizer": names.get(route.get("authorizerId", ""))}
    integrations = sorted(orjson.dumps(strip(i, "integrationId"), option=orjson.OPT_SORT_KEYS)
                          for i in definition["integrations"].values())
    authorizers = {a["name"]: strip(a, "authorizerId") for a in definition["authorizers"].values()}
    return strip(definition["api"], "apiId", "apiEndpoint", "createdDate"), by_key, integrations, authorizers


def fails(text: str, **kw: Any) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        load(text, **kw)
    return caught.value


# -- import ------------------------------------------------------------------------------------------------

def test_routes_integrations_and_api_fields() -> None:
    definition, warnings = load(PETS)
    assert warnings == []
    api = definition["api"]
    assert (api["name"], api["description"], api["version"], api["protocolType"]) == ("Pets", "A pet store", "1.0",
                                                                                      "HTTP")
    assert api["routeSelectionExpression"] == "$request.method $request.path"  # as AWS answers
    assert api["tags"] == {"team": "pets"}
    assert api["corsConfiguration"] == {"allowOrigins": ["https://a.example"], "allowMethods": ["GET"], "maxAge": 10}
    assert set(routes(definition)) == {"GET /pets", "POST /pets", "ANY /pets/{id}", "GET /proxy/{proxy+}", "$default"}
    assert routes(definition)["GET /pets"]["operationName"] == "ListPets"
    lam = integration(definition, "GET /pets")
    assert lam["integrationType"] == "AWS_PROXY" and lam["payloadFormatVersion"] == "2.0"  # from the number 2.0
    assert lam["integrationMethod"] == "POST" and lam["timeoutInMillis"] == 30000
    assert lam["connectionType"] == "INTERNET"
    proxy = integration(definition, "GET /proxy/{proxy+}")
    assert proxy["integrationType"] == "HTTP_PROXY" and proxy["integrationMethod"] == "GET"
    assert proxy["timeoutInMillis"] == 5000 and proxy["integrationUri"] == "http://127.0.0.1:9090/{proxy}"
    assert proxy["requestParameters"] == {"overwrite:header.x-a": "$request.path.proxy"}
    assert proxy["responseParameters"] == {"200": {"overwrite:header.x-b": "1"}}  # YAML's 200 taken as "200"
    assert proxy["tlsConfig"] == {"serverNameToVerify": "backend.example.com"}


def test_components_integrations_are_shared_and_unused_ones_kept() -> None:
    definition, _ = load(PETS)
    by_key = routes(definition)
    assert by_key["POST /pets"]["target"] == by_key["ANY /pets/{id}"]["target"]
    uris = sorted(i.get("integrationUri", "") for i in definition["integrations"].values())
    assert len(uris) == 5 and sum("function:Spare" in u for u in uris) == 1


def test_security_schemes_become_authorizers_and_route_authorization() -> None:
    definition, _ = load(PETS)
    by_key = routes(definition)
    authorizers = {a["name"]: a for a in definition["authorizers"].values()}
    jwt, lam = authorizers["jwt"], authorizers["lam"]
    assert jwt["authorizerType"] == "JWT" and jwt["identitySource"] == ["$request.header.Authorization"]
    assert jwt["jwtConfiguration"] == {"issuer": "https://issuer.example.com", "audience": ["a", "b"]}
    assert lam["authorizerType"] == "REQUEST"
    assert lam["identitySource"] == ["$request.header.x-token", "$request.querystring.t"]  # REST form converted
    assert (lam["authorizerPayloadFormatVersion"], lam["enableSimpleResponses"],
            lam["authorizerResultTtlInSeconds"]) == ("2.0", True, 60)
    assert by_key["GET /pets"]["authorizationType"] == "JWT"
    assert by_key["GET /pets"]["authorizerId"] == jwt["authorizerId"]
    assert by_key["GET /pets"]["authorizationScopes"] == ["pets/read"]
    assert by_key["POST /pets"]["authorizationType"] == "CUSTOM"
    assert by_key["POST /pets"]["authorizerId"] == lam["authorizerId"]
    assert by_key["ANY /pets/{id}"]["authorizationType"] == "AWS_IAM"
    assert by_key["$default"]["authorizationType"] == "NONE"


def test_document_security_applies_unless_an_operation_has_its_own() -> None:
    text = PETS.replace("paths:\n", "security: [{jwt: []}]\npaths:\n", 1)
    by_key = routes(load(text)[0])
    assert by_key["$default"]["authorizationType"] == "JWT"
    assert by_key["POST /pets"]["authorizationType"] == "CUSTOM"
    opened = text.replace("      isDefaultRoute: true\n", "      isDefaultRoute: true\n      security: []\n")
    assert routes(load(opened)[0])["$default"]["authorizationType"] == "NONE"


def test_sigv4_scheme_and_openid_connect_issuer() -> None:
    text = """openapi: 3.0.1
info: {title: T}
paths:
  /a:
    get:
      security: [{sigv4: []}]
  /b:
    get:
      security: [{oidc: [s1]}]
components:
  securitySchemes:
    sigv4: {type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4}
    oidc:
      type: openIdConnect
      openIdConnectUrl: https://idp.example.com/pool/.well-known/openid-configuration
      x-amazon-apigateway-authorizer: {type: jwt, jwtConfiguration: {audience: [x]}}
"""
    definition, _ = load(text)
    assert routes(definition)["GET /a"]["authorizationType"] == "AWS_IAM"
    (authorizer,) = definition["authorizers"].values()
    assert authorizer["jwtConfiguration"]["issuer"] == "https://idp.example.com/pool"
    assert routes(definition)["GET /b"]["authorizationScopes"] == ["s1"]


@pytest.mark.parametrize(("mode", "expected"), [("ignore", "GET /pets"), ("prepend", "GET /v1/api/pets"),
                                                ("split", "GET /api/pets")])
def test_base_path_modes(mode: str, expected: str) -> None:
    text = """openapi: 3.0.1
info: {title: T}
servers: [{url: "https://example.com/{basePath}", variables: {basePath: {default: v1/api}}}]
paths:
  /pets: {get: {}}
"""
    assert list(routes(load(text, base_path=mode)[0])) == [expected]


def test_payload_format_defaults_to_1_0_and_missing_paths_make_an_empty_api() -> None:
    text = """openapi: 3.0.1
info: {title: T}
paths:
  /a: {get: {x-amazon-apigateway-integration: {type: AWS_PROXY, uri: "arn:aws:lambda:us-east-1:1:function:F"}}}
"""
    assert integration(load(text)[0], "GET /a")["payloadFormatVersion"] == "1.0"
    empty, _ = load("openapi: 3.0.1\ninfo: {title: Empty}\n")
    assert empty["routes"] == {} and empty["api"]["name"] == "Empty"


# -- errors and warnings ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "where", "message"), [
    (("openapi: 3.0.1", "swagger: '2.0'"), "api.yaml:1: swagger:", "OpenAPI 3.0 documents only"),
    (("payloadFormatVersion: \"1.0\"}\ncomponents", "payloadFormatVersion: \"2.0\"}\ncomponents"),
     "paths./$default.x-amazon-apigateway-any-method.x-amazon-apigateway-integration.payloadFormatVersion",
     "http_proxy integrations use payload format 1.0 only"),
    (("timeoutInMillis: 5000", "timeoutInMillis: 40000"), "api.yaml:27: paths./proxy/{proxy+}.get."
     "x-amazon-apigateway-integration.timeoutInMillis", "from 50 to 30000"),
    (("security: [{jwt: [pets/read]}]", "security: [{jwt: []}, {lam: []}]"), "api.yaml:9: paths./pets.get.security",
     "one security requirement only"),
    (("integrations/shared\"}\n  /pets", "integrations/nope\"}\n  /pets"), "paths./pets.post."
     "x-amazon-apigateway-integration.$ref", "names no integration"),
    (("/proxy/{proxy+}:", "/proxy/{proxy+}/x:"), "api.yaml:21: paths./proxy/{proxy+}/x", "must be the last segment"),
    (("maxAge: 10}", "maxAge: 10, allowCredentials: true, allowOrigins: ['*']}"),
     "x-amazon-apigateway-cors.allowCredentials", "allow-credentials is not supported if 'allow-origin' is *"),
    (("type: http_proxy\n        httpMethod: GET", "type: foo\n        httpMethod: GET"),
     "api.yaml:24: paths./proxy/{proxy+}.get.x-amazon-apigateway-integration.type", "unknown type 'foo'"),
    (("enableSimpleResponses: true", "enableSimpleResponses: 'yes'"),
     "components.securitySchemes.lam.x-amazon-apigateway-authorizer.enableSimpleResponses", "must be a boolean"),
    (("        authorizerPayloadFormatVersion: \"2.0\"\n", ""),
     "components.securitySchemes.lam.x-amazon-apigateway-authorizer.authorizerPayloadFormatVersion", "required"),
    (("info: {title: Pets, ", "info: {"), "info.title", "a title is required"),
])
def test_errors_name_line_and_field(change: tuple[str, str], where: str, message: str) -> None:
    assert change[0] in PETS
    error = fails(PETS.replace(*change))
    assert where in str(error) and message in str(error)


def test_two_default_routes_are_an_error() -> None:
    text = PETS.replace("  /proxy/{proxy+}:\n", "  /other:\n    x-amazon-apigateway-any-method: {isDefaultRoute: true}\n"
                                                "  /proxy/{proxy+}:\n")
    assert "route '$default' is declared twice" in str(fails(text))


def test_rest_only_parts_are_warnings_and_skipped() -> None:
    text = PETS.replace("type: http_proxy\n        httpMethod: GET", "type: aws\n        httpMethod: GET").replace(
        "security: [{lam: []}]", "security: [{nope: []}]")
    definition, warnings = load(text)
    assert "GET /proxy/{proxy+}" in routes(definition) and "target" not in routes(definition)["GET /proxy/{proxy+}"]
    assert routes(definition)["POST /pets"]["authorizationType"] == "NONE"
    assert any(w.startswith("api.yaml:24: paths./proxy/{proxy+}.get.x-amazon-apigateway-integration.type: HTTP APIs "
                            "support aws_proxy and http_proxy") for w in warnings)
    assert any("security scheme 'nope' is not declared" in w for w in warnings)
    with pytest.raises(DocumentError, match=r"api.yaml:15: .*security scheme 'nope' is not declared"):
        load(text, strict=True)  # project files: the first warning is an error


def test_token_authorizers_are_skipped_with_a_warning() -> None:
    text = PETS.replace("type: request\n", "type: token\n")
    definition, warnings = load(text)
    assert {a["name"] for a in definition["authorizers"].values()} == {"jwt"}
    assert any("jwt and request authorizers only" in w for w in warnings)


def test_bad_base_path_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="ignore, prepend, split"):
        load(PETS, base_path="shift")


# -- export and round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize("output", ["JSON", "YAML"])
def test_export_imports_back_into_the_same_api(output: str) -> None:
    first, _ = load(PETS)
    exported = export_http_api(first, None, True, output)
    text = exported.decode()
    doc = json.loads(text) if output == "JSON" else yaml.safe_load(text)
    second, warnings = import_http_api(doc, text, "export", "zyxwvutsrq")
    assert warnings == []
    assert canonical(second) == canonical(first)
    assert len(second["integrations"]) == len(first["integrations"])  # the shared one still shared


def test_export_shape_follows_aws() -> None:
    definition, _ = load(PETS)
    doc = json.loads(export_http_api(definition, None, True, "JSON"))
    assert doc["openapi"] == "3.0.1" and doc["x-amazon-apigateway-importexport-version"] == "1.0"
    assert doc["servers"] == [{"url": "https://abcdefghij.execute-api.us-east-1.amazonaws.com/{basePath}",
                               "variables": {"basePath": {"default": ""}}}]
    get = doc["paths"]["/pets"]["get"]
    assert get["responses"] == {"default": {"description": "Default response for GET /pets"}}
    assert get["x-amazon-apigateway-integration"] == {"payloadFormatVersion": "2.0", "type": "aws_proxy",
                                                      "httpMethod": "POST", "uri": LAMBDA.format("PetsFn"),
                                                      "connectionType": "INTERNET"}
    assert get["security"] == [{"jwt": ["pets/read"]}]
    assert doc["paths"]["/pets/{id}"]["parameters"] == [
        {"name": "id", "in": "path", "description": "Generated path parameter for id", "required": True,
         "schema": {"type": "string"}}]
    assert doc["paths"]["/pets/{id}"]["x-amazon-apigateway-any-method"]["security"] == [{"sigv4": []}]
    assert doc["paths"]["/proxy/{proxy+}"]["get"]["x-amazon-apigateway-integration"]["timeoutInMillis"] == 5000
    default = doc["paths"]["/$default"]["x-amazon-apigateway-any-method"]
    assert default["isDefaultRoute"] is True
    assert list(doc["paths"])[-1] == "/$default"
    schemes = doc["components"]["securitySchemes"]
    assert schemes["jwt"]["type"] == "oauth2" and schemes["jwt"]["x-amazon-apigateway-authorizer"]["type"] == "jwt"
    assert schemes["lam"]["x-amazon-apigateway-authorizer"]["identitySource"] == (
        "$request.header.x-token, $request.querystring.t")
    assert schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    unused = [k for k in doc["components"]["x-amazon-apigateway-integrations"] if k.startswith("unusedIntegration_")]
    assert len(unused) == 1
    assert doc["x-amazon-apigateway-cors"] == {"allowOrigins": ["https://a.example"], "allowMethods": ["GET"],
                                               "maxAge": 10}
    assert doc["tags"] == [{"name": "team", "x-amazon-apigateway-tag-value": "pets"}]


def test_export_without_extensions_is_plain_openapi() -> None:
    definition, _ = load(PETS)
    text = export_http_api(definition, None, False, "JSON").decode()
    for extension in ("integration", "authorizer", "authtype", "cors", "importexport-version", "tag-value"):
        assert f"x-amazon-apigateway-{extension}" not in text
    doc = json.loads(text)
    assert "x-amazon-apigateway-any-method" in doc["paths"]["/pets/{id}"]  # how OpenAPI writes a route for ANY
    assert set(doc["paths"]["/pets"]) == {"get", "post"}
    assert doc["components"]["securitySchemes"]["jwt"] == {"type": "oauth2", "flows": {}}


def test_stage_export_names_the_stage_as_base_path_and_dates_the_version() -> None:
    definition, _ = load(PETS.replace('version: "1.0", ', ""))
    stage = new_stage("abcdefghij", "prod", lastUpdatedDate="2024-03-16T10:41:05Z")
    doc = yaml.safe_load(export_http_api(definition, stage, True, "YAML", host="http://localhost:8080"))
    assert doc["servers"][0] == {"url": "http://localhost:8080/{basePath}", "variables": {"basePath": {"default": "prod"}}}
    assert doc["info"]["version"] == "2024-03-16 10:41:05UTC"
    default = new_stage("abcdefghij", "$default")
    doc = json.loads(export_http_api(definition, default, True, "JSON", host="api.local:8080"))
    assert doc["servers"][0]["url"] == "http://api.local:8080/{basePath}"
    assert doc["servers"][0]["variables"]["basePath"]["default"] == ""


def test_an_aws_export_with_basepath_prepend_keeps_its_routes() -> None:
    definition, _ = load(PETS)
    text = export_http_api(definition, new_stage("abcdefghij", "prod"), True, "JSON").decode()
    prepended, _ = import_http_api(json.loads(text), text, "export", "x", "prepend")
    assert "GET /prod/pets" in routes(prepended) and "$default" in routes(prepended)
    split, _ = import_http_api(json.loads(text), text, "export", "x", "split")
    assert "GET /pets" in routes(split)


# -- detection -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("doc", "expected"), [
    ({"openapi": "3.0.1", "x-amazon-apigateway-importexport-version": "1.0"}, True),
    ({"openapi": "3.0.1", "x-amazon-apigateway-cors": {}}, True),
    ({"openapi": "3.0.1", "paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"payloadFormatVersion": "2.0"}}}}},
     True),
    ({"openapi": "3.0.1", "components": {"x-amazon-apigateway-integrations": {}}}, True),
    ({"openapi": "3.0.1", "paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"type": "mock"}}}}}, False),
    ({"swagger": "2.0", "x-amazon-apigateway-cors": {}}, False),
    ("not a document", False),
])
def test_http_api_documents_are_detected(doc: Any, expected: bool) -> None:
    assert is_http_api_document(doc) is expected


@pytest.mark.parametrize("doc", [
    [], "text", {"openapi": "3.0.1"}, {"openapi": "3.0.1", "info": []}, {"openapi": "3.0.1", "info": {"title": 5}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "paths": ["/a"]},
    {"openapi": "3.0.1", "info": {"title": "T"}, "paths": {"/a": []}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "paths": {"/a": {"get": []}}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "paths": {"/a": {"get": {"security": {"jwt": []}}}}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "paths": {"/a": {"get": {"security": ["jwt"]}}}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "paths": {"/a": {"get": {"x-amazon-apigateway-integration": []}}}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "paths": {"/a": {"get": {"x-amazon-apigateway-auth": "x"}}}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "paths": {"/a": {"get": {"x-amazon-apigateway-integration": {
        "type": "aws_proxy", "uri": "u", "payloadFormatVersion": [], "requestParameters": {"a": 1}}}}}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "components": ["schemas"]},
    {"openapi": "3.0.1", "info": {"title": "T"}, "components": {"securitySchemes": {"a": {
        "x-amazon-apigateway-authorizer": {"type": ["jwt"]}}}}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "components": {"securitySchemes": {"a": {
        "x-amazon-apigateway-authorizer": {"type": "jwt", "identitySource": 3}}}}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "components": {"x-amazon-apigateway-integrations": {"a": 1}}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "x-amazon-apigateway-cors": {"maxAge": "1"}},
    {"openapi": "3.0.1", "info": {"title": "T"}, "tags": [1]},
])
def test_malformed_documents_are_document_errors(doc: Any) -> None:
    text = json.dumps(doc)
    with pytest.raises(DocumentError):
        import_http_api(doc, text, "api.json", "abcdefghij", "prepend")


def test_odd_server_objects_do_not_break_base_paths() -> None:
    doc = {"openapi": "3.0.1", "info": {"title": "T"}, "servers": [{"url": 5, "variables": []}],
           "paths": {"/a": {"get": {}}}}
    definition, _ = import_http_api(doc, json.dumps(doc), "api.json", "abcdefghij", "split")
    assert list(routes(definition)) == ["GET /a"]


@pytest.mark.parametrize("change", [
    ("x-amazon-apigateway-cors: {allowOrigins", "x-amazon-apigateway-cors: {}\nx-unused: {allowOrigins"),
    ("requestParameters: {", "requestParameters: {}\n        x-unused: {"),
    ("isDefaultRoute: true\n", "isDefaultRoute: true\n      security: [{jwt: []}]\n"),
])
def test_edge_values_survive_a_round_trip(change: tuple[str, str]) -> None:
    assert change[0] in PETS
    first, _ = load(PETS.replace(*change))
    text = export_http_api(first, None, True, "YAML").decode()
    assert canonical(import_http_api(yaml.safe_load(text), text, "export", "b")[0]) == canonical(first)


def test_errors_about_imported_records_are_placed_in_the_document() -> None:
    origins: dict[str, tuple[Any, ...]] = {}
    definition, _ = load(PETS, origins=origins)
    by_key = routes(definition)
    proxy = integration_id_of(by_key["GET /proxy/{proxy+}"])
    shared = integration_id_of(by_key["POST /pets"])
    assert locate_record_error(f"integrations/{proxy}.requestParameters.overwrite:header.x-a: reserved", origins) == (
        ("paths", "/proxy/{proxy+}", "get", "x-amazon-apigateway-integration", "requestParameters",
         "overwrite:header.x-a"), "reserved")
    assert locate_record_error(f"integrations/{shared}.integrationUri: unknown function 'Other'", origins) == (
        ("components", "x-amazon-apigateway-integrations", "shared", "uri"), "unknown function 'Other'")
    route = by_key["GET /pets"]["routeId"]
    assert locate_record_error(f"routes/{route} (GET /pets): bad", origins) == (("paths", "/pets", "get"), "bad")
    assert locate_record_error("integrations/unknown1.integrationUri: x", origins) is None

"""OpenAPI/Swagger export: documents AWS exported (recorded) come out the same from our export, and every
OpenAPI file the project has survives import → export → import in both export types.

What AWS does that we deliberately don't reproduce: the order of keys and paths (AWS lists `/` last in
OpenAPI 3 exports and orders integration keys differently between recordings), so comparisons are of
parsed documents, where only list order counts. The recordings replace the API id, region and the dated
`info.version` with placeholders; those are mapped back before comparing.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from apiway.model.aws import REGION
from apiway.model.documents import load_document, parse_text
from apiway.model.rest import ApiDefinition
from apiway.openapi.exporter import export_filename, export_openapi, render_export
from apiway.openapi.importer import OPERATION_KEYS, import_openapi
from apiway.store.deployments import stage_record
from tests.support import REPO, recorded

X = "x-amazon-apigateway-"
FIXTURES = [
    "examples/petstore/petstore.yaml",
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "tests/e2e/fixtures").rglob("*.yaml")),
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "tests/conformance/fixtures").rglob("*.yaml")),
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "tests/unit/fixtures").glob("export_*.yaml")),
]
FULL = "tests/unit/fixtures/export_full.yaml"
ALL_EXTENSIONS = {"apigateway", "authorizers"}
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MODEL_REF_RE = re.compile(r"^(?:https?://[^/]+/restapis/[^/]+/models/|#/definitions/|#/components/schemas/)([^/]+)$")
RECORDED_API_ID = "<api-id:1>"


def is_openapi(path: str) -> bool:
    doc = yaml.safe_load((REPO / path).read_text())
    return isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc)


OPENAPI_FIXTURES = [p for p in FIXTURES if is_openapi(p)]


# -- what AWS's importer records and ours does not yet ---------------------------------------------------
def model_name(schema: Any) -> str | None:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    match = MODEL_REF_RE.match(ref) if isinstance(ref, str) else None
    return match.group(1) if match else None


def swagger_models(schema: Any, declared: list[str] | None) -> dict[str, str]:
    """A Swagger body/response schema names one model; it is filed under JSON unless only others are declared."""
    name = model_name(schema)
    if not name:
        return {}
    ctype = "application/json" if not declared or "application/json" in declared else declared[0]
    return {ctype: name}


def content_models(content: Any) -> dict[str, str]:
    return {ctype: name for ctype, media in (content or {}).items()
            if (name := model_name((media or {}).get("schema")))}


def add_aws_import_extras(doc: dict, definition: ApiDefinition) -> ApiDefinition:
    """Fill in what AWS's importer stores from a document but `import_openapi` does not (yet): request and
    response models and per-method request validators. Without this neither the recordings nor the round
    trip could check how models and validators are exported."""
    swagger = "swagger" in doc
    validators = {v["name"]: v["id"] for v in definition["requestValidators"].values()}
    by_path = {r["path"]: r for r in definition["resources"].values()}
    for path, item in (doc.get("paths") or {}).items():
        methods = by_path["/" + "/".join(p for p in path.split("/") if p)].get("resourceMethods") or {}
        for key, op in item.items():
            verb = OPERATION_KEYS.get(key.lower())
            if verb is None:
                continue
            method = methods[verb]
            validator = op.get(X + "request-validator", doc.get(X + "request-validator"))
            if validator in validators:
                method["requestValidatorId"] = validators[validator]
            if swagger:
                body = next((p for p in op.get("parameters") or [] if p.get("in") == "body"), {})
                request = swagger_models(body.get("schema"), op.get("consumes") or doc.get("consumes"))
            else:
                request = content_models((op.get("requestBody") or {}).get("content"))
            if request:
                method["requestModels"] = request
            for code, response in (op.get("responses") or {}).items():
                models = (swagger_models(response.get("schema"), op.get("produces") or doc.get("produces"))
                          if swagger else content_models(response.get("content")))
                if models and str(code) in method.get("methodResponses", {}):
                    method["methodResponses"][str(code)]["responseModels"] = models
    return definition


def load(doc: dict, api_id: str | None = None) -> ApiDefinition:
    return add_aws_import_extras(doc, import_openapi(copy.deepcopy(doc), orjson.dumps(doc).decode(), "doc", api_id))


def load_file(path: str) -> ApiDefinition:
    doc, text = load_document(REPO / path)
    return add_aws_import_extras(doc, import_openapi(doc, text, path))


# -- comparing definitions apart from ids -----------------------------------------------------------------
def comparable_refs(node: Any) -> Any:
    """Model schemas with every model reference reduced to the model's name (ids and document types differ)."""
    if isinstance(node, dict):
        out = {k: comparable_refs(v) for k, v in node.items() if k != "$schema"}
        if isinstance(node.get("$ref"), str) and MODEL_REF_RE.match(node["$ref"]):
            out["$ref"] = "model:" + MODEL_REF_RE.match(node["$ref"]).group(1)
        return out
    if isinstance(node, list):
        return [comparable_refs(v) for v in node]
    return node


def comparable_method(method: dict, definition: ApiDefinition) -> dict:
    out = copy.deepcopy(method)
    for key, records in (("authorizerId", "authorizers"), ("requestValidatorId", "requestValidators")):
        if key in out:  # by name: ids differ after a re-import
            out[key] = next(r["name"] for r in definition[records].values() if r["id"] == out[key])
    integration = out.get("methodIntegration") or {}
    if integration.get("connectionType") == "INTERNET":  # AWS's default, which exports leave out
        del integration["connectionType"]
    return out


def comparable(definition: ApiDefinition) -> dict:
    api = definition["restApi"]
    settings = {k: api.get(k) for k in ("name", "description", "apiKeySource", "binaryMediaTypes",
                                        "minimumCompressionSize", "disableExecuteApiEndpoint")}
    settings["policy"] = orjson.loads(api["policy"]) if api.get("policy") else None
    # Endpoint types are an import parameter on AWS, not part of the document.
    settings["vpcEndpointIds"] = api["endpointConfiguration"].get("vpcEndpointIds")
    return {
        "api": settings,
        "resources": {
            r["path"]: {verb: comparable_method(m, definition) for verb, m in (r.get("resourceMethods") or {}).items()}
            for r in definition["resources"].values()
        },
        "models": {m["name"]: (m["contentType"], comparable_refs(orjson.loads(m["schema"])))
                   for m in definition["models"].values()},
        "validators": {v["name"]: {k: x for k, x in v.items() if k != "id"}
                       for v in definition["requestValidators"].values()},
        "authorizers": {a["name"]: {k: x for k, x in a.items() if k != "id"} for a in definition["authorizers"].values()},
        "gatewayResponses": definition["gatewayResponses"],
    }


def round_trip(definition: ApiDefinition, export_type: str, extensions: set[str] = ALL_EXTENSIONS) -> ApiDefinition:
    stage = stage_record(definition["restApi"]["id"], "dev", "d1", {})
    exported = export_openapi(definition, stage, export_type, extensions)
    return load(orjson.loads(orjson.dumps(exported)))  # through JSON, as a client would read it


# -- round trip ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("export_type", ["oas30", "swagger"])
@pytest.mark.parametrize("path", OPENAPI_FIXTURES)
def test_round_trip_project_files(path: str, export_type: str) -> None:
    original = load_file(path)
    again = round_trip(original, export_type)
    assert comparable(again) == comparable(original)
    if original["restApi"].get("version"):
        assert again["restApi"]["version"] == original["restApi"]["version"]
    else:  # AWS dates the export of an API without a version, and a re-import keeps that date
        assert DATE_RE.match(again["restApi"]["version"])


def test_fixtures_found() -> None:
    assert FULL in OPENAPI_FIXTURES and "examples/petstore/petstore.yaml" in OPENAPI_FIXTURES
    assert len(OPENAPI_FIXTURES) >= 10


def test_full_fixture_really_uses_models_validators_and_authorizers() -> None:
    """Guards the round trip against comparing two empty things."""
    d = load_file(FULL)
    methods = {(r["path"], v): m for r in d["resources"].values() for v, m in (r.get("resourceMethods") or {}).items()}
    assert methods[("/pets", "POST")]["requestModels"] == {"application/json": "Pet"}
    assert methods[("/pets", "POST")]["authorizationScopes"] == ["email", "openid"]
    assert methods[("/pets", "GET")]["methodResponses"]["500"]["responseModels"] == {"application/json": "Error"}
    assert {m.get("requestValidatorId") is not None for m in methods.values()} == {True}
    assert {m["authorizationType"] for m in methods.values()} == {"NONE", "CUSTOM", "COGNITO_USER_POOLS"}
    assert len(d["authorizers"]) == 3 and len(d["models"]) == 3 and d["restApi"]["apiKeySource"] == "AUTHORIZER"


# -- ground truth: what AWS exported ------------------------------------------------------------------------
def recorded_apis() -> dict[str, dict[str, dict]]:
    """Test parameter (the API) → export type → that test's recorded content."""
    out: dict[str, dict[str, dict]] = {}
    for key, value in recorded("test_apigateway_extended.snapshot.json").items():
        match = re.search(r"test_export_(swagger|oas30)_openapi\[(\w+)\]", key)
        if match:
            out.setdefault(match.group(2), {})[match.group(1)] = value["recorded-content"]
    return out


RECORDED = recorded_apis()
RECORDED_CASES = [(api, source, target) for api in RECORDED for source in ("oas30", "swagger")
                  for target in ("oas30", "swagger")]


def recorded_definition(content: dict) -> ApiDefinition:
    """The API as AWS held it: the fullest recorded export, plus what the recorded import answered."""
    definition = load(content["get-export-with-extensions"]["body"], RECORDED_API_ID)
    if "version" not in content["import-api"]:  # the export's "version" was AWS's date, not the API's
        del definition["restApi"]["version"]
    return definition


def as_recorded(doc: dict, recording: dict) -> dict:
    """Our document with the values the recording normalised replaced by its placeholders."""
    doc = orjson.loads(orjson.dumps(doc).replace(REGION.encode(), b"<region>"))
    if recording["info"]["version"] == "date":
        assert DATE_RE.match(doc["info"]["version"]), doc["info"]["version"]
        doc["info"]["version"] = "date"
    return doc


@pytest.mark.parametrize(("api", "source", "target"), RECORDED_CASES,
                         ids=[f"{a}-from-{s}-to-{t}" for a, s, t in RECORDED_CASES])
def test_matches_aws_export(api: str, source: str, target: str) -> None:
    """Import AWS's export of one type, export it as either type, with and without extensions: the result is
    what AWS exported for that type (the same API was behind both recordings)."""
    definition = recorded_definition(RECORDED[api][source])
    stage = stage_record(RECORDED_API_ID, "local", "d1", {})
    for key, extensions in (("get-export", set()), ("get-export-with-extensions", {"apigateway"}),
                            ("get-export-with-extensions", {"integrations"})):
        expected = RECORDED[api][target][key]["body"]
        ours = as_recorded(export_openapi(definition, stage, target, extensions), expected)
        assert ours == expected, (key, extensions)


def test_recorded_file_names() -> None:
    for api, by_type in RECORDED.items():
        for export_type, content in by_type.items():
            body = content["get-export"]["body"]
            assert f'filename="{export_filename(body, export_type, None)}"' in content["get-export"]["contentDisposition"], api


# -- details the recordings do not show ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def full() -> ApiDefinition:
    return load_file(FULL)


def stage(definition: ApiDefinition, name: str = "dev") -> Any:
    return stage_record(definition["restApi"]["id"], name, "d1", {})


def test_location_oas30_and_swagger(full: ApiDefinition) -> None:
    api_id = full["restApi"]["id"]
    oas = export_openapi(full, stage(full, "prod"), "oas30", set())
    assert oas["servers"] == [{"url": f"https://{api_id}.execute-api.us-east-1.amazonaws.com/{{basePath}}",
                               "variables": {"basePath": {"default": "prod"}}}]
    swagger = export_openapi(full, stage(full, "prod"), "swagger", set())
    assert (swagger["host"], swagger["basePath"], swagger["schemes"]) == (
        f"{api_id}.execute-api.us-east-1.amazonaws.com", "/prod", ["https"])


def test_host_override(full: ApiDefinition) -> None:
    oas = export_openapi(full, stage(full), "oas30", set(), host="localhost:8080")
    assert oas["servers"][0]["url"] == "http://localhost:8080/{basePath}"
    swagger = export_openapi(full, stage(full), "swagger", set(), host="https://api.example.com")
    assert (swagger["host"], swagger["schemes"]) == ("api.example.com", ["https"])


def test_without_stage(full: ApiDefinition) -> None:
    assert export_openapi(full, None, "swagger", set())["basePath"] == "/"
    assert "variables" not in export_openapi(full, None, "oas30", set())["servers"][0]


def test_version_date(full: ApiDefinition) -> None:
    api = copy.deepcopy(full)
    del api["restApi"]["version"]
    api["restApi"]["createdDate"] = 1700000000
    assert export_openapi(api, None, "oas30", set())["info"]["version"] == "2023-11-14T22:13:20Z"
    assert export_openapi(api, None, "oas30", set(), deployed_at=1700000060)["info"]["version"] == "2023-11-14T22:14:20Z"


def test_extensions_gate_what_is_exported(full: ApiDefinition) -> None:
    plain = orjson.dumps(export_openapi(full, stage(full), "oas30", set())).decode()
    assert X + "integration" not in plain and X + "authorizer\"" not in plain and X + "gateway-responses" not in plain
    assert "\"security\"" in plain and X + "authtype" in plain  # the schemes themselves are plain OpenAPI

    integrations = export_openapi(full, stage(full), "oas30", {"integrations"})
    assert X + "gateway-responses" in integrations and X + "request-validators" in integrations
    assert X + "authorizer" not in integrations["components"]["securitySchemes"]["TokenAuth"]

    authorizers = export_openapi(full, stage(full), "oas30", {"authorizers"})
    assert X + "authorizer" in authorizers["components"]["securitySchemes"]["TokenAuth"]
    assert X + "integration" not in authorizers["paths"]["/pets"]["get"]

    assert export_openapi(full, stage(full), "swagger", {"postman"}) == export_openapi(
        full, stage(full), "swagger", {"apigateway"})


def with_iam(full: ApiDefinition) -> ApiDefinition:
    """/pets/{petId} GET behind IAM: the importer cannot produce that from a security scheme (see below)."""
    api = copy.deepcopy(full)
    pet = next(r for r in api["resources"].values() if r["path"] == "/pets/{petId}")
    pet["resourceMethods"]["GET"]["authorizationType"] = "AWS_IAM"
    return api


def test_security_schemes_and_requirements(full: ApiDefinition) -> None:
    doc = export_openapi(with_iam(full), stage(full), "oas30", ALL_EXTENSIONS)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["api_key"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}
    assert schemes["sigv4"][X + "authtype"] == "awsSigv4"
    assert schemes["TokenAuth"]["name"] == "X-Token"
    assert schemes["TokenAuth"][X + "authorizer"]["type"] == "token"
    assert schemes["TokenAuth"][X + "authorizer"]["authorizerResultTtlInSeconds"] == 60
    assert schemes["RequestAuth"]["name"] == "Unused"
    assert schemes["Pool"][X + "authtype"] == "cognito_user_pools"
    paths = doc["paths"]
    assert paths["/pets"]["get"]["security"] == [{"api_key": []}, {"TokenAuth": []}]
    assert paths["/pets"]["post"]["security"] == [{"Pool": ["email", "openid"]}]
    assert paths["/pets/{petId}"]["get"]["security"] == [{"sigv4": []}]
    assert "security" not in paths["/"]["get"]


def test_iam_round_trip(full: ApiDefinition) -> None:
    api = with_iam(full)
    assert comparable(round_trip(api, "oas30")) == comparable(api)


def test_operations_and_integrations(full: ApiDefinition) -> None:
    doc = export_openapi(full, stage(full), "oas30", ALL_EXTENSIONS)
    get = doc["paths"]["/pets"]["get"]
    assert get["parameters"] == [{"name": "limit", "in": "query", "schema": {"type": "string"}},
                                 {"name": "X-Trace", "in": "header", "required": True, "schema": {"type": "string"}}]
    assert get["responses"]["500"] == {"description": "500 response", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    assert get[X + "request-validator"] == "params-only"
    integration = get[X + "integration"]
    assert integration["type"] == "http" and integration["passthroughBehavior"] == "when_no_match"
    assert (integration["connectionType"], integration["connectionId"], integration["timeoutInMillis"]) == (
        "VPC_LINK", "abc123", 5000)
    assert integration["responses"]["5\\d{2}"]["statusCode"] == "500"
    post = doc["paths"]["/pets"]["post"]
    assert post["requestBody"] == {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                                   "required": True}
    assert post[X + "integration"]["passthroughBehavior"] == "never"
    proxy = doc["paths"]["/files/{proxy+}"][X + "any-method"][X + "integration"]
    assert proxy == {"type": "http_proxy", "httpMethod": "ANY", "uri": "http://${stageVariables.backend}/{proxy}",
                     "requestParameters": {"integration.request.path.proxy": "method.request.path.proxy"}}
    assert doc["components"]["schemas"]["Owner"]["properties"]["pets"]["items"] == {"$ref": "#/components/schemas/Pet"}


def test_swagger_body_parameter_and_media_types(full: ApiDefinition) -> None:
    doc = export_openapi(full, stage(full), "swagger", ALL_EXTENSIONS)
    post = doc["paths"]["/pets"]["post"]
    assert post["parameters"] == [{"in": "body", "name": "Pet", "required": True, "schema": {"$ref": "#/definitions/Pet"}}]
    assert post["consumes"] == ["application/json"] and "produces" not in post
    assert doc["paths"]["/"]["get"]["produces"] == ["text/html"]
    assert doc["paths"]["/pets"]["get"]["parameters"][0] == {"name": "limit", "in": "query", "required": False,
                                                             "type": "string"}
    assert doc["definitions"]["Pet"]["properties"]["owner"] == {"$ref": "#/definitions/Owner"}


def test_root_extensions(full: ApiDefinition) -> None:
    doc = export_openapi(full, stage(full), "oas30", {"apigateway"})
    assert doc[X + "api-key-source"] == "AUTHORIZER"
    assert doc[X + "minimum-compression-size"] == 1024
    assert doc[X + "policy"]["Statement"][0]["Action"] == "execute-api:Invoke"
    assert doc[X + "binary-media-types"] == ["image/png", "*/*"]
    assert doc[X + "gateway-responses"]["UNAUTHORIZED"] == {"statusCode": "401", "responseTemplates": {
        "application/json": '{"message": "who are you?"}'}}
    assert doc[X + "request-validators"]["params-only"] == {"validateRequestBody": False,
                                                            "validateRequestParameters": True}


def test_aws_model_urls_become_local_references(full: ApiDefinition) -> None:
    api = copy.deepcopy(full)
    owner = next(m for m in api["models"].values() if m["name"] == "Owner")
    owner["schema"] = orjson.dumps({
        "$schema": "http://json-schema.org/draft-04/schema#", "type": "array",
        "items": {"$ref": f"https://apigateway.amazonaws.com/restapis/{api['restApi']['id']}/models/Pet"}}).decode()
    api["models"]["xml"] = {"id": "xml", "name": "Xml", "contentType": "application/xml", "schema": "<x/>"}
    doc = export_openapi(api, stage(api), "swagger", set())
    assert doc["definitions"]["Owner"] == {"type": "array", "items": {"$ref": "#/definitions/Pet"}}
    assert "Xml" not in doc["definitions"]  # only JSON models are exportable


def endpoint_api(full: ApiDefinition) -> ApiDefinition:
    api = copy.deepcopy(full)
    api["restApi"]["disableExecuteApiEndpoint"] = True
    api["restApi"]["endpointConfiguration"] = {"types": ["PRIVATE"], "vpcEndpointIds": ["vpce-1"]}
    return api


def test_endpoint_configuration_placement(full: ApiDefinition) -> None:
    api = endpoint_api(full)
    expected = {"disableExecuteApiEndpoint": True, "vpcEndpointIds": ["vpce-1"]}
    assert export_openapi(api, stage(api), "swagger", {"apigateway"})[X + "endpoint-configuration"] == expected
    oas = export_openapi(api, stage(api), "oas30", {"apigateway"})
    assert oas["servers"][0][X + "endpoint-configuration"] == expected and X + "endpoint-configuration" not in oas
    assert X + "endpoint-configuration" not in export_openapi(full, stage(full), "swagger", {"apigateway"})
    assert comparable(round_trip(api, "swagger"))["api"] == comparable(api)["api"]


def test_endpoint_configuration_round_trip_oas30(full: ApiDefinition) -> None:
    api = endpoint_api(full)
    assert comparable(round_trip(api, "oas30"))["api"] == comparable(api)["api"]


def test_unknown_export_type(full: ApiDefinition) -> None:
    with pytest.raises(ValueError, match="export type"):
        export_openapi(full, None, "raml", set())


# -- rendering -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("accept", "content_type", "parse"), [
    (None, "application/octet-stream", orjson.loads),
    ("*/*", "application/octet-stream", orjson.loads),
    ("application/json", "application/json", orjson.loads),
    ("application/yaml", "application/yaml", yaml.safe_load),
    ("application/yaml; charset=utf-8, application/json;q=0.5", "application/yaml", yaml.safe_load),
    ("text/html, application/json", "application/json", orjson.loads),
])
def test_render(full: ApiDefinition, accept: str | None, content_type: str, parse: Any) -> None:
    doc = export_openapi(full, stage(full), "oas30", ALL_EXTENSIONS)
    body, ctype = render_export(doc, accept)
    assert ctype == content_type
    assert parse(body) == doc


def test_yaml_keeps_strings_strings(full: ApiDefinition) -> None:
    """Dated versions, status-code keys and multi-line templates must read back as the same strings."""
    api = copy.deepcopy(full)
    del api["restApi"]["version"]
    doc = export_openapi(api, stage(api), "swagger", ALL_EXTENSIONS)
    body, _ = render_export(doc, "application/yaml")
    text = body.decode()
    assert parse_text(text, "export.yaml") == doc
    assert isinstance(yaml.safe_load(text)["info"]["version"], str)
    assert comparable(load(yaml.safe_load(text))) == comparable(api)


def test_file_name() -> None:
    doc = {"info": {"version": "1.0.0"}}
    assert export_filename(doc, "oas30", None) == "oas30_1.0.0.json"
    assert export_filename(doc, "swagger", "application/yaml") == "swagger_1.0.0.yaml"


def test_fixture_paths_exist() -> None:
    for path in OPENAPI_FIXTURES:
        assert Path(REPO / path).is_file()

"""HTTP API parameter mapping (spec §10.3), compiled as a deployment compiles it and applied to real
invocations: request headers, query strings and path; response headers and status by status code; what is
refused at deploy time."""

from __future__ import annotations

import pytest

from apiway.core.errors import ConfigurationError, DeployError
from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Invocation
from apiway.events.http_v2 import context_variable
from apiway.functions.runners import Functions
from apiway.integrations.upstream import UpstreamPool
from apiway.mapping.http_parameters import compile_request, compile_response
from apiway.runtime.deps import CompileDeps
from apiway.runtime.http_compile import compile_http_stage
from apiway.store import http_deployments
from tests.http_apis import http_api, http_proxy

VARIABLES = {"env": "test"}


def invocation(headers: list[tuple[str, str]], query: str = "", body: bytes = b"") -> Invocation:
    definition = http_api("map0000001", {"POST /pets/{id}": http_proxy("http://127.0.0.1:9/")})
    record = http_deployments.new_stage("map0000001", "prod", deploymentId="dep001", stageVariables=VARIABLES)
    stage = compile_http_stage(definition, record, CompileDeps(invoker=Functions(), pool=UpstreamPool()))
    req = HttpRequest("POST", "/prod/pets/a%20b", query, [("Host", "map0000001.execute-api.localhost"), *headers],
                      body)
    match = stage.router.match("/pets/a%20b", "POST")
    assert match is not None
    inv = Invocation(req, stage, match.target, match.path_params, "/pets/a%20b", "/prod/pets/a%20b", "Req1dAAAAAAAAA=")
    inv.extended_request_id = "Req1dAAAAAAAAA="
    return inv


def request_mapping(parameters: dict[str, str]):
    mapping = compile_request(parameters, VARIABLES, context_variable, "integrations/i0")
    assert mapping is not None
    return mapping


def test_headers_are_appended_overwritten_and_removed_from_request_values():
    inv = invocation([("X-Keep", "k"), ("X-Old", "o"), ("X-Multi", "1"), ("x-multi", "2"), ("X-Gone", "g")])
    mapped = request_mapping({
        "append:header.X-Keep": "more",
        "overwrite:header.x-old": "$request.header.X-MULTI",  # case-insensitive names; repeats joined by ','
        "remove:header.X-Gone": "''",
        "overwrite:header.X-Request": "${context.requestId} on ${context.routeKey}",
        "append:header.X-Stage": "$stageVariables.env",
    }).apply(inv)
    assert [(k, v) for k, v in mapped.headers if k.lower() != "host"] == [
        ("X-Keep", "k"), ("X-Multi", "1"), ("x-multi", "2"), ("X-Keep", "more"), ("x-old", "1,2"),
        ("X-Request", "Req1dAAAAAAAAA= on POST /pets/{id}"), ("X-Stage", "test")]


def test_query_strings_keep_their_encoding_and_take_path_and_body_values():
    inv = invocation([("Content-Type", "application/json")], query="a=1&a=2&drop=x&keep=%2F",
                     body=b'{"pet": {"name": "Rex", "tags": ["a"]}}')
    mapped = request_mapping({
        "overwrite:querystring.a": "$request.querystring.a",
        "remove:querystring.drop": "",
        "append:querystring.id": "$request.path.id",  # decoded path parameter, encoded again in the query
        "append:querystring.name": "$request.body.pet.name",
        "append:querystring.tags": "$request.body.pet.tags",
        "append:querystring.missing": "$request.header.x-none",  # nothing found: nothing added
    }).apply(inv)
    assert mapped.query == "keep=%2F&a=1%2C2&id=a%20b&name=Rex&tags=%5B%22a%22%5D"
    assert mapped.path is None


def test_the_path_is_overwritten_with_interpolated_values():
    inv = invocation([])
    assert request_mapping({"overwrite:path": "/v2${request.path}"}).apply(inv).path == "/v2/pets/a%20b"
    assert request_mapping({"overwrite:path": "$request.path.id"}).apply(inv).path == "/a b"


def test_a_body_path_reads_only_the_first_100_kb():
    padding = b" " * (100 * 1024)
    inv = invocation([], body=b'{"a": "x"' + padding + b', "b": 1}')
    assert request_mapping({"append:header.X-A": "$request.body.a"}).apply(inv).headers[-1][0] != "X-A"


@pytest.mark.parametrize(("key", "value", "message"), [
    ("overwrite:header.Authorization", "x", "reserved"),
    ("append:header.X-Amzn-Trace-Id", "x", "reserved"),
    ("append:header.Access-Control-Allow-Origin", "*", "reserved"),
    ("overwrite:header.apigw-requestid", "x", "reserved"),
    ("replace:header.X", "x", "Invalid mapping key"),
    ("append:path", "x", "overwritten"),
    ("append:cookie.x", "x", "Invalid mapping key"),
    ("append:header.X", "$request.body..name", "Invalid mapping expression"),
    ("append:header.X", "$request.body.items[?(@.a)]", "Invalid mapping expression"),
    ("append:header.X", "$request.bogus.x", "Invalid mapping expression"),
])
def test_what_cannot_be_mapped_fails_the_deployment_naming_the_field(key, value, message):
    with pytest.raises(DeployError, match=message) as raised:
        compile_request({key: value}, VARIABLES, context_variable, "integrations/i0")
    assert f"integrations/i0.requestParameters.{key}" in str(raised.value)


def test_responses_are_mapped_by_status_code():
    mapping = compile_response({
        "404": {"overwrite:statuscode": "200", "append:header.X-Was": "$response.header.x-code",
                "remove:header.X-Internal": "''", "overwrite:header.X-Body": "$response.body.error"},
        "500": {"overwrite:statuscode": "502"},
    }, VARIABLES, context_variable, "integrations/i0")
    assert mapping is not None
    inv = invocation([])
    response = HttpResponse(404, [("x-code", "a"), ("X-Code", "b"), ("X-Internal", "secret")],
                            b'{"error": "no such pet"}')
    mapping.apply(inv, response)
    assert response.status == 200
    assert response.headers == [("x-code", "a"), ("X-Code", "b"), ("X-Was", "a,b"), ("X-Body", "no such pet")]
    untouched = HttpResponse(201, [("X-Internal", "kept")], b"")
    mapping.apply(inv, untouched)
    assert (untouched.status, untouched.headers) == (201, [("X-Internal", "kept")])


def test_a_mapped_status_that_is_not_a_status_fails_the_request():
    mapping = compile_response({"200": {"overwrite:statuscode": "$response.header.x-status"}}, VARIABLES,
                               context_variable, "integrations/i0")
    assert mapping is not None
    with pytest.raises(ConfigurationError):
        mapping.apply(invocation([]), HttpResponse(200, [("x-status", "fine")], b""))


@pytest.mark.parametrize("code", ["199", "600", "2xx"])
def test_response_selection_keys_must_be_status_codes(code):
    with pytest.raises(DeployError, match=f"responseParameters.{code}"):
        compile_response({code: {"overwrite:statuscode": "200"}}, VARIABLES, context_variable, "integrations/i0")

"""HTTP API routing (spec §10.2): route precedence as AWS documents it, stage selection with `$default`, and
the HTTP kind's answers when nothing matches — compiled for real, run through the real gateway in process."""

from __future__ import annotations

import asyncio
import re

import pytest

from apiway.core.errors import DeployError
from apiway.core.http import HttpRequest, HttpResponse
from apiway.functions.runners import Functions
from apiway.integrations.upstream import UpstreamPool
from apiway.runtime.apis import HttpApiRuntime
from apiway.runtime.deps import CompileDeps
from apiway.runtime.gateway import Gateway
from apiway.runtime.http_compile import compile_http_stage
from apiway.runtime.http_errors import NotFound
from apiway.store import http_deployments
from tests.http_apis import http_api, http_proxy

DEPS = CompileDeps(invoker=Functions(), pool=UpstreamPool(), strict=False)
BACKEND = http_proxy("http://127.0.0.1:9/")
# The example of AWS's routing documentation, in order: r0 … r4.
EXAMPLE = http_api("route00001", {"GET /pets/dog/1": BACKEND, "GET /pets/dog/{id}": BACKEND,
                                  "GET /pets/{proxy+}": BACKEND, "ANY /{proxy+}": BACKEND, "$default": BACKEND})


def stage(definition, name: str = "$default", **fields):
    record = http_deployments.new_stage(definition["api"]["apiId"], name, deploymentId="dep001", **fields)
    return compile_http_stage(definition, record, DEPS)


def routed(runtime, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    match = runtime.router.match(path, method)
    return None if match is None else (match.target.resource_id, match.path_params)


@pytest.mark.parametrize(("method", "path", "route", "params"), [
    ("GET", "/pets/dog/1", "r0", {}),  # the full literal match
    ("GET", "/pets/dog/2", "r1", {"id": "2"}),  # a literal prefix and a variable
    ("GET", "/pets/cat/1", "r2", {"proxy": "cat/1"}),  # the greedy route under /pets
    ("POST", "/test/5", "r3", {"proxy": "test/5"}),  # only ANY /{proxy+} takes another method
    ("POST", "/pets/dog/1", "r3", {"proxy": "pets/dog/1"}),  # GET routes do not take POST: the greedy ANY does
    ("GET", "/", "r4", {}),  # nothing else matches the root: $default
])
def test_the_documented_precedence(method, path, route, params):
    assert routed(stage(EXAMPLE), method, path) == (route, params)


def test_the_exact_method_beats_any_on_the_same_path():
    runtime = stage(http_api("route00002", {"ANY /items": BACKEND, "GET /items": BACKEND}))
    assert routed(runtime, "GET", "/items") == ("r1", {})
    assert routed(runtime, "DELETE", "/items") == ("r0", {})


def test_literal_segments_beat_variables_whatever_the_method():
    runtime = stage(http_api("route00003", {"GET /pets/{id}": BACKEND, "ANY /pets/mine": BACKEND}))
    assert routed(runtime, "GET", "/pets/mine") == ("r1", {})
    assert routed(runtime, "GET", "/pets/7") == ("r0", {"id": "7"})


def test_the_longest_greedy_prefix_first_and_its_exact_method_before_any():
    runtime = stage(http_api("route00004", {"ANY /a/{proxy+}": BACKEND, "ANY /a/b/{proxy+}": BACKEND,
                                            "POST /a/b/{proxy+}": BACKEND}))
    assert routed(runtime, "GET", "/a/b/c") == ("r1", {"proxy": "c"})
    assert routed(runtime, "POST", "/a/b/c/d") == ("r2", {"proxy": "c/d"})
    assert routed(runtime, "GET", "/a/x") == ("r0", {"proxy": "x"})


def test_paths_are_case_sensitive_and_nothing_matches_without_a_default_route():
    runtime = stage(http_api("route00005", {"GET /Pets": BACKEND}))
    assert routed(runtime, "GET", "/Pets") == ("r0", {})
    assert routed(runtime, "GET", "/pets") is None


def test_two_variable_names_at_one_level_do_not_deploy():
    """AWS: ConflictException, "conflicting variable on the same hierarchical level"."""
    with pytest.raises(DeployError, match=re.escape("GET /pets/{name}")):
        stage(http_api("route00006", {"GET /pets/{id}": BACKEND, "GET /pets/{name}": BACKEND}))


@pytest.mark.parametrize("route_key", ["FETCH /pets", "GET pets", "GET /a/{proxy+}/b"])
def test_invalid_route_keys_do_not_deploy(route_key):
    with pytest.raises(DeployError, match="route"):
        stage(http_api("route00007", {route_key: BACKEND}))


# -- stage selection -------------------------------------------------------------------------------------------


def test_a_first_segment_naming_a_stage_selects_it_else_the_default_stage_takes_the_whole_path():
    definition = http_api("route00008", {"$default": BACKEND})
    runtime = HttpApiRuntime({"prod": stage(definition, "prod"), "$default": stage(definition)})
    assert [(s.stage_name, rest) for s, rest in (runtime.select("/prod/pets/1"), runtime.select("/prod"),
                                                 runtime.select("/pets/1"), runtime.select("/"),
                                                 runtime.select("/$default/pets"))] == [
        ("prod", "/pets/1"), ("prod", ""), ("$default", "/pets/1"), ("$default", ""), ("$default", "/pets")]


def test_without_a_default_stage_an_unnamed_path_is_not_found():
    definition = http_api("route00009", {"$default": BACKEND})
    with pytest.raises(NotFound):
        HttpApiRuntime({"prod": stage(definition, "prod")}).select("/dev/pets")


# -- the gateway's answers -------------------------------------------------------------------------------------


def call(gateway: Gateway, method: str, path: str, headers: list[tuple[str, str]] | None = None,
         api_id: str = "route00010") -> HttpResponse:
    req = HttpRequest(method, path, "", [("Host", f"{api_id}.execute-api.localhost"), *(headers or [])], b"")
    return asyncio.run(gateway.handle(req))


def header(response: HttpResponse, name: str) -> str | None:
    return next((v for k, v in response.headers if k.lower() == name), None)


def test_no_route_and_no_stage_answer_404_not_found_with_apigw_requestid():
    definition = http_api("route00010", {"GET /pets": BACKEND})
    gateway = Gateway()
    gateway.install([stage(definition, "prod")])
    for path in ("/prod/cats", "/dev/pets"):  # no route on the stage; no stage (and no $default)
        response = call(gateway, "GET", path)
        assert (response.status, response.body) == (404, b'{"message":"Not Found"}')
        assert header(response, "content-type") == "application/json"
        request_id = header(response, "apigw-requestid")
        assert request_id and len(request_id) == 16 and request_id.endswith("=")
        assert header(response, "x-amzn-requestid") is None and header(response, "x-amzn-errortype") is None


def test_a_route_without_an_integration_is_not_found():
    gateway = Gateway()
    gateway.install([stage(http_api("route00010", {"GET /pets": None}))])
    assert call(gateway, "GET", "/pets").status == 404


def test_an_unreachable_backend_is_503_service_unavailable():
    gateway = Gateway()
    gateway.install([stage(http_api("route00010", {"GET /pets": BACKEND}))])
    response = call(gateway, "GET", "/pets")
    assert (response.status, response.body) == (503, b'{"message":"Service Unavailable"}')


def test_an_api_id_of_an_http_api_on_a_rest_style_path_is_routed_by_the_http_rules():
    """The path-style invoke URL names the `$default` stage as a segment."""
    gateway = Gateway()
    gateway.install([stage(http_api("route00010", {"GET /pets": None}))])
    req = HttpRequest("GET", "/restapis/route00010/$default/_user_request_/cats", "", [("Host", "localhost")], b"")
    response = asyncio.run(gateway.handle(req))
    assert (response.status, response.body) == (404, b'{"message":"Not Found"}')

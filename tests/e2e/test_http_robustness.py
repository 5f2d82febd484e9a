"""Robustness of HTTP APIs: seeded fuzzing of the HTTP API importer and stage compiler, of ImportApi, ReimportApi,
deployment and serving of the mutants over HTTP, of `apiway validate`, and of random requests against a served HTTP
API with every integration kind, authorizers, CORS and parameter mappings.

Each oracle checks only what must hold for any input: an AWS answer (201/200 or 400 BadRequestException with a
message for the control plane; for requests, a status the HTTP API kind sends in that situation, gateway errors with
exactly spec §10.4's body), no traceback or unexpected-failure log line, a bounded time, the server alive at the end.
Inputs come from one seeded `random.Random`, so a failure replays."""

from __future__ import annotations

import copy
import io
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml

from apiway import cli
from apiway.app import App
from apiway.config import Project
from apiway.core.errors import DeployError
from apiway.functions.base import FunctionSpec
from apiway.model.documents import DocumentError, parse_text
from apiway.openapi.http_importer import import_http_api
from apiway.runtime.http_compile import compile_http_stage
from apiway.store import http_deployments
from tests.e2e.authorizer_support import OidcProvider
from tests.e2e.echo_backend import EchoServer
from tests.e2e.test_hostile_documents import deep_yaml, laughs
from tests.e2e.test_robustness import ON_UVICORN, containers, exchange, mutate_text, parse_response, time_limit
from tests.support import REPO, Server, request

SEED = 4321
LAMBDA = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:"
          "function:{}/invocations")
INTEGRATIONS = "#/components/x-amazon-apigateway-integrations/"
# What the server must never write: each marks a failure apiway did not expect (a bug), not a bad input.
CRASH_MARKERS = ("Traceback", "unexpected failure", "control-plane failure", "request failed in the server",
                 "request parsing failed", "response could not be written", "observer failed",
                 "change subscriber failed")

FUNCTIONS = """import json

def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json", "x-fn": "echo"},
            "body": json.dumps({"fn": "echo", "version": event.get("version"),
                                "path": event.get("rawPath") or event.get("path")})}

def fail(event, context):
    raise RuntimeError("handler failed")

def authorize(event, context):
    headers = event.get("headers") or {}
    return {"isAuthorized": headers.get("x-token") == "letmein", "context": {"who": "someone"}}
"""
PROJECT_FUNCTIONS = {"Echo": {"handler": "fns.py:echo", "mode": "inline"},
                     "Fail": {"handler": "fns.py:fail", "mode": "inline"},
                     "Authorize": {"handler": "fns.py:authorize", "mode": "inline"}}


def rich_document(issuer: str) -> dict[str, Any]:
    """An HTTP API with every part an import can give it: Lambda integrations in both payload formats (shared
    and inline), HTTP_PROXY to a stage-variable backend with request and response mappings, `$default`, greedy
    paths, JWT, Lambda and IAM authorization, CORS, tags, a server URL with a base path variable."""
    echo = {"$ref": INTEGRATIONS + "echo2"}
    return {
        "openapi": "3.0.1",
        "info": {"title": "Rich", "version": "1.0", "description": "every part of an HTTP API"},
        "servers": [{"url": "https://example.com/{basePath}", "variables": {"basePath": {"default": "v1"}}}],
        "tags": [{"name": "team", "x-amazon-apigateway-tag-value": "core"}, {"name": "plain"}],
        "paths": {
            "/fn/{id}": {"get": {"operationId": "GetFn", "x-amazon-apigateway-integration": echo},
                         "post": {"x-amazon-apigateway-integration": {"$ref": INTEGRATIONS + "echo1"}}},
            "/v1/{proxy+}": {"x-amazon-apigateway-any-method": {
                "x-amazon-apigateway-integration": {"$ref": INTEGRATIONS + "echo1"}}},
            "/proxy/{proxy+}": {"x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "ANY", "uri": "http://${stageVariables.backend}/{proxy}",
                "payloadFormatVersion": "1.0", "timeoutInMillis": 800,
                "requestParameters": {"append:header.x-mapped": "$request.header.x-src",
                                      "overwrite:querystring.mq": "${request.path.proxy}-$context.requestId",
                                      "remove:header.x-drop": "''"},
                "responseParameters": {"200": {"append:header.x-resp": "$response.header.content-type",
                                               "overwrite:header.x-static": "static"},
                                       "404": {"overwrite:statuscode": "410"}}}}},
            "/rewrite/{a}": {"get": {"x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "GET", "uri": "http://${stageVariables.backend}/base",
                "payloadFormatVersion": "1.0", "requestParameters": {
                    "overwrite:path": "/x/$request.path.a", "overwrite:header.x-body": "$request.body.a",
                    "append:querystring.s": "$stageVariables.backend"}}}},
            "/jwt": {"get": {"security": [{"jwt": ["pets/read"]}], "x-amazon-apigateway-integration": echo}},
            "/lambda": {"get": {"security": [{"lam": []}], "x-amazon-apigateway-integration": echo}},
            "/iam": {"get": {"x-amazon-apigateway-auth": {"type": "AWS_IAM"}, "x-amazon-apigateway-integration": echo}},
            "/sig": {"put": {"security": [{"sigv4": []}], "x-amazon-apigateway-integration": echo}},
            "/fail": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": LAMBDA.format("Fail"),
                                                                  "payloadFormatVersion": "2.0"}}},
            "/mapped/{a}": {"post": {"x-amazon-apigateway-integration": {
                "type": "aws_proxy", "uri": LAMBDA.format("Echo"), "payloadFormatVersion": "2.0",
                "requestParameters": {"overwrite:header.x-body": "$request.body.a",
                                      "append:querystring.p": "${request.path.a} and ${context.stage}"}}}},
            "/$default": {"x-amazon-apigateway-any-method": {"isDefaultRoute": True, "x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "ANY", "uri": "http://${stageVariables.backend}",
                "payloadFormatVersion": "1.0", "timeoutInMillis": 800}}},
        },
        "components": {
            "x-amazon-apigateway-integrations": {
                "echo2": {"type": "aws_proxy", "uri": LAMBDA.format("Echo"), "payloadFormatVersion": "2.0",
                          "timeoutInMillis": 5000},
                "echo1": {"type": "aws_proxy", "httpMethod": "POST", "uri": LAMBDA.format("Echo"),
                          "payloadFormatVersion": "1.0"},
            },
            "securitySchemes": {
                "jwt": {"type": "oauth2", "x-amazon-apigateway-authorizer": {
                    "type": "jwt", "identitySource": "$request.header.Authorization",
                    "jwtConfiguration": {"issuer": issuer, "audience": ["api-client"]}}},
                "lam": {"type": "apiKey", "name": "x-token", "in": "header", "x-amazon-apigateway-authorizer": {
                    "type": "request", "identitySource": "$request.header.x-token",
                    "authorizerUri": LAMBDA.format("Authorize"), "authorizerPayloadFormatVersion": "2.0",
                    "enableSimpleResponses": True, "authorizerResultTtlInSeconds": 0}},
                "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header",
                          "x-amazon-apigateway-authtype": "awsSigv4"},
            },
        },
        "x-amazon-apigateway-cors": {"allowOrigins": ["https://ok.example"], "allowMethods": ["GET", "POST", "PUT"],
                                     "allowHeaders": ["x-token", "authorization", "content-type"],
                                     "exposeHeaders": ["x-fn"], "maxAge": 60, "allowCredentials": True},
        "x-amazon-apigateway-importexport-version": "1.0",
    }


def base_documents(issuer: str) -> list[tuple[dict[str, Any], str]]:
    """The documents mutants come from, each with its text: the example project's, the rich one (as YAML and as
    JSON) and a quick-create-like one with only `$default`."""
    notes = (REPO / "examples/http-api/notes.yaml").read_text(encoding="utf-8")
    rich = rich_document(issuer)
    minimal = {"openapi": "3.0.1", "info": {"title": "Min"}, "paths": {"/$default": {"x-amazon-apigateway-any-method": {
        "isDefaultRoute": True, "x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": LAMBDA.format("Echo"),
                                                                    "payloadFormatVersion": "2.0"}}}}}
    return [(yaml.safe_load(notes), notes), (rich, yaml.safe_dump(rich, sort_keys=False)), (rich, json.dumps(rich)),
            (minimal, json.dumps(minimal))]


# --- mutations --------------------------------------------------------------------------------------------------

X = "x-amazon-apigateway-"
HTTP_KEYS = ("openapi", "info", "title", "version", "paths", "components", "securitySchemes", "security", "servers",
             "url", "variables", "default", "tags", "type", "uri", "httpMethod", "payloadFormatVersion",
             "timeoutInMillis", "connectionType", "connectionId", "credentials", "integrationSubtype",
             "requestParameters", "responseParameters", "tlsConfig", "serverNameToVerify", "isDefaultRoute",
             "operationId", "identitySource", "authorizerUri", "authorizerPayloadFormatVersion",
             "authorizerResultTtlInSeconds", "enableSimpleResponses", "jwtConfiguration", "issuer", "audience",
             "allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge", "allowCredentials",
             "openIdConnectUrl", "$ref", X + "integration", X + "integrations", X + "any-method", X + "authorizer",
             X + "authtype", X + "auth", X + "cors", X + "importexport-version", X + "tag-value",
             X + "endpoint-configuration", "disableExecuteApiEndpoint", "get", "post", "options", "head", "trace",
             "/new/{id}", "/{proxy+}", "/$default", "/a/{b+}/c", "/é", "200", "404", "overwrite:statuscode",
             "append:header.x-new", "overwrite:path", "remove:querystring.q", "overwrite:header.Authorization")


def odd_value(rng: random.Random) -> Any:
    return rng.choice((
        lambda: rng.randint(-5, 10**6), lambda: [rng.randint(0, 3), "x", None], lambda: [], lambda: None,
        lambda: rng.choice((True, False)), lambda: {"a": 1}, lambda: {1: "x", "b": [None]}, lambda: {},
        lambda: "x" * 10_000, lambda: "", lambda: 1.5, lambda: 2.0, lambda: 10**30, lambda: float("inf"),
        lambda: [{"jwt": ["a"]}, {"lam": []}], lambda: {"issuer": "http://127.0.0.1:9/nowhere"},
        lambda: "日本語\u202e\x00", lambda: [[[[[[[[[[["deep"]]]]]]]]]]],
        lambda: rng.choice(("aws_proxy", "http_proxy", "mock", "http", "AWS", "HTTP_PROXY", "2.0", "1.0", "3.0",
                            "ANY", "GET", "get", "VPC_LINK", "INTERNET", "jwt", "request", "token", "awsSigv4",
                            "AWS_IAM", "NONE", "*", "https://*.example", "$request.header.x", "$request.body",
                            "$request.body.a[0]", "$request.body..a", "$context.nope", "$stageVariables.v",
                            "${request.path.x}", "$response.body.x", "$request.querystring", "method.request.header.y",
                            "http://${stageVariables.backend}/{proxy}", "http://[::1", "http://127.0.0.1:9/x",
                            "https://{id}.example", LAMBDA.format("Echo"), LAMBDA.format("Nope"),
                            "arn:aws:lambda:us-east-1:123456789012:function:Echo", "arn:aws:sqs:x",
                            INTEGRATIONS + "echo2", INTEGRATIONS + "nope", "#/components/x", "SQS-SendMessage",
                            "/$default", "$default", "/a/{b}", "{proxy+}", "10", "-1", "")),
    ))()


def mutate_document(rng: random.Random, doc: Any) -> Any:
    """Delete keys, replace values, add known keys with odd values, duplicate a subtree elsewhere, or turn a key
    into an integer."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 4)):
        nodes = containers(doc, [])
        node = rng.choice(nodes)
        edit = rng.randrange(5)
        if isinstance(node, list):
            if node and edit == 0:
                del node[rng.randrange(len(node))]
            elif node and edit == 4:
                node.append(copy.deepcopy(rng.choice(node)))
            elif node:
                node[rng.randrange(len(node))] = odd_value(rng)
            else:
                node.append(odd_value(rng))
        elif edit == 0 and node:
            del node[rng.choice(list(node))]
        elif edit == 1 and node:
            node[rng.choice(list(node))] = odd_value(rng)
        elif edit == 2 or not node:
            node[rng.choice(HTTP_KEYS)] = odd_value(rng)
        elif edit == 3:
            key = rng.choice(list(node))
            node[rng.randint(0, 999)] = node.pop(key)
        else:  # a subtree copied under a new key: duplicated routes, integrations, authorizers
            key = rng.choice(list(node))
            node[rng.choice(HTTP_KEYS) if rng.random() < 0.5 else f"{key}2"] = copy.deepcopy(node[key])
    return doc


def as_text(rng: random.Random, doc: Any) -> str:
    """The mutant in JSON or YAML (keys that JSON cannot carry become strings there)."""
    if rng.random() < 0.5:
        try:
            return yaml.safe_dump(doc, allow_unicode=rng.random() < 0.5)
        except yaml.YAMLError:
            pass
    return json.dumps(doc, ensure_ascii=rng.random() < 0.5)  # integer keys become strings, inf `Infinity`


def mutants(rng: random.Random, bases: list[tuple[dict[str, Any], str]], count: int) -> Iterator[tuple[Any, str]]:
    """`count` mutants (document, text); one in eight a text corruption of a base document instead."""
    tokens = (":", "- ", "  ", "\n", "{", "}", "[", "]", "&a", "*a", "!!", "'", '"', "#", "|", "%", "\t", "\x00",
              "$ref", "${", "{proxy+}", "\ufeff")
    for _ in range(count):
        doc, text = rng.choice(bases)
        if rng.random() < 0.125:
            yield None, mutate_text(rng, text, tokens)
        else:
            mutant = mutate_document(rng, doc)
            yield mutant, as_text(rng, mutant)


# --- 1. importer and stage compiler, in process ---------------------------------------------------------------

@pytest.fixture(scope="module")
def compile_deps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """The strict (project) and lenient (control plane) compile dependencies of an app whose functions are
    the served API's."""
    root = tmp_path_factory.mktemp("http_compile")
    (root / "fns.py").write_text(FUNCTIONS)
    specs = [FunctionSpec(name=name, handler=spec["handler"], base_dir=root, mode=spec["mode"])
             for name, spec in PROJECT_FUNCTIONS.items()]
    app = App(Project(root, [], specs), echo_functions=False)
    yield app.deps, app.live_deps


def check_import_and_compile(doc: Any, text: str, source: str, deps: tuple[Any, Any], base_path: str) -> str:
    """Import leniently (ImportApi) and strictly (project files); compile what imports. What happened: "refused",
    "imported" or "compiled"."""
    if doc is None:
        try:
            doc = parse_text(text, source)
        except DocumentError as exc:
            assert str(exc).startswith(source), str(exc)
            return "refused"
    outcome = "refused"
    for strict, compile_with in ((False, deps[1]), (True, deps[0])):
        try:
            definition, warnings = import_http_api(doc, text, source, "abcdef1234", base_path, strict=strict)
        except DocumentError as exc:
            assert str(exc).startswith(source), str(exc)
            continue
        assert isinstance(warnings, list) and definition["api"]["protocolType"] == "HTTP"
        outcome = "imported" if outcome == "refused" else outcome
        stage = http_deployments.new_stage("abcdef1234", "$default", True, deploymentId="-",
                                           stageVariables={"backend": "127.0.0.1:9"})
        try:
            runtime = compile_http_stage(definition, stage, compile_with)
        except DeployError as exc:
            assert str(exc), "a deploy error says why"
            continue
        assert runtime.plans is not None
        outcome = "compiled"
    return outcome


def test_http_importer_and_compiler_on_mutated_documents(compile_deps) -> None:
    rng = random.Random(SEED)
    bases = base_documents("http://127.0.0.1:9/issuer")
    for doc, text in bases:
        assert check_import_and_compile(doc, text, "base.yaml", compile_deps, "ignore") == "compiled"
    outcomes: dict[str, int] = {}
    for n, (doc, text) in enumerate(mutants(rng, bases, 1500)):
        source = f"mutant-{n}.yaml"
        with time_limit(5, f"import and compile {source}"):
            outcome = check_import_and_compile(doc, text, source, compile_deps,
                                               rng.choice(("ignore", "ignore", "prepend", "split")))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("refused", 0) > 150 and outcomes.get("compiled", 0) > 300, outcomes


# --- 2. a served project: ImportApi, ReimportApi, deployment and serving of mutants ------------------------------

GATEWAY_MESSAGES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                    413: "Request Entity Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
                    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class Gateway:
    """The served project (the rich HTTP API on `$default` and `prod`), what it wrote to stderr, and the local
    backend and issuer it uses."""

    def __init__(self, server: Server, backend: EchoServer, issuer: OidcProvider) -> None:
        self.server = server
        self.backend = backend
        self.issuer = issuer
        self.api_id = server.api_ids["Rich"]
        self.log = ""

    def crashes(self) -> list[str]:
        self.log += self.server.stderr()
        return [line[:2000] for line in self.log.splitlines() if any(m in line for m in CRASH_MARKERS)]

    def control(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        reply = request(self.server.port, method, path, {"Content-Type": "application/json"},
                        None if body is None else json.dumps(body), timeout=30)
        data = json.loads(reply.body) if reply.body else None
        if reply.status >= 400:
            assert reply.header("x-amzn-ErrorType") and isinstance(data, dict) and data.get("message"), reply
        return reply.status, data


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("http_robustness")
    backend = EchoServer().start()
    issuer = OidcProvider()
    (root / "fns.py").write_text(FUNCTIONS)
    (root / "api.yaml").write_text(yaml.safe_dump(rich_document(issuer.issuer), sort_keys=False))
    variables = {"backend": backend.address}
    project = {"apis": [{"openapi": "api.yaml", "kind": "http",
                         "stages": {"$default": {"variables": variables}, "prod": {"variables": variables}}}],
               "functions": PROJECT_FUNCTIONS}
    (root / "apiway.yaml").write_text(yaml.safe_dump(project))
    (root / "state").mkdir()
    server = Server(root / "apiway.yaml", root / "state" / "state.db")
    try:
        yield Gateway(server, backend, issuer)
    finally:
        server.stop()
        issuer.stop()
        backend.stop()


def gateway_error(status: int, body: bytes) -> bool:
    """Whether the body is one of the gateway's own error bodies; if it is, it must be the one for its status."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    if not (isinstance(parsed, dict) and list(parsed) == ["message"]):
        return False
    assert parsed["message"] == GATEWAY_MESSAGES.get(status), (status, body)
    return True


def route_paths(doc: Any) -> list[str]:
    """Request paths for the routes a (mutated) document may have made."""
    paths = doc.get("paths") if isinstance(doc, dict) else None
    found = [p for p in (paths if isinstance(paths, dict) else {}) if isinstance(p, str) and p.startswith("/")]
    return [p.replace("{proxy+}", "a/b").replace("{", "").replace("}", "").replace("+", "") for p in found] or ["/"]


def serve_some(gw: Gateway, rng: random.Random, api_id: str, paths: list[str]) -> dict[int, int]:
    """A few requests to an imported mutant: each answer is the gateway's exact error body or what a function or
    the backend said."""
    statuses: dict[int, int] = {}
    for _ in range(4):
        method = rng.choice(("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"))
        headers = [("Host", f"{api_id}.execute-api.localhost:{gw.server.port}")]
        if rng.random() < 0.3:
            headers += [("Origin", rng.choice(("https://ok.example", "null", "http://evil"))),
                        ("Access-Control-Request-Method", "GET")]
        if rng.random() < 0.3:
            headers.append(("Authorization", rng.choice(("Bearer x.y.z", gw.issuer.token(scope="pets/read"), "x"))))
        reply = request(gw.server.port, method, rng.choice(paths) + rng.choice(("", "?q=1", "?echo_status=404")),
                        headers, rng.choice((None, b"", b'{"a": 1}', b"\xff")), timeout=15)
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
        if gateway_error(reply.status, reply.body):  # no route, authorization, a function or backend that failed
            assert reply.status in (401, 403, 404, 500, 502, 503), (reply.status, method, headers, paths)
        else:
            assert reply.status not in (500, 502, 503, 504) or b'"method"' in reply.body, (reply.status, reply.body)
    return statuses


def test_mutants_through_import_reimport_deploy_and_serve(gateway: Gateway) -> None:
    rng = random.Random(SEED)
    bases = base_documents(gateway.issuer.issuer)
    variables = {"backend": gateway.backend.address}
    answers: dict[str, int] = {}
    served: dict[int, int] = {}
    current: str | None = None  # an imported API whose $default stage deploys automatically
    started = time.monotonic()
    for n, (doc, text) in enumerate(mutants(rng, bases, 200)):
        if time.monotonic() - started > 40:
            break
        query = rng.choice(("", "", "?basepath=prepend", "?basepath=split", "?failOnWarnings=true"))
        reimport = current is not None and rng.random() < 0.5
        with time_limit(20, f"import #{n}"):
            status, data = gateway.control("PUT", f"/v2/apis/{current}{query}" if reimport else f"/v2/apis{query}",
                                           {"body": text})
        kind = "reimport" if reimport else "import"
        answers[f"{kind} {status}"] = answers.get(f"{kind} {status}", 0) + 1
        assert status in (201, 400), (status, data, text[:500])
        if status == 400:  # a reimport may also be refused by its auto-deploying stage, naming the part
            assert reimport or data["message"].startswith(("Errors found during import:",
                                                           "Warnings found during import:")), data
            continue
        if not reimport:
            status, stage = gateway.control("POST", f"/v2/apis/{data['apiId']}/stages",
                                            {"stageName": "$default", "autoDeploy": True, "stageVariables": variables})
            answers[f"stage {status}"] = answers.get(f"stage {status}", 0) + 1
            assert status in (201, 400), (status, stage)
            if status == 400:
                continue  # refused at deploy, saying why
            current = data["apiId"]
        for code, count in serve_some(gateway, rng, data["apiId"], route_paths(doc)).items():
            served[code] = served.get(code, 0) + count
    assert gateway.crashes() == []
    assert gateway.server.proc.poll() is None
    assert answers.get("import 201", 0) > 15 and answers.get("reimport 201", 0) > 10, answers
    assert answers.get("import 400", 0) > 15 and served.get(200, 0) > 50, (answers, served)


def test_a_change_an_auto_deploying_stage_cannot_serve_is_refused_and_the_stage_keeps_serving(gateway) -> None:
    """ReimportApi and UpdateIntegration: once such a change was written and deployed unchecked, the gateway could
    not compile the stage and stopped serving the whole API (REST's 403 for every request)."""
    document = rich_document(gateway.issuer.issuer)
    status, api = gateway.control("PUT", "/v2/apis", {"body": json.dumps(document)})
    assert status == 201
    api_id = api["apiId"]
    status, _ = gateway.control("POST", f"/v2/apis/{api_id}/stages", {
        "stageName": "$default", "autoDeploy": True, "stageVariables": {"backend": gateway.backend.address}})
    assert status == 201
    _, before = gateway.control("GET", f"/v2/apis/{api_id}/stages/$default")
    bad = copy.deepcopy(document)
    bad["components"]["x-amazon-apigateway-integrations"]["echo2"]["requestParameters"] = {"apend:header.x": "y"}
    status, refused = gateway.control("PUT", f"/v2/apis/{api_id}", {"body": json.dumps(bad)})
    assert status == 400
    assert refused["message"].startswith("integrations/") and "Invalid mapping key: apend:header.x" in \
        refused["message"], refused
    _, routes = gateway.control("GET", f"/v2/apis/{api_id}/routes")
    rewrite = next(r["target"] for r in routes["items"] if r["routeKey"] == "GET /rewrite/{a}")
    status, refused = gateway.control("PATCH", f"/v2/apis/{api_id}/{rewrite}", {
        "requestParameters": {"overwrite:header.Connection": "close"}})
    assert status == 400 and "the header Connection is reserved" in refused["message"], refused
    _, after = gateway.control("GET", f"/v2/apis/{api_id}/stages/$default")
    assert after["deploymentId"] == before["deploymentId"]
    _, integration = gateway.control("GET", f"/v2/apis/{api_id}/{rewrite}")
    assert "overwrite:header.Connection" not in integration["requestParameters"]  # nothing written
    host = ("Host", f"{api_id}.execute-api.localhost:{gateway.server.port}")
    reply = request(gateway.server.port, "GET", "/fn/1", [host])
    assert (reply.status, reply.json()["fn"]) == (200, "echo")
    assert gateway.crashes() == []


# --- 3. random requests against the served HTTP API ---------------------------------------------------------------

MB10 = 10 * 1024 * 1024
# (route, path template, the methods its route takes); other methods fall to `$default`, the backend.
ROUTES = (("fn", "/fn/{seg}", ("GET", "POST")), ("v1", "/v1/{segs}", None), ("proxy", "/proxy/{segs}", None),
          ("rewrite", "/rewrite/{seg}", ("GET",)), ("jwt", "/jwt", ("GET",)), ("lambda", "/lambda", ("GET",)),
          ("iam", "/iam", ("GET",)), ("sig", "/sig", ("PUT",)), ("fail", "/fail", ("GET",)),
          ("mapped", "/mapped/{seg}", ("POST",)), ("default", "/{segs}", ()))
FUNCTION_ROUTES = ("fn", "v1", "jwt", "lambda", "iam", "sig", "fail", "mapped")
AUTH_ROUTES = ("jwt", "lambda", "iam", "sig")
SEGMENTS = ("a", "1", "%zz", "%", "%2F", "%00", "%C3%A9", "é", "%E6%97%A5", "..", ".", "~", "{id}", "+", "a+b", ";x",
            "%7Bproxy%2B%7D", "*", "x" * 3000, "", "$default", "%24default", "prod", "echo", "status", "418")
METHODS = ("GET", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "OPTIONS", "PROPFIND", "FOO")
QUERIES = ("", "", "?", "?a=1&a=2", "?=x", "?a=%zz", "?&&", "?a=%C3%A9", "?a=b=c", "?%", "?q=" + "q" * 3000,
           "?a[]=1", "?%00=1", "?a=1;b=2", "?#frag", "?echo_status=404", "?echo_status=418", "?echo_status=200",
           "?echo_drop=1", "?echo_header=Access-Control-Allow-Origin:https://evil")


def _headers(rng: random.Random, gw: Gateway) -> list[tuple[str, str]]:
    token = gw.issuer.token(scope=rng.choice(("pets/read", "other")))
    pool = [("Origin", "https://ok.example"), ("Origin", "http://evil.example"), ("Origin", "null"),
            ("Origin", "x" * 5000), ("Access-Control-Request-Method", rng.choice(("GET", "DELETE", "", "?"))),
            ("Access-Control-Request-Headers", "x-token, X-Other"), ("Authorization", "Bearer " + token),
            ("Authorization", token), ("Authorization", "Bearer a.b.c"), ("Authorization", "Bearer"),
            ("Authorization", "A" * 6000), ("Authorization", "AWS4-HMAC-SHA256 Credential=x, Signature=y"),
            ("Authorization", "Basic Zm9vOmJhcg=="), ("x-token", "letmein"), ("x-token", "nope"), ("x-token", ""),
            ("Cookie", "a=1; b=2"), ("Cookie", "="), ("Cookie", ";;"), ("Cookie", "c" * 4000), ("Cookie", "a=é"),
            ("X-Src", "mapped"), ("X-Drop", "1"), ("X-Dup", "1"), ("X-Dup", "2"), ("X-Utf8", "é日本"),
            ("Content-Type", "application/json"), ("Content-Type", "garbage"), ("Content-Type", ""),
            ("Content-Type", "multipart/form-data; boundary="), ("Accept-Encoding", "gzip"),
            ("X-Forwarded-For", "1.2.3.4, nonsense"), ("Forwarded", "for=\"[::1]\""), ("X-Amzn-Trace-Id", "Root=x"),
            ("Expect", "100-continue"), ("apigw-requestid", "mine"), ("X-Empty", "")]
    return rng.sample(pool, rng.randint(0, 6))


def _body(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.004:
        return b"b" * (MB10 + rng.choice((1, 1000)))
    if roll < 0.008:
        return b"{" + b"a" * (MB10 - 2000) + b"}"
    return rng.choice((b"", b"", b'{"a": 1}', b'{"a": {"b": [1, 2]}}', b'{"a": ', b"[" * 1000, b"not json",
                       "é".encode(), bytes(range(256)), b"\x00" * 100, b"x" * 200_000))


def random_http_request(rng: random.Random, gw: Gateway) -> tuple[dict[str, Any], bytes]:
    """A raw request, and what the oracle needs to know of it."""
    name, template, methods = rng.choice(ROUTES)
    method = rng.choice(methods) if methods and rng.random() < 0.7 else rng.choice(METHODS)
    seg = rng.choice(SEGMENTS)
    path = template.replace("{seg}", seg).replace(
        "{segs}", "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(0, 3))))
    stage = rng.choice(("", "", "", "/prod"))
    query = rng.choice(QUERIES)
    headers = _headers(rng, gw)
    preflight = method == "OPTIONS" and rng.random() < 0.5
    if preflight:
        headers += [("Origin", rng.choice(("https://ok.example", "http://evil.example"))),
                    ("Access-Control-Request-Method", rng.choice(("GET", "PUT", "DELETE")))]
    body = _body(rng)
    host = f"{gw.api_id}.execute-api.localhost:{gw.server.port}"
    if rng.random() < 0.85:
        target = f"{stage}{path}{query}"
    else:  # the path-style invoke URL names the stage
        target = f"/restapis/{gw.api_id}/{stage[1:] or '$default'}/_user_request_{path}{query}"
        host = f"127.0.0.1:{gw.server.port}"
    lines = [f"{method} {target or '/'} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers)]
    if body or rng.random() < 0.5:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    route = name if methods is None or method in methods else "default"
    names = {k for k, _ in headers}
    preflight = method == "OPTIONS" and {"Origin", "Access-Control-Request-Method"} <= names
    facts = {"route": route, "loose": "{segs}" in template or ("{seg}" in template and seg in ("", ".", "..")),
             "ascii": target.isascii(), "method": method, "query": query, "preflight": preflight, "body": len(body),
             "origin": next((v for k, v in reversed(headers) if k == "Origin"), None),
             "head": len("\r\n".join(lines).encode()), "raw": ("\r\n".join(lines))[:600]}
    return facts, ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def check_answer(facts: dict[str, Any], status: int, headers: dict[str, list[str]], body: bytes) -> None:
    """What the HTTP API kind may answer in the request's situation (spec §10.4, §9.2)."""
    where = (status, body[:300], facts)
    if facts["method"] == "FOO" or not facts["ascii"]:  # no HTTP method, or raw non-ASCII bytes in the target:
        # the server's parser refuses it before any API sees it
        assert status == 400 and body in (b'{"message":"Bad Request"}', b""), where  # b"": HEAD
        return
    if status == 431:  # the server's limit on the request line and headers (10,240 bytes), before any API
        # +2: the server counts the last header line's CRLF too
        assert facts["head"] + 2 > 10_240 and body in (b'{"message":"Request Header Fields Too Large"}', b""), where
        return
    if facts["preflight"] and status == 204:
        if facts["origin"] == "https://ok.example":
            assert headers.get("access-control-allow-origin") == ["https://ok.example"], where
        return
    if status == 413:
        assert facts["body"] > MB10 and (facts["method"] == "HEAD" or gateway_error(status, body)), where
        return
    if facts["method"] == "HEAD" and not body:
        return  # no body to tell who answered; the status alone must be possible for the route
    # A greedy path or an empty or dot segment may not match its route: `$default` takes it.
    backend = facts["route"] not in FUNCTION_ROUTES or facts["loose"]
    if gateway_error(status, body):
        allowed = {401, 403} if facts["route"] in AUTH_ROUTES else set()
        if facts["route"] == "fail":
            allowed.add(500)
        if backend and "echo_drop" in facts["query"]:
            allowed.add(502)
        assert status in allowed, (*where, facts["raw"])
        return
    if body.startswith(b'{"fn"'):
        assert facts["route"] in FUNCTION_ROUTES and status == 200 and json.loads(body)["fn"] == "echo", where
        return
    # The backend's answer passes through: its record, or its own words for a method it does not know.
    assert backend and ((status in (200, 404, 410, 418) and b'"method"' in body) or status == 501), where
    if "echo_header" in facts["query"] and facts["origin"] != "https://ok.example":
        assert "access-control-allow-origin" not in headers, where  # the backend's CORS headers are ignored


@ON_UVICORN
def test_random_requests_to_a_served_http_api(gateway: Gateway) -> None:
    rng = random.Random(SEED)
    statuses: dict[int, int] = {}
    started = time.monotonic()
    for n in range(1200):
        facts, raw = random_http_request(rng, gateway)
        with time_limit(20, f"request #{n}"):
            data = exchange(gateway.server.port, raw, timeout=15)
        status, headers, body = parse_response(data, head_only=facts["method"] == "HEAD")
        statuses[status] = statuses.get(status, 0) + 1
        check_answer(facts, status, headers, body)
        if n % 50 == 0:
            assert gateway.crashes() == []
    assert time.monotonic() - started < 60
    assert gateway.crashes() == []
    assert gateway.server.proc.poll() is None
    assert statuses.get(200, 0) > 200 and statuses.get(204, 0) > 10, statuses
    reply = request(gateway.server.port, "GET", "/fn/1",
                    [("Host", f"{gateway.api_id}.execute-api.localhost:{gateway.server.port}")])
    assert reply.status == 200


# --- 4. `apiway validate` and project start-up on mutants, and hostile documents -------------------------------

def write_mutant_project(root: Path, text: str) -> Path:
    """A project serving the mutant as an HTTP API on `$default`, with the functions it may name."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "fns.py").write_text(FUNCTIONS)
    (root / "api.yaml").write_text(text)
    project = {"apis": [{"openapi": "api.yaml", "kind": "http",
                         "stages": {"$default": {"variables": {"backend": "127.0.0.1:9"}}}}],
               "functions": PROJECT_FUNCTIONS}
    (root / "apiway.yaml").write_text(yaml.safe_dump(project))
    return root / "apiway.yaml"


def validate_in_process(project: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(["validate", str(project)])
    return code, err.getvalue()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apiway", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


def test_validate_and_start_up_on_mutated_documents(tmp_path: Path, serve) -> None:
    rng = random.Random(SEED)
    codes: dict[int, list[Path]] = {0: [], 2: []}
    for n, (_doc, text) in enumerate(mutants(rng, base_documents("http://127.0.0.1:9/issuer"), 150)):
        project = write_mutant_project(tmp_path / f"m{n}", text)
        with time_limit(10, f"validate mutant {n}"):
            code, err = validate_in_process(project)
        assert code in codes, (code, err)
        if code == 2:  # one line naming the file (the document's or the project's) and what is wrong with it
            assert err.startswith("apiway: ") and str(project.parent) in err and "Traceback" not in err, err
        codes[code].append(project)
    assert len(codes[0]) > 30 and len(codes[2]) > 30, {k: len(v) for k, v in codes.items()}
    # The command and the server itself, on a few of each: the same verdict, no traceback.
    for project in codes[0][:2] + codes[2][:2]:
        result = run_cli("validate", str(project), cwd=project.parent)
        assert result.returncode == (0 if project in codes[0] else 2), result.stderr[-500:]
        assert "Traceback" not in result.stderr
    for project in codes[0][:2]:
        (project.parent / "state").mkdir()
        server = serve(project, state=project.parent / "state" / "state.db")
        reply = request(server.port, "GET", "/", [("Host", f"{next(iter(server.api_ids.values()))}.execute-api."
                                                           f"localhost:{server.port}")])
        assert reply.status < 500 or gateway_error(reply.status, reply.body), reply
        assert "Traceback" not in server.stderr()
    refused = run_cli("serve", str(codes[2][0]), "--port", "0", cwd=codes[2][0].parent)
    assert refused.returncode == 2 and refused.stderr.startswith("apiway: ") and "Traceback" not in refused.stderr


@pytest.mark.parametrize("body", [laughs().encode(), deep_yaml(100_000).encode(), b"[" * 100_000,
                                  b'{"openapi": "3.0.1", "x": ' + b"[" * 200 + b"]" * 200 + b"}",
                                  b"openapi: 3.0.1\ninfo: {title: " + b"x" * 5_000_000 + b"}\n"],
                         ids=["billion-laughs", "deep-yaml", "deep-json", "deep-json-parsed", "huge-title"])
def test_import_api_refuses_hostile_documents(gateway: Gateway, body: bytes) -> None:
    status, api = gateway.control("PUT", "/v2/apis", {"body": json.dumps(rich_document(gateway.issuer.issuer))})
    assert status == 201
    started = time.monotonic()
    for path in ("/v2/apis", f"/v2/apis/{api['apiId']}"):  # ImportApi, ReimportApi
        status, data = gateway.control("PUT", path, {"body": body.decode()})
        assert time.monotonic() - started < 120  # answered, not hung (a 5 MB title takes seconds on a busy machine)
        if status == 201:  # a huge value in an ordinary document is no attack: it imports
            assert body.endswith(b"}\n") and data["name"] == "x" * 5_000_000
            continue
        assert status == 400 and data["message"].startswith("Errors found during import:\n\tbody"), data
    assert gateway.server.proc.poll() is None
    assert gateway.crashes() == []


def test_validate_names_the_document_of_an_authorizer_that_cannot_be_served(tmp_path: Path) -> None:
    """Regression: a project's HTTP API whose Lambda authorizer names no function was refused without naming
    the document (only the route and the authorizer)."""
    document = rich_document("http://127.0.0.1:9/issuer")
    document["components"]["securitySchemes"]["lam"]["x-amazon-apigateway-authorizer"]["authorizerUri"] = "nope"
    project = write_mutant_project(tmp_path, yaml.safe_dump(document))
    result = run_cli("validate", str(project), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (f"apiway: {tmp_path / 'api.yaml'}: route GET /lambda: authorizer lam: authorizerUri "
                             f"must be a Lambda function invocation URI or function ARN, got 'nope'\n")

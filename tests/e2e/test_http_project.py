"""HTTP APIs in project files and plain documents, end to end: `apiway serve` tells an HTTP API document from
a REST one (or is told with `kind:` / `--kind`), deploys it at start to an auto-deploying `$default` stage and
lists its URLs; restarts keep its id and deployment; a ReimportApi deploys to that stage at once; `apiway
validate` names file, line and field of every problem."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from apiway.store import http_deployments
from apiway.store.sqlite import SqliteStore
from tests.http_apis import invoke, v2_client
from tests.support import REPO, Reply, Server

HTTP_API = """openapi: 3.0.1
info: {title: Notes, version: "1"}
paths:
  /notes:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: arn:aws:lambda:us-east-1:123456789012:function:NotesFn
        payloadFormatVersion: "2.0"
  /notes/{id}:
    delete:
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: DELETE, uri: "http://127.0.0.1:9/{id}"}
x-amazon-apigateway-cors: {allowOrigins: ["*"], allowMethods: [GET, DELETE]}
"""
REST_API = """openapi: 3.0.1
info: {title: Classic}
paths:
  /ping:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200"}}
"""
FUNCTION = "def handler(event, context):\n    return {'notes': []}\n"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apiway", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


def write_project(root: Path, project: str = "") -> Path:
    (root / "notes.yaml").write_text(HTTP_API)
    (root / "classic.yaml").write_text(REST_API)
    (root / "notes.py").write_text(FUNCTION)
    (root / "apiway.yaml").write_text(project or "apis:\n  - openapi: notes.yaml\n  - openapi: classic.yaml\n"
                                                 "functions:\n  NotesFn: {handler: notes.py:handler, mode: inline}\n")
    return root / "apiway.yaml"


def call(server: Server, method: str, api_id: str, path: str, headers: dict[str, str] | None = None) -> Reply:
    """Host-style, on the `$default` stage: the whole path is the route's."""
    return invoke(server.port, api_id, method, path, list((headers or {}).items()))


def stage_export(port: int, api_id: str) -> dict:
    body = v2_client(port).export_api(ApiId=api_id, Specification="OAS30", OutputType="JSON", StageName="$default")
    return json.loads(body["body"].read())


def test_project_serves_an_http_api_beside_a_rest_api(serve, tmp_path: Path) -> None:
    server = serve(write_project(tmp_path))
    api_id, rest_id = server.api_ids["Notes"], server.api_ids["Classic"]
    assert api_id != rest_id
    out = server.output
    assert f"  Notes  (api {api_id}, stage $default, HTTP API, deployment " in out
    assert f"    http://{api_id}.execute-api.localhost:{server.port}\n" in out
    assert f"    http://localhost:{server.port}/restapis/{api_id}/$default/_user_request_\n" in out
    assert f"  http://{api_id}.execute-api.localhost:{server.port}/notes\n" in out
    assert f"  Classic  (api {rest_id}, stage dev, deployment " in out
    assert server.call("GET", rest_id, "dev", "/ping").status == 200  # the REST API is served as before
    reply = call(server, "GET", api_id, "/notes")
    assert reply.status == 200 and reply.json() == {"notes": []}  # the project's function, payload 2.0
    preflight = call(server, "OPTIONS", api_id, "/notes", {"Origin": "https://app.example",
                                                           "Access-Control-Request-Method": "GET"})
    assert preflight.status == 204 and preflight.header("access-control-allow-origin") == "*"
    exported = stage_export(server.port, api_id)
    assert set(exported["paths"]) == {"/notes", "/notes/{id}"}
    assert exported["x-amazon-apigateway-cors"] == {"allowOrigins": ["*"], "allowMethods": ["GET", "DELETE"]}
    server.stop()
    store = SqliteStore(server.state)
    stage = http_deployments.get_stage(store, api_id, "$default")
    assert stage is not None and stage["autoDeploy"] is True and stage["deploymentId"]
    assert store.list_api_kinds() == {api_id: "HTTP", rest_id: "REST"}
    store.close()


def test_restart_keeps_the_id_and_deployment_and_redeploys_a_change(serve, tmp_path: Path) -> None:
    project = write_project(tmp_path)
    first = serve(project)
    api_id = first.api_ids["Notes"]
    deployment = first.output.split(f"(api {api_id}, stage $default, HTTP API, deployment ")[1].split(")")[0]
    first.stop()
    second = serve(project)
    assert second.api_ids["Notes"] == api_id
    assert f"unchanged, same deployment: {api_id}/$default" in second.output
    assert f"HTTP API, deployment {deployment})" in second.output
    assert call(second, "GET", api_id, "/notes").status == 200
    second.stop()
    (tmp_path / "notes.yaml").write_text(HTTP_API.replace("/notes:", "/memos:"))
    third = serve(project)
    assert third.api_ids["Notes"] == api_id and f"deployed (changed since the last start): {api_id}/$default" in \
        third.output
    assert f"HTTP API, deployment {deployment})" not in third.output
    assert call(third, "GET", api_id, "/memos").json() == {"notes": []}
    assert call(third, "GET", api_id, "/notes").status == 404


def test_a_reimport_deploys_to_the_auto_deploying_stage(serve, tmp_path: Path) -> None:
    server = serve(write_project(tmp_path))
    api_id = server.api_ids["Notes"]
    assert call(server, "GET", api_id, "/archive").json() == {"message": "Not Found"}
    changed = yaml.safe_load(HTTP_API)
    changed["paths"]["/archive"] = changed["paths"].pop("/notes")
    v2_client(server.port).reimport_api(ApiId=api_id, Body=json.dumps(changed))
    assert set(stage_export(server.port, api_id)["paths"]) == {"/archive", "/notes/{id}"}
    assert call(server, "GET", api_id, "/archive").json() == {"notes": []}  # served at once


def test_kind_in_the_project_file_and_on_the_command_line(serve, tmp_path: Path) -> None:
    project = write_project(tmp_path, "apis:\n  - {openapi: classic.yaml, kind: http, stages: {live: {variables: "
                                      "{a: b}}}}\n")
    (tmp_path / "classic.yaml").write_text(REST_API.replace("type: mock", "type: http_proxy\n        httpMethod: GET"
                                                            "\n        uri: http://127.0.0.1:9/ping"))
    server = serve(project)
    api_id = server.api_ids["Classic"]
    assert f"(api {api_id}, stage live, HTTP API, deployment " in server.output
    assert f"    http://{api_id}.execute-api.localhost:{server.port}/live\n" in server.output
    server.stop()
    looks_http = tmp_path / "looks-http.yaml"  # a REST document that names a CORS configuration
    looks_http.write_text(REST_API + "x-amazon-apigateway-cors: {allowOrigins: ['*']}\n")
    plain = serve(looks_http, "--kind", "rest", state=tmp_path / "plain.db")
    assert "stage dev, deployment" in plain.output and "HTTP API" not in plain.output
    assert plain.call("GET", plain.api_ids["Classic"], "dev", "/ping").status == 200
    plain.stop()
    detected = run_cli("validate", str(looks_http), cwd=tmp_path)  # without --kind: read as an HTTP API
    assert detected.returncode == 2 and "HTTP APIs support aws_proxy and http_proxy" in detected.stderr


def test_validate_knows_both_kinds_and_names_file_line_and_field(tmp_path: Path) -> None:
    write_project(tmp_path)
    result = run_cli("validate", "apiway.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "notes.yaml: ok — HTTP API 'Notes', 2 routes, 2 integrations, 0 authorizers, stages $default" in \
        result.stdout
    assert "classic.yaml: ok — 'Classic'" in result.stdout

    (tmp_path / "notes.yaml").write_text(HTTP_API.replace("type: http_proxy", "type: mock"))
    result = run_cli("validate", "notes.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (f"{tmp_path / 'notes.yaml'}:12: paths./notes/{{id}}.delete.x-amazon-apigateway-integration.type: HTTP APIs "
            f"support aws_proxy and http_proxy integrations only") in result.stderr

    (tmp_path / "notes.yaml").write_text(HTTP_API.replace("function:NotesFn", "function:Missing"))
    result = run_cli("validate", "apiway.yaml", cwd=tmp_path)  # what compiling a stage finds, placed in the file
    assert result.returncode == 2
    assert (f"{tmp_path / 'notes.yaml'}:8: paths./notes.get.x-amazon-apigateway-integration.uri: unknown function "
            f"'Missing'") in result.stderr
    (tmp_path / "notes.yaml").write_text(HTTP_API.replace(
        "type: http_proxy,", "type: http_proxy, requestParameters: {'overwrite:header.Connection': x},"))
    result = run_cli("validate", "apiway.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert (f"{tmp_path / 'notes.yaml'}:12: paths./notes/{{id}}.delete.x-amazon-apigateway-integration."
            f"requestParameters.overwrite:header.Connection: the header Connection is reserved") in result.stderr

    (tmp_path / "apiway.yaml").write_text("apis:\n  - openapi: classic.yaml\n    kind: grpc\n")
    result = run_cli("validate", "apiway.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path / 'apiway.yaml'}:3: apis.0.kind: must be rest, http or websocket, got 'grpc'" in result.stderr

    (tmp_path / "apiway.yaml").write_text("apis:\n  - openapi: classic.yaml\n    kind: http\n    stages:\n"
                                          "      $default: {cache: {size: '0.5'}}\n")
    result = run_cli("validate", "apiway.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path / 'apiway.yaml'}:5: apis.0.stages.$default.cache: unknown key for an HTTP API stage" in \
        result.stderr

    result = run_cli("validate", "classic.yaml", "--kind", "http", cwd=tmp_path)
    assert result.returncode == 2
    assert "classic.yaml:7: paths./ping.get.x-amazon-apigateway-integration.type: HTTP APIs support" in result.stderr


def test_example_project_validates_and_serves(serve) -> None:
    example = REPO / "examples" / "http-api" / "apiway.yaml"
    result = run_cli("validate", str(example), cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "HTTP API 'Notes', 5 routes, 1 integrations, 0 authorizers, stages $default" in result.stdout
    server = serve(example)
    api_id = server.api_ids["Notes"]
    origin = {"Origin": "http://localhost:3000"}
    created = call(server, "POST", api_id, "/notes", origin | {"Content-Type": "application/json"})
    assert created.status == 201 and created.header("access-control-allow-origin") == "http://localhost:3000"
    note = created.json()
    assert call(server, "GET", api_id, f"/notes/{note['id']}").json() == note
    assert call(server, "GET", api_id, "/notes").json() == {"notes": [note]}
    assert call(server, "GET", api_id, "/elsewhere").json() == {
        "message": "hello: GET /elsewhere is not a notes route"}  # $default, with the stage variable
    preflight = call(server, "OPTIONS", api_id, "/notes", origin | {"Access-Control-Request-Method": "DELETE"})
    assert preflight.status == 204 and "DELETE" in (preflight.header("access-control-allow-methods") or "")

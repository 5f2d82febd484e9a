"""The `apiway` command: bad input is refused with file, line and field and exit code 2 without
touching the state; restarts serve the same deployments; a killed server leaves a consistent store."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import REPO, Server

MOCK_API = """openapi: 3.0.1
info: {title: Tiny}
paths:
  /ping:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses:
          default: {statusCode: "200", responseTemplates: {application/json: '{"pong": "$context.stage"}'}}
"""


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apiway", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


def test_help_lists_commands_and_url_forms(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "serve" in result.stdout and "validate" in result.stdout and "_user_request_" in result.stdout
    serve_help = run_cli("serve", "--help", cwd=tmp_path)
    assert "--state" in serve_help.stdout and "127.0.0.1" in serve_help.stdout


def test_bad_openapi_exits_2_with_location_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(MOCK_API.replace("type: mock", "type: FOO"))
    state = tmp_path / "state.db"
    result = run_cli("serve", str(bad), "--state", str(state), "--port", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{bad}:7: paths./ping.get.x-amazon-apigateway-integration.type: unknown type 'FOO'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not state.exists()
    assert run_cli("validate", str(bad), cwd=tmp_path).returncode == 2


def test_validate_reports_summary(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(MOCK_API)
    result = run_cli("validate", str(good), cwd=tmp_path)
    assert result.returncode == 0 and "'Tiny'" in result.stdout and "1 methods" in result.stdout


def test_unknown_function_is_a_deploy_error(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text("""openapi: 3.0.1
info: {title: L}
paths:
  /f:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}/invocations
""")
    (tmp_path / "apiway.yaml").write_text("apis:\n  - openapi: api.yaml\n    stages: {prod: {variables: {fn: Missing}}}\n")
    state = tmp_path / "s" / "state.db"
    result = run_cli("serve", "apiway.yaml", "--state", str(state), "--port", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "/f GET.uri: unknown function 'Missing'" in result.stderr
    assert not state.exists()


def test_bad_project_file_names_field(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(MOCK_API)
    (tmp_path / "apiway.yaml").write_text("apis:\n  - openapi: api.yaml\n    stages:\n      'bad stage!': {}\n")
    result = run_cli("serve", "apiway.yaml", "--port", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "apiway.yaml:4: apis.0.stages.bad stage!: invalid stage name" in result.stderr


def test_plain_openapi_serves_dev_or_chosen_stage(serve, tmp_path: Path) -> None:
    api = tmp_path / "tiny.yaml"
    api.write_text(MOCK_API)
    server = serve(api)
    api_id = server.api_ids["Tiny"]
    assert server.call("GET", api_id, "dev", "/ping").json() == {"pong": "dev"}
    server.stop()
    other = serve(api, "--stage", "v2", state=tmp_path / "other.db")
    assert other.call("GET", other.api_ids["Tiny"], "v2", "/ping").json() == {"pong": "v2"}


def test_restart_serves_same_deployment_and_redeploys_on_change(serve, tmp_path: Path) -> None:
    api = tmp_path / "tiny.yaml"
    api.write_text(MOCK_API)
    first = serve(api)
    api_id = first.api_ids["Tiny"]
    deployment = first.output.split("deployment ")[1].split(")")[0]
    first.stop()

    second = serve(api)
    assert second.api_ids["Tiny"] == api_id
    assert f"deployment {deployment})" in second.output  # unchanged file: same deployment
    assert second.call("GET", api_id, "dev", "/ping").status == 200
    second.stop()

    api.write_text(MOCK_API.replace('"pong"', '"pang"'))
    third = serve(api)
    assert third.api_ids["Tiny"] == api_id  # same API, new deployment
    assert f"deployment {deployment})" not in third.output
    assert third.call("GET", api_id, "dev", "/ping").json() == {"pang": "dev"}


def big_api(resources: int) -> str:
    lines = ["openapi: 3.0.1", "info: {title: Big}", "paths:"]
    for i in range(resources):
        lines += [f"  /r{i}/{{id}}/items:", "    get:", "      x-amazon-apigateway-integration:",
                  "        type: mock", "        requestTemplates: {application/json: '{\"statusCode\": 200}'}",
                  "        responses: {default: {statusCode: '200'}}"]
    return "\n".join(lines) + "\n"


def check_store(state: Path) -> None:
    with sqlite3.connect(state) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return  # killed before the schema was committed: an empty store
        assert tables == {"meta", "rest_apis", "deployments", "stages", "sources", "records", "record_fields", "changes",
                          "sqlite_sequence"}
        stages = db.execute("SELECT api_id, name, record FROM stages").fetchall()
        for api_id, _name, record in stages:
            deployment_id = json.loads(record)["deploymentId"]
            assert db.execute("SELECT 1 FROM deployments WHERE api_id=? AND id=?", (api_id, deployment_id)).fetchone()
            assert db.execute("SELECT 1 FROM rest_apis WHERE id=?", (api_id,)).fetchone()
        for (api_id,) in db.execute("SELECT api_id FROM sources"):
            assert db.execute("SELECT 1 FROM stages WHERE api_id=?", (api_id,)).fetchone()


@pytest.mark.parametrize("delay", [0.15, 0.3, 0.45, 0.6, 0.8, 1.0])
def test_sigkill_during_import_and_deploy_leaves_store_consistent(tmp_path: Path, delay: float) -> None:
    """Kill -9 at different moments of start-up (import, deploy, serve); the store stays readable and
    consistent, and the next start serves the API."""
    api = tmp_path / "big.yaml"
    api.write_text(big_api(300))
    state = tmp_path / "state.db"
    proc = subprocess.Popen([sys.executable, "-m", "apiway", "serve", str(api), "--state", str(state), "--port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if state.exists():
        check_store(state)
    server = Server(api, state)
    try:
        reply = server.call("GET", server.api_ids["Big"], "dev", "/r299/7/items")
        assert reply.status == 200
        check_store(state)
    finally:
        server.stop()


def test_example_project_validates() -> None:
    result = run_cli("validate", str(REPO / "examples" / "petstore" / "apiway.yaml"), cwd=REPO)
    assert result.returncode == 0, result.stderr

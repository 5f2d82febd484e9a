"""Documents from outside cannot take the process down: a YAML "billion laughs" (nested aliases) and
deep nesting are refused through ImportRestApi (400 BadRequestException) and `apiway validate` (exit 2
with file and line), quickly and without a crash, while a large ordinary document still loads."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from botocore.exceptions import ClientError

from tests.support import Server

MOCK_GET = {"x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {
    "application/json": '{"statusCode": 200}'}, "responses": {"default": {"statusCode": "200"}}}}


def laughs() -> str:
    """Under a kilobyte of YAML whose schema example stands for 9^10 strings once aliases are expanded."""
    lines = ["openapi: 3.0.1", "info: {title: Laughs, version: '1'}", "x-lol:",
             "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    lines += ["components:", "  schemas:", "    M: {type: object, example: *a9}", "paths:", "  /p:", "    post:",
              "      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/M'}}}}",
              "      responses: {'200': {description: ok}}",
              "      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{}'}}"]
    text = "\n".join(lines) + "\n"
    assert len(text) < 1000
    return text


def deep_yaml(levels: int) -> str:
    return "openapi: 3.0.1\ninfo: {title: Deep}\npaths: {}\nx-deep: " + "[" * levels + "]" * levels + "\n"


def large_document(paths: int) -> bytes:
    return orjson.dumps({"openapi": "3.0.1", "info": {"title": "Large", "version": "1"},
                         "paths": {f"/r{i}/{{id}}": {"get": MOCK_GET} for i in range(paths)}})


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apiway", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


@pytest.mark.parametrize(("name", "text", "message"), [
    ("laughs.yaml", laughs(), ":8: invalid YAML: aliases expand to too many nodes"),
    ("deep.yaml", deep_yaml(100_000), ":4: invalid YAML: nested more than 128 levels deep"),
    ("deep.json", "[" * 100_000, ":1: invalid JSON: depth limit exceeded"),
    ("deep200.json", '{"openapi": "3.0.1", "x": ' + "[" * 200 + "]" * 200 + "}", ": invalid JSON: nested more than 128"),
], ids=["billion-laughs", "deep-yaml", "deep-json", "deep-json-parsed"])
def test_validate_refuses_hostile_documents(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    start = time.monotonic()
    result = run_cli("validate", str(path), cwd=tmp_path)
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert f"{path}{message}" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - start < 10


def test_validate_loads_a_large_document(tmp_path: Path) -> None:
    path = tmp_path / "large.json"
    path.write_bytes(large_document(2000))
    result = run_cli("validate", str(path), cwd=tmp_path)
    assert result.returncode == 0 and "2000 methods" in result.stdout, result.stderr


def test_project_file_with_laughs_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "apiway.yaml"
    project.write_text("x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
                       + "".join(f"x{i}: &a{i} [{', '.join(['*a' if i == 0 else f'*a{i - 1}'] * 10)}]\n"
                                 for i in range(9)) + "apis: []\n")
    result = run_cli("validate", str(project), cwd=tmp_path)
    assert result.returncode == 2 and "invalid YAML: aliases expand to too many nodes" in result.stderr


@pytest.mark.parametrize("body", [laughs().encode(), deep_yaml(100_000).encode(), b"[" * 100_000,
                                  b'{"openapi": "3.0.1", "x": ' + b"[" * 200 + b"]" * 200 + b"}"],
                         ids=["billion-laughs", "deep-yaml", "deep-json", "deep-json-parsed"])
def test_import_refuses_hostile_documents(apigw_server: Server, apigw, body: bytes) -> None:
    start = time.monotonic()
    with pytest.raises(ClientError) as caught:
        apigw.import_rest_api(body=body)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "BadRequestException"
    assert error["Error"]["Message"].startswith("Invalid OpenAPI input: body")
    assert time.monotonic() - start < 10
    assert apigw_server.proc.poll() is None  # still running, still answering
    assert apigw.get_rest_apis()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_import_loads_a_large_document(apigw) -> None:
    api = apigw.import_rest_api(body=large_document(1000))
    resources = apigw.get_resources(restApiId=api["id"], limit=500)
    assert api["name"] == "Large" and len(resources["items"]) == 500


def test_control_plane_refuses_deeply_nested_request_bodies(apigw_server: Server, apigw) -> None:
    api = apigw.create_rest_api(name="nested")
    deep: object = "x"
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ClientError) as caught:
        apigw.create_model(restApiId=api["id"], name="Deep", contentType="application/json",
                           schema=orjson.dumps({"type": "object", "default": deep}).decode())
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert apigw_server.proc.poll() is None

"""Deploying the project file at start (project/deployer.py): everything is checked before anything is
written; an API is deployed again only when its OpenAPI file or its stages changed, and keeps its id; the
installers serve what the deploy wrote, through the store's change events like any other write."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from apiway.app import App
from apiway.config import load_project
from apiway.core.errors import DeployError
from apiway.core.http import HttpRequest
from apiway.project import deployer
from apiway.project.deployer import StartReport
from apiway.store.sqlite import SqliteStore

OPENAPI = """openapi: 3.0.1
info: {title: Deployed, version: "1"}
paths:
  /a:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"version": "VERSION"}'}}}
"""
PROJECT = """apis:
  - openapi: api.yaml
    stages: {dev: {}}
"""


def write(root: Path, version: str = "1", openapi: str = OPENAPI) -> Path:
    (root / "api.yaml").write_text(openapi.replace("VERSION", version))
    (root / "apiway.yaml").write_text(PROJECT)
    return root / "apiway.yaml"


def start(root: Path, store: SqliteStore) -> StartReport:
    project = load_project(root / "apiway.yaml")
    prepared = deployer.prepare(project, App(project).deps)
    report = StartReport()
    deployer.apply(store, prepared.apis, report)
    return report


def test_only_changed_apis_are_deployed_again_and_keep_their_id(tmp_path: Path) -> None:
    write(tmp_path)
    store = SqliteStore(tmp_path / "state.db")
    first = start(tmp_path, store)
    [deployed] = first.deployed
    api_id = deployed.split("/")[0]
    assert start(tmp_path, store).reused == [deployed]
    write(tmp_path, version="2")
    again = start(tmp_path, store)
    assert again.deployed == [deployed] and len(store.list_deployments(api_id)) == 2
    store.close()


def test_a_project_that_does_not_compile_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, openapi=OPENAPI.replace("type: mock", "type: aws_proxy\n        httpMethod: POST\n        uri: "
                                            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                            "arn:aws:lambda:us-east-1:123456789012:function:Nope/invocations"))
    project = load_project(tmp_path / "apiway.yaml")
    with pytest.raises(DeployError, match="unknown function 'Nope'"):
        deployer.prepare(project, App(project).deps)
    assert not (tmp_path / "state.db").exists()


def test_a_started_app_serves_what_a_later_start_deploys(tmp_path: Path) -> None:
    write(tmp_path)
    store = SqliteStore(tmp_path / "state.db")
    project = load_project(tmp_path / "apiway.yaml")
    app = App(project)
    prepared = deployer.prepare(project, app.deps)
    deployer.apply(store, prepared.apis, StartReport())
    served, failed = app.start(store, prepared.domains, prepared.api_refs)
    assert failed == [] and [s.stage_name for s in served] == ["dev"]
    api_id = served[0].api_id
    write(tmp_path, version="2")  # a second deploy through the same store: its change events reach the app
    start(tmp_path, store)
    reply = asyncio.run(app.gateway.handle(HttpRequest("GET", "/dev/a", "", [("Host", f"{api_id}.execute-api.x")],
                                                       b"")))
    assert reply.body == b'{"version": "2"}'
    store.close()

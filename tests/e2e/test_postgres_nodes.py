"""Two gateway nodes on one PostgreSQL store: what the control plane changes on one node is served by the
other within a second — a new API and stage, a stage change, a deleted stage — and a node started later
serves what is already there."""

from __future__ import annotations

import json
from pathlib import Path

from tests.postgres import PostgresDatabase
from tests.support import Server, apigateway_client, until

API = {"openapi": "3.0.1", "info": {"title": "shared"}, "paths": {"/who": {"get": {
    "x-amazon-apigateway-integration": {
        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200",
                                  "responseTemplates": {"application/json": '{"node": "$stageVariables.v"}'}}}}}}}}


def test_a_change_on_one_node_is_served_by_the_other_within_a_second(tmp_path: Path,
                                                                      postgres_database: PostgresDatabase) -> None:
    store = f"{postgres_database.url}?schema={postgres_database.new_schema()}"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Server(None, tmp_path / "a" / "state.db", ["--store", store])
    b = Server(None, tmp_path / "b" / "state.db", ["--store", store])
    try:
        assert "store postgresql://" in a.output
        client = apigateway_client(a.port)
        api_id = client.import_rest_api(body=json.dumps(API).encode())["id"]
        client.create_deployment(restApiId=api_id, stageName="prod", variables={"v": "one"})

        def answer(server: Server) -> tuple[int, bytes]:
            reply = server.call("GET", api_id, "prod", "/who")
            return reply.status, reply.body

        assert until(lambda: answer(b) == (200, b'{"node": "one"}'), 1.0), answer(b)

        apigateway_client(b.port).update_stage(restApiId=api_id, stageName="prod", patchOperations=[
            {"op": "replace", "path": "/variables/v", "value": "two"}])
        assert until(lambda: answer(a) == (200, b'{"node": "two"}'), 1.0), answer(a)

        (tmp_path / "c").mkdir()
        c = Server(None, tmp_path / "c" / "state.db", ["--store", store])
        try:
            assert answer(c) == (200, b'{"node": "two"}')  # a node started later serves what is there
        finally:
            c.stop()

        client.delete_stage(restApiId=api_id, stageName="prod")
        assert until(lambda: answer(b)[0] == 403, 1.0), answer(b)
    finally:
        a.stop()
        b.stop()
    assert "Traceback" not in a.stderr() + b.stderr()

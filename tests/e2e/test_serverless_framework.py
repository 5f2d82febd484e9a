"""A Serverless Framework service served end to end: `apiway serve` finds serverless.yml in its folder (or is
given it with --stage), resolves its variables, runs its Python functions under the Framework's names, and
serves the REST API of its http events (API key with a usage plan, CORS, a TOKEN authorizer), the HTTP API of
its httpApi events (CORS, a Lambda REQUEST authorizer) and the WebSocket API of its websocket events."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.http_apis import invoke
from tests.support import REPO, Server

APP = REPO / "examples" / "serverless-app"
KEY = "notes-client-key-0123456789"


def copy_app(target: Path) -> Path:
    shutil.copytree(APP, target, ignore=shutil.ignore_patterns(".apiway", "__pycache__"))
    return target


def api_ids(server: Server) -> dict[str, str]:
    """Each API's id by kind, from the start-up table."""
    found = {}
    for kind, api_id in (("REST", r"^  dev-notes  \(api ([a-z0-9]+), stage dev, deployment"),
                         ("HTTP", r"^  dev-notes  \(api ([a-z0-9]+), stage \$default, HTTP API"),
                         ("WEBSOCKET", r"^  dev-notes-websockets  \(api ([a-z0-9]+), stage dev, WebSocket API")):
        match = re.search(api_id, server.output, re.M)
        assert match, server.output
        found[kind] = match.group(1)
    return found


def test_service_in_a_folder_http_httpapi_and_websocket(tmp_path: Path) -> None:
    app = copy_app(tmp_path / "app")
    server = Server(None, app / "state.db", env={"GREETING": "hi"})
    try:
        assert "no apiway.yaml here: serving serverless.yml" in server.output
        assert "service notes, stage dev, region us-east-1" in server.output
        ids = api_ids(server)
        rest, http, ws = ids["REST"], ids["HTTP"], ids["WEBSOCKET"]
        # Variables: ${env:…} with a fallback, ${sls:stage}, nested ${self:custom.tiers.${sls:stage}}, !Ref
        hello = server.call("GET", rest, "dev", "/hello")
        assert hello.status == 200, hello.body
        assert hello.json() == {"message": "hi from dev", "payload": "1.0", "function": "notes-dev-hello",
                                "GREETING": "hi", "STAGE": "dev", "TIER": "small", "REST_API_ID": rest}
        # private: the API key of provider.apiGateway.apiKeys, through its usage plan; the TOKEN authorizer
        assert server.call("GET", rest, "dev", "/notes/7", headers={"Authorization": "allow-ann"}).status == 403
        assert server.call("GET", rest, "dev", "/notes/7", headers={"x-api-key": KEY}).status == 401
        note = server.call("GET", rest, "dev", "/notes/7", headers={"x-api-key": KEY, "Authorization": "allow-ann"})
        assert note.status == 200 and note.json() == {"id": "7", "user": "ann"}
        # cors: true on the http event: the OPTIONS method the Framework adds
        preflight = server.call("OPTIONS", rest, "dev", "/notes/7", headers={"Origin": "https://app.example"})
        assert preflight.status == 200
        assert preflight.header("access-control-allow-origin") == "*"
        assert preflight.header("access-control-allow-methods") == "GET,OPTIONS"
        # request.schemas: the body is validated before the function runs
        bad = server.call("POST", rest, "dev", "/notes", body=b'{"text": 5}', headers={"Content-Type": "application/json"})
        assert bad.status == 400 and bad.json() == {"message": "Invalid request body"}
        good = server.call("POST", rest, "dev", "/notes", body=b'{"text": "tea"}',
                           headers={"Content-Type": "application/json"})
        assert good.status == 201 and good.json() == {"created": {"text": "tea"}}
        # integration: lambda: the Framework's request template makes the event; `[404]` in an error picks 404
        legacy = server.call("GET", rest, "dev", "/legacy/ann?x=1")
        assert legacy.status == 200 and legacy.json() == {"hello": "ann", "method": "GET", "query": {"x": "1"},
                                                          "stage": "dev", "requestPath": "/legacy/{name}"}
        missing = server.call("GET", rest, "dev", "/legacy/missing")
        assert missing.status == 404 and missing.json()["errorMessage"] == "[404] no missing"
        # The HTTP API: payload 2.0, the REQUEST authorizer with simple responses, provider.httpApi.cors
        assert invoke(server.port, http, "GET", "/hello").json()["payload"] == "2.0"
        denied = invoke(server.port, http, "POST", "/notes", headers=[("Authorization", "nope")], body=b"{}")
        assert denied.status == 403
        created = invoke(server.port, http, "POST", "/notes", headers=[("Authorization", "allow-bo")],
                         body=json.dumps({"text": "tea"}).encode())
        assert created.status == 201 and created.json() == {"created": {"text": "tea"}, "user": "bo"}
        options = invoke(server.port, http, "OPTIONS", "/notes", headers=[
            ("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")])
        assert options.status == 204 and options.header("access-control-allow-origin") == "*"

        # The WebSocket API: the $connect authorizer, a two-way route
        async def chat() -> None:
            url = f"ws://127.0.0.1:{server.port}/restapis/{ws}/dev/_user_request_"
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"{url}?token=wrong"):
                    pass
            assert refused.value.response.status_code == 403
            async with connect(f"{url}?token=letmein") as client:
                await client.send(json.dumps({"action": "echo", "text": "ping"}))
                assert json.loads(await asyncio.wait_for(client.recv(), 10)) == {"echo": "ping", "route": "echo"}

        asyncio.run(chat())
    finally:
        server.stop()


def test_stage_option_names_the_stage_and_the_functions(tmp_path: Path, serve) -> None:
    app = copy_app(tmp_path / "app")
    server = serve(app / "serverless.yml", "--stage", "prod")
    match = re.search(r"^  prod-notes  \(api ([a-z0-9]+), stage prod, deployment", server.output, re.M)
    assert match, server.output
    hello = server.call("GET", match.group(1), "prod", "/hello")
    assert hello.status == 200
    assert hello.json()["message"] == "hello from prod" and hello.json()["TIER"] == "large"
    assert hello.json()["function"] == "notes-prod-hello"

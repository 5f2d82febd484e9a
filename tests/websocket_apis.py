"""Test support for WebSocket APIs: definitions in the apigatewayv2 record shape, compiled with real function
runners (inline Python handlers written to a directory) and a real upstream pool, and connections to run
`$connect`, messages and `$disconnect` on."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import orjson

from apiway.auth.authorizer_cache import AuthorizerCache
from apiway.core.clock import ManualClock
from apiway.core.http import HttpRequest
from apiway.core.ws_invocation import Connection, WsStageRuntime
from apiway.functions.base import FunctionSpec
from apiway.functions.runners import Functions
from apiway.integrations.upstream import UpstreamPool
from apiway.model.http import HttpApiDefinition, Stage
from apiway.runtime.deps import CompileDeps
from apiway.runtime.ws_compile import compile_ws_stage
from apiway.state.api_keys import AccessState
from apiway.state.memory import MemoryState

API = "wsapi12345"
HOST = f"{API}.execute-api.us-east-1.amazonaws.com"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
INVOKE_URI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + FUNCTION_ARN + "/invocations"


def lambda_proxy(function: str, **fields: Any) -> dict[str, Any]:
    return {"integrationType": "AWS_PROXY", "integrationUri": INVOKE_URI.format(function), **fields}


def lambda_aws(function: str, **fields: Any) -> dict[str, Any]:
    return {"integrationType": "AWS", "integrationUri": INVOKE_URI.format(function), **fields}


def mock(**fields: Any) -> dict[str, Any]:
    return {"integrationType": "MOCK", **fields}


def ws_api(routes: dict[str, dict[str, Any]], **api_fields: Any) -> HttpApiDefinition:
    """A WebSocket API; each route key maps to {"integration": record fields, "route": extra route fields,
    "two_way": True, "responses": [integration response records]}. Ids are `r{n}`/`i{n}` in order."""
    definition: dict[str, Any] = {
        "api": {"apiId": API, "name": "chat", "protocolType": "WEBSOCKET",
                "routeSelectionExpression": "$request.body.action",
                "apiEndpoint": f"wss://{HOST}", "createdDate": "2026-01-01T00:00:00Z", **api_fields},
        "routes": {}, "integrations": {}, "authorizers": {}, "integrationResponses": {}, "routeResponses": {},
        "models": {},
    }
    for n, (route_key, spec) in enumerate(routes.items()):
        route: dict[str, Any] = {"routeId": f"r{n}", "routeKey": route_key, "authorizationType": "NONE",
                                 **spec.get("route", {})}
        if "integration" in spec:
            definition["integrations"][f"i{n}"] = {"integrationId": f"i{n}", "payloadFormatVersion": "1.0",
                                                   "timeoutInMillis": 29000, **spec["integration"]}
            route["target"] = f"integrations/i{n}"
            definition["integrationResponses"][f"i{n}"] = {
                f"ir{n}{k}": {"integrationResponseId": f"ir{n}{k}", **record}
                for k, record in enumerate(spec.get("responses", []))}
        if spec.get("two_way"):
            route["routeResponseSelectionExpression"] = "$default"
            definition["routeResponses"][f"r{n}"] = {f"rr{n}": {"routeResponseId": f"rr{n}",
                                                                "routeResponseKey": "$default"}}
        definition["routes"][f"r{n}"] = route
    return definition  # type: ignore[return-value]


def stage(name: str = "prod", **fields: Any) -> Stage:
    return {"apiId": API, "stageName": name, "createdDate": "2026-01-01T00:00:00Z",
            "lastUpdatedDate": "2026-01-01T00:00:00Z", "autoDeploy": False, "deploymentId": "dep1",
            **fields}  # type: ignore[typeddict-item]


class Lambdas:
    """Python handlers written to `directory`, each an inline function noting its event in a file."""

    def __init__(self, directory: Path, source: str, names: tuple[str, ...]) -> None:
        (directory / "handlers.py").write_text(source)
        self.calls_file = directory / "calls.jsonl"
        self.functions = Functions()
        for name in names:
            self.functions.load(FunctionSpec(name, f"handlers.py:{name}", directory, timeout=5, mode="inline",
                                             environment={"CALLS": str(self.calls_file)}))
        self.clock = ManualClock()
        self.state = MemoryState(self.clock)
        self.access = AccessState(self.state, self.clock)
        self.pool = UpstreamPool()
        self.deps = CompileDeps(invoker=self.functions, pool=self.pool, clock=self.clock, state=self.state,
                                access=self.access, authorizer_cache=AuthorizerCache(self.state, clock=self.clock))

    def calls(self) -> list[dict[str, Any]]:
        if not self.calls_file.exists():
            return []
        return [orjson.loads(line) for line in self.calls_file.read_text().splitlines()]

    def compile(self, definition: HttpApiDefinition, record: Stage | None = None) -> WsStageRuntime:
        return compile_ws_stage(definition, record or stage(), self.deps)

    async def close(self) -> None:
        await self.functions.close()

    async def within(self, scenario: Awaitable[Any]) -> Any:
        """Run `scenario`, then close the upstream pool's connections on the same event loop."""
        try:
            return await scenario
        finally:
            await self.pool.close()


def connection(query: str = "", headers: list[tuple[str, str]] | None = None, connection_id: str = "Conn1234abcd=",
               path: str = "/prod", connected_at: int = 1_700_000_000_000) -> Connection:
    request = HttpRequest("GET", path, query,
                          [("Host", HOST), ("Connection", "Upgrade"), ("Upgrade", "websocket"),
                           ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
                           ("User-Agent", "test-client/1.0"), *(headers or [])],
                          b"", client_ip="203.0.113.9", scheme="https", server_port=443)
    return Connection(connection_id, request, connected_at, HOST)

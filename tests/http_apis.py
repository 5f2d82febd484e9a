"""Test support for HTTP APIs: definitions in the apigatewayv2 record shape (model/http.py), putting one with its
stages into a state file the way the control plane stores them (store/http_deployments.py), a boto3
`apigatewayv2` client for a running apiway and what its refusals say, and requests to an API by its host name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from apiway.core.http import HttpRequest, HttpResponse
from apiway.core.invocation import Invocation, MethodPlan, StageRuntime
from apiway.core.media import BinaryTypes
from apiway.core.router import Router
from apiway.model.http import HttpApiDefinition, Integration
from apiway.store import http_deployments
from apiway.store.sqlite import SqliteStore
from tests.support import Reply, request

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


def http_proxy(uri: str, method: str = "ANY", **fields: Any) -> dict[str, Any]:
    return {"integrationType": "HTTP_PROXY", "integrationUri": uri, "integrationMethod": method,
            "payloadFormatVersion": "1.0", **fields}


def lambda_proxy(function: str, version: str = "2.0", **fields: Any) -> dict[str, Any]:
    return {"integrationType": "AWS_PROXY", "integrationUri": FUNCTION_ARN.format(function),
            "payloadFormatVersion": version, **fields}


def http_api(api_id: str, routes: dict[str, dict[str, Any] | None], name: str = "Http", **api_fields: Any,
             ) -> HttpApiDefinition:
    """An HTTP API whose route keys each target their own integration (None: a route without one). Route ids
    are `r{n}`, integration ids `i{n}`, in the order given."""
    definition: dict[str, Any] = {
        "api": {"apiId": api_id, "name": name, "protocolType": "HTTP",
                "routeSelectionExpression": "${request.method} ${request.path}",
                "apiEndpoint": f"https://{api_id}.execute-api.us-east-1.amazonaws.com",
                "createdDate": "2026-01-01T00:00:00Z", **api_fields},
        "routes": {}, "integrations": {}, "authorizers": {},
    }
    for n, (route_key, integration) in enumerate(routes.items()):
        route: dict[str, Any] = {"routeId": f"r{n}", "routeKey": route_key, "authorizationType": "NONE"}
        if integration is not None:
            record: Integration = {"integrationId": f"i{n}", "timeoutInMillis": 30000, **integration}  # type: ignore[typeddict-item]
            definition["integrations"][f"i{n}"] = record
            route["target"] = f"integrations/i{n}"
        definition["routes"][f"r{n}"] = route
    return definition  # type: ignore[return-value]


def store_http_api(state: Path, definition: HttpApiDefinition, stages: dict[str, dict[str, Any]]) -> None:
    """Write the API, one deployment of it and the named stages pointing at it, into the state file."""
    state.parent.mkdir(parents=True, exist_ok=True)
    store = SqliteStore(state)
    try:
        http_deployments.put_api(store, definition)
        deployment, snapshot = http_deployments.new_deployment(definition)
        api_id = definition["api"]["apiId"]
        records = [http_deployments.new_stage(api_id, name, **fields) for name, fields in stages.items()]
        http_deployments.deploy(store, api_id, deployment, snapshot, records)
    finally:
        store.close()


def v2_client(port: int, **config: Any) -> Any:
    """A real boto3 `apigatewayv2` client pointed at a running apiway, without retries; `config`: more botocore
    Config options (`parameter_validation=False` lets the server judge what botocore would refuse)."""
    import boto3
    from botocore.config import Config

    return boto3.client("apigatewayv2", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}, **config))


def client_error(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    """(error code, HTTP status, message) of the ClientError a control-plane call must raise."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    got = info.value.response
    return got["Error"]["Code"], got["ResponseMetadata"]["HTTPStatusCode"], got["Error"]["Message"]


def invoke(port: int, api_id: str, method: str, path: str, headers: list[tuple[str, str]] | None = None,
           **kw: Any) -> Reply:
    """A request to an API on a running apiway, by its `{apiId}.execute-api` host name."""
    return request(port, method, path, [("Host", f"{api_id}.execute-api.localhost:{port}"), *(headers or [])], **kw)


class _NoErrors:
    def render(self, *args: Any) -> HttpResponse:
        raise AssertionError("no error is rendered here")


async def _no_integration(inv: Invocation) -> HttpResponse:
    raise AssertionError("not called")


def route_invocation(
    method: str,
    sent_path: str,
    *,
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    api_id: str = "api-id",
    stage: str = "$default",
    route_key: str = "$default",
    path_params: dict[str, str] | None = None,
    variables: dict[str, str] | None = None,
    client_ip: str = "192.0.2.1",
    wall_ms: Callable[[], int] | None = None,  # the stage's clock; the system's when not given
    authorizer: dict[str, Any] | None = None,
) -> Invocation:
    """The Invocation of `method sent_path` routed to `route_key` on an HTTP API stage, as the gateway makes it
    (a stage without errors or integration to run: the checks and events under test run on it alone)."""
    runtime = StageRuntime(
        api_id=api_id, kind="HTTP", api_name="api", stage_name=stage, deployment_id="dep1", variables=variables,
        router=Router(), errors=_NoErrors(), binary_types=BinaryTypes(()), account_id="123456789012",
        disable_execute_api_endpoint=False, plans=[], **({"wall_ms": wall_ms} if wall_ms is not None else {}),
    )
    plan = MethodPlan("rt0001", route_key, route_key.partition(" ")[0], False, "NONE", _no_integration)
    req = HttpRequest(method, sent_path, query, headers or [], body, client_ip=client_ip, scheme="https",
                      server_port=443)
    path = sent_path if stage == "$default" else "/" + sent_path.lstrip("/").partition("/")[2]
    inv = Invocation(req, runtime, plan, path_params or {}, path, sent_path, "c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
    inv.authorizer = authorizer
    return inv

"""Test support for HTTP APIs: definitions in the apigatewayv2 record shape (model/http.py), and putting one with
its stages into a state file the way the control plane stores them (store/http_deployments.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apiway.model.http import HttpApiDefinition, Integration
from apiway.store import http_deployments
from apiway.store.sqlite import SqliteStore

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

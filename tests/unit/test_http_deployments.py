"""HTTP API deployments in the store: a snapshot that later changes do not reach, stages pointed at it,
and auto-deploy reaching exactly the stages that ask for it."""

from __future__ import annotations

from pathlib import Path

from apiway.store import http_deployments as deployments
from apiway.store.sqlite import SqliteStore


def definition(api_id: str = "httpapi001") -> dict:
    return {"api": {"apiId": api_id, "name": "h", "protocolType": "HTTP",
                    "routeSelectionExpression": "${request.method} ${request.path}", "apiEndpoint": "",
                    "createdDate": deployments.iso_now()},
            "routes": {"r1": {"routeId": "r1", "routeKey": "GET /a", "authorizationType": "NONE"}},
            "integrations": {}, "authorizers": {}}


def test_deploy_snapshots_and_auto_deploy_reaches_only_auto_stages(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    api = definition()
    deployments.put_api(store, api)
    deployment, snapshot = deployments.new_deployment(api, "first")
    manual = deployments.new_stage("httpapi001", "manual")
    auto = deployments.new_stage("httpapi001", "$default", auto_deploy=True)
    deployments.deploy(store, "httpapi001", deployment, snapshot, [manual, auto])
    api["routes"]["r1"]["routeKey"] = "GET /b"  # a later change does not reach the snapshot
    assert deployments.get_deployment(store, "httpapi001", deployment["deploymentId"])[1]["routes"]["r1"][
        "routeKey"] == "GET /a"

    with store.transaction():
        deployments.put_api(store, api)
        made = deployments.auto_deploy(store, api)
    assert made is not None and made["autoDeployed"] and made["deploymentId"] != deployment["deploymentId"]
    assert deployments.get_stage(store, "httpapi001", "$default")["deploymentId"] == made["deploymentId"]
    assert deployments.get_stage(store, "httpapi001", "manual")["deploymentId"] == deployment["deploymentId"]
    assert deployments.get_api(store, "httpapi001")["routes"]["r1"]["routeKey"] == "GET /b"
    assert [s["stageName"] for s in deployments.list_stages(store, "httpapi001")] == ["$default", "manual"]
    assert deployments.auto_deploy(store, definition("other00001")) is None

"""The control plane finds an API key by its value, and a key's plans, without reading every key or every link
(store/kinds.py FOUND_BY): CreateApiKey's duplicate check and CreateUsagePlanKey's one-plan-per-stage check
stay cheap with many keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from apiway.control.errors import ControlError
from apiway.control.operations.api_keys import create_api_key, import_api_keys
from apiway.control.operations.usage_plans import create_usage_plan_key
from apiway.control.plane import ControlPlane
from apiway.store.kinds import API_KEY, USAGE_PLAN, USAGE_PLAN_KEY
from apiway.store.sqlite import SqliteStore


class ListingStore(SqliteStore):
    """A real SQLite store that records which kinds were read whole."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.listed: list[str] = []

    def list_records(self, kind: str) -> list:
        self.listed.append(kind)
        return super().list_records(kind)


def plan(store: SqliteStore, plan_id: str, stages: list[tuple[str, str]]) -> None:
    store.put_record(USAGE_PLAN, plan_id, {"id": plan_id, "name": plan_id, "apiStages": [
        {"apiId": api, "stage": stage} for api, stage in stages]})


def test_key_checks_read_only_the_records_they_concern(tmp_path: Path) -> None:
    store = ListingStore(tmp_path / "state.db")
    cp = ControlPlane(store, runtime=None)  # type: ignore[arg-type]  (no operation here touches the gateway)
    plan(store, "p1", [("api1", "prod")])
    plan(store, "p2", [("api1", "prod"), ("api1", "dev")])
    plan(store, "p3", [("api1", "dev")])
    ids = [create_api_key(cp, {"name": f"k{n}", "value": f"value-of-key-number-{n:04d}", "enabled": True})["id"]
           for n in range(200)]
    with pytest.raises(ControlError, match="API Key already exists"):
        create_api_key(cp, {"name": "again", "value": "value-of-key-number-0042"})
    create_usage_plan_key(cp, {"usagePlanId": "p1", "keyId": ids[7], "keyType": "API_KEY"})
    with pytest.raises(ControlError, match="same API Stage: api1:prod"):  # p2 shares api1/prod with p1
        create_usage_plan_key(cp, {"usagePlanId": "p2", "keyId": ids[7], "keyType": "API_KEY"})
    create_usage_plan_key(cp, {"usagePlanId": "p3", "keyId": ids[7], "keyType": "API_KEY"})
    with pytest.raises(ControlError, match="already in Usage Plan p3"):
        create_usage_plan_key(cp, {"usagePlanId": "p3", "keyId": ids[7], "keyType": "API_KEY"})
    result = import_api_keys(cp, {"body": b"name,key,enabled\nfrom-file,value-of-key-number-0100,true\n",
                                  "format": "csv"})
    assert result["ids"] == [ids[100]]  # a value already held: that key, not a new one
    assert API_KEY not in store.listed and USAGE_PLAN_KEY not in store.listed
    assert store.find_records(API_KEY, "value", "value-of-key-number-0042")[0]["id"] == ids[42]
    store.close()

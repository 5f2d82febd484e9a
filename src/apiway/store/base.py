"""The store interface: API definitions, immutable deployments, stages, which project-file source
produced which API, and records by kind (API keys, usage plans, domain names, …, and the APIs of other
kinds: store/kinds.py). Every committed write is announced to subscribers (store/changes.py).
SQLite implements it for one node; a PostgreSQL store will for many, by passing tests/contract."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from apiway.model.rest import ApiDefinition, Deployment, Stage
from apiway.store.changes import Subscriber


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[None]:
        """All or nothing; a nested transaction joins the outer one. Changes are announced when the
        outermost one commits, never when it rolls back."""

    def subscribe(self, callback: Subscriber) -> None:
        """Call `callback(changes)` once per committed transaction, in commit order."""

    def get_api(self, api_id: str) -> ApiDefinition | None: ...

    def has_api(self, api_id: str) -> bool: ...

    def put_api(self, definition: ApiDefinition) -> None: ...

    def list_apis(self) -> list[ApiDefinition]:
        """The REST APIs."""

    def list_api_kinds(self) -> dict[str, str]:
        """Every API id with its kind: "REST", "HTTP" or "WEBSOCKET" (one id space for all kinds)."""

    def delete_api(self, api_id: str) -> None: ...

    def add_deployment(self, deployment: Deployment, snapshot: ApiDefinition) -> None: ...

    def put_deployment_record(self, deployment: Deployment) -> None: ...

    def list_deployments(self, api_id: str) -> list[Deployment]: ...

    def delete_deployment(self, api_id: str, deployment_id: str) -> None: ...

    def get_stage(self, api_id: str, name: str) -> Stage | None: ...

    def delete_stage(self, api_id: str, name: str) -> None: ...

    def get_deployment(self, api_id: str, deployment_id: str) -> tuple[Deployment, ApiDefinition] | None: ...

    def put_stage(self, stage: Stage) -> None: ...

    def list_stages(self) -> list[Stage]: ...

    def get_source(self, key: str) -> tuple[str, str] | None: ...

    def put_source(self, key: str, api_id: str, digest: str) -> None: ...

    def get_record(self, kind: str, key: str) -> Any: ...

    def put_record(self, kind: str, key: str, record: Any) -> None: ...

    def delete_record(self, kind: str, key: str) -> None: ...

    def list_records(self, kind: str) -> list[Any]: ...

    def find_records(self, kind: str, field: str, value: str) -> list[Any]:
        """Records of `kind` whose `field` equals `value`, without reading the others (store/kinds.py FOUND_BY
        names the fields)."""
        ...

    def increment(self, kind: str, key: str, field: str, n: int, initial: dict[str, Any] | None = None) -> int:
        """Atomically add `n` to a record's counter field, the record starting as `initial` when missing;
        the new value. Counters are written behind and announce no change."""

    def ping(self) -> None:
        """Raise unless the store answers now (readiness); blocking."""

    def close(self) -> None: ...

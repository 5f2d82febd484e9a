"""What the SQL stores share (SQLite for the embedded default, PostgreSQL for many nodes): the tables,
every query, transactions and the announcement of what each committed. A backend says how to connect, how
to begin a transaction that excludes every other writer (in any process or node), and its own SQL
dialect where the two differ (only the placeholder).

Each thread has its own connection (the event loop's and the control plane's): a reader sees only
committed transactions, never one another thread has open."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import orjson

from apiway.model.rest import ApiDefinition, Deployment, Stage
from apiway.store.changes import API, DEPLOYMENT, SOURCE, STAGE, Changed, ChangeFeed, Subscriber, stage_key
from apiway.store.kinds import FOUND_BY, V2_API

SCHEMA_VERSION = 2  # 2: record_fields (what `find_records` looks in); a version-1 store is upgraded on open
# {blob} is the backend's binary column type.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rest_apis (id TEXT PRIMARY KEY, definition {blob} NOT NULL);
CREATE TABLE IF NOT EXISTS deployments (
    id TEXT NOT NULL, api_id TEXT NOT NULL, record {blob} NOT NULL, snapshot {blob} NOT NULL,
    PRIMARY KEY (api_id, id));
CREATE TABLE IF NOT EXISTS stages (
    api_id TEXT NOT NULL, name TEXT NOT NULL, record {blob} NOT NULL, PRIMARY KEY (api_id, name));
CREATE TABLE IF NOT EXISTS sources (key TEXT PRIMARY KEY, api_id TEXT NOT NULL, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, record {blob} NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS record_fields (
    kind TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (kind, field, value, id));
CREATE INDEX IF NOT EXISTS record_fields_of ON record_fields (kind, id);
"""
_PUT_RECORD = "INSERT INTO records VALUES (?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET record=excluded.record"


class StoreError(Exception):
    pass


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, params: Any = ..., /) -> Any: ...

    def close(self) -> None: ...


def _load(blob: bytes) -> Any:
    return orjson.loads(blob)


class SqlStore:
    """The store on one SQL database; subclasses open connections (`_connect`) and begin transactions."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._connections_lock = threading.Lock()
        self._lock = threading.RLock()  # one writer at a time in this process; re-entrant for nesting
        self._depth = 0
        self._feed = ChangeFeed()

    def _connect(self) -> Connection:
        raise NotImplementedError

    def _begin(self, db: Connection) -> None:
        """Begin a transaction no other writer, in any process, runs beside."""
        raise NotImplementedError

    def _before_commit(self, db: Connection, changes: list[Changed]) -> None:
        """Inside the transaction, just before it commits: what it changed (other nodes learn of it)."""

    def _after_commit(self) -> None:
        """Just after the transaction committed, still holding the write lock."""

    @property
    def _db(self) -> Connection:
        """This thread's connection, opened on its first use."""
        db: Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._adopt(db)
        return db

    def _adopt(self, db: Connection) -> None:
        """Make `db` this thread's connection."""
        self._local.db = db
        with self._connections_lock:
            self._connections.append(db)

    def ping(self) -> None:
        """Raise unless the database answers; a failed connection of this thread is dropped, so the next ping
        connects again."""
        try:
            self._db.execute("SELECT 1").fetchone()
        except Exception:
            db = getattr(self._local, "db", None)
            if db is not None:
                self._local.db = None
                with self._connections_lock:
                    self._connections.remove(db)
                db.close()
            raise

    def subscribe(self, callback: Subscriber) -> None:
        """`callback(changes)` after each committed transaction, in commit order; see store/changes.py."""
        self._feed.subscribe(callback)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Atomic unit of work; nested uses join the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._begin(self._db)
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                self._feed.rollback()
                raise
            else:
                self._before_commit(self._db, self._feed.pending())
                self._db.execute("COMMIT")
                self._after_commit()
            finally:
                self._depth = 0
            # Still under the lock, so batches reach subscribers in commit order; subscribers that write
            # join the lock (it is re-entrant) and their changes follow this batch.
            self._feed.commit()

    def _write(self, sql: str, params: tuple[Any, ...], *changed: tuple[str, str]) -> None:
        with self.transaction():
            self._db.execute(sql, params)
            for kind, key in changed:
                self._feed.note(kind, key)

    def get_api(self, api_id: str) -> ApiDefinition | None:
        row = self._db.execute("SELECT definition FROM rest_apis WHERE id=?", (api_id,)).fetchone()
        return None if row is None else _load(row[0])

    def has_api(self, api_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM rest_apis WHERE id=?", (api_id,)).fetchone() is not None

    def put_api(self, definition: ApiDefinition) -> None:
        api_id = definition["restApi"]["id"]
        self._write("INSERT INTO rest_apis VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET definition=excluded.definition",
                    (api_id, orjson.dumps(definition)), (API, api_id))

    def list_apis(self) -> list[ApiDefinition]:
        return [_load(r[0]) for r in self._db.execute("SELECT definition FROM rest_apis ORDER BY id")]

    def list_api_kinds(self) -> dict[str, str]:
        """Every API id, of any kind, with its kind: "REST", or an apigatewayv2 API's protocolType."""
        kinds = {r[0]: "REST" for r in self._db.execute("SELECT id FROM rest_apis")}
        kinds.update((d["api"]["apiId"], d["api"]["protocolType"]) for d in self.list_records(V2_API))
        return dict(sorted(kinds.items()))

    def delete_api(self, api_id: str) -> None:
        """The API with its deployments, stages and project-file source link."""
        with self.transaction():
            self._feed.note(API, api_id)
            for (name,) in self._db.execute("SELECT name FROM stages WHERE api_id=? ORDER BY name", (api_id,)):
                self._feed.note(STAGE, stage_key(api_id, name))
            for (deployment_id,) in self._db.execute("SELECT id FROM deployments WHERE api_id=? ORDER BY id",
                                                     (api_id,)):
                self._feed.note(DEPLOYMENT, f"{api_id}/{deployment_id}")
            for table, column in (("rest_apis", "id"), ("deployments", "api_id"), ("stages", "api_id"),
                                  ("sources", "api_id")):
                self._db.execute(f"DELETE FROM {table} WHERE {column}=?", (api_id,))

    def add_deployment(self, deployment: Deployment, snapshot: ApiDefinition) -> None:
        self._write("INSERT INTO deployments VALUES (?, ?, ?, ?)",
                    (deployment["id"], deployment["restApiId"], orjson.dumps(deployment), orjson.dumps(snapshot)),
                    (DEPLOYMENT, f"{deployment['restApiId']}/{deployment['id']}"))

    def get_deployment(self, api_id: str, deployment_id: str) -> tuple[Deployment, ApiDefinition] | None:
        row = self._db.execute("SELECT record, snapshot FROM deployments WHERE api_id=? AND id=?",
                               (api_id, deployment_id)).fetchone()
        return None if row is None else (_load(row[0]), _load(row[1]))

    def put_deployment_record(self, deployment: Deployment) -> None:
        """Replace a deployment's own fields (its description); the snapshot never changes."""
        self._write("UPDATE deployments SET record=? WHERE api_id=? AND id=?",
                    (orjson.dumps(deployment), deployment["restApiId"], deployment["id"]),
                    (DEPLOYMENT, f"{deployment['restApiId']}/{deployment['id']}"))

    def list_deployments(self, api_id: str) -> list[Deployment]:
        rows = self._db.execute("SELECT record FROM deployments WHERE api_id=?", (api_id,))
        return sorted((_load(r[0]) for r in rows), key=lambda d: (d["createdDate"], d["id"]))

    def delete_deployment(self, api_id: str, deployment_id: str) -> None:
        self._write("DELETE FROM deployments WHERE api_id=? AND id=?", (api_id, deployment_id),
                    (DEPLOYMENT, f"{api_id}/{deployment_id}"))

    def get_stage(self, api_id: str, name: str) -> Stage | None:
        row = self._db.execute("SELECT record FROM stages WHERE api_id=? AND name=?", (api_id, name)).fetchone()
        return None if row is None else _load(row[0])

    def delete_stage(self, api_id: str, name: str) -> None:
        self._write("DELETE FROM stages WHERE api_id=? AND name=?", (api_id, name), (STAGE, stage_key(api_id, name)))

    def put_stage(self, stage: Stage) -> None:
        self._write("INSERT INTO stages VALUES (?, ?, ?) ON CONFLICT (api_id, name) "
                    "DO UPDATE SET record=excluded.record",
                    (stage["restApiId"], stage["stageName"], orjson.dumps(stage)),
                    (STAGE, stage_key(stage["restApiId"], stage["stageName"])))

    def list_stages(self) -> list[Stage]:
        return [_load(r[0]) for r in self._db.execute("SELECT record FROM stages ORDER BY api_id, name")]

    def get_source(self, key: str) -> tuple[str, str] | None:
        row = self._db.execute("SELECT api_id, digest FROM sources WHERE key=?", (key,)).fetchone()
        return None if row is None else (row[0], row[1])

    def put_source(self, key: str, api_id: str, digest: str) -> None:
        self._write("INSERT INTO sources VALUES (?, ?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET api_id=excluded.api_id, digest=excluded.digest", (key, api_id, digest),
                    (SOURCE, key))

    def get_record(self, kind: str, key: str) -> Any:
        row = self._db.execute("SELECT record FROM records WHERE kind=? AND id=?", (kind, key)).fetchone()
        return None if row is None else _load(row[0])

    def put_record(self, kind: str, key: str, record: Any) -> None:
        fields = FOUND_BY.get(kind)
        if fields is None:
            self._write(_PUT_RECORD, (kind, key, orjson.dumps(record)), (kind, key))
            return
        with self.transaction():
            self._db.execute(_PUT_RECORD, (kind, key, orjson.dumps(record)))
            self._db.execute("DELETE FROM record_fields WHERE kind=? AND id=?", (kind, key))
            self._put_fields(kind, key, record, fields)
            self._feed.note(kind, key)

    def _put_fields(self, kind: str, key: str, record: Any, fields: tuple[str, ...]) -> None:
        for field in fields:
            value = record.get(field) if isinstance(record, dict) else None
            if isinstance(value, str):
                self._db.execute("INSERT INTO record_fields VALUES (?, ?, ?, ?)", (kind, field, value, key))

    def delete_record(self, kind: str, key: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM records WHERE kind=? AND id=?", (kind, key))
            if kind in FOUND_BY:
                self._db.execute("DELETE FROM record_fields WHERE kind=? AND id=?", (kind, key))
            self._feed.note(kind, key)

    def find_records(self, kind: str, field: str, value: str) -> list[Any]:
        """The records of `kind` whose `field` equals `value`, by id; only the fields `FOUND_BY` names."""
        if field not in FOUND_BY.get(kind, ()):
            raise ValueError(f"records of kind {kind!r} are not found by {field!r} (store/kinds.py FOUND_BY)")
        rows = self._db.execute("SELECT r.record FROM record_fields f JOIN records r ON r.kind=f.kind AND r.id=f.id "
                                "WHERE f.kind=? AND f.field=? AND f.value=? ORDER BY f.id", (kind, field, value))
        return [_load(r[0]) for r in rows]

    def _upgrade(self, version: int, where: str) -> None:
        """Bring a store written by an earlier apiway to this schema, in one transaction; refuse a newer one."""
        if version == SCHEMA_VERSION:
            return
        if not 1 <= version < SCHEMA_VERSION:
            raise StoreError(f"{where}: state schema {version} is not supported (expected {SCHEMA_VERSION})")
        with self.transaction():
            db = self._db
            found = int(db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0])
            if found == 1:  # (another process may have upgraded it meanwhile)
                for kind, fields in FOUND_BY.items():
                    rows = list(db.execute("SELECT id, record FROM records WHERE kind=?", (kind,)))
                    for key, blob in rows:
                        self._put_fields(kind, key, _load(blob), fields)
                db.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION),))

    def increment(self, kind: str, key: str, field: str, n: int, initial: dict[str, Any] | None = None) -> int:
        """Add `n` to a record's numeric `field` atomically (the record starts as `initial`, the field at 0,
        when there is none yet) and return the new value. Announces nothing (store/changes.py)."""
        with self.transaction():  # no other writer, in this process or another, in between
            found = self.get_record(kind, key)
            record = found if found is not None else dict(initial or {})
            record[field] = record.get(field, 0) + n
            self._db.execute(_PUT_RECORD, (kind, key, orjson.dumps(record)))
        return int(record[field])

    def list_records(self, kind: str) -> list[Any]:
        return [_load(r[0]) for r in self._db.execute("SELECT record FROM records WHERE kind=? ORDER BY id", (kind,))]

    def close(self) -> None:
        with self._connections_lock:
            for db in self._connections:
                db.close()
            self._connections.clear()

"""PostgreSQL store, for several gateway nodes on one database: the tables and queries of store/sql.py,
writers excluded from one another across nodes by a transaction-scoped advisory lock, and every committed
change announced to the other nodes with NOTIFY.

Each write transaction that changes something also advances a revision number kept in the database; a
notification carries the node that wrote, the revision and the changes. Every node LISTENs on a thread of
its own and hands what other nodes changed to its subscribers, as if written here (the installers then
read the records back, so late or repeated events do no harm). A node that was not listening for a while
(start-up, a dropped connection) compares the revision it last saw with the database's when it listens
again, and if they differ announces every record it holds as changed: it catches up from the store
itself, never from a partial event log.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from typing import Any

import orjson
import psycopg

from apiway.observe.log import log
from apiway.store.changes import API, SOURCE, STAGE, Changed, stage_key
from apiway.store.sql import SCHEMA, SCHEMA_VERSION, Connection, SqlStore, StoreError

CHANNEL = "apiway_changes"
LISTENER = "apiway store listener"  # the listening connection's application_name, for operators
_PAYLOAD_LIMIT = 7000  # bytes per notification; PostgreSQL refuses payloads of 8000 bytes and more
_RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0)  # between attempts to listen again, the last one repeated


@functools.lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    """The shared queries' `?` placeholders as psycopg's `%s` (none of them holds a literal `?` or `%`)."""
    return sql.replace("?", "%s")


class _Connection:
    """A psycopg connection that runs the shared queries as written."""

    __slots__ = ("conn",)

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Any = (), /) -> psycopg.Cursor[Any]:
        return self.conn.execute(_placeholders(sql), params)

    def close(self) -> None:
        self.conn.close()


class PostgresStore(SqlStore):
    def __init__(self, url: str, schema: str = "public") -> None:
        """`url`: a libpq connection URI or string; `schema`: where the tables live (made when missing)."""
        super().__init__()
        self.url = url
        self.schema = schema
        self.node = uuid.uuid4().hex[:12]  # tells this node's own notifications apart
        self._closed = threading.Event()
        self._listener: threading.Thread | None = None
        self._seen = self._committing = 0  # set once the schema is in place (below)
        try:
            with psycopg.connect(url, autocommit=True) as setup:
                setup.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            db = self._db
            self._begin(db)
            for statement in SCHEMA.format(blob="BYTEA").split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO meta VALUES ('schema', ?) ON CONFLICT (key) DO NOTHING", (str(SCHEMA_VERSION),))
            db.execute("INSERT INTO meta VALUES ('revision', '0') ON CONFLICT (key) DO NOTHING")
            db.execute("COMMIT")
            version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0]
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"{_shown(url)}: cannot use the PostgreSQL store ({exc})".strip()) from None
        try:
            self._upgrade(int(version), _shown(url))
        except (StoreError, psycopg.Error) as exc:
            self.close()
            raise StoreError(str(exc) if isinstance(exc, StoreError) else f"{_shown(url)}: cannot upgrade ({exc})"
                             ) from None
        self._seen = self._revision()  # what this node has read so far is at least this recent
        self._committing = self._seen

    def _connect(self) -> Connection:
        conn = psycopg.connect(self.url, autocommit=True, options=f"-c search_path={self.schema}")
        return _Connection(conn)

    def _begin(self, db: Connection) -> None:
        db.execute("BEGIN")
        # One writer at a time across every node of this schema, as SQLite's write lock is across processes.
        db.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")

    def _revision(self, db: Connection | None = None) -> int:
        return int((db or self._db).execute("SELECT value FROM meta WHERE key='revision'").fetchone()[0])

    def _before_commit(self, db: Connection, changes: list[Changed]) -> None:
        if not changes:
            return
        revision = db.execute("UPDATE meta SET value = (value::bigint + 1)::text WHERE key='revision' "
                              "RETURNING value").fetchone()[0]
        self._committing = int(revision)
        for chunk in _chunks(changes):
            payload = orjson.dumps({"node": self.node, "schema": self.schema, "revision": int(revision),
                                    "changes": chunk})
            db.execute("SELECT pg_notify(?, ?)", (CHANNEL, payload.decode()))

    def _after_commit(self) -> None:
        # This node has seen what it wrote itself: only others' writes it missed call for a catch-up.
        self._seen = max(self._seen, self._committing)

    # -- other nodes' changes -----------------------------------------------------------------------------

    def subscribe(self, callback: Any) -> None:
        super().subscribe(callback)
        if self._listener is None:
            self._listener = threading.Thread(target=self._listen, name="store-listener", daemon=True)
            self._listener.start()

    def _listen(self) -> None:
        """LISTEN until closed; after any interruption, listen again and catch up if something was missed."""
        attempt = 0
        while not self._closed.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, application_name=LISTENER,
                                     options=f"-c search_path={self.schema}") as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    with self._lock:  # no write of this node's between reading the revision and comparing it
                        revision = self._revision(_Connection(conn))
                        missed = revision != self._seen
                    if missed:
                        self._catch_up(revision)
                    attempt = 0
                    while not self._closed.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._receive(note.payload)
            except psycopg.Error as exc:
                if self._closed.is_set():
                    return
                log("ERROR", "store change listener interrupted; listening again", error=str(exc).strip())
                time.sleep(_RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)])
                attempt += 1

    def _receive(self, payload: str) -> None:
        message = orjson.loads(payload)
        if message["schema"] != self.schema:
            return
        self._seen = max(self._seen, message["revision"])
        if message["node"] == self.node:
            return  # announced here when it committed
        self._announce(Changed(kind, key) for kind, key in message["changes"])

    def _catch_up(self, revision: int) -> None:
        """Every record as changed: whatever was missed is read back by the subscribers."""
        with self._lock:
            changes = [Changed(API, r[0]) for r in self._db.execute("SELECT id FROM rest_apis")]
            stages = self._db.execute("SELECT api_id, name FROM stages")
            changes += [Changed(STAGE, stage_key(r[0], r[1])) for r in stages]
            changes += [Changed(SOURCE, r[0]) for r in self._db.execute("SELECT key FROM sources")]
            changes += [Changed(r[0], r[1]) for r in self._db.execute("SELECT kind, id FROM records")]
        self._seen = revision
        self._announce(changes)

    def _announce(self, changes: Any) -> None:
        with self._lock:  # as a local commit would: in order with this node's own batches
            for change in changes:
                self._feed.note(change.kind, change.key)
            self._feed.commit()

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        super().close()


def _chunks(changes: list[Changed]) -> list[list[tuple[str, str]]]:
    """The changes in groups whose notification stays under PostgreSQL's payload limit."""
    chunks: list[list[tuple[str, str]]] = [[]]
    size = 0
    for change in changes:
        cost = len(change.kind) + len(change.key.encode()) + 8
        if chunks[-1] and size + cost > _PAYLOAD_LIMIT - 200:
            chunks.append([])
            size = 0
        chunks[-1].append((change.kind, change.key))
        size += cost
    return chunks


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "the PostgreSQL store"
    where = f"{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
    return f"postgresql://{info.get('user', '')}@{where}"

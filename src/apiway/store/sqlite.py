"""SQLite store for the embedded default. WAL journal and one transaction per change: a process
killed at any point leaves the last committed state, never a half-written one. The tables, the queries and
the announcement of changes are store/sql.py's; WAL lets one thread read while another writes.

Several processes may share the file (`serve --workers N`). Each write transaction that changes something
also appends what it changed to the `changes` table, numbered by revision, in the same transaction; every
process that has subscribers polls that table (every POLL_SECONDS) and announces the rows other processes
wrote, in revision order. A row appears only with the commit that wrote it, so what a subscriber reads back
is never a half-applied change. The table keeps the last KEPT_CHANGES rows; a process that fell further
behind (or finds rows missing) catches up by announcing every record, read in one snapshot with the revision
it reached, as the PostgreSQL store does after a lost connection."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path

import orjson

from apiway.observe.log import log
from apiway.store.changes import API, SOURCE, STAGE, Changed, Subscriber, stage_key
from apiway.store.sql import SCHEMA, SCHEMA_VERSION, Connection, SqlStore, StoreError

__all__ = ["SqliteStore", "StoreError"]

POLL_SECONDS = 0.1
KEPT_CHANGES = 1000
# Beside the shared schema: an older apiway opening the file ignores it, and it needs no schema version.
# AUTOINCREMENT: revisions never go back, even if every row is gone.
_CHANGES = ("CREATE TABLE IF NOT EXISTS changes (revision INTEGER PRIMARY KEY AUTOINCREMENT, node TEXT NOT NULL, "
            "changes BLOB NOT NULL);")


class SqliteStore(SqlStore):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.node = uuid.uuid4().hex[:12]  # tells this process's own rows apart
        self._closed = threading.Event()
        self._poller: threading.Thread | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._connect()
            self._adopt(db)
            # The schema appears whole or not at all, even if the process dies right here.
            db.executescript(f"BEGIN IMMEDIATE;{SCHEMA.format(blob='BLOB')}{_CHANGES}"
                             f"INSERT OR IGNORE INTO meta VALUES ('schema', '{SCHEMA_VERSION}');COMMIT;")
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            self._seen = _last_revision(db)  # what this process has read so far is at least this recent
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{path}: not a usable apiway state file ({exc})") from None
        try:
            self._upgrade(int(row[0]), str(path))
        except (StoreError, sqlite3.DatabaseError) as exc:
            self.close()
            raise StoreError(str(exc) if isinstance(exc, StoreError) else f"{path}: cannot upgrade ({exc})") from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        return db

    def _begin(self, db: Connection) -> None:
        db.execute("BEGIN IMMEDIATE")  # takes the database's write lock: no other writer, in any process

    def _before_commit(self, db: Connection, changes: list[Changed]) -> None:
        if not changes:
            return
        payload = orjson.dumps([(c.kind, c.key) for c in changes])
        revision = db.execute("INSERT INTO changes (node, changes) VALUES (?, ?) RETURNING revision",
                              (self.node, payload)).fetchone()[0]
        db.execute("DELETE FROM changes WHERE revision <= ?", (revision - KEPT_CHANGES,))

    # -- other processes' changes ---------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> None:
        super().subscribe(callback)
        if self._poller is None:
            self._poller = threading.Thread(target=self._poll, name="store-poller", daemon=True)
            self._poller.start()

    def _poll(self) -> None:
        while not self._closed.wait(POLL_SECONDS):
            try:
                self.poll()
            except sqlite3.Error as exc:  # a busy or vanished file: the next poll tries again
                if self._closed.is_set():
                    return
                log("ERROR", "store change poll failed; polling again", error=str(exc))

    def poll(self) -> None:
        """Announce what other processes committed since the last poll (the poller calls it)."""
        with self._lock:  # in order with this process's own commits, as a local commit would be
            db = self._db
            rows = db.execute("SELECT revision, node, changes FROM changes WHERE revision > ? ORDER BY revision",
                              (self._seen,)).fetchall()
            if not rows:
                return
            if rows[0][0] != self._seen + 1:  # rows this process never read are gone: read everything
                self._catch_up(db)
                return
            for revision, node, payload in rows:  # a batch per transaction, as where it committed
                self._seen = revision
                if node != self.node:  # announced here when it committed
                    self._announce([Changed(kind, key) for kind, key in orjson.loads(payload)])

    def _catch_up(self, db: Connection) -> None:
        """Every record as changed, listed in one snapshot with the revision it is as recent as: a change
        committed after that snapshot is a later row, announced by the next poll."""
        db.execute("BEGIN")
        try:
            revision = _last_revision(db)
            changes = [Changed(API, r[0]) for r in db.execute("SELECT id FROM rest_apis")]
            changes += [Changed(STAGE, stage_key(r[0], r[1])) for r in db.execute("SELECT api_id, name FROM stages")]
            changes += [Changed(SOURCE, r[0]) for r in db.execute("SELECT key FROM sources")]
            changes += [Changed(r[0], r[1]) for r in db.execute("SELECT kind, id FROM records")]
        finally:
            db.execute("COMMIT")
        self._seen = revision
        self._announce(changes)

    def _announce(self, changes: list[Changed]) -> None:
        for change in changes:
            self._feed.note(change.kind, change.key)
        self._feed.commit()

    def close(self) -> None:
        self._closed.set()
        if self._poller is not None and self._poller is not threading.current_thread():
            self._poller.join(timeout=5)
        super().close()


def _last_revision(db: Connection) -> int:
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='changes'").fetchone()
    return 0 if row is None else int(row[0])

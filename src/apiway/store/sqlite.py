"""SQLite store for the embedded default. WAL journal and one transaction per change: a process
killed at any point leaves the last committed state, never a half-written one. The tables, the queries and
the announcement of changes are store/sql.py's; WAL lets one thread read while another writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from apiway.store.sql import SCHEMA, SCHEMA_VERSION, Connection, SqlStore, StoreError

__all__ = ["SqliteStore", "StoreError"]


class SqliteStore(SqlStore):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._connect()
            self._adopt(db)
            # The schema appears whole or not at all, even if the process dies right here.
            db.executescript(f"BEGIN IMMEDIATE;{SCHEMA.format(blob='BLOB')}"
                             f"INSERT OR IGNORE INTO meta VALUES ('schema', '{SCHEMA_VERSION}');COMMIT;")
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{path}: not a usable apiway state file ({exc})") from None
        if int(row[0]) != SCHEMA_VERSION:
            self.close()
            raise StoreError(f"{path}: state schema {row[0]} is not supported (expected {SCHEMA_VERSION})")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        return db

    def _begin(self, db: Connection) -> None:
        db.execute("BEGIN IMMEDIATE")  # takes the database's write lock: no other writer, in any process

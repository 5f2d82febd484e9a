"""Which store a server uses: the SQLite file of the embedded default, or a PostgreSQL database that
several nodes share, chosen by URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from apiway.store.base import Store
from apiway.store.sql import StoreError
from apiway.store.sqlite import SqliteStore

SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


def open_store(url: str | None, state_path: Path) -> Store:
    """`url`: None or `sqlite:///PATH` for a SQLite file (None: `state_path`); `postgresql://user@host/db`
    (a `schema=` query parameter picks the schema, default `public`). Raises StoreError."""
    if url is None:
        return SqliteStore(state_path)
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url.removeprefix("sqlite://")))
    if url.startswith(("postgresql://", "postgres://")):
        from apiway.store.postgres import PostgresStore  # psycopg loads only for a PostgreSQL store

        parts = urlsplit(url)
        query = parse_qsl(parts.query)
        schema = next((value for name, value in query if name == "schema"), "public")
        rest = urlunsplit(parts._replace(query=urlencode([(n, v) for n, v in query if n != "schema"])))
        return PostgresStore(rest, schema)
    raise StoreError(f"--store {describe(url)}: not a store URL (use sqlite:///PATH or postgresql://USER@HOST/DB)")


def describe(url: str | None, state_path: Path | None = None) -> str:
    """The store for messages: its URL without a password, or the SQLite file."""
    if url is None:
        return str(state_path)
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)

"""The two databases behind a store: SQLite (a file, the default) and PostgreSQL (a shared server).

Both are used in autocommit mode with explicit transactions; SQL is written with `?` placeholders
and translated for psycopg.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from proxy_addon.core.redaction import dsn_password, mask_dsn, redact


class StoreError(RuntimeError):
    """A store that cannot be opened or written; the message names it (without its password)."""


# The store's address with any password masked, for messages and reports: the one masking function.
display_url = mask_dsn


class Backend:
    name = ""
    types: dict[str, str] = {}

    def __init__(self, display: str):
        self.display = display

    def render(self, statement: str) -> str:
        return statement.format(**self.types)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    @contextmanager
    def transaction(self, exclusive: bool = False) -> Iterator[None]:
        raise NotImplementedError
        yield

    def size_bytes(self) -> int | None:
        return None

    def close(self) -> None:
        raise NotImplementedError


class SQLiteBackend(Backend):
    name = "sqlite"
    types = {"blob": "BLOB", "real": "REAL", "compact": " WITHOUT ROWID"}

    def __init__(self, path: str, read_only: bool = False):
        super().__init__(path)
        self.path = path
        try:
            if read_only:
                self.connection = _read_only_connection(path)
                return
            # The proxy may record from a worker thread; every use is serialised by the caller.
            self.connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            # WAL: an audit and a live proxy can share the file (readers never block the writer).
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            # Keys are digests, so inserts land all over the B-trees: a 64 MB page cache keeps a
            # large audit from re-reading pages (SQLite's default is 2 MB).
            self.connection.execute("PRAGMA cache_size=-65536")
        except sqlite3.Error as error:
            raise StoreError(f"{path}: cannot open the SQLite store: {error}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.connection.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.connection.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, params).fetchall()

    @contextmanager
    def transaction(self, exclusive: bool = False) -> Iterator[None]:
        self.connection.execute("BEGIN IMMEDIATE" if exclusive else "BEGIN")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def size_bytes(self) -> int | None:
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return sum(p.stat().st_size for p in Path(self.path).parent.glob(Path(self.path).name + "*")
                   if p.name in {Path(self.path).name, Path(self.path).name + "-wal"})

    def close(self) -> None:
        self.connection.close()


class PostgresBackend(Backend):
    name = "postgresql"
    types = {"blob": "BYTEA", "real": "DOUBLE PRECISION", "compact": ""}
    # Serialises schema migrations between proxies starting at the same time (any constant works).
    MIGRATION_LOCK = 0x5758_4C49_4E54

    def __init__(self, url: str):
        super().__init__(display_url(url))
        try:
            import psycopg  # an optional extra: only PostgreSQL stores need it
        except ImportError as error:
            raise StoreError(f"{self.display}: PostgreSQL stores need the `postgres` extra: "
                             f"pip install 'webex-xml-lint[postgres]' ({error})") from None

        self._psycopg = psycopg
        password = dsn_password(url)  # urlsplit raised on `[::1`: a traceback in the worker
        try:
            self.connection = psycopg.connect(url, autocommit=True)
        except psycopg.Error as error:
            hidden = redact(str(error), frozenset({password}) if password else frozenset())
            raise StoreError(f"{self.display}: cannot connect to PostgreSQL: {hidden.strip()}") from None

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.connection.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(self._sql(sql), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(self._sql(sql), params).fetchall()

    @contextmanager
    def transaction(self, exclusive: bool = False) -> Iterator[None]:
        with self.connection.transaction():
            if exclusive:
                self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (self.MIGRATION_LOCK,))
            yield

    def size_bytes(self) -> int | None:
        rows = self.query("SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                          "JOIN pg_namespace n ON n.oid = c.relnamespace "
                          "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
                          "AND c.relname IN ('messages', 'findings', 'sites', 'input_errors')")
        return int(rows[0][0])

    def close(self) -> None:
        self.connection.close()


def open_backend(url: str, read_only: bool = False) -> Backend:
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(url)
    return SQLiteBackend(sqlite_path(url), read_only)


def _read_only_connection(path: str) -> sqlite3.Connection:
    """A connection that never writes, for `report` and `inventory`: mode=ro, and on a read-only
    file system (where even a reader of a WAL store must create its -shm file) immutable=1."""
    uri = "file:" + quote(os.path.abspath(path))
    for mode in ("mode=ro", "immutable=1"):
        connection = sqlite3.connect(f"{uri}?{mode}", uri=True, timeout=30, isolation_level=None,
                                     check_same_thread=False)
        try:
            connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            connection.close()
            if mode == "immutable=1":
                raise
            continue
        return connection
    raise AssertionError("unreachable")


def sqlite_path(url: str) -> str:
    """The file of a SQLite store: a path, or `sqlite:///path`."""
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    if Path(path).is_dir():
        raise StoreError(f"{path}: is a folder; --db takes a file name or a postgresql:// URL")
    return path

"""PostgreSQL backend (psycopg 3): one writer connection under a lock (`executemany` runs batches pipelined) and
a small pool of read connections, so reads never wait for writes."""

from __future__ import annotations

import re

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from matakota.core.redact import redact_url

from .sql import SqlStore

SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
READERS = 4  # read connections per process (an API replica answers this many queries at once)
MIGRATION_LOCK = 0x6D61_7461  # pg_advisory_xact_lock key: concurrent openers migrate one at a time
AUDIT_LOCK = 0x6D61_7475  # pg_advisory_xact_lock key: API replicas append to the audit log one at a time


class PostgresStore(SqlStore):
    param = "%s"

    def __init__(self, dsn: str, schema: str | None = None):
        if schema is not None and not SCHEMA_NAME.match(schema):
            raise ValueError(f"schema must match {SCHEMA_NAME.pattern}, got {schema!r}")
        self.dsn, self.schema = dsn, schema
        super().__init__()
        self._pool = ConnectionPool(dsn, min_size=1, max_size=READERS, kwargs={"autocommit": True},
                                    configure=self._use_schema, open=True, timeout=30)

    def _connect(self):
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as error:
            # libpq's message can quote the DSN; say where without the password.
            raise ConnectionError(f"cannot connect to PostgreSQL at {redact_url(self.dsn)}: "
                                  f"{str(error).splitlines()[0] if str(error) else type(error).__name__}") from None
        if self.schema:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            self._use_schema(conn)
        return conn

    def _use_schema(self, conn) -> None:
        if self.schema:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    def _reader(self):
        return self._pool.connection()

    def close(self) -> None:
        self._pool.close()
        super().close()

    def _transaction(self):
        if self._conn.closed or self._conn.broken:  # server restarted or network dropped: reconnect once
            self._conn = self._connect()
        return _Transaction(self._conn)

    def _migrate(self) -> None:
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            super()._migrate()  # nested: a savepoint inside the locked transaction

    def _lock_audit(self) -> None:
        # READ COMMITTED: the next statement, run once the lock is ours, sees the previous holder's row
        self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))

    def _bucket_expr(self, seconds: int, column: str = "start_ts") -> str:
        return f"(floor({column} / {int(seconds)}) * {int(seconds)})"

    def drop_schema(self) -> None:
        """Drop this store's schema and everything in it (tests and tooling)."""
        if not self.schema:
            raise ValueError("this store has no schema of its own")
        with self._lock:
            self._conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))

    def __repr__(self) -> str:
        return f"PostgresStore({redact_url(self.dsn)!r}, schema={self.schema!r})"


class _Transaction:
    def __init__(self, conn):
        self._tx = conn.transaction()

    def __enter__(self):
        self._tx.__enter__()

    def __exit__(self, *exc):
        return self._tx.__exit__(*exc)

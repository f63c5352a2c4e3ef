"""SQLite backend: one file, WAL journal, one connection shared under a lock (the default store)."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

from .sql import SqlStore


class SqliteStore(SqlStore):
    def __init__(self, path: Path, snapshots=None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(snapshots)

    def _connect(self):
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE … COMMIT), not the module's.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes; WAL fsyncs at checkpoints
        return conn

    @contextmanager
    def _transaction(self):
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _bucket_expr(self, seconds: int) -> str:
        return f"(CAST(start_ts / {int(seconds)} AS INTEGER) * {int(seconds)})"  # epoch times are ≥ 0

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

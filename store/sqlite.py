"""SQLite backend (the embedded default): one file in WAL mode, one writer connection, a read connection per
thread. WAL lets readers see the last committed state while a write is in progress, and never block it."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from .sql import SqlStore


class SqliteStore(SqlStore):
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        super().__init__()

    def _connect(self, *, read_only: bool = False):
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE … COMMIT), not the module's; a read is a
        # statement of its own. `timeout` is the busy timeout: how long to wait for another process's lock.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        if read_only:
            conn.execute("PRAGMA query_only=ON")
        else:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes; WAL fsyncs at checkpoints
        return conn

    @contextmanager
    def _reader(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect(read_only=True)
            with self._lock:
                self._readers.append(conn)
        yield conn

    def close(self) -> None:
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        super().close()

    @contextmanager
    def _transaction(self):
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _bucket_expr(self, seconds: int, column: str = "start_ts") -> str:
        return f"(CAST({column} / {int(seconds)} AS INTEGER) * {int(seconds)})"  # epoch times are ≥ 0

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

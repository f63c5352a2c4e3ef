"""Store fixtures: every store test runs against SQLite (a temp file) and PostgreSQL (a schema of its own
in the shared `test` database, dropped afterwards). MATAKOTA_TEST_PG overrides the DSN."""

from __future__ import annotations

import os
import uuid

import pytest

from matakota.store import open_store

PG_DSN = os.environ.get("MATAKOTA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
RUN = uuid.uuid4().hex[:8]
_counter = iter(range(1_000_000))


def pg_schema() -> str:
    return f"matakota_test_{RUN}_{next(_counter)}"


def _pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_DSN, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def pg_dsn():
    if not _pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_DSN}")
    yield PG_DSN
    import psycopg  # drop anything of this run a failed test left behind

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                                    (f"matakota_test_{RUN}_%",)).fetchall():
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def store_factory(request, tmp_path):
    """`store_factory()` opens a store of the parametrized backend; the same call again reopens the same one."""
    backend = request.param
    opened = []
    if backend == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        schema = pg_schema()

        def factory():
            opened.append(open_store(dsn, schema=schema))
            return opened[-1]
    else:
        def factory():
            opened.append(open_store(tmp_path / "matakota.db"))
            return opened[-1]
    yield factory
    if backend == "postgres" and opened:
        opened[-1].drop_schema()
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory):
    return store_factory()


def pytest_generate_tests(metafunc):
    if "store_factory" in metafunc.fixturenames:
        metafunc.parametrize("store_factory", ["sqlite", "postgres"], indirect=True)

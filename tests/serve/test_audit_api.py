"""GET /v1/audit on the API as `create_app` builds it, with a real SQLite store and tokens: admin only, newest first,
paged by cursor, and every read of it is itself in the log."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from matakota.config import ApiConfig
from matakota.serve.api import create_app
from matakota.serve.auth import Tokens
from matakota.store import open_store

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
READ_TOKEN, ADMIN_TOKEN = "read-" + "r" * 24, "admin-" + "a" * 24
READ = {"Authorization": f"Bearer {READ_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def store(tmp_path):
    store = open_store(tmp_path / "api.db")
    for i in range(5):
        store.audit_append("dishub-ops" if i % 2 else "root", "evidence.download", f"event-{i}", {"crop": False},
                           "10.0.0.7", t=T0 + 60 * i)
    yield store
    store.close()


@pytest.fixture
def client(store):
    tokens = Tokens.parse(f"read {READ_TOKEN} name=reader\nadmin {ADMIN_TOKEN} name=root\n")
    with TestClient(create_app(ApiConfig(), store=store, tokens=tokens), raise_server_exceptions=False) as client:
        yield client


def test_a_read_token_is_refused_and_nothing_is_recorded(client, store):
    assert client.get("/v1/audit").status_code == 401
    response = client.get("/v1/audit", headers=READ)
    assert response.status_code == 403 and "'admin'" in response.json()["detail"]
    assert store.audit_verify().rows == 5


def test_admin_reads_newest_first_and_the_read_itself_is_the_newest(client, store):
    response = client.get("/v1/audit", headers=ADMIN, params={"limit": 3})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [e["seq"] for e in items] == [6, 5, 4]
    own = items[0]
    assert (own["actor"], own["action"], own["target"], own["detail"], own["remote"]) == (
        "root", "GET /v1/audit", "", {"query": {"limit": "3"}}, "testclient")
    assert items[1]["prev_hash"] == items[2]["hash"] and own["prev_hash"] == items[1]["hash"]
    assert ADMIN_TOKEN not in response.text
    assert store.audit_verify().ok


def test_the_cursor_pages_without_gaps_or_doubles(client):
    seqs, cursor = [], None
    for _ in range(10):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/audit", headers=ADMIN, params=params).json()
        seqs += [e["seq"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seqs == [6, 5, 4, 3, 2, 1]  # the pages' own reads (seq 7, 8) come after the first page's


def test_filters_by_actor_action_and_time(client):
    params = {"actor": "dishub-ops", "action": "evidence.download", "since": "2026-01-01T00:01:00Z",
              "until": str(T0 + 240)}
    body = client.get("/v1/audit", headers=ADMIN, params=params).json()
    assert [(e["target"], e["t"]) for e in body["items"]] == [("event-3", T0 + 180), ("event-1", T0 + 60)]
    assert body["next_cursor"] is None


@pytest.mark.parametrize(("params", "detail"), [
    ({"limit": 0}, "limit must be 1..1000"),
    ({"cursor": "garbage!"}, "malformed cursor"),
    ({"since": "yesterday"}, "since must be ISO-8601"),
    ({"since": T0 + 10, "until": T0}, "before"),
])
def test_bad_input_is_a_clear_400(client, params, detail):
    response = client.get("/v1/audit", headers=ADMIN, params=params)
    assert response.status_code == 400 and detail in response.json()["detail"]


def test_openapi_documents_the_route(client):
    spec = client.get("/openapi.json").json()
    assert "AuditEntryOut" in spec["components"]["schemas"] and "get" in spec["paths"]["/v1/audit"]

"""The data router on a plain FastAPI app with a real SQLite store: counts, paginated events, snapshots,
the SSE stream, and a 4xx (never a 500) for every bad input."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from matakota.analytics.counts import CountRecord
from matakota.core.events import Event, EventState, EventType
from matakota.outputs import Broadcast
from matakota.serve.routes import DATA_ROUTERS
from matakota.store import open_store, split_evidence

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
EVENTS = [Event(EventType.PARKING_VIOLATION if i % 2 else EventType.FLOOD_LEVEL, f"cam-{i % 2}",
                "simpang-lima", "z", EventState.STARTED, T0 + 60 * i, box=(1.0, 2.0, 3.0, 4.0)) for i in range(7)]


@pytest.fixture
def app(tmp_path):
    store = open_store(tmp_path / "api.db")
    rows, snapshots = split_evidence([{**EVENTS[0].to_json(), "snapshot_jpeg": b"\xff\xd8full", "crop_jpeg": b"\xff\xd8crop"},
                                      *(e.to_json() for e in EVENTS[1:])])
    counts = [CountRecord(cam, "simpang-lima", "zone", "plaza", T0 + 60 * m, T0 + 60 * (m + 1), 10, m % 7, 2.0, 1)
              for cam in ("cam-0", "cam-1") for m in range(120)]
    store.write(rows, counts, snapshots)
    app = FastAPI()
    for router in DATA_ROUTERS:
        app.include_router(router)
    app.state.store, app.state.tokens = store, None  # an open API
    app.state.event_feed = Broadcast(100)
    yield app
    store.close()


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("window", [
    {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T02:00:00+00:00"},
    {"from": str(T0), "to": str(int(T0 + 7200))},
    {"from": "2026-01-01T00:00:00", "to": "2026-01-01T02:00:00"},  # naive: UTC
])
def test_counts_by_camera_per_hour(client, window):
    response = client.get("/v1/counts", params={"camera": "cam-0", "bucket": "1h", **window})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from"] == T0 and body["to"] == T0 + 7200
    assert [(i["start"], i["samples"], i["visits"], i["occupancy_max"]) for i in body["items"]] == [
        (T0, 600, 60, 6), (T0 + 3600, 600, 60, 6)]


def test_counts_by_site_per_day(client):
    body = client.get("/v1/counts", params={"site": "simpang-lima", "bucket": "1d", "from": T0,
                                            "to": T0 + 86400}).json()
    assert {(i["camera"], i["visits"], i["occupancy_mean"]) for i in body["items"]} == {
        ("cam-0", 120, 2.0), ("cam-1", 120, 2.0)}


def test_events_paginate_with_filters(client):
    first = client.get("/v1/events", params={"limit": 3}).json()
    assert [e["start"] for e in first["items"]] == [T0 + 360, T0 + 300, T0 + 240]
    rest = client.get("/v1/events", params={"limit": 10, "cursor": first["next_cursor"]}).json()
    assert len(rest["items"]) == 4 and rest["next_cursor"] is None
    flood = client.get("/v1/events", params={"type": "flood_level", "since": T0 + 60,
                                             "until": "2026-01-01T00:05:00Z"}).json()
    assert [e["start"] for e in flood["items"]] == [T0 + 240, T0 + 120]


def test_event_and_its_snapshots(client):
    event = client.get(f"/v1/events/{EVENTS[0].id}").json()
    assert event["box"] == [1.0, 2.0, 3.0, 4.0] and "snapshot" not in event  # file names stay inside
    full = client.get(event["snapshot_url"])
    assert (full.status_code, full.headers["content-type"], full.content) == (200, "image/jpeg", b"\xff\xd8full")
    assert client.get(event["crop_url"]).content == b"\xff\xd8crop"
    assert client.get(f"/v1/events/{EVENTS[1].id}").json()["snapshot_url"] is None
    assert client.get(f"/v1/events/{EVENTS[1].id}/snapshot").status_code == 404


def test_stream_sends_live_events_as_sse(app, client):
    app.state.event_feed.publish([e.to_json() for e in EVENTS[:3]])
    with client.stream("GET", "/v1/events/stream", params={"after": 0, "max_events": 2,
                                                           "type": "flood_level"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    messages = [m for m in text.split("\n\n") if m.startswith("id:")]
    assert [m.splitlines()[0] for m in messages] == ["id: 1", "id: 3"]
    assert json.loads(messages[1].splitlines()[2].removeprefix("data: "))["id"] == EVENTS[2].id


def test_stream_resumes_after_last_event_id(app, client):
    app.state.event_feed.publish([e.to_json() for e in EVENTS[:3]])
    with client.stream("GET", "/v1/events/stream", params={"max_events": 1},
                       headers={"Last-Event-ID": "2"}) as response:
        text = "".join(response.iter_text())
    assert text.startswith("id: 3\n")


@pytest.mark.parametrize("path, params, status, detail", [
    ("/v1/counts", {"site": "atlantis", "from": T0, "to": T0 + 60}, 404, "unknown site"),
    ("/v1/counts", {"camera": "cam-404", "from": T0, "to": T0 + 60}, 404, "unknown camera"),
    ("/v1/counts", {"site": "simpang-lima", "from": T0 + 60, "to": T0}, 400, "before"),
    ("/v1/counts", {"site": "simpang-lima", "from": T0, "to": T0, "bucket": "1h"}, 400, "before"),
    ("/v1/counts", {"site": "simpang-lima", "from": T0, "to": T0 + 60, "bucket": "5m"}, 400, "bucket"),
    ("/v1/counts", {"site": "simpang-lima", "from": "yesterday", "to": T0}, 400, "ISO-8601"),
    ("/v1/counts", {"site": "simpang-lima", "from": "nan", "to": T0}, 400, "finite"),
    ("/v1/counts", {"site": "simpang-lima", "from": T0, "to": T0 + 60, "bucket": "decade"}, 400, "bucket"),
    ("/v1/counts", {"site": ["simpang-lima", "atlantis"], "from": T0, "to": T0 + 60}, 404, "unknown site 'atlantis'"),
    ("/v1/counts", {"from": T0, "to": T0 + 86400 * 3650, "bucket": "hour"}, 400, "larger bucket"),
    ("/v1/visits", {"from": T0, "to": T0 + 60, "bucket": "1m"}, 400, "bucket must be one of hour, day, week, month"),
    ("/v1/visits", {"site": "atlantis", "from": T0, "to": T0 + 60}, 404, "unknown site"),
    ("/v1/reports/visits", {"period": "November"}, 400, "period must be a year (2026), month (2026-11)"),
    ("/v1/reports/visits", {"period": "2026-13"}, 400, "period must be"),
    ("/v1/reports/visits", {"period": "2026-11", "format": "xml"}, 400, "text/csv"),
    ("/v1/reports/visits", {"period": "2026-11", "site": "atlantis"}, 404, "unknown site"),
    ("/v1/counts", {"site": "simpang-lima", "to": T0}, 422, ""),
    # the worst a user can ask: every minute of eight thousand years (300k rows, 50 MiB before it was bounded)
    ("/v1/counts", {"site": "simpang-lima", "from": 0, "to": "9999-01-01", "bucket": "1m"}, 400, "larger bucket"),
    ("/v1/events", {"limit": 5000}, 400, "limit"),
    ("/v1/events", {"limit": 0}, 400, "limit"),
    ("/v1/events", {"cursor": "garbage!"}, 400, "malformed cursor"),
    ("/v1/events", {"cursor": "WzEuMF0"}, 400, "malformed cursor"),
    ("/v1/events", {"type": "fire"}, 400, "type must be one of"),
    ("/v1/events", {"site": "atlantis"}, 404, "unknown site"),
    ("/v1/events", {"since": T0 + 10, "until": T0}, 400, "before"),
    ("/v1/events/no-such-event", {}, 404, "unknown event"),
    ("/v1/events/no-such-event/snapshot", {"crop": "true"}, 404, "unknown event"),
    ("/v1/events/stream", {"type": "fire"}, 400, "type must be one of"),
])
def test_bad_input_is_a_clear_4xx(client, path, params, status, detail):
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert detail in json.dumps(response.json()["detail"])


def test_no_store_is_503(tmp_path):
    app = FastAPI()
    for router in DATA_ROUTERS:
        app.include_router(router)
    app.state.tokens = None
    with TestClient(app) as client:
        assert client.get("/v1/events").status_code == 503
        assert client.get("/v1/events/stream").status_code == 503


def test_openapi_documents_models_and_examples(app):
    spec = app.openapi()
    assert {"/v1/counts", "/v1/events", "/v1/events/{event_id}", "/v1/events/{event_id}/snapshot",
            "/v1/events/stream"} <= set(spec["paths"])
    assert "examples" in spec["components"]["schemas"]["EventOut"]
    assert "image/jpeg" in spec["paths"]["/v1/events/{event_id}/snapshot"]["get"]["responses"]["200"]["content"]


def test_an_answer_over_the_row_cap_is_refused_with_what_to_ask_instead(client, monkeypatch):
    monkeypatch.setattr("matakota.store.sql.MAX_COUNT_ROWS", 100)  # the site has 2 cameras × 120 minutes
    response = client.get("/v1/counts", params={"site": "simpang-lima", "from": T0, "to": T0 + 7200, "bucket": "1m"})
    assert response.status_code == 400 and "more than 100 rows" in response.json()["detail"]
    hourly = client.get("/v1/counts", params={"site": "simpang-lima", "from": T0, "to": T0 + 7200, "bucket": "1h"})
    assert hourly.status_code == 200 and len(hourly.json()["items"]) == 4

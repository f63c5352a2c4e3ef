"""The reports API on the real app (create_app) over a real SQLite store: city-wide and multi-site counts in local
calendar buckets, sites' visits by their counting plans, the month report as JSON, CSV and Markdown (they agree),
and tokens limited to owners or sites reading only what they reach."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from matakota.analytics.counts import CountRecord
from matakota.config import ApiConfig, ReportsConfig
from matakota.core.calendar import zone
from matakota.serve.api import create_app
from matakota.serve.auth import Tokens
from matakota.store import open_store

WIB = zone("Asia/Jakarta")
CITY, HOTEL, KOTA_LAMA = "read-city-token-0123456789", "read-hotel-token-0123456789", "read-kl-token-0123456789"
FLEET = {"lawang-1": ("lawang-sewu", "city"), "lawang-2": ("lawang-sewu", "hotel-pandanaran"),
         "gereja-1": ("kota-lama", "city")}


def at(*args) -> float:
    return datetime(*args, tzinfo=WIB).timestamp()


def minute(camera, t, visits, kind="zone", name="plaza", ins=0):
    site = FLEET[camera][0]
    return CountRecord(camera, site, kind, name, t, t + 60, 60, visits, 1.0, visits if kind == "zone" else 0,
                       ins, 0, "run-1", t + 1)


@pytest.fixture
def client(tmp_path):
    store = open_store(tmp_path / "api.db")
    records = [minute("lawang-1", at(2026, 11, d, 9), 10 * d) for d in range(1, 31)]
    records += [minute("lawang-2", at(2026, 11, d, 9), 10 * d) for d in range(1, 31)]  # sees the same people
    records += [minute("lawang-1", at(2026, 11, d, 9), 0, "line", "gate", ins=d) for d in range(1, 31)]
    records += [minute("gereja-1", at(2026, 11, 5, 23, 30), 7), minute("gereja-1", at(2026, 10, 3, 12), 4)]
    store.write([], records)
    store.set_counting_plan([])
    store.refresh_rollups("Asia/Jakarta", now=at(2027, 1, 1))  # reports read the roll-ups (the API's reads agree)
    tokens = Tokens.parse(f"read {CITY} name=dinas-pariwisata\nread {HOTEL} name=hotel owners=hotel-pandanaran\n"
                          f"read {KOTA_LAMA} name=kota-lama sites=kota-lama\n")
    app = create_app(ApiConfig(), store=store, tokens=tokens, reports=ReportsConfig())

    async def directory():
        return FLEET

    app.state.camera_directory = directory
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    store.close()


def get(client, path, token=CITY, **params):
    return client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def test_city_wide_counts_per_local_day(client):
    response = get(client, "/v1/counts", **{"from": "2026-11-05T00:00:00+07:00", "to": "2026-11-06T00:00:00+07:00",
                                            "bucket": "day"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == "Asia/Jakarta" and body["from"] == at(2026, 11, 5) and body["to"] == at(2026, 11, 6)
    by_camera = {(i["camera"], i["kind"]): (i["visits"], i["in_count"], i["period"]) for i in body["items"]}
    assert by_camera == {("lawang-1", "zone"): (50, 0, "2026-11-05"), ("lawang-2", "zone"): (50, 0, "2026-11-05"),
                         ("lawang-1", "line"): (0, 5, "2026-11-05"),
                         ("gereja-1", "zone"): (7, 0, "2026-11-05")}  # 23:30 WIB: the 5th


def test_several_sites_and_cameras_in_one_query(client):
    body = get(client, "/v1/counts", site=["kota-lama", "lawang-sewu"], camera=["lawang-1", "gereja-1"],
               **{"from": "2026-11-01T00:00:00+07:00", "to": "2026-12-01T00:00:00+07:00", "bucket": "month"}).json()
    assert sorted((i["camera"], i["kind"], i["visits"]) for i in body["items"]) == [
        ("gereja-1", "zone", 7), ("lawang-1", "line", 0), ("lawang-1", "zone", 4650)]


def test_visits_follow_each_sites_plan_or_add_up_every_zone(client):
    month = {"from": "2026-11-01T00:00:00+07:00", "to": "2026-12-01T00:00:00+07:00", "bucket": "month"}
    body = get(client, "/v1/visits", **month).json()
    assert {i["site"]: i["visits"] for i in body["items"]} == {"lawang-sewu": 9300, "kota-lama": 7}  # no plan: twice
    city = get(client, "/v1/visits", per_site="false", **month).json()
    [total] = city["items"]
    assert (total["site"], total["visits"]) == ("*", 9307)


def test_the_month_report_as_json_csv_and_markdown(client):
    as_json = get(client, "/v1/reports/visits", period="2026-11", site="kota-lama")
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    report = as_json.json()
    assert report["totals"]["visits"] == 7 and report["complete"]
    assert report["previous"] == {"period": "2026-10", "from": "2026-10-01T00:00:00+07:00",
                                  "to": "2026-11-01T00:00:00+07:00", "visits": 4, "change_pct": 75.0}
    as_csv = client.get("/v1/reports/visits", params={"period": "2026-11", "site": "kota-lama"},
                        headers={"Authorization": f"Bearer {CITY}", "Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["period"], int(r["visits"])) for r in rows] == [(r["period"], r["visits"]) for r in report["rows"]]
    assert rows[4] == {**rows[4], "period": "2026-11-05", "visits": "7", "start": "2026-11-05T00:00:00+07:00",
                       "timezone": "Asia/Jakarta"}
    page = get(client, "/v1/reports/visits", period="2026-11", site="kota-lama", format="md")
    assert page.headers["content-type"].startswith("text/markdown") and "# Visits, 2026-11: kota-lama" in page.text
    refused = client.get("/v1/reports/visits", params={"period": "2026-11"},
                         headers={"Authorization": f"Bearer {CITY}", "Accept": "image/png"})
    assert refused.status_code == 406 and "text/csv" in refused.json()["detail"]


def test_limited_tokens_read_only_what_they_reach(client):
    month = {"from": "2026-11-01T00:00:00+07:00", "to": "2026-12-01T00:00:00+07:00", "bucket": "month"}
    # the hotel owns one of Lawang Sewu's two cameras: its counts, never the site's own figures
    hotel = get(client, "/v1/counts", HOTEL, **month).json()
    assert {i["camera"] for i in hotel["items"]} == {"lawang-2"}
    assert get(client, "/v1/counts", HOTEL, camera="gereja-1", **month).status_code == 404
    assert get(client, "/v1/visits", HOTEL, site="lawang-sewu", **month).status_code == 404
    assert get(client, "/v1/visits", HOTEL, **month).json()["items"] == []
    # a token for one site: that site's figures and report, the city's answer is that site alone
    assert [i["site"] for i in get(client, "/v1/visits", KOTA_LAMA, **month).json()["items"]] == ["kota-lama"]
    assert get(client, "/v1/reports/visits", KOTA_LAMA, period="2026-11").json()["totals"]["visits"] == 7
    missing = get(client, "/v1/reports/visits", KOTA_LAMA, period="2026-11", site="lawang-sewu")
    assert missing.status_code == 404 and missing.json()["detail"] == "unknown site 'lawang-sewu'"

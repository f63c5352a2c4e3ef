"""GET /v1/levels on a plain FastAPI app with a real SQLite store (raw, bucketed, alarm levels from the fleet's
config, a clear 4xx for every bad input), and the operator page's water-level chart in a real headless Chromium."""

from __future__ import annotations

import json
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from matakota.outputs import Broadcast
from matakota.serve.auth import READ as NEEDS_READ
from matakota.serve.routes import DATA_ROUTERS
from matakota.serve.ui import router as ui_router
from matakota.store import open_store
from tests.conftest import READ, READ_TOKEN
from tests.serve.browser import ServerThread, chromium, needs_chromium, wait_for
from tests.serve.test_ui_browser import camera as camera_row
from tests.serve.test_ui_browser import text
from tests.store.test_levels import reading

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
LEVELS = {"waspada": 50.0, "siaga": 100.0, "awas": 140.0}
GAUGE = {"id": "gauge-1", "site": "banjir-kanal", "analytics": {"gauge": {
    "region": [440, 40, 560, 440], "calibration": [[40, 200], [440, 0]], "levels": LEVELS, "every_s": 30}}}


def fleet_config(configs: dict):
    """Stands in for the fleet supervisor (`app.state.camera_config`): a camera's config, or None."""
    async def lookup(camera_id: str) -> dict | None:
        return configs.get(camera_id)
    return lookup


def hours_of_readings(t0: float, hours: float, every_s: float = 30.0) -> list[dict]:
    """A rise from 40 to 120 cm and back, with a stretch of uncertain readings (fog on the gauge) in the middle."""
    n = int(hours * 3600 / every_s)
    out = []
    for i in range(n):
        t, phase = t0 + i * every_s, i / n
        if 0.45 <= phase < 0.5:
            out.append(reading(t, None, "uncertain", camera="gauge-1", confidence=0.1))
        else:
            out.append(reading(t, round(40 + 80 * (1 - abs(2 * phase - 1)), 1), camera="gauge-1"))
    return out


def make_app(store, configs: dict, auth: bool = False) -> FastAPI:
    app = FastAPI()
    for router in DATA_ROUTERS:
        app.include_router(router, dependencies=NEEDS_READ if auth else None)
    app.state.store, app.state.camera_config = store, fleet_config(configs)
    if not auth:
        app.state.tokens = None  # an open API
    return app


@pytest.fixture
def client(tmp_path):
    store = open_store(tmp_path / "levels.db")
    store.write(levels=hours_of_readings(T0, 6), counts=[])
    with TestClient(make_app(store, {"gauge-1": GAUGE, "gauge-new": {**GAUGE, "id": "gauge-new"},
                                     "cam-people": {"id": "cam-people", "site": "kota-lama", "analytics": {}}}),
                    raise_server_exceptions=False) as client:
        yield client
    store.close()


def test_a_short_range_answers_raw_readings_with_the_alarm_levels(client):
    response = client.get("/v1/levels", params={"camera": "gauge-1", "from": "2026-01-01T00:00:00Z",
                                                 "to": str(T0 + 3600)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in ("camera", "site", "from", "to", "bucket", "alarm_levels", "buckets")} == {
        "camera": "gauge-1", "site": "banjir-kanal", "from": T0, "to": T0 + 3600, "bucket": None,
        "alarm_levels": LEVELS, "buckets": []}
    assert len(body["readings"]) == 120
    assert body["readings"][0] == {"t": T0, "level_cm": 40.0, "confidence": 0.9, "status": "ok"}


def test_a_long_range_answers_buckets_with_min_mean_max_and_the_uncertain(client):
    body = client.get("/v1/levels", params={"camera": "gauge-1", "from": T0, "to": T0 + 86400}).json()
    assert body["bucket"] == "5m" and body["readings"] == []  # 720 readings fit raw, but a day of 1m is too many
    assert sum(b["readings"] for b in body["buckets"]) == 720 and sum(b["uncertain"] for b in body["buckets"]) == 36
    fogged = [b for b in body["buckets"] if b["uncertain"] == b["readings"]]
    assert fogged and all(b["mean_cm"] is None and b["min_cm"] is None for b in fogged)
    peak = max(b["max_cm"] for b in body["buckets"] if b["max_cm"] is not None)
    assert 115 <= peak <= 120
    hourly = client.get("/v1/levels", params={"camera": "gauge-1", "from": T0, "to": T0 + 7200, "bucket": "1h"}).json()
    assert [(b["start"], b["readings"], b["min_cm"]) for b in hourly["buckets"]] == [(T0, 120, 40.0),
                                                                                   (T0 + 3600, 120, 66.7)]


def test_a_camera_the_fleet_knows_without_readings_is_empty_and_a_camera_without_a_gauge_has_no_alarms(client):
    new = client.get("/v1/levels", params={"camera": "gauge-new", "from": T0, "to": T0 + 60}).json()
    assert (new["site"], new["readings"], new["alarm_levels"]) == ("banjir-kanal", [], LEVELS)
    people = client.get("/v1/levels", params={"camera": "cam-people", "from": T0, "to": T0 + 60}).json()
    assert people["alarm_levels"] == {} and people["readings"] == []


def test_readings_of_a_camera_the_fleet_no_longer_has_are_still_answered(tmp_path):
    with open_store(tmp_path / "old.db") as store:
        store.write(levels=hours_of_readings(T0, 0.1))
        with TestClient(make_app(store, {})) as client:
            body = client.get("/v1/levels", params={"camera": "gauge-1", "from": T0, "to": T0 + 600}).json()
    assert len(body["readings"]) == 12 and body["alarm_levels"] is None


@pytest.mark.parametrize("params, status, detail", [
    ({"camera": "gauge-404", "from": T0, "to": T0 + 60}, 404, "unknown camera 'gauge-404'"),
    ({"camera": "gauge-1", "from": T0 + 60, "to": T0}, 400, "from must be before to"),
    ({"camera": "gauge-1", "from": T0, "to": T0}, 400, "from must be before to"),
    ({"camera": "gauge-1", "from": "yesterday", "to": T0}, 400, "ISO-8601"),
    ({"camera": "gauge-1", "from": "-5", "to": T0}, 400, "non-negative"),
    ({"camera": "gauge-1", "from": T0, "to": T0 + 60, "bucket": "2m"}, 400, "bucket must be one of auto, raw, 1m"),
    ({"camera": "gauge-1", "from": 0, "to": "9999-01-01", "bucket": "1m"}, 400, "larger bucket"),
    ({"camera": "gauge-1", "from": T0, "to": T0 + 86400, "bucket": "raw"}, 200, ""),
    ({"from": T0, "to": T0 + 60}, 422, "camera"),
    ({"camera": "gauge-1", "to": T0 + 60}, 422, "from"),
])
def test_bad_input_is_a_clear_4xx(client, params, status, detail):
    response = client.get("/v1/levels", params=params)
    assert response.status_code == status, response.text
    if status != 200:
        assert detail in json.dumps(response.json()["detail"])


def test_raw_over_the_cap_says_to_ask_for_a_bucket(client, monkeypatch):
    monkeypatch.setattr("matakota.store.sql.MAX_LEVEL_READINGS", 100)
    response = client.get("/v1/levels", params={"camera": "gauge-1", "from": T0, "to": T0 + 7200, "bucket": "raw"})
    assert response.status_code == 400 and "ask for a bucket" in response.json()["detail"]


def test_levels_need_a_read_token_and_are_documented(tmp_path):
    with open_store(tmp_path / "auth.db") as store:
        app = make_app(store, {"gauge-1": GAUGE}, auth=True)
        with TestClient(app) as client:
            params = {"camera": "gauge-1", "from": T0, "to": T0 + 60}
            assert client.get("/v1/levels", params=params).status_code == 401
            assert client.get("/v1/levels", params=params, headers=READ).status_code == 200
        operation = app.openapi()["paths"]["/v1/levels"]["get"]
    assert {"400", "404"} <= set(operation["responses"]) and "bucket=auto" in operation["description"]


@needs_chromium
@pytest.mark.timeout(120)
def test_the_operator_page_charts_a_gauge_with_its_alarm_lines(tmp_path):
    now = time.time()
    store = open_store(tmp_path / "ui.db")
    store.write(levels=hours_of_readings(now - 2.5 * 3600, 2.5))  # within the page's last 3 h
    cameras = [{**camera_row("gauge-1", "banjir-kanal", {}), "gauge": True},
               camera_row("cam-kl-01", "kota-lama", {"plaza": 3})]
    app = make_app(store, {"gauge-1": GAUGE}, auth=True)
    app.include_router(ui_router)
    app.state.event_feed = Broadcast(100)
    app.get("/v1/cameras", dependencies=NEEDS_READ)(lambda: cameras)  # stands in for the supervisor
    with ServerThread(app) as server:
        driver = chromium(tmp_path / "profile")
        try:
            driver.get(f"{server.url}/ui#token={READ_TOKEN}&poll=1&series=5&levels=1")
            chart = '[data-site="banjir-kanal"] [data-gauge="gauge-1"]'
            wait_for(driver, lambda d: d.find_element("css selector", chart).get_attribute("data-points") == "300",
                     what="the gauge's readings in its chart")
            figure = driver.find_element("css selector", chart)
            assert figure.get_attribute("data-bucket") == "raw" and figure.get_attribute("data-uncertain") == "15"
            assert float(figure.get_attribute("data-last")) == pytest.approx(40.4, abs=0.5)
            alarms = driver.execute_script(
                "return [...document.querySelectorAll(arguments[0] + ' .alarm')].map(g => [g.dataset.alarm, "
                "+g.dataset.cm, +g.querySelector('line').getAttribute('y1'), g.textContent])", chart)
            assert [(name, cm) for name, cm, _, _ in alarms] == [("waspada", 50), ("siaga", 100), ("awas", 140)]
            ys = [y for _, _, y, _ in alarms]
            assert ys[0] > ys[1] > ys[2] > 0  # higher levels higher up the chart (SVG y grows downwards)
            assert alarms[1][3] == "siaga 100 cm"
            line = driver.find_element("css selector", f"{chart} .line").get_attribute("d")
            assert line.count("M") == 2 and line.count("L") > 250  # the fog breaks the line in two
            assert driver.find_element("css selector", f"{chart} .uncertain").get_attribute("d").count("M") >= 10
            assert text(driver, f"{chart} .chart-now").startswith("now 40")
            assert not driver.find_elements("css selector", '[data-site="kota-lama"] [data-gauge]')  # not a gauge

            store.write(levels=[reading(time.time() - 5, 131.5, camera="gauge-1")])  # the water jumps
            wait_for(driver, lambda d: d.find_element("css selector", chart).get_attribute("data-last") == "131.5",
                     what="the chart to take the new reading")
            assert text(driver, f"{chart} .chart-now") == "now 131.5 cm"
            screenshot = tmp_path / "levels.png"
            assert driver.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 20_000
            print(f"screenshot: {screenshot}")
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
                      and not (("/v1/counts?" in e["message"] or "/v1/visits?" in e["message"])
                               and "404" in e["message"])]  # a site without counts yet: expected
            assert not errors, errors  # no script error, no CSP violation
        finally:
            driver.quit()
    store.close()

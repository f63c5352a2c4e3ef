"""The dashboard in a real headless Chromium against a real data router and SQLite store: token entry,
cameras by site, live counts, the time series, visits per day, flood and parking alarms over SSE, and a stream
that drops and comes back without a page reload."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from fastapi import FastAPI

from matakota.analytics.counts import CountRecord
from matakota.core.events import Event, EventState, EventType
from matakota.outputs import Broadcast
from matakota.serve.auth import READ
from matakota.serve.routes import DATA_ROUTERS
from matakota.serve.ui import router as ui_router
from matakota.store import open_store, split_evidence
from tests.conftest import READ_TOKEN as TOKEN
from tests.serve.browser import ServerThread, chromium, needs_chromium, screenshot, wait_for

pytestmark = [needs_chromium, pytest.mark.timeout(180)]
FAST = "poll=1&series=1"  # the page's refresh periods, in seconds, for the test
WIB = ZoneInfo("Asia/Jakarta")  # the deployment's time zone (the default `reports.timezone`)


class SwitchableFeed:
    """A `Broadcast` that can be stopped: polls then fail, which aborts every open stream."""

    def __init__(self) -> None:
        self.inner, self.down = Broadcast(1000), False

    def publish(self, events: list[dict]) -> int:
        return self.inner.publish(events)

    async def poll(self, after, timeout_s, limit):
        deadline = time.monotonic() + timeout_s
        while True:
            if self.down:
                raise ConnectionAbortedError("feed stopped")
            items, after = await self.inner.poll(after, min(0.2, timeout_s), limit)
            if items or time.monotonic() >= deadline:
                return items, after


def camera(id_: str, site: str, occupancy: dict, state: str = "online", reason: str = "") -> dict:
    online = state == "online"
    return {"id": id_, "site": site, "url": f"rtsp://***@10.20.{len(site)}.{id_[-2:]}:554/sub", "state": state,
            "reason": reason, "shard": "shard-0", "fps_in": 25.0 if online else 0.0,
            "fps_analysed": 1.0 if online else 0.0, "drops": 3, "last_frame_age_s": 0.4 if online else 312.0,
            "latency_p50_s": 0.08, "latency_p99_s": 0.21, "frames_decoded": 9000, "frames_analysed": 3600,
            "detections": 12000, "reconnects": 0 if online else 7, "stalls": 0,
            "occupancy": occupancy if online else {}}


def fleet() -> list[dict]:
    return [
        camera("cam-sl-01", "simpang-lima", {"plaza": 23, "east-sidewalk": 4}),
        camera("cam-sl-02", "simpang-lima", {"plaza": 17}),
        camera("cam-sl-03", "simpang-lima", {"east-sidewalk": 6}),
        camera("cam-sl-04", "simpang-lima", {}, "offline", "connection refused; retrying in 16 s"),
        camera("cam-kl-01", "kota-lama", {"gereja-blenduk": 31}),
        camera("cam-kl-02", "kota-lama", {"taman-srigunting": 12}),
        camera("cam-kl-03", "kota-lama", {}, "connecting"),
        camera("cam-kl-gauge", "kota-lama", {}),
    ]


def evidence_jpeg() -> bytes:
    """A synthetic street frame with the offending car boxed."""
    frame = np.full((360, 640, 3), (70, 70, 70), np.uint8)
    cv2.rectangle(frame, (0, 250), (640, 360), (110, 110, 110), -1)
    cv2.rectangle(frame, (380, 190), (520, 262), (40, 40, 170), -1)
    cv2.rectangle(frame, (372, 182), (528, 270), (0, 0, 255), 3)
    cv2.putText(frame, "cam-sl-02  no-parking-north", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    return cv2.imencode(".jpg", frame)[1].tobytes()


def minute_counts(now: float, camera_id: str, site: str, zone: str, minutes: int, level: float):
    top = math.floor(now / 60) * 60
    return [CountRecord(camera_id, site, "zone", zone, t, t + 60, 60, round(level * 1.4),
                        round(level * (1 + 0.4 * math.sin(t / 1800)), 2), 5)
            for t in (top - 60 * m for m in range(minutes))]


@pytest.fixture
def dashboard(tmp_path):
    now = time.time()
    store = open_store(tmp_path / "ui.db")
    parking = Event(EventType.PARKING_VIOLATION, "cam-sl-02", "simpang-lima", "no-parking-north@450,262",
                    EventState.STARTED, now - 420, payload={"zone": "no-parking-north", "limit_s": 300, "class": "car"},
                    box=(380.0, 190.0, 520.0, 262.0))
    rows, snapshots = split_evidence([{**parking.to_json(), "snapshot_jpeg": evidence_jpeg()}])
    counts = [c for cam, site, zone, level in [("cam-sl-01", "simpang-lima", "plaza", 20),
                                              ("cam-sl-02", "simpang-lima", "plaza", 14),
                                              ("cam-kl-01", "kota-lama", "gereja-blenduk", 28)]
              for c in minute_counts(now, cam, site, zone, 200, level)]
    store.write(rows, counts, snapshots)
    cameras = fleet()
    app = FastAPI()
    app.include_router(ui_router)
    for router in DATA_ROUTERS:  # the API's own auth, with the run's tokens file (tests/conftest.py)
        app.include_router(router, dependencies=READ)
    app.get("/v1/cameras", dependencies=READ)(lambda: cameras)  # stands in for the supervisor
    app.state.store, app.state.event_feed = store, SwitchableFeed()
    with ServerThread(app) as server:
        driver = chromium(tmp_path / "profile")
        try:
            yield app, server, driver, cameras
        finally:
            driver.quit()
    store.close()


def flood(state: EventState, start: float, level: float) -> dict:
    return Event(EventType.FLOOD_LEVEL, "cam-kl-gauge", "kota-lama", "siaga-2", state, start,
                 None if state is EventState.RAISED else start + 900,
                 {"alarm": "siaga-2", "threshold_cm": 50.0, "level_cm": level}).to_json()


def text(driver, css: str) -> str:
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e && e.textContent", css)


def live_state(driver) -> str:
    return driver.find_element("id", "live").get_attribute("class")


def test_operator_view(dashboard, tmp_path):
    app, server, driver, cameras = dashboard
    # A wrong token in the link: the page says so and asks for one; the token leaves the address bar.
    driver.get(f"{server.url}/ui#token=not-the-token-xyz&{FAST}")
    wait_for(driver, lambda d: "auth" in live_state(d), what="token refused")
    assert driver.find_element("id", "token-overlay").is_displayed()
    assert "refused" in text(driver, "#token-message") and "token=" not in driver.current_url
    driver.find_element("id", "token-input").send_keys(TOKEN + "\n")

    # Cameras by site, with state and reason; live counts per site and zone.
    wait_for(driver, lambda d: "live" in live_state(d).split(), what="the stream to go live")
    assert not driver.find_element("id", "token-overlay").is_displayed()
    wait_for(driver, lambda d: text(d, '[data-camera="cam-sl-01"]') , what="camera rows")
    assert driver.find_element("css selector", '[data-camera="cam-sl-01"]').get_attribute("class") == "online"
    assert "connection refused" in text(driver, '[data-camera="cam-sl-04"] .state')
    assert text(driver, '[data-site="simpang-lima"] .site-cams') == "3/4 cameras online"
    assert text(driver, "#total-cameras") == "6/8"
    assert text(driver, '[data-site="simpang-lima"] [data-zone="plaza"] td:nth-child(2)') == "40"
    assert text(driver, '[data-site="simpang-lima"] .site-people') == "50"
    cameras[0]["occupancy"] = {"plaza": 61, "east-sidewalk": 4}
    wait_for(driver, lambda d: text(d, '[data-site="simpang-lima"] [data-zone="plaza"] td:nth-child(2)') == "78",
             what="the plaza count to change")
    assert text(driver, '[data-site="simpang-lima"] .site-people') == "88"

    # The time series per site, and a new minute of counts showing up in it.
    chart = '[data-site="kota-lama"] .chart svg'
    first = float(wait_for(driver, lambda d: d.find_element("css selector", chart).get_attribute("data-last"),
                           what="the kota-lama series"))
    assert driver.execute_script(f"return document.querySelector('{chart} .line').getAttribute('d').length") > 500
    later = math.floor(time.time() / 60) * 60
    app.state.store.write(counts=[CountRecord("cam-kl-02", "kota-lama", "zone", "taman-srigunting", later,
                                              later + 60, 60, 140, 120.0, 9)])
    wait_for(driver, lambda d: float(d.find_element("css selector", chart).get_attribute("data-last") or 0) >= 120,
             what="the chart to take the new minute")
    assert float(driver.find_element("css selector", chart).get_attribute("data-last")) != first

    # The stored parking violation, with its evidence snapshot fetched with the token.
    card = '[data-type="parking_violation"]'
    wait_for(driver, lambda d: d.execute_script(
        f"const i = document.querySelector('{card} img'); return i && i.src.startsWith('blob:') && i.naturalWidth"),
        what="the parking snapshot")

    # A flood alarm pushed on the live feed appears with the gauge reading, then clears.
    start = time.time() - 120
    server.call(app.state.event_feed.publish, [flood(EventState.RAISED, start, 62.5)])
    wait_for(driver, lambda d: text(d, '[data-type="flood_level"] .detail'), what="the flood alarm")
    assert text(driver, '[data-type="flood_level"] .detail') == "water 62.5 cm (alarm at 50 cm)"
    assert text(driver, "#total-alarms") == "2"
    assert "Flood level 62.5 cm" in text(driver, "#history")
    time.sleep(1.2)  # let the clock tick once for the screenshot
    screenshot = tmp_path / "dashboard.png"
    assert driver.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 20_000
    print(f"screenshot: {screenshot}")
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "401" not in e["message"]]
    assert not errors, errors  # no script error, no CSP violation

    server.call(app.state.event_feed.publish, [flood(EventState.CLEARED, start, 38.0)])
    wait_for(driver, lambda d: not d.find_elements("css selector", '[data-type="flood_level"]'),
             what="the flood alarm to clear")
    assert text(driver, "#total-alarms") == "1"
    assert "cleared" in text(driver, "#history li:first-child .state")

    # The token was kept: a plain /ui opens straight onto the data.
    driver.get(f"{server.url}/ui#{FAST}")
    wait_for(driver, lambda d: text(d, '[data-camera="cam-kl-01"]'), what="cameras after a reload")
    assert not driver.find_element("id", "token-overlay").is_displayed()
    assert driver.execute_script("return localStorage.getItem('matakota.token')") == TOKEN


def visits_at(at: datetime, visits: int, stay_s: float = 0.0) -> CountRecord:
    """A minute of counts at the plaza of alun-alun, local time `at`: `visits` people came, each staying `stay_s`."""
    start = math.floor(at.timestamp() / 60) * 60
    return CountRecord("cam-aa-01", "alun-alun", "zone", "plaza", start, start + 60, 60, 4, 2.5, visits,
                       dwell_count=visits if stay_s else 0, dwell_sum_s=visits * stay_s)


def visit_bars(driver, site: str) -> list[dict]:
    return driver.execute_script("""
        const chart = document.querySelector(`[data-site="${arguments[0]}"] .visits-chart`);
        const labels = [...chart.querySelectorAll(".xlabels text")].map((t) => t.textContent);
        const rules = [...chart.querySelectorAll(".grid line")].map((l) => +l.getAttribute("y1"));
        return [...chart.querySelectorAll(".bars rect")].map((bar, i) => ({
            period: bar.dataset.period, visits: +bar.dataset.visits, height: +bar.getAttribute("height"),
            day: labels[2 * i], month: labels[2 * i + 1], tip: bar.querySelector("title").textContent,
            full: rules[0] - rules[2], top: +chart.querySelectorAll(".grid text")[2].textContent}));""", site)


def test_visits_per_day(dashboard):
    """Under each site's occupancy chart, its visits per local day (WIB) of the last 30 days, on a screen set to
    another time zone: a count at 23:30 WIB stays on its day, days without counts are empty bars, and a site the
    store never saw says so."""
    app, server, driver, cameras = dashboard
    cameras += [camera("cam-aa-01", "alun-alun", {"plaza": 3}), camera("cam-gb-01", "gedung-batu", {"klenteng": 2})]
    today = datetime.now(WIB).replace(hour=0, minute=0, second=0, microsecond=0)
    day = lambda n, hour, minute=0: (today - timedelta(days=n)).replace(hour=hour, minute=minute)  # noqa: E731
    app.state.store.write(counts=[
        visits_at(day(0, 0, 5), 12), visits_at(day(1, 23, 30), 40, stay_s=600), visits_at(day(2, 0, 30), 8),
        visits_at(day(6, 12), 25), visits_at(day(6, 18), 5), visits_at(day(29, 8), 10),
        visits_at(day(30, 12), 99)])  # the day before the 30 shown
    expected = {day(0, 0).date(): 12, day(1, 0).date(): 40, day(2, 0).date(): 8, day(6, 0).date(): 30,
                day(29, 0).date(): 10}
    # A screen whose date is not WIB's now (UTC-11 or UTC+14): the bars must still be WIB's days.
    screen = "Pacific/Pago_Pago" if datetime.now(WIB).hour < 18 else "Pacific/Kiritimati"
    assert datetime.now(ZoneInfo(screen)).date() != datetime.now(WIB).date()
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": screen})
    driver.get(f"{server.url}/ui#token={TOKEN}&{FAST}&visits=1")
    assert driver.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone") == screen
    now = '[data-site="alun-alun"] .visits-chart .chart-now'
    wait_for(driver, lambda d: text(d, now) == "today 12 · 30 days 100", what="the visits of alun-alun")

    bars = visit_bars(driver, "alun-alun")
    dates = [day(29 - i, 0).date() for i in range(30)]
    assert [b["period"] for b in bars] == [d.isoformat() for d in dates]  # oldest first, today last
    assert [b["day"] for b in bars] == [str(d.day) for d in dates]
    assert [bool(b["month"]) for b in bars] == [i == 0 or d.day == 1 for i, d in enumerate(dates)]
    assert [b["visits"] for b in bars] == [expected.get(d, 0) for d in dates]
    for bar in bars:  # against the chart's own scale: 40 visits reach 4/5 of the way to its top line, 50
        assert bar["top"] == 50 and bar["height"] == pytest.approx(bar["visits"] / 50 * bar["full"], abs=0.1)
    late = bars[28]["tip"]  # yesterday, with the count at 23:30 WIB
    assert "40 visits, mean stay 10 min" in late and str(dates[28].day) in late and str(dates[28].year) in late
    assert bars[29]["tip"].endswith(": 12 visits") and bars[27]["tip"].endswith(": 8 visits")

    # No counts at all for a site (404): empty bars, still labelled with the last 30 days.
    empty = '[data-site="gedung-batu"] .visits-chart .chart-now'
    wait_for(driver, lambda d: text(d, empty) == "no visits yet", what="gedung-batu without visits")
    assert [(b["period"], b["height"]) for b in visit_bars(driver, "gedung-batu")] == [
        (d.isoformat(), 0) for d in dates]

    # New counts show up on the next refresh.
    app.state.store.write(counts=[visits_at(day(0, 0, 6), 7)])
    wait_for(driver, lambda d: text(d, now) == "today 19 · 30 days 107", what="today's new visits")
    screenshot(driver, "visits-per-day")
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
              and not ("site=gedung-batu" in e["message"] and "404" in e["message"])]  # expected, as shown
    assert not errors, errors  # no script error, no CSP violation


def test_stream_recovers_without_reload(dashboard):
    app, server, driver, _ = dashboard
    feed = app.state.event_feed
    driver.get(f"{server.url}/ui#token={TOKEN}&{FAST}")
    wait_for(driver, lambda d: "live" in live_state(d).split(), what="the stream to go live")
    driver.execute_script("window.__marker = 'same page'")

    # The server drops every stream and refuses new ones for a while (503): the page says so.
    feed.down, app.state.event_feed = True, None
    wait_for(driver, lambda d: "reconnecting" in live_state(d), what="the reconnecting indicator")
    time.sleep(3)  # several refused attempts: EventSource gives up on a 503, the page does not
    assert "reconnecting" in live_state(driver)

    # While the stream was down an alarm went to the store only; the page catches up on reconnect.
    missed = Event(EventType.INTRUSION, "cam-kl-01", "kota-lama", "museum-roof", EventState.RAISED, time.time() - 30,
                   payload={"zone": "museum-roof", "count": 1, "hours": "22:00-05:00"})
    app.state.store.write([missed.to_json()])
    feed.down, app.state.event_feed = False, feed
    wait_for(driver, lambda d: "live" in live_state(d).split(), timeout=40, what="the stream to come back")
    wait_for(driver, lambda d: text(d, '[data-type="intrusion"] .where'), what="the missed intrusion alarm")

    server.call(feed.publish, [flood(EventState.RAISED, time.time() - 60, 71.0)])
    wait_for(driver, lambda d: text(d, '[data-type="flood_level"] .detail') == "water 71 cm (alarm at 50 cm)",
             what="a live flood alarm after the reconnect")
    assert driver.execute_script("return window.__marker") == "same page"  # no reload happened
    assert driver.execute_script("return performance.getEntriesByType('navigation').length") == 1


def test_bounded_under_a_storm_of_events(dashboard):
    """Thousands of alarms later the page holds the same number of nodes, and a closed card's snapshot
    blob URL is revoked."""
    app, server, driver, _ = dashboard
    driver.get(f"{server.url}/ui#token={TOKEN}&{FAST}")
    wait_for(driver, lambda d: "live" in live_state(d).split(), what="the stream to go live")
    snapshot = wait_for(driver, lambda d: d.execute_script(
        "const i = document.querySelector('[data-type=\"parking_violation\"] img');"
        "return i && i.src.startsWith('blob:') && i.naturalWidth && i.src"), what="the parking snapshot")

    def storm(offset: float) -> None:
        for batch in range(10):
            events = []
            for i in range(100):
                start = offset + batch * 100 + i
                for state in (EventState.RAISED, EventState.CLEARED):
                    events.append(Event(EventType.CROWDING, f"cam-sl-0{1 + i % 3}", "simpang-lima", "plaza", state,
                                        start, None if state is EventState.RAISED else start + 30,
                                        {"zone": "plaza", "occupancy": 90, "limit": 80, "peak": 95}).to_json())
            server.call(app.state.event_feed.publish, events)
            time.sleep(0.05)

    nodes = "return document.getElementsByTagName('*').length"
    storm(time.time() - 5000)
    history = "#history li"
    wait_for(driver, lambda d: text(d, "#total-alarms") == "1" and len(d.find_elements("css selector", history)) == 100,
             what="the first storm to settle")
    time.sleep(1.5)
    before = driver.execute_script(nodes)
    storm(time.time() - 3000)
    time.sleep(1.5)
    assert driver.execute_script(nodes) == before
    assert len(driver.find_elements("css selector", history)) == 100

    # The parking violation ends: its card goes, and so does the blob URL behind its snapshot.
    [parking] = [e for e in app.state.store.events(type="parking_violation").items]
    ended = {**parking, "id": parking["id"] + "-end", "state": "ended", "end": time.time()}
    server.call(app.state.event_feed.publish, [ended])
    wait_for(driver, lambda d: not d.find_elements("css selector", '[data-type="parking_violation"]'),
             what="the parking card to go")
    fetched = driver.execute_async_script(
        "const done = arguments[1]; fetch(arguments[0]).then(() => done('still there'), () => done('revoked'))",
        snapshot)
    assert fetched == "revoked"

"""What a camera sees, through the real service: a running fleet on the people clip, `frame.jpg` (boxes, zones and
lines drawn; people pixelated for read tokens, not for operators) and the MJPEG live view (new frames over time,
a bounded number of viewers per camera, slots given back when viewers leave)."""

from __future__ import annotations

import io
import time
import uuid

import av
import cv2
import httpx
import numpy as np
import pytest
import ray
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from matakota.cluster import bootstrap
from matakota.config import parse_config
from matakota.core.events import Event, EventState, EventType
from matakota.core.names import EVENT_SINK_NAME, NAMESPACE
from tests.conftest import ADMIN, READ, READ_TOKEN
from tests.serve.browser import chromium, needs_chromium, screenshot
from tests.serve.browser import wait_for as browser_wait
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(180)
CAMERA, OTHER = "live-1", "live-2"
ZONE = [[330, 250], [570, 250], [620, 432], [280, 432]]


def image(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg", response.text
    return cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)


@pytest.fixture(scope="module")
def camera(api_url, people_clip, store_config):
    config = parse_config({"store": store_config, "fleet": {"allow_files": True, "cameras": [
        {"id": CAMERA, "site": "kota-lama", "url": str(people_clip), "location": {"lat": -6.968, "lon": 110.428},
         "analytics": {
            "fps": 2.0, "zones": [{"name": "table", "polygon": ZONE},
                                  {"name": "room", "kind": "restricted", "polygon": [[0, 0], [768, 0], [768, 432], [0, 432]]}],
            "lines": [{"name": "door", "start": [100, 300], "end": [300, 300]}],
            "rules": [{"type": "intrusion", "zone": "room", "hours": "00:00-24:00", "clear_s": 2}]},
         "clip": {"before_s": 2.0, "after_s": 2.0}},
        {"id": OTHER, "site": "simpang-lima", "url": str(people_clip), "decode": {"mode": "keyframes"},
         "location": {"lat": -6.990, "lon": 110.423},
         "analytics": {"fps": 1.0}}]}})
    bootstrap.start_fleet(config, reset=True)
    url = f"{api_url}/v1/cameras/{CAMERA}"
    assert wait_for(lambda: httpx.get(f"{url}/frame.jpg", headers=READ, timeout=30).status_code == 200, 90)
    yield url
    bootstrap.stop_fleet()


def test_the_newest_frame_with_overlays_and_scaled(camera):
    drawn = image(httpx.get(f"{camera}/frame.jpg", headers=ADMIN, timeout=30))
    assert drawn.shape == (432, 768, 3)
    small = image(httpx.get(f"{camera}/frame.jpg", headers=READ, params={"width": 320}, timeout=30))
    assert small.shape == (180, 320, 3)
    bare = image(httpx.get(f"{camera}/frame.jpg", headers=ADMIN, params={"overlay": "false"}, timeout=30))
    assert zone_edge_drawn(drawn) > 0.8 and zone_edge_drawn(bare) < 0.2


def zone_edge_drawn(frame: np.ndarray) -> float:
    """How much of the zone's top edge (y=250, x 400..540) shows in the zone colour (BGR 255, 200, 0)."""
    edge = frame[247:254, 400:540].astype(int)
    return float((np.abs(edge - (255, 200, 0)).sum(axis=2).min(axis=0) < 100).mean())


def test_people_are_pixelated_for_read_tokens_and_shown_to_operators(camera):
    def same_frame_with_a_person():
        latest = httpx.get(f"{camera}/detections/latest", headers=READ, timeout=30).json()
        people = [d for d in latest["detections"] if d["class_id"] == 0]
        plain = httpx.get(f"{camera}/frame.jpg", headers=ADMIN, params={"overlay": "false"}, timeout=30)
        blurred = httpx.get(f"{camera}/frame.jpg", headers=READ, params={"overlay": "false"}, timeout=30)
        times = {plain.headers["x-frame-time"], blurred.headers["x-frame-time"], f"{latest['frame_time']:.3f}"}
        return (people[0], image(plain), image(blurred)) if people and len(times) == 1 else None

    found = wait_for(same_frame_with_a_person, 60, 0.1)
    assert found, "no analysed frame with a person"
    person, plain, blurred = found
    x0, y0, x1, y1 = (int(v) for v in person["box"])
    inner = (slice(y0 + (y1 - y0) // 10, y1 - (y1 - y0) // 10), slice(x0 + (x1 - x0) // 10, x1 - (x1 - x0) // 10))
    detail = lambda img: cv2.Laplacian(cv2.cvtColor(img[inner], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()  # noqa: E731
    assert detail(blurred) < 0.1 * detail(plain), (detail(blurred), detail(plain))


def parts(response: httpx.Response, n: int) -> list[bytes]:
    """The first n JPEGs of an MJPEG stream."""
    buffer, found = b"", []
    for chunk in response.iter_bytes():
        buffer += chunk
        while len(found) < n and (start := buffer.find(b"\xff\xd8")) >= 0 and (end := buffer.find(b"\xff\xd9", start)) >= 0:
            found.append(buffer[start:end + 2])
            buffer = buffer[end + 2:]
        if len(found) >= n:
            return found
    return found


def test_the_live_view_sends_new_frames_at_the_analysed_rate(camera):
    started = time.monotonic()
    with httpx.stream("GET", f"{camera}/live.mjpg", params={"access_token": READ_TOKEN, "width": 384},
                      timeout=30) as live:
        assert live.headers["content-type"].startswith("multipart/x-mixed-replace")
        frames = parts(live, 4)
    assert len(frames) == 4 and len(set(frames)) == 4  # each one a new frame
    assert all(cv2.imdecode(np.frombuffer(f, np.uint8), cv2.IMREAD_COLOR).shape == (216, 384, 3) for f in frames)
    assert time.monotonic() - started < 15  # 2 analysed frames a second
    assert httpx.get(f"{camera}/frame.jpg", params={"access_token": READ_TOKEN}, timeout=30).status_code == 401


def test_live_viewers_per_camera_are_bounded_and_given_back(camera):
    opened = []
    try:
        for _ in range(4):  # api.max_live_viewers_per_camera
            stream = httpx.stream("GET", f"{camera}/live.mjpg", headers=READ, timeout=30)
            opened.append(stream)
            assert stream.__enter__().status_code == 200
        refused = httpx.get(f"{camera}/live.mjpg", headers=READ, timeout=30)
        assert refused.status_code == 503 and "4 live viewers" in refused.json()["detail"]
        assert refused.headers["retry-after"]
    finally:
        for stream in opened:
            stream.__exit__(None, None, None)

    def watch_one_frame():
        with httpx.stream("GET", f"{camera}/live.mjpg", headers=READ, timeout=30) as again:
            return again.status_code == 200 and len(parts(again, 1)) == 1

    assert wait_for(watch_one_frame, 20), "the slots of closed views were not given back"


def test_an_alarm_has_a_clip_of_its_moment_for_operators(camera, api_url):
    def alarm_with_clip():
        page = httpx.get(f"{api_url}/v1/events", headers=ADMIN, params={"camera": CAMERA, "type": "intrusion"},
                         timeout=30).json()
        return next((e for e in page["items"] if e["clip_url"]), None)

    event = wait_for(alarm_with_clip, 60, 0.5)
    assert event and event["state"] == "raised", "no intrusion with a clip"
    assert httpx.get(api_url + event["clip_url"], headers=READ, timeout=30).status_code == 403  # people unblurred
    answer = httpx.get(api_url + event["clip_url"], headers=ADMIN, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(answer.content)) as clip:
        start = float(clip.metadata["comment"].removeprefix("start="))
        duration = float(clip.duration) / 1e6
        frames = list(clip.decode(video=0))
    assert abs(duration - 4.0) <= 1.0, duration  # 2 s before and after, from the keyframe before
    assert start <= event["start"] <= start + duration  # the alarm's moment is in it
    assert frames[0].key_frame and len(frames) >= 30 and frames[0].width == 768


@needs_chromium
def test_the_camera_wall_shows_each_camera_filters_and_opens_a_live_view(camera, api_url, tmp_path):
    driver = chromium(tmp_path / "profile", 1280, 900)
    try:
        driver.get(f"{api_url}/ui/wall#token={READ_TOKEN}")
        thumbnails = lambda d: d.execute_script(  # noqa: E731
            "return [...document.querySelectorAll('.tile')].map(t => [t.dataset.camera, t.className,"
            " t.querySelector('img').src.startsWith('blob:') && t.querySelector('img').naturalWidth])")
        shown = browser_wait(driver, lambda d: (rows := thumbnails(d)) and all(w == 320 for _, _, w in rows)
                             and len(rows) == 2 and rows, 60, "a thumbnail per camera")
        assert sorted(c for c, _, _ in shown) == [CAMERA, OTHER] and all("online" in cls for _, cls, _ in shown)
        assert "token" not in driver.current_url  # taken out of the address bar
        screenshot(driver, "wall")
        Select(driver.find_element(By.ID, "site")).select_by_value("simpang-lima")
        browser_wait(driver, lambda d: [c for c, _, _ in thumbnails(d)] == [OTHER], 10, "the site filter")
        Select(driver.find_element(By.ID, "site")).select_by_value("")
        browser_wait(driver, lambda d: len(thumbnails(d)) == 2, 10, "every camera again")
        driver.find_element(By.CSS_SELECTOR, f'.tile[data-camera="{CAMERA}"]').click()
        live = driver.find_element(By.ID, "viewer-live")
        browser_wait(driver, lambda d: d.execute_script("return arguments[0].naturalWidth", live) == 768, 20,
                     "the live view (never scaled up)")
        first = live.screenshot_as_png
        screenshot(driver, "live-view")
        assert browser_wait(driver, lambda d: live.screenshot_as_png != first, 20, "the live image to change")
        driver.find_element(By.ID, "viewer-close").click()
        assert driver.execute_script("return document.getElementById('viewer-live').getAttribute('src')") is None

        sink = ray.get_actor(EVENT_SINK_NAME, namespace=NAMESPACE)  # an alarm raised at live-1: ringed on the map
        alarm = Event(EventType.INTRUSION, CAMERA, "kota-lama", "room", EventState.RAISED, time.time())
        ray.get(sink.write.remote(uuid.uuid4().hex, [alarm.to_json()], []))
        driver.find_element(By.ID, "show-map").click()
        dots = browser_wait(driver, lambda d: d.execute_script(
            "return [...document.querySelectorAll('#dots .dot')].map(c => [c.dataset.camera, c.getAttribute('class'),"
            " +c.getAttribute('cx'), +c.getAttribute('cy')])"), 20, "the cameras on the map")
        placed = {camera: (cls, x, y) for camera, cls, x, y in dots}
        assert driver.execute_script("return document.getElementById('wall').offsetParent") is None  # one view
        assert set(placed) == {CAMERA, OTHER} and all("online" in cls for cls, _, _ in placed.values())
        assert placed[OTHER][2] > placed[CAMERA][2]  # further south: lower on the map
        assert browser_wait(driver, lambda d: d.execute_script("return document.querySelectorAll('#dots .ring').length")
                            == 1, 20, "the active alarm's ring")
        labels = driver.execute_script("return [...document.querySelectorAll('#sites text')].map(t => t.textContent)")
        assert sorted(labels) == ["kota-lama", "simpang-lima"]
        screenshot(driver, "map")
        assert driver.execute_script("return document.querySelectorAll('#tiles image').length") == 0  # no tile server
    finally:
        driver.quit()

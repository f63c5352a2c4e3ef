"""The command line as a user runs it: `matakota assets`, `matakota detect`, config errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import cv2

from matakota.cluster.cli import main
from tests.conftest import PERSON_FRAMES


def test_detect_json_lines_on_image_and_video(tmp_path, clip_frames, people_clip, capsys):
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), clip_frames[PERSON_FRAMES[0]])
    assert main(["detect", str(photo), str(people_clip), "--json", "--fps", "0.2"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records[0]["source"] == str(photo)
    assert [d["label"] for d in records[0]["detections"]] == ["person"]
    video = records[1:]
    assert len(video) == 28  # 139.4 s sampled at 0.2 fps
    assert [r["pts_s"] for r in video[:3]] == [0.0, 5.0, 10.0]
    assert any(d["label"] == "person" for r in video for d in r["detections"])


def test_detect_on_a_file_that_is_not_media_fails_cleanly(tmp_path, capsys):
    junk = tmp_path / "notes.mp4"
    junk.write_text("not a video")
    assert main(["detect", str(junk)]) == 1
    assert "not a readable video" in capsys.readouterr().err


def test_invalid_config_exits_2_with_file_and_path(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("detector:\n  iou_threshold: 7\n")
    assert main(["detect", "x.jpg", "--config", str(bad)]) == 2
    assert f"{bad}: detector.iou_threshold" in capsys.readouterr().err


def test_assets_list_and_fetch_from_mirror(tmp_path, model_path):
    (tmp_path / "yolox_nano.onnx").write_bytes(model_path.read_bytes())
    env = {"MATAKOTA_HOME": str(tmp_path / "home"), "PATH": ""}
    run = lambda *args: subprocess.run([sys.executable, "-m", "matakota.cluster.cli", *args], env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=60)
    listed = run("assets", "list")
    assert listed.returncode == 0 and "yolox-nano" in listed.stdout and "CC-BY-4.0" in listed.stdout
    fetched = run("assets", "fetch", "yolox-nano", "--mirror", str(tmp_path))
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "home" / "assets" / "yolox_nano.onnx").is_file()
    missing = run("assets", "fetch", "car-detection", "--mirror", str(tmp_path))
    assert missing.returncode == 1 and "car-detection.mp4 is not in the mirror" in missing.stderr


def test_a_stopped_fleet_says_what_it_left_and_where_without_the_password(monkeypatch):
    from matakota.cluster import up
    from matakota.config import parse_config

    def no_sink(*_, **__):
        raise ValueError("no actor")

    monkeypatch.setattr(up.ray, "get_actor", no_sink)
    config = parse_config({"store": {"url": "postgresql://matakota:s3cret@db.internal/matakota"}})
    line = up.closing_summary(config, {"online": 7, "cameras": 8, "detections": 1234})
    assert line.startswith("matakota: stopped; 7/8 cameras online at the end, 1234 detections; stored 0 count")
    assert "db.internal/matakota" in line and "s3cret" not in line


def test_audit_verify_passes_an_intact_log_and_names_the_edited_row(tmp_path, capsys):
    import sqlite3

    from matakota.store import open_store

    path = tmp_path / "matakota.db"
    with open_store(path) as store:
        for i in range(5):
            store.audit_append("dishub-ops", "evidence.download", f"event-{i}", {"crop": False}, "10.0.0.7")
    config = tmp_path / "matakota.yaml"
    config.write_text(f"store:\n  url: {path}\n")
    assert main(["audit", "verify", "--config", str(config)]) == 0
    out = capsys.readouterr().out.split()
    assert out[:6] == ["audit", "log", "intact:", "5", "rows,", "head"] and out[6] == "5" and len(out[7]) == 64
    head = f"{out[6]}:{out[7]}"
    assert main(["audit", "list", "--store", str(path), "--limit", "2"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["seq"], e["actor"], e["target"]) for e in listed] == [(5, "dishub-ops", "event-4"),
                                                                       (4, "dishub-ops", "event-3")]
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE audit SET target = 'event-x' WHERE seq = 3")
    assert main(["audit", "verify", "--store", f"sqlite:///{path}"]) == 1
    err = capsys.readouterr().err
    assert "broken at seq 3" in err and "row 3 was changed" in err
    with sqlite3.connect(path) as conn:  # put back, then the newest two rows deleted: caught only by the kept head
        conn.execute("UPDATE audit SET target = 'event-2' WHERE seq = 3")
        conn.execute("DELETE FROM audit WHERE seq > 3")
    assert main(["audit", "verify", "--store", str(path)]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--store", str(path), "--expect-head", head]) == 1
    assert "rows 4..5 are missing" in capsys.readouterr().err
    assert main(["audit", "verify", "--store", str(path), "--expect-head", "5:nothex"]) == 2
    assert main(["audit", "verify", "--store", str(tmp_path / "typo.db")]) == 1
    assert "no store at" in capsys.readouterr().err and not (tmp_path / "typo.db").exists()


def test_a_stopped_demo_says_how_many_visits_its_sites_counted_since_it_started(monkeypatch, tmp_path):
    from datetime import datetime

    from matakota.analytics.counts import CountRecord
    from matakota.cluster import up
    from matakota.cluster.demo import demo_config
    from matakota.config import StoreConfig
    from matakota.core.calendar import zone
    from matakota.store import open_store

    def no_sink(*_, **__):
        raise ValueError("no actor")

    def at(hour: int, minute: int) -> float:
        return datetime(2026, 11, 5, hour, minute, tzinfo=zone("Asia/Jakarta")).timestamp()

    def table(camera: str, site: str, t: float, visits: int) -> CountRecord:
        return CountRecord(camera, site, "zone", "table", t, t + 60, 60, visits=visits, part="run-1")

    monkeypatch.setattr(up.ray, "get_actor", no_sink)
    config = demo_config(4, 8000).model_copy(update={"store": StoreConfig(url=str(tmp_path / "matakota.db"))})
    assert up.visits_since(config, time.time()) is None  # no store yet, and none is created
    assert not (tmp_path / "matakota.db").exists()
    with open_store(config.store.url) as store:
        store.set_counting_plan(config.counting_plan())  # each site's first people camera: cam-0 and cam-2
        store.write([], [table("cam-0", "simpang-lima", at(9, 50), 100),  # before the hour the run started in
                         table("cam-0", "simpang-lima", at(10, 30), 3), table("cam-2", "kota-lama", at(11, 5), 4),
                         table("cam-1", "simpang-lima", at(10, 31), 50)])  # not in the counting plan
    visits = up.visits_since(config, started=at(10, 20), now=at(11, 10))
    assert visits == (7, "10:00")
    line = up.closing_summary(config, {"online": 4, "cameras": 4, "detections": 90}, visits)
    assert "90 detections; 7 visits at 2 sites since 10:00 (Asia/Jakarta); stored 0 count records" in line
    assert line.endswith(f"in {tmp_path / 'matakota.db'}")

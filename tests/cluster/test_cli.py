"""The command line as a user runs it: `matakota assets`, `matakota detect`, config errors."""

from __future__ import annotations

import json
import subprocess
import sys

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

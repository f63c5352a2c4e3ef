"""`matakota analyze` as a user runs it: the example camera on the real clip, evidence, bad inputs."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import pytest
import yaml

from matakota.cluster.analyze import format_report
from matakota.cluster.cli import main
from matakota.config import CameraAnalyticsConfig, ConfigError, load_file
from tests.analytics.test_real_clip import EXAMPLE_CAMERA, TRUTH


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory, people_clip):
    """One real run: the example camera plus an intrusion rule on its zone (events with evidence)."""
    tmp = tmp_path_factory.mktemp("analyze")
    camera = yaml.safe_load(EXAMPLE_CAMERA.read_text())
    camera["rules"].append({"type": "intrusion", "zone": "table", "for_s": 2, "clear_s": 3})
    camera_file = tmp / "one-by-one.yaml"
    camera_file.write_text(yaml.safe_dump(camera))
    snapshots = tmp / "snapshots"
    out = io.StringIO()  # capsys is function-scoped; this fixture runs once per module
    with contextlib.redirect_stdout(out):
        code = main(["analyze", str(people_clip), "--camera", str(camera_file), "--json",
                     "--snapshots", str(snapshots)])
    return code, out.getvalue(), snapshots


def test_json_is_one_object_with_the_true_visits(analyzed):
    code, stdout, _ = analyzed
    assert code == 0
    result = json.loads(stdout)  # exactly one JSON document
    assert result["camera"] == "one-by-one-person-detection"
    assert result["time_base"].startswith("seconds from the start of the recording")
    table = result["zones"]["table"]
    assert table["visits"] == len(TRUTH) and table["max_occupancy"] == 1
    assert len(table["dwell_s"]) == len(TRUTH)
    assert result["lines"] == {}


def test_each_arrival_raises_an_intrusion_with_evidence_on_disk(analyzed):
    _, stdout, snapshots = analyzed
    events = json.loads(stdout)["events"]
    raised = [e for e in events if e["state"] == "raised"]
    assert len(raised) == len(TRUTH)
    for event, (_, enter, _) in zip(raised, TRUTH):
        assert abs(event["start"] - enter) <= 3.0  # seconds from the start of the recording
        full = cv2.imread(event["snapshot"]["full"])
        crop = cv2.imread(event["snapshot"]["crop"])
        assert full.shape == (432, 768, 3) and 0 < crop.shape[0] <= 432
        assert Path(event["snapshot"]["full"]).parent == snapshots
    assert all("snapshot" not in e for e in events if e["state"] == "cleared")  # no box, no evidence


def test_readable_report_lists_visits_and_events(analyzed):
    report = format_report(json.loads(analyzed[1]))
    assert f"zone table: {len(TRUTH)} visits, max occupancy 1" in report
    assert "visit 6: track" in report and "intrusion raised (table)  snapshot " in report


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("zones:\n  - name: table\n    polygon: [[0, 0], [10, 0]]\n", "zones[0].polygon: List should have at least 3"),
        ("fps: -1\n", "fps: Input should be greater than 0"),
        ("zones: [\n", "line 2, column 1: invalid YAML"),
        ("rules:\n  - {type: crowding, zone: nowhere, max_occupancy: 1}\n", "rules[0].zone: 'nowhere' is not a zone"),
    ],
)
def test_invalid_camera_yaml_exits_2_naming_file_and_path(tmp_path, capsys, text, message):
    bad = tmp_path / "camera.yaml"
    bad.write_text(text)
    assert main(["analyze", "whatever.mp4", "--camera", str(bad)]) == 2
    assert f"{bad}: {message}" in capsys.readouterr().err


def test_camera_loader_raises_config_error():
    with pytest.raises(ConfigError, match="cannot read"):
        load_file(CameraAnalyticsConfig, "/nonexistent/camera.yaml")


def test_missing_video_fails_cleanly_with_exit_1(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "gone.mp4"), "--camera", str(EXAMPLE_CAMERA)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'gone.mp4'}: no such video file" in err and "Traceback" not in err

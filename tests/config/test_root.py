"""Config: defaults, YAML loading, and errors that name the file, the YAML path and the reason."""

from __future__ import annotations

import pytest
import yaml

from matakota.config import Config, ConfigError, load_config, parse_config


def test_defaults_need_no_file():
    config = load_config(None)
    assert config == Config()
    assert config.detector.max_ongoing_requests >= config.detector.max_batch_size


def test_yaml_values_are_applied(tmp_path):
    path = tmp_path / "matakota.yaml"
    path.write_text("detector:\n  score_threshold: 0.5\n  classes: [0]\napi:\n  port: 9000\n")
    config = load_config(path)
    assert (config.detector.score_threshold, config.detector.classes, config.api.port) == (0.5, (0,), 9000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("detector:\n  score_threshold: 1.5\n", "detector.score_threshold: Input should be less than 1"),
        ("detector:\n  classes: [0, 99]\n", "detector.classes: COCO class ids are 0..79, got [99]"),
        ("detector:\n  max_batch_size: 0\n", "detector.max_batch_size"),
        ("api:\n  prot: 8000\n", "api.prot: Extra inputs are not permitted"),
        ("metrics:\n  port: 8000\n", "metrics.port: 8000 is api.port too"),
        ("detector: [1, 2]\n", "detector: Input should be a valid dictionary"),
        ("detector:\n  score_threshold: [\n", "line 3, column 1: invalid YAML"),
        ("fleet:\n  cameras:\n    - {id: c1, url: rtsp://h/s, location: {lat: 96.1, lon: 110.4}}\n",
         "fleet.cameras[0].location.lat: Input should be less than or equal to 90"),
        ("fleet:\n  cameras:\n    - {id: c1, url: rtsp://h/s, category: mall}\n", "fleet.cameras[0].category: Input should be 'traffic'"),
        ("fleet:\n  cameras:\n    - {id: c1, url: rtsp://h/s, owner: 'hotel santika'}\n",
         "fleet.cameras[0].owner: String should match pattern"),
    ],
)
def test_invalid_config_names_file_path_and_reason(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        parse_config({"detector": {"score_threshold": 2, "iou_threshold": 0}}, "x.yaml")
    assert len(str(error.value).splitlines()) == 2


CAMERAS = ("fleet:\n  cameras:\n"
           "    - {id: gate-cam, site: tugu, url: rtsp://h/s, analytics: {lines: [{name: gate, start: [0, 0], "
           "end: [9, 9]}], zones: [{name: square, polygon: [[0, 0], [9, 0], [9, 9]]}]}}\n"
           "    - {id: other, site: pasar, url: rtsp://h/t}\n")


@pytest.mark.parametrize(("plan", "message"), [
    ("{entrances: [nobody/gate]}", "reports.sites.tugu.entrances[0]: no camera 'nobody' in fleet.cameras"),
    ("{entrances: [gate-cam/door]}", "entrances[0]: 'door' is not a zone or line of camera 'gate-cam'"),
    ("{entrances: [gate-cam/gate], area: [gate-cam/gate]}", "area[0]: 'gate' is not a zone of camera 'gate-cam'"),
    ("{entrances: [other/x]}", "camera 'other' belongs to site 'pasar', not 'tugu'"),
    ("{entrances: [gate]}", "reports.sites.tugu.entrances: [0] 'gate': write camera/zone or camera/line"),
])
def test_counting_plans_must_name_real_zones_and_lines(tmp_path, plan, message):
    path = tmp_path / "bad.yaml"
    path.write_text(CAMERAS + f"reports:\n  sites:\n    tugu: {plan}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_a_counting_plan_becomes_store_entries(tmp_path):
    config = parse_config({**yaml.safe_load(CAMERAS),
                           "reports": {"sites": {"tugu": {"title": "Tugu Muda",
                                                          "entrances": ["gate-cam/gate", "gate-cam/square"]}}}})
    assert sorted((e.kind, e.name, e.visits, e.occupancy) for e in config.counting_plan()) == [
        ("line", "gate", True, False), ("zone", "square", True, True)]  # the zone among entrances is the area too


def test_a_time_zone_whose_days_start_off_the_hour_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("reports:\n  timezone: Asia/Kathmandu\n")
    with pytest.raises(ConfigError, match="reports.timezone: time zone 'Asia/Kathmandu' has an offset of 5:45:00"):
        load_config(path)

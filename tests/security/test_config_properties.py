"""Hostile config input: the loader fails only with `ConfigError`, whose message never carries a URL password;
the CLI turns every bad config into one clear message and exit code 2."""

from __future__ import annotations

import secrets

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matakota.cluster.cli import main
from matakota.config import ConfigError, load_config, parse_config

PASSWORD = "pw-" + secrets.token_hex(8)  # unique per run, so a hit can only come from this test's input
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=20))
KEYS = ["detector", "api", "fleet", "store", "outputs", "log_level", "cameras", "shards", "id", "url", "site",
        "analytics", "zones", "lines", "rules", "polygon", "port", "max_body_bytes", "allow_files", "decode"]
yamlish = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)
# file:// and scheme-less URLs: see test_file_urls_with_credentials_are_redacted.
secret_urls = st.sampled_from(["rtsp", "rtsps", "http", "https", "ftp", "gopher", "RTSP", "rtsp+tcp"]).map(
    lambda scheme: f"{scheme}://admin:{PASSWORD}@10.0.0.7:554/stream?token={PASSWORD}")
cameras = st.fixed_dictionaries({"id": st.sampled_from(["cam-1", "bad id!", "", "x" * 80]), "url": secret_urls},
                                optional={"site": st.text(max_size=5), "analytics": yamlish, "decode": yamlish,
                                          "rtsp_transport": st.sampled_from(["tcp", "udp", "sctp", PASSWORD])})


@FAST
@given(yamlish)
def test_parse_config_raises_only_config_error(data):
    try:
        parse_config(data, "prop.yaml")
    except ConfigError as error:
        assert str(error).startswith("prop.yaml") or "prop.yaml" in str(error)


@FAST
@given(st.lists(cameras, min_size=1, max_size=3), st.booleans())
def test_config_errors_never_quote_a_camera_password(camera_list, allow_files):
    data = {"fleet": {"allow_files": allow_files, "cameras": camera_list}}
    try:
        config = parse_config(data, "cams.yaml")
    except ConfigError as error:
        assert PASSWORD not in str(error)
        assert PASSWORD not in repr(error)
    else:
        assert PASSWORD not in repr(config)
        assert all(PASSWORD not in camera.redacted_url for camera in config.fleet.cameras)


@pytest.mark.parametrize("url", [f"file://admin:{PASSWORD}@nas/x.mp4", f"://admin:{PASSWORD}@10.0.0.7/x"])
def test_file_urls_with_credentials_are_redacted(url):
    with pytest.raises(ConfigError) as error:
        parse_config({"fleet": {"cameras": [{"id": "a", "url": url}]}}, "cams.yaml")
    assert PASSWORD not in str(error.value)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_load_config_on_arbitrary_text_raises_only_config_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("cfg") / "matakota.yaml"
    path.write_text(text)
    try:
        load_config(path)
    except ConfigError as error:
        assert str(path) in str(error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("detector: [unclosed\n", ["line ", "invalid YAML"]),
        ("api:\n  port: 70000\n", ["api.port", "less than or equal to 65535"]),
        ("api:\n  prot: 8000\n", ["api.prot", "Extra inputs are not permitted"]),
        ("detector:\n  classes: [0, 99]\n", ["detector.classes", "COCO class ids are 0..79"]),
        ("fleet:\n  cameras:\n    - {id: a, url: 'ftp://admin:%s@h/x'}\n" % PASSWORD,
         ["fleet: cameras[0].url", "unsupported scheme 'ftp'", "admin:***@h"]),
        ("fleet:\n  cameras:\n    - {id: a, url: /tmp/x.mp4}\n", ["fleet: cameras[0].url", "local files are disabled"]),
        ("fleet:\n  cameras:\n    - {id: a, url: 'rtsp://h/1'}\n    - {id: a, url: 'rtsp://h/2'}\n",
         ["fleet: cameras[1].id", "duplicate camera id 'a'"]),
        ("fleet:\n  cameras:\n    - {id: a, url: 'rtsp://h/1', analytics: {zones: [{name: z, polygon: [[0,0],[1,1],[0,1],[1,0]]}]}}\n",
         ["fleet.cameras[0].analytics", "self-intersecting"]),
        ("- just\n- a list\n", ["(top level)", "valid dictionary"]),
        ("log_level: LOUD\n", ["log_level"]),
    ],
    ids=["yaml-syntax", "port-range", "unknown-key", "coco-ids", "bad-scheme-with-password", "files-disabled",
         "duplicate-id", "bowtie-zone", "not-a-mapping", "log-level"],
)
def test_matakota_check_names_file_path_and_reason_and_exits_2(tmp_path, capsys, text, expected):
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("matakota: invalid config:\n") and str(path) in err
    for part in expected:
        assert part in err, err
    assert PASSWORD not in err and "Traceback" not in err


def test_matakota_check_missing_file_exits_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["serve", "--duration", "0"], ["up"]])
def test_serve_and_up_stop_on_a_bad_config_before_starting_anything(tmp_path, capsys, command):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"api": {"port": 0}}))
    argv = [command[0], str(path), *command[1:]] if command[0] == "up" else [*command, "--config", str(path)]
    assert main(argv) == 2
    assert f"{path}: api.port" in capsys.readouterr().err


def test_matakota_check_accepts_a_valid_config(tmp_path, capsys):
    path = tmp_path / "ok.yaml"
    path.write_text("fleet:\n  cameras:\n    - {id: a, url: 'rtsp://admin:%s@h/1'}\n" % PASSWORD)
    assert main(["check", str(path)]) == 0
    assert "ok (1 cameras)" in capsys.readouterr().out

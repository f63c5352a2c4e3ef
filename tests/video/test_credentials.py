"""`${NAME}` credential references: validated in config, resolved from a secrets folder at connect time."""

from __future__ import annotations

import pytest

from matakota.config import ConfigError, parse_config
from matakota.core.errors import SourceAuthError
from matakota.video import credentials


@pytest.fixture
def secrets_dir(tmp_path):
    (tmp_path / "kota-lama-07").write_text("admin:p@ss:w/rd\n")
    (tmp_path / "kota-lama-07.hosts").write_text("10.1.2.0/24\ncam-07.kotalama.semarang.go.id\n")
    (tmp_path / "no-colon").write_text("justapassword")
    (tmp_path / "no-colon.hosts").write_text("h")
    (tmp_path / "missing.hosts").write_text("h")
    (tmp_path / "unbound").write_text("admin:s3cret")
    return tmp_path


def test_a_reference_resolves_to_the_percent_encoded_secret(secrets_dir):
    url = credentials.resolve("rtsp://${kota-lama-07}@10.1.2.3:554/stream1", secrets_dir)
    assert url == "rtsp://admin:p%40ss%3Aw%2Frd@10.1.2.3:554/stream1"


@pytest.mark.parametrize(("url", "allowed"), [
    ("rtsp://${kota-lama-07}@10.1.2.3:554/stream1", True),
    ("rtsp://${kota-lama-07}@10.1.2.250/stream1", True),
    ("rtsp://${kota-lama-07}@CAM-07.kotalama.semarang.go.id./s", True),
    ("rtsp://${kota-lama-07}@10.1.3.3/stream1", False),  # another network
    ("rtsp://${kota-lama-07}@attacker.example/x", False),
    ("rtsp://${kota-lama-07}@cam-07.kotalama.semarang.go.id.attacker.example/x", False),
    ("http://${kota-lama-07}@[::1]/x", False),
    ("rtsp://${unbound}@10.1.2.3/x", False),  # no hosts file: sent nowhere
])
def test_credentials_go_only_to_the_hosts_their_secret_names(secrets_dir, url, allowed):
    if allowed:
        assert credentials.resolve(url, secrets_dir).startswith(url.split("$")[0] + "admin:p%40ss")
        return
    with pytest.raises(SourceAuthError, match="may not be sent to|name no hosts") as error:
        credentials.resolve(url, secrets_dir)
    assert "s3cret" not in str(error.value) and "p@ss" not in str(error.value)


def test_urls_without_a_reference_are_untouched(secrets_dir):
    assert credentials.resolve("rtsp://u:p@h/x", secrets_dir) == "rtsp://u:p@h/x"


@pytest.mark.parametrize(("name", "message"), [("missing", "not found"), ("no-colon", "must be `user:password`")])
def test_a_bad_secret_names_the_reference_never_the_value(secrets_dir, name, message):
    with pytest.raises(SourceAuthError, match=message) as error:
        credentials.resolve(f"rtsp://${{{name}}}@h/x", secrets_dir)
    assert f"${{{name}}}" in str(error.value) and "justapassword" not in str(error.value)


@pytest.mark.parametrize("url", ["rtsp://admin:${pw}@h/x", "rtsp://h/x?token=${t}", "rtsp://${bad!name}@h/x",
                                 "rtsp://${}@h/x"])
def test_a_malformed_reference_is_a_config_error_on_the_camera_url(url):
    with pytest.raises(ConfigError, match=r"fleet.*cameras\[0\]\.url.*whole user part"):
        parse_config({"fleet": {"cameras": [{"id": "c", "url": url}]}})


def test_a_well_formed_reference_passes_validation_unresolved():
    config = parse_config({"fleet": {"cameras": [{"id": "c", "url": "rtsps://${cam-1}@h:322/x"}]}})
    assert config.fleet.cameras[0].url == "rtsps://${cam-1}@h:322/x"

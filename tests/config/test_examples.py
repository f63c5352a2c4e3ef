"""The configs users start from stay valid as the schema evolves."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from matakota.config import load_config
from matakota.config.analytics import CameraAnalyticsConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_example_fleet_validates_and_keeps_passwords_out():
    config = load_config(EXAMPLES / "fleet.yaml")
    assert len(config.fleet.cameras) >= 3 and {c.site for c in config.fleet.cameras} == {"simpang-lima", "kota-lama"}
    assert not any("@" in c.url for c in config.fleet.cameras)


@pytest.mark.parametrize("path", sorted((EXAMPLES / "cameras").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_camera_section_validates(path):
    CameraAnalyticsConfig.model_validate(yaml.safe_load(path.read_text()))

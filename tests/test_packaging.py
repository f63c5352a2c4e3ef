"""A regular (non-editable) install works on its own: every package imports and the package data is there."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.architecture import ROOT, package_dirs

pytestmark = pytest.mark.timeout(300)

CHECK = """
import importlib, json, sys
from matakota.cluster.demo import demo_config
from matakota.core import assets
from matakota.serve import ui
from matakota.store.sql import migrations
for package in sys.argv[1:]:
    importlib.import_module(package)
demo = demo_config(4, 8000)
print(json.dumps({"from": __import__("matakota.cluster", fromlist=["x"]).__file__, "cameras": len(demo.fleet.cameras),
                  "zones": len(demo.fleet.cameras[0].analytics.zones), "migrations": len(migrations()),
                  "ui": sorted(ui.ASSETS), "assets": sorted(assets.manifest())}))
"""


def test_a_wheel_holds_every_package_and_the_demo_s_camera_configs(tmp_path):
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", str(ROOT), "-w", str(tmp_path / "wheel")], check=True,
                   capture_output=True, timeout=240)
    [wheel] = (tmp_path / "wheel").glob("matakota-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(tmp_path / "site"), str(wheel)], check=True,
                   capture_output=True, timeout=120)
    run = subprocess.run([sys.executable, "-c", CHECK, *package_dirs()], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")})
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["from"].startswith(str(tmp_path / "site"))  # the installed copy, not the checkout
    assert found["cameras"] == 4 and found["zones"] >= 1  # examples/cameras/one-by-one.yaml came with it
    assert found["migrations"] >= 1 and "app.js" in found["ui"]
    assert {"yolox-nano", "one-by-one-person-detection", "car-detection"} <= set(found["assets"])

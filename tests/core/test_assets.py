"""Assets: fetched from a mirror or the network, verified by sha256, never half-written."""

from __future__ import annotations

import shutil

import pytest

from matakota.core import assets
from matakota.core.assets import Asset, AssetError
from matakota.core.settings import Settings


@pytest.fixture
def mirror(tmp_path, model_path):
    folder = tmp_path / "mirror" / "models"
    folder.mkdir(parents=True)
    shutil.copy(model_path, folder / "yolox_nano.onnx")
    return tmp_path / "mirror"


def test_manifest_pins_every_asset_with_licence_and_attribution():
    manifest = assets.manifest()
    assert set(manifest) == {"yolox-nano", "one-by-one-person-detection", "car-detection"}
    for asset in manifest.values():
        assert asset.url.startswith("https://")
        assert asset.sha256 and all(len(d) == 64 for d in asset.sha256)
        assert asset.licence and asset.attribution
    assert len(manifest["yolox-nano"].sha256) == 2  # the official export and the mirror's re-export


def test_fetch_from_mirror_subfolder_verifies_and_places_the_file(mirror, tmp_path):
    dest = tmp_path / "cache"
    path = assets.fetch("yolox-nano", mirror=mirror, dest_dir=dest)
    assert path == dest / "yolox_nano.onnx"
    assert assets.sha256_of(path) in assets.manifest()["yolox-nano"].sha256
    assert [p.name for p in dest.iterdir()] == ["yolox_nano.onnx"]


def test_a_good_file_already_in_place_is_kept(mirror, tmp_path):
    dest = tmp_path / "cache"
    first = assets.fetch("yolox-nano", mirror=mirror, dest_dir=dest)
    shutil.rmtree(mirror)
    assert assets.fetch("yolox-nano", mirror=mirror, dest_dir=dest) == first


def test_digest_mismatch_is_refused_and_leaves_nothing(mirror, tmp_path):
    (mirror / "models" / "yolox_nano.onnx").write_bytes(b"not the model")
    dest = tmp_path / "cache"
    with pytest.raises(AssetError, match="sha256 .* expected"):
        assets.fetch("yolox-nano", mirror=mirror, dest_dir=dest)
    assert list(dest.iterdir()) == []


def test_a_corrupt_file_in_place_is_replaced_not_trusted(mirror, tmp_path):
    dest = tmp_path / "cache"
    dest.mkdir()
    (dest / "yolox_nano.onnx").write_bytes(b"half a download")
    path = assets.fetch("yolox-nano", mirror=mirror, dest_dir=dest)
    assert assets.sha256_of(path) in assets.manifest()["yolox-nano"].sha256


def test_missing_mirror_file_names_the_file_and_mirror(tmp_path):
    with pytest.raises(AssetError, match="car-detection.mp4 is not in the mirror"):
        assets.fetch("car-detection", mirror=tmp_path, dest_dir=tmp_path / "cache")


def test_no_network_gives_a_clear_message_and_no_partial_file(tmp_path, monkeypatch):
    unreachable = Asset("x", "x.bin", "http://127.0.0.1:9/x.bin", ("0" * 64,), "MIT", "nobody")
    monkeypatch.setattr(assets, "manifest", lambda: {"x": unreachable})
    monkeypatch.setattr(assets, "settings", lambda: Settings(home=tmp_path))  # no mirror, whatever CI sets
    dest = tmp_path / "cache"
    with pytest.raises(AssetError, match="cannot download .*--mirror"):
        assets.fetch("x", dest_dir=dest)
    assert list(dest.iterdir()) == []


def test_unknown_asset_lists_the_known_ones(tmp_path):
    with pytest.raises(AssetError, match="unknown asset 'nope'; known: car-detection"):
        assets.fetch("nope", dest_dir=tmp_path)

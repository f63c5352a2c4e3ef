"""PATCH is a JSON Merge Patch (RFC 7396): nested objects merge, null deletes a key, lists replace."""

from __future__ import annotations

import pytest

from matakota.config import CameraConfig, merge_patch

CAMERA = {"id": "simpang-lima-01", "site": "simpang-lima", "url": "rtsp://${simpang-lima-01}@10.0.0.1/s1",
          "decode": {"mode": "keyframes"},
          "analytics": {"fps": 2.0, "zones": [{"name": "plaza", "polygon": [[0, 0], [100, 0], [100, 100]]}],
                        "rules": [{"type": "crowding", "zone": "plaza", "max_occupancy": 5}]}}


@pytest.mark.parametrize(("target", "patch", "expected"), [  # RFC 7396, appendix A (a selection)
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ({"a": "foo"}, "bar", "bar"),
])
def test_merge_patch_follows_rfc_7396(target, patch, expected):
    assert merge_patch(target, patch) == expected


def test_a_nested_change_keeps_the_rest_of_the_section():
    camera = CameraConfig.model_validate(CAMERA)
    patched = CameraConfig.model_validate(merge_patch(camera.model_dump(mode="json"), {"analytics": {"fps": 5}}))
    assert patched.analytics.fps == 5
    assert [z.name for z in patched.analytics.zones] == ["plaza"] and len(patched.analytics.rules) == 1
    assert patched.decode.mode.value == "keyframes"


def test_null_deletes_back_to_the_default_and_lists_replace():
    camera = CameraConfig.model_validate(CAMERA).model_dump(mode="json")
    patched = CameraConfig.model_validate(merge_patch(camera, {"analytics": {"rules": None}, "decode": None}))
    assert patched.analytics.rules == () or list(patched.analytics.rules) == []
    assert patched.decode.mode.value == "sampled"  # the default again
    moved = merge_patch(camera, {"analytics": {"zones": [{"name": "gate", "polygon": [[0, 0], [9, 0], [9, 9]]}],
                                               "rules": []}})
    assert [z["name"] for z in moved["analytics"]["zones"]] == ["gate"]

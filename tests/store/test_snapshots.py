from __future__ import annotations

import pytest

from matakota.store import SnapshotStore


def test_snapshots_are_written_whole_and_replaced(tmp_path):
    snapshots = SnapshotStore(tmp_path / "snaps")
    assert snapshots.save("abc123", b"one", b"crop") == ("abc123.jpg", "abc123-crop.jpg")
    assert snapshots.save("abc123", b"two") == ("abc123.jpg", None)  # a retry overwrites
    assert snapshots.path("abc123.jpg").read_bytes() == b"two"
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["abc123-crop.jpg", "abc123.jpg"]
    assert snapshots.delete(["abc123.jpg", "abc123-crop.jpg", "missing.jpg"]) == 2


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b.jpg", ".hidden", ""])
def test_names_never_leave_the_directory(tmp_path, name):
    with pytest.raises(ValueError):
        SnapshotStore(tmp_path).path(name)


@pytest.mark.parametrize("event_id", ["../x", "a b", "x" * 65])
def test_event_ids_are_checked(tmp_path, event_id):
    with pytest.raises(ValueError):
        SnapshotStore(tmp_path).save(event_id, b"x")

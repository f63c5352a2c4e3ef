"""The fleet's desired state (cameras and their config), kept in Ray's GCS key-value store.

The GCS is what a restarted supervisor can always reach, and with GCS fault tolerance (Redis, as the
production overlay configures) it also survives a head-node restart. Ray exposes the store only through
`ray.experimental.internal_kv` (the same one Serve keeps its state in); this module is the one place that
touches it.
"""

from __future__ import annotations

import json

from ray.experimental import internal_kv

from matakota.config import CameraConfig

KEY = b"matakota/fleet/cameras"
NAMESPACE = "matakota"


def load() -> dict[str, CameraConfig] | None:
    """The saved cameras, or None when nothing was ever saved (a brand-new fleet)."""
    raw = internal_kv._internal_kv_get(KEY, namespace=NAMESPACE)
    if raw is None:
        return None
    return {c["id"]: CameraConfig.model_validate(c) for c in json.loads(raw)}


def save(cameras: dict[str, CameraConfig]) -> None:
    payload = json.dumps([camera.model_dump(mode="json") for camera in cameras.values()])
    internal_kv._internal_kv_put(KEY, payload.encode(), overwrite=True, namespace=NAMESPACE)


def clear() -> None:
    internal_kv._internal_kv_del(KEY, namespace=NAMESPACE)

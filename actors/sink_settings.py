"""The reports config (time zone, counting plans) last pushed to a running EventSink, kept in Ray's GCS key-value
store: Ray restarts a crashed actor with the arguments it was first created with, so a sink that was handed a newer
config (bootstrap pushes it every start) reads it back from here instead."""

from __future__ import annotations

import json
from dataclasses import asdict

from ray.experimental import internal_kv

from matakota.config import PlanEntry, ReportsConfig

NAMESPACE = "matakota"


def _key(sink: str) -> bytes:
    return f"matakota/event-sink/{sink}/reports".encode()


def save(sink: str, reports: ReportsConfig, plan: list[PlanEntry]) -> None:
    payload = {"reports": reports.model_dump(mode="json"), "plan": [asdict(entry) for entry in plan]}
    internal_kv._internal_kv_put(_key(sink), json.dumps(payload).encode(), overwrite=True, namespace=NAMESPACE)


def load(sink: str) -> tuple[ReportsConfig, list[PlanEntry]] | None:
    """The config pushed to `sink`, or None when none was since it was created."""
    raw = internal_kv._internal_kv_get(_key(sink), namespace=NAMESPACE)
    if raw is None:
        return None
    payload = json.loads(raw)
    return ReportsConfig.model_validate(payload["reports"]), [PlanEntry(**entry) for entry in payload["plan"]]


def clear(sink: str) -> None:
    internal_kv._internal_kv_del(_key(sink), namespace=NAMESPACE)

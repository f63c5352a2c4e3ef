"""The root of the configuration tree: everything one matakota deployment needs (one YAML file)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from matakota.config.api import ApiConfig
from matakota.config.base import StrictModel
from matakota.config.detector import DetectorConfig
from matakota.config.fleet import FleetConfig
from matakota.config.metrics import MetricsConfig
from matakota.config.outputs import OutputsConfig
from matakota.config.reports import PlanEntry, ReportsConfig
from matakota.config.store import StoreConfig


class Config(StrictModel):
    """Everything one matakota deployment needs."""

    detector: DetectorConfig = DetectorConfig()
    api: ApiConfig = ApiConfig()
    metrics: MetricsConfig = Field(default_factory=MetricsConfig, description="Ray's Prometheus metrics port")
    fleet: FleetConfig = FleetConfig()
    store: StoreConfig = Field(default_factory=StoreConfig, description="where counts, events and snapshots are kept")
    outputs: OutputsConfig = Field(default_factory=OutputsConfig, description="MQTT and webhooks")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="log level")
    reports: ReportsConfig = Field(default_factory=ReportsConfig,
                                   description="time zone of days and months, counting plans, the open-data portal")

    @model_validator(mode="after")
    def _plans_name_real_zones(self) -> Config:
        self.counting_plan()
        return self

    @model_validator(mode="after")
    def _metrics_apart_from_the_api(self) -> Config:
        if self.metrics.port == self.api.port:
            raise ValueError(f"metrics.port: {self.metrics.port} is api.port too (each needs its own port)")
        return self

    def counting_plan(self) -> list[PlanEntry]:
        """Every site's plan as store entries; ValueError naming the field for a camera, zone or line that is not
        there (the plan must follow the cameras' config)."""
        cameras = {c.id: c for c in self.fleet.cameras}
        entries: dict[tuple, PlanEntry] = {}
        for site, plan in self.reports.sites.items():
            refs = [(ref, True, False, f"entrances[{i}]") for i, ref in enumerate(plan.entrances)]
            area = plan.area if plan.area is not None else [r for r in plan.entrances if _kind(cameras, r) == "zone"]
            refs += [(ref, False, True, f"area[{i}]") for i, ref in enumerate(area)]
            for ref, visits, occupancy, field in refs:
                camera_id, name = ref.split("/", 1)
                where = f"reports.sites.{site}.{field}"
                camera = cameras.get(camera_id)
                if camera is None:
                    raise ValueError(f"{where}: no camera {camera_id!r} in fleet.cameras")
                if camera.site != site:
                    raise ValueError(f"{where}: camera {camera_id!r} belongs to site {camera.site!r}, not {site!r}")
                kind = _kind(cameras, ref)
                if kind is None or (occupancy and kind != "zone"):
                    wanted = "a zone" if occupancy else "a zone or line"
                    raise ValueError(f"{where}: {name!r} is not {wanted} of camera {camera_id!r}")
                key = (site, camera_id, kind, name)
                before = entries.get(key)
                entries[key] = PlanEntry(site, camera_id, kind, name, visits or bool(before and before.visits),
                                         occupancy or bool(before and before.occupancy))
        return list(entries.values())


def _kind(cameras: dict, ref: str) -> str | None:
    camera_id, name = ref.split("/", 1)
    camera = cameras.get(camera_id)
    if camera is None:
        return None
    if name in {z.name for z in camera.analytics.zones}:
        return "zone"
    return "line" if name in {l.name for l in camera.analytics.lines} else None

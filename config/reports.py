"""`reports:` the deployment's time zone, each site's counting plan, and where open data is published."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import Field, field_validator

from matakota.config.base import ENV_NAME, StrictModel
from matakota.config.camera import CAMERA_ID
from matakota.core.calendar import DEFAULT_TIMEZONE, zone

REF = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/[A-Za-z0-9_.-]{1,64}$"  # camera/zone-or-line


@dataclass(frozen=True)
class PlanEntry:
    """One zone or line of a site's counting plan, as the store keeps it."""

    site: str
    camera: str
    kind: str  # zone | line
    name: str
    visits: bool  # an entrance: its visits (zone) or in-crossings (line) are the site's visits
    occupancy: bool  # part of the site's area: its occupancy and dwell are the site's


class SitePlan(StrictModel):
    """Which zones and lines make a site's figures, so cameras that see the same people count them once."""

    title: str = Field("", max_length=200, description="the site's name for people (reports, open data)")
    entrances: list[str] = Field(
        default_factory=list, max_length=500,
        description="`camera/name` of the zones (their visits) and lines (their in-crossings) where visitors are "
                    "counted, once each: the site's visits; its in/out are these lines'")
    area: list[str] | None = Field(
        None, max_length=500,
        description="`camera/zone` of zones that cover the site without overlapping: its occupancy and dwell "
                    "(default: the zones among `entrances`)")

    @field_validator("entrances", "area")
    @classmethod
    def _references(cls, refs: list[str] | None) -> list[str] | None:
        for index, ref in enumerate(refs or ()):
            if not re.match(REF, ref):
                raise ValueError(f"[{index}] {ref!r}: write camera/zone or camera/line (e.g. simpang-lima-01/gate)")
        return refs


class OpenDataConfig(StrictModel):
    """The city's open-data portal (CKAN) that `matakota export --publish` updates."""

    ckan_url: str | None = Field(None, pattern=r"^https?://",
                                 description="the portal, e.g. https://data.semarangkota.go.id")
    organization: str | None = Field(None, pattern=r"^[a-z0-9_-]{2,100}$",
                                     description="the CKAN organisation that owns the datasets")
    api_key_env: str = Field("MATAKOTA_CKAN_API_KEY", pattern=ENV_NAME,
                             description="environment variable holding the portal's API key (from a Secret)")
    dataset_prefix: str = Field("matakota", pattern=r"^[a-z0-9_-]{2,60}$",
                                description="datasets are named PREFIX-visits, PREFIX-counts, PREFIX-events")
    licence: str = Field("CC-BY-4.0", max_length=100, description="SPDX id of the data's licence")
    producer: str = Field("Pemerintah Kota Semarang", max_length=200, description="who publishes the data")
    area_code: str = Field("3374", pattern=r"^[0-9]{2,10}$",
                           description="BPS (Statistics Indonesia) code of the area the data covers "
                                       "(3374: Kota Semarang)")
    timeout_s: float = Field(60.0, gt=0.0, le=600.0, description="seconds to wait for each answer of the portal")


class ReportsConfig(StrictModel):
    """Reports and open data: local calendar, counting plans, the portal."""

    timezone: str = Field(DEFAULT_TIMEZONE,
                          description="IANA zone of every day, week and month in counts and reports (Semarang: WIB)")
    sites: dict[str, SitePlan] = Field(default_factory=dict,
                                       description="counting plans by site id; a site without one adds up every zone "
                                                   "and line of its cameras")
    open_data: OpenDataConfig = Field(default_factory=OpenDataConfig, description="the CKAN portal")

    @field_validator("timezone")
    @classmethod
    def _whole_hours(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("sites")
    @classmethod
    def _site_ids(cls, sites: dict[str, SitePlan]) -> dict[str, SitePlan]:
        for site in sites:
            if not re.match(CAMERA_ID, site):
                raise ValueError(f"{site!r}: a site id is letters, digits, _ . - (at most 64)")
        return sites

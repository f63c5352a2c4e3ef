"""Open data: a period's figures as a Frictionless Data Package (`datapackage.json` + one CSV with its Table
Schema), for the city's portal (docs/architecture.md, "Open data").

Pure: rows come in as dicts (cluster/export.py reads them from the store), files go out. Each dataset's columns
are listed once, in `DATASETS`; a row with a field that is not listed is refused, so nothing else (a snapshot, a
box, a plate, a track id) can reach a published file.

    path = write_package(out_dir, "visits", period, rows, config.reports.open_data)
    assert not validate_package(path)
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from matakota.config import OpenDataConfig
from matakota.core.calendar import Period, iso
from matakota.core.events import EventType

PACKAGE_FILE = "datapackage.json"
BUCKETS = ("day", "hour")  # what a row of visits or counts covers
# SPDX licence id → (title, URL, CKAN license_id)
LICENCES = {
    "CC-BY-4.0": ("Creative Commons Attribution 4.0", "https://creativecommons.org/licenses/by/4.0/", "cc-by"),
    "CC-BY-SA-4.0": ("Creative Commons Attribution Share-Alike 4.0",
                     "https://creativecommons.org/licenses/by-sa/4.0/", "cc-by-sa"),
    "CC0-1.0": ("Creative Commons CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/", "cc-zero"),
    "ODbL-1.0": ("Open Data Commons Open Database License 1.0", "https://opendatacommons.org/licenses/odbl/1-0/",
                 "odc-odbl"),
}
AREA_SCHEME = "Kode Wilayah BPS (Statistics Indonesia)"


class OpenDataError(ValueError):
    """Rows that do not fit their dataset's columns, or an unknown dataset or bucket."""


@dataclass(frozen=True)
class Column:
    """One column of a dataset: its Table Schema field."""

    name: str
    type: str  # Table Schema type: string, date, datetime, integer, number
    description: str
    unit: str | None = None  # people, seconds, stays
    required: bool = False
    enum: tuple[str, ...] = ()

    def field(self) -> dict:
        constraints = {"required": True} if self.required else {}
        if self.type in ("integer", "number"):
            constraints["minimum"] = 0
        if self.enum:
            constraints["enum"] = list(self.enum)
        return {"name": self.name, "type": self.type, "description": self.description,
                **({"unit": self.unit} if self.unit else {}), **({"constraints": constraints} if constraints else {})}


@dataclass(frozen=True)
class Dataset:
    """What one dataset holds, for people (title, description) and for tools (columns, primary key)."""

    title: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


_TIMES = "Local time with its UTC offset (ISO 8601, e.g. 2026-11-05T14:00:00+07:00)."
_PEAK = (Column("peak_occupancy", "integer", "Most people present at once.", "people"),
         Column("peak_at", "datetime", f"When the peak was first reached. {_TIMES}"))
_DWELL = (Column("dwell_mean_s", "number", "Mean stay of visitors whose stay ended in the row's time.", "seconds"),
          Column("dwell_median_s", "number", "Median stay (estimated from binned stays).", "seconds"))
_IN_OUT = (Column("in", "integer", "Crossings inward over counting lines.", "people"),
           Column("out", "integer", "Crossings outward over counting lines.", "people"))

DATASETS = {
    "visits": Dataset(
        "Visits per site and day",
        "Visitors counted at each site's entrances per local day, the most present at once, and how long they "
        "stayed. Counted by cameras (people detection); aggregates only, no images or personal data.",
        (Column("site", "string", "Site id.", required=True),
         Column("title", "string", "Site name."),
         Column("date", "date", "Local calendar day.", required=True),
         Column("visits", "integer", "Visitors counted at the site's entrances.", "people", required=True),
         *_IN_OUT, *_PEAK, *_DWELL),
        ("site", "date")),
    "counts": Dataset(
        "Counts per camera zone and line",
        "Each camera's counting zones (visits, occupancy, stays) and lines (crossings) per local day or hour. "
        "Cameras that see the same place count the same people: add up sites from the visits dataset. Aggregates "
        "only, no images or personal data.",
        (Column("site", "string", "Site id.", required=True),
         Column("camera", "string", "Camera id.", required=True),
         Column("kind", "string", "A zone (an area) or a line (a passage).", required=True, enum=("zone", "line")),
         Column("name", "string", "The zone's or line's name.", required=True),
         Column("date", "date", "Local calendar day.", required=True),
         Column("start", "datetime", f"Start of the row's time (inclusive). {_TIMES}", required=True),
         Column("end", "datetime", f"End of the row's time (exclusive). {_TIMES}", required=True),
         Column("visits", "integer", "Zones: people who entered. Lines: 0.", "people"),
         *_IN_OUT, *_PEAK,
         Column("mean_occupancy", "number", "Mean people present over analysed frames.", "people"),
         Column("dwell_count", "integer", "Stays that ended in the row's time.", "stays"), *_DWELL),
        ("camera", "kind", "name", "start")),
    "events": Dataset(
        "Alarms and incidents",
        "One row per incident that started in the period (crowding, intrusion, parking violation, flood level or "
        "rise): where and when, and how long it lasted. No images, positions, plates or track ids.",
        (Column("type", "string", "Incident type.", required=True, enum=tuple(t.value for t in EventType)),
         Column("camera", "string", "Camera id.", required=True),
         Column("site", "string", "Site id.", required=True),
         Column("zone", "string", "The zone, line or alarm level that raised it."),
         Column("start", "datetime", f"When it started. {_TIMES}", required=True),
         Column("end", "datetime", f"When it ended (empty: still open when exported). {_TIMES}"),
         Column("duration_s", "number", "How long it lasted (empty: still open).", "seconds"))),
}


def package_name(dataset: str, period: Period, open_data: OpenDataConfig, bucket: str = "day") -> str:
    """matakota-visits-2026-11, matakota-counts-hourly-2026-11-05: also the CKAN resource's name, so the same
    period (and bucket) always lands on the same resource."""
    hourly = "-hourly" if bucket == "hour" and dataset != "events" else ""
    return f"{open_data.dataset_prefix}-{dataset}{hourly}-{period.name.lower()}"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, float):
        return repr(round(value, 3))
    return str(value)


def _write_csv(path: Path, dataset: Dataset, rows: Iterable[Mapping]) -> int:
    names, count = dataset.names, 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            if set(row) != set(names):
                extra, missing = sorted(set(row) - set(names)), sorted(set(names) - set(row))
                raise OpenDataError(f"row {count + 1}: fields {extra} are not in the dataset's columns"
                                    if extra else f"row {count + 1}: lacks {missing}")
            writer.writerow([_cell(row[n]) for n in names])
            count += 1
    return count


def descriptor(dataset: str, period: Period, open_data: OpenDataConfig, *, bucket: str, rows: int,
               sites: Iterable[str] = (), created: float | None = None) -> dict:
    """The datapackage.json of one period of a dataset (its one resource is `<name>.csv`)."""
    spec, name = DATASETS[dataset], package_name(dataset, period, open_data, bucket)
    tz = period.tz
    licence = LICENCES.get(open_data.licence)
    per = {"day": "local day", "hour": "local hour"}[bucket] if dataset != "events" else "incident"
    return {
        "name": name,
        "title": f"{spec.title}, {period.name}",
        "description": f"{spec.description} One row per {per}. Times are local ({tz.key}).",
        "created": iso(time.time() if created is None else created, tz),
        "licenses": [{"name": open_data.licence, **({"title": licence[0], "path": licence[1]} if licence else {})}],
        "contributors": [{"title": open_data.producer, "role": "publisher"}],
        "keywords": ["matakota", "cctv", "open data", dataset],
        "period": {"name": period.name, "kind": period.kind, "rows": per},
        "timezone": tz.key,
        "temporalCoverage": {"start": iso(period.start, tz), "end": iso(period.end, tz)},
        "spatialCoverage": {"areaCode": open_data.area_code, "scheme": AREA_SCHEME, "sites": sorted(set(sites))},
        "resources": [{
            "name": name, "path": f"{name}.csv", "title": f"{spec.title}, {period.name}", "format": "csv",
            "mediatype": "text/csv", "encoding": "utf-8", "rows": rows,
            "schema": {"fields": [c.field() for c in spec.columns], "missingValues": [""],
                       **({"primaryKey": list(spec.primary_key)} if spec.primary_key else {})},
        }],
    }


def write_package(out_dir: Path, dataset: str, period: Period, rows: Iterable[Mapping],
                  open_data: OpenDataConfig, *, bucket: str = "day", sites: Iterable[str] = (),
                  created: float | None = None) -> Path:
    """Write `rows` (dicts with exactly the dataset's columns, values already local strings or numbers) as
    OUT_DIR/<name>.csv and OUT_DIR/datapackage.json; the latter's path. OpenDataError for a row that does not fit."""
    if dataset not in DATASETS:
        raise OpenDataError(f"dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    if bucket not in BUCKETS:
        raise OpenDataError(f"bucket must be one of {', '.join(BUCKETS)}, got {bucket!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    name = package_name(dataset, period, open_data, bucket)
    count = _write_csv(out_dir / f"{name}.csv", DATASETS[dataset], rows)
    path = out_dir / PACKAGE_FILE
    meta = descriptor(dataset, period, open_data, bucket=bucket, rows=count, sites=sites, created=created)
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def validate_package(path: Path) -> list[str]:
    """What `frictionless validate` finds wrong with the package at `path` (empty: valid)."""
    import frictionless  # imported here: it is slow to import and only exports need it

    report = frictionless.validate(str(path))
    return [f"{kind}: {note}" + (f" (row {row}, field {field})" if row else "")
            for row, field, kind, note in report.flatten(["rowNumber", "fieldName", "type", "note"])]


def ckan_fields(path: Path, dataset: str, open_data: OpenDataConfig) -> tuple[dict, dict, Path]:
    """The package at `path` as CKAN sees it: the dataset's fields (one dataset per kind, PREFIX-visits, …, updated
    every period), the period's resource fields (named after the package, so a rerun updates it) and its CSV."""
    meta = json.loads(path.read_text(encoding="utf-8"))
    [resource] = meta["resources"]
    spec, licence = DATASETS[dataset], LICENCES.get(open_data.licence)
    extras = {"publisher": open_data.producer, "area_code": open_data.area_code, "area_scheme": AREA_SCHEME,
              "timezone": meta["timezone"], "licence_spdx": open_data.licence}
    package = {"name": f"{open_data.dataset_prefix}-{dataset}", "title": spec.title, "notes": spec.description,
               "owner_org": open_data.organization, "license_id": licence[2] if licence else open_data.licence,
               "author": open_data.producer, "tags": [{"name": k} for k in meta["keywords"]],
               "extras": [{"key": k, "value": v} for k, v in extras.items()]}
    coverage = meta["temporalCoverage"]
    fields = {"name": resource["name"], "description": meta["description"], "format": "CSV",
              "mimetype": "text/csv", "period": meta["period"]["name"], "temporal_start": coverage["start"],
              "temporal_end": coverage["end"], "created_at_source": meta["created"], "rows": str(resource["rows"]),
              "schema": json.dumps(resource["schema"], ensure_ascii=False)}
    return package, fields, path.parent / resource["path"]

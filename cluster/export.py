"""`matakota export`: a period's visits, counts or incidents, read from the store, written as open-data packages
(outputs/opendata.py) and, with `--publish`, pushed to the city's CKAN portal (outputs/ckan.py). See
docs/architecture.md, "Open data".

Only aggregates leave: each dataset's columns are listed in outputs/opendata.DATASETS, and the rows made here carry
exactly those (an event's snapshot, box, clip, payload and the position in a parking key never do).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

from matakota.config import ReportsConfig, is_postgres_url, load_config
from matakota.core.calendar import Period, boundaries, iso, label, parse_period, zone
from matakota.outputs.ckan import CkanPortal, KeyRefused, PortalUnreachable, Published, PublishError
from matakota.outputs.opendata import ckan_fields, package_name, validate_package, write_package
from matakota.store import MAX_PAGE, CountRow, InvalidQuery, Store, StoreError, open_store

OPENING_STATES = ("started", "raised")  # the state change that opens an incident (core/events.EventState)


def _figures(row: CountRow, tz: ZoneInfo) -> dict:
    return {"in": row.in_count, "out": row.out_count, "peak_occupancy": row.occupancy_max,
            "peak_at": iso(row.peak_ts, tz) if row.peak_ts is not None and row.occupancy_max else None,
            "dwell_mean_s": row.dwell_mean_s, "dwell_median_s": row.dwell_median_s}


def visit_rows(store: Store, period: Period, titles: Mapping[str, str]) -> list[dict]:
    """Each site's figures per local day of the period, by its counting plan (read a local day at a time, and a
    day in batches of sites while it is over the store's cap on rows: a month of a city's 2,084 sites is not)."""
    tz, rows = period.tz, []
    for start, end in pairwise(boundaries(period.start, period.end, "day", tz)):
        rows += _visits(store, start, end, tz.key)
    return [{"site": r.site, "title": titles.get(r.site, ""), "date": label(r.start, "day", tz),
             "visits": r.visits, **_figures(r, tz)}
            for r in sorted(rows, key=lambda r: (r.site, r.start))]


def _visits(store: Store, start: float, end: float, tz: str, sites: list[str] | None = None) -> list[CountRow]:
    """store.visits per site and day, split by site while an answer would be over the store's cap."""
    try:
        return store.visits(start=start, end=end, bucket="day", sites=sites, timezone=tz)
    except InvalidQuery:
        sites = store.sites() if sites is None else sites
        if len(sites) < 2:
            raise
        half = len(sites) // 2
        return _visits(store, start, end, tz, sites[:half]) + _visits(store, start, end, tz, sites[half:])


def _counts(store: Store, start: float, end: float, bucket: str, tz: str, cameras: list[str] | None = None):
    """store.counts, split by camera while an answer would be over the store's cap."""
    try:
        return store.counts(start=start, end=end, bucket=bucket, cameras=cameras, timezone=tz)
    except InvalidQuery:
        cameras = store.cameras() if cameras is None else cameras
        if len(cameras) < 2:
            raise
        half = len(cameras) // 2
        return _counts(store, start, end, bucket, tz, cameras[:half]) + _counts(store, start, end, bucket, tz,
                                                                                 cameras[half:])


def count_rows(store: Store, period: Period, bucket: str = "day") -> Iterator[dict]:
    """Each camera's zones and lines per local day (or hour), read one local day at a time."""
    tz = period.tz
    days = boundaries(period.start, period.end, "day", tz)
    for start, end in pairwise(days):
        rows = _counts(store, start, end, bucket, tz.key)
        for r in sorted(rows, key=lambda r: (r.start, r.site, r.camera, r.kind, r.name)):
            yield {"site": r.site, "camera": r.camera, "kind": r.kind, "name": r.name,
                   "date": label(r.start, "day", tz), "start": iso(r.start, tz), "end": iso(r.end, tz),
                   "visits": r.visits, **_figures(r, tz), "mean_occupancy": r.occupancy_mean,
                   "dwell_count": r.dwell_count}


def incident_zone(event: Mapping) -> str:
    """The zone (or line, or alarm level) an incident is about, never more: a parking key also holds the car's
    position in the picture (`zone@x,y`), which is left out."""
    zone_name = (event.get("payload") or {}).get("zone")
    return str(zone_name) if zone_name else str(event.get("key") or "").split("@", 1)[0]


def event_rows(store: Store, period: Period) -> list[dict]:
    """One row per incident that started in the period, with its end when the store has it."""
    incidents: dict[str, dict] = {}
    cursor = None
    while True:
        page = store.events(since=period.start, until=period.end, limit=MAX_PAGE, cursor=cursor)
        for event in page.items:
            row = incidents.setdefault(event["incident_id"], {
                "type": event["type"], "camera": event["camera"], "site": event["site"],
                "zone": incident_zone(event), "start": float(event["start"]), "end": None})
            if event.get("end") is not None and event.get("state") not in OPENING_STATES:
                row["end"] = max(float(event["end"]), row["end"] or 0.0)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    tz, rows = period.tz, []
    for row in sorted(incidents.values(), key=lambda r: (r["start"], r["camera"], r["type"], r["zone"])):
        end = row["end"]
        rows.append({**row, "start": iso(row["start"], tz), "end": None if end is None else iso(end, tz),
                     "duration_s": None if end is None else round(end - row["start"], 1)})
    return rows


def export(store: Store, dataset: str, period: Period, out_dir: Path, reports: ReportsConfig,
           bucket: str = "day", created: float | None = None) -> Path:
    """Write one period of `dataset` as a data package in OUT_DIR/<package name>/; its datapackage.json. `bucket`
    (day or hour) applies to counts."""
    open_data = reports.open_data
    bucket = bucket if dataset == "counts" else "day"  # visits are per day; incidents one row each
    folder = out_dir / package_name(dataset, period, open_data, bucket)
    if dataset == "visits":
        rows = visit_rows(store, period, {site: plan.title for site, plan in reports.sites.items()})
    elif dataset == "counts":
        rows = list(count_rows(store, period, bucket))
    else:
        rows = event_rows(store, period)
    sites = {r["site"] for r in rows}
    return write_package(folder, dataset, period, rows, open_data, bucket=bucket, sites=sites, created=created)


def portal(reports: ReportsConfig, environ: Mapping[str, str] = os.environ) -> CkanPortal:
    """The configured portal with its API key (from the environment variable the config names); ValueError
    saying what is missing."""
    open_data = reports.open_data
    if not open_data.ckan_url or not open_data.organization:
        raise ValueError("--publish needs reports.open_data.ckan_url and reports.open_data.organization in the config")
    key = environ.get(open_data.api_key_env, "").strip()
    if not key:
        raise ValueError(f"--publish needs the portal's API key in {open_data.api_key_env} "
                         f"(reports.open_data.api_key_env)")
    return CkanPortal(open_data.ckan_url, key, timeout_s=open_data.timeout_s)


def publish(target: CkanPortal, path: Path, dataset: str, reports: ReportsConfig) -> Published:
    return target.publish(*ckan_fields(path, dataset, reports.open_data))


def _fail(message: str, code: int = 1) -> int:
    print(f"matakota export: {message}", file=sys.stderr)
    return code


def _open(config, store_url: str | None) -> Store:
    url = store_url or config.store.resolved_url()
    path = Path(url.removeprefix("sqlite:///")).expanduser()
    if not is_postgres_url(url) and not path.is_file():
        raise FileNotFoundError(f"no store at {path} (pass --store or --config)")  # opening would create one
    return open_store(url)


def _write(store: Store, dataset: str, period: Period, args, reports: ReportsConfig) -> Path | None:
    """Export and validate one package; its datapackage.json, or None (said why on stderr)."""
    try:
        path = export(store, dataset, period, args.out, reports, args.bucket)
    except (StoreError, OSError, ValueError) as error:
        _fail(f"{dataset} {period.name}: {error}")
        return None
    problems = validate_package(path)
    if problems:
        _fail(f"{path} is not a valid data package: {'; '.join(problems[:5])}")
        return None
    print(path, flush=True)
    return path


def run_export(args, environ: Mapping[str, str] = os.environ) -> int:
    """The CLI: args.dataset (a list), period, bucket, out, config, store, publish. Exit 0, 1 (a dataset failed
    to export or publish; the others still run) or 2 (usage, config)."""
    config = load_config(args.config)
    reports = config.reports
    try:
        period = parse_period(args.period, zone(reports.timezone))
        target = portal(reports, environ) if args.publish else None
        store = _open(config, args.store)
    except ValueError as error:
        return _fail(str(error), 2)
    except (OSError, StoreError) as error:
        return _fail(str(error))
    failed = 0
    with store:
        for dataset in dict.fromkeys(args.dataset):
            path = _write(store, dataset, period, args, reports)
            if path is None or target is None:
                failed += path is None
                continue
            try:
                done = publish(target, path, dataset, reports)
            except PublishError as error:
                failed += 1
                _fail(str(error))
                if isinstance(error, (KeyRefused, PortalUnreachable)):
                    target = None  # the next datasets would fail the same way
                continue
            print(f"{target.url}: dataset {done.dataset}{' (new)' if done.created_dataset else ''}, "
                  f"resource {done.resource} {done.action}", flush=True)
    return 1 if failed else 0


__all__ = ["count_rows", "event_rows", "export", "incident_zone", "portal", "publish",
           "run_export", "visit_rows"]

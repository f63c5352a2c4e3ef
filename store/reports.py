"""Visit reports for people who do not write queries: one period (a month, week, day or year) of one site, several,
or the whole city, in local time: visits per day (per month for a year, per hour for a day), the busiest days and
hours, dwell, the peak, and the change from the period before. As JSON, CSV (the rows) or Markdown."""

from __future__ import annotations

import csv
import io
import math
import time
from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime

from matakota.core.calendar import Period, boundaries, bucket_start, iso, label

from . import CountRow, Store
from .rollups import CITY, SITE, city

TOP = 3  # busiest days and hours listed
ROW_FIELDS = ("period", "start", "end", "timezone", "visits", "in", "out", "peak_occupancy", "peak_at", "peak_site",
              "dwell_mean_s", "dwell_median_s")


def _figures(row: CountRow, tz) -> dict:
    return {"visits": row.visits, "in": row.in_count, "out": row.out_count, "peak_occupancy": row.occupancy_max,
            "peak_at": None if row.peak_ts is None else iso(row.peak_ts, tz), "peak_site": row.peak_site,
            "dwell_mean_s": row.dwell_mean_s, "dwell_median_s": row.dwell_median_s}


def visit_report(store: Store, period: Period, sites: Collection[str] | None = None,
                 titles: Mapping[str, str] | None = None, now: float | None = None, settled: bool = True) -> dict:
    """The report of `period` over `sites` (None: every site, the city) as one JSON-ready dict; a period still
    under way lists its days (hours, months) up to `now` (default: now). `settled` (default): from the roll-ups
    alone, milliseconds even city-wide; `counted_to` says until when its figures are final (the hour under way, or
    one changed by a late record, joins at the next roll-up). Otherwise also from the minutes not rolled up."""
    tz, titles = period.tz, titles or {}
    zone_name = str(tz.key)
    span = dict(start=period.start, end=period.end, sites=sites, timezone=zone_name, settled=settled)
    found = {row.start: row for row in store.visits(**span, bucket=period.rows, per_site=False)}
    edges = boundaries(period.start, period.end, period.rows, tz)
    now = time.time() if now is None else now
    rows = [found.get(start) or _nothing(start, end) for start, end in zip(edges, edges[1:])
            if start < now]  # with counts or not, not those still to come
    by_site = sorted(store.visits(**span, bucket=period.kind), key=lambda r: (-r.visits, r.site))
    totals = city(by_site, period.start, period.end) if by_site else _nothing(period.start, period.end)
    counted_to = min(period.end, now)
    unsettled = store.settled_until(period.start, period.end) if settled else None
    if unsettled is not None:
        counted_to = min(counted_to, unsettled)
    before, complete = period.previous(), now >= period.end
    compared_end, previous = _previous_visits(store, period, before, counted_to, sites, settled)
    return {
        "report": "visits", "period": period.name, "timezone": zone_name,
        "from": iso(period.start, tz), "to": iso(period.end, tz), "rows_by": period.rows, "complete": complete,
        "counted_to": iso(counted_to, tz),
        "sites": sorted(sites) if sites is not None else None,
        "totals": _figures(totals, tz),
        "previous": {"period": before.name, "from": iso(before.start, tz), "to": iso(compared_end, tz),
                     "visits": previous,
                     "change_pct": round(100.0 * (totals.visits - previous) / previous, 1) if previous else None},
        "rows": [{"period": label(r.start, period.rows, tz), "start": iso(r.start, tz), "end": iso(r.end, tz),
                  "timezone": zone_name, **_figures(r, tz)} for r in rows],
        "busiest": [{"period": label(r.start, period.rows, tz), "visits": r.visits}
                    for r in sorted(rows, key=lambda r: (-r.visits, r.start))[:TOP] if r.visits],
        "busiest_hours": _busiest_hours(store, period, sites, settled) if period.kind != "year" else [],
        "by_site": [{"site": r.site, "title": titles.get(r.site, ""), **_figures(r, tz)} for r in by_site],
    }


def _previous_visits(store: Store, period: Period, before: Period, counted_to: float,
                     sites: Collection[str] | None, settled: bool) -> tuple[float, int]:
    """(end, visits) of the period before: all of it, or when this one is counted only so far, as much of it as
    this one, to the same hour (on the 15th at noon, the 1st to the 15th 13:00 of the month before)."""
    zone_name, tz = str(period.tz.key), period.tz
    if counted_to >= period.end:
        end = before.end
        return end, sum(r.visits for r in store.visits(start=before.start, end=end, bucket=before.kind, sites=sites,
                                                       timezone=zone_name, per_site=False, settled=settled))
    end = min(before.end, before.start + max(0.0, math.ceil((counted_to - period.start) / 3600) * 3600))
    day = max(before.start, bucket_start(end, "day", tz))  # whole days from day roll-ups (kept longest), then hours
    visits = 0
    for lo, hi, bucket in ((before.start, day, "day"), (day, end, "hour")):
        if lo < hi:
            visits += sum(r.visits for r in store.visits(start=lo, end=hi, bucket=bucket, sites=sites,
                                                         timezone=zone_name, per_site=False, settled=settled))
    return end, visits


def _nothing(start: float, end: float) -> CountRow:
    return CountRow(camera=SITE, site=SITE, kind=CITY, name="", start=start, end=end, samples=0, occupancy_max=0,
                    occupancy_mean=0.0, visits=0, in_count=0, out_count=0)


def _busiest_hours(store: Store, period: Period, sites: Collection[str] | None, settled: bool) -> list[dict]:
    """The hours of the day (local) with the most visits over the period, e.g. 16:00–17:00."""
    hours = store.visits(start=period.start, end=period.end, bucket="hour", sites=sites, timezone=str(period.tz.key),
                         per_site=False, settled=settled)
    by_hour: dict[int, int] = defaultdict(int)
    for row in hours:
        by_hour[datetime.fromtimestamp(row.start, period.tz).hour] += row.visits
    total = sum(by_hour.values())
    ranked = sorted(by_hour.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    return [{"hour": f"{h:02d}:00-{(h + 1) % 24:02d}:00", "visits": n, "share_pct": round(100.0 * n / total, 1)}
            for h, n in ranked if n]


def report_csv(report: dict) -> str:
    """The report's rows (one per day, month or hour) as CSV; times carry their UTC offset."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ROW_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in report["rows"]:
        writer.writerow({k: "" if row[k] is None else row[k] for k in ROW_FIELDS})
    return out.getvalue()


def report_markdown(report: dict) -> str:
    """The report as a page people read (Markdown)."""
    totals, previous = report["totals"], report["previous"]
    where = ", ".join(report["sites"]) if report["sites"] else "all sites"
    counted = report["counted_to"] if report["counted_to"] != report["to"] else None  # compared to the same point
    so_far = "" if counted is None else f" to {previous['to'][:16].replace('T', ' ')}"
    change = ("" if previous["change_pct"] is None else
              f" ({previous['change_pct']:+.1f} % on {previous['period']}{so_far})")
    lines = [f"# Visits, {report['period']}: {where}", "",
             f"{report['from']} to {report['to']} ({report['timezone']})"
             + ("" if report["complete"] else ", under way")
             + ("" if counted is None else f"; counted to {counted[:16].replace('T', ' ')}"), "",
             f"- **Visits**: {totals['visits']:,}{change}",
             f"- **In / out** (entrance lines): {totals['in']:,} / {totals['out']:,}",
             f"- **Mean stay**: {_duration(totals['dwell_mean_s'])}, median {_duration(totals['dwell_median_s'])}",
             f"- **Peak**: {totals['peak_occupancy']:,} at once"
             + (f" at {totals['peak_at']}" if totals["peak_at"] else "")
             + (f" ({totals['peak_site']})" if totals["peak_site"] and not report["sites"] else ""), ""]
    if report["busiest"]:
        lines += ["Busiest: " + ", ".join(f"{b['period']} ({b['visits']:,})" for b in report["busiest"]), ""]
    if report["busiest_hours"]:
        lines += ["Busiest hours: " + ", ".join(f"{h['hour']} ({h['share_pct']} %)" for h in report["busiest_hours"]),
                  ""]
    lines += [f"| {report['rows_by']} | visits | in | out | peak | mean stay |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['period']} | {r['visits']:,} | {r['in']:,} | {r['out']:,} | {r['peak_occupancy']:,} | "
              f"{_duration(r['dwell_mean_s'])} |" for r in report["rows"]]
    if len(report["by_site"]) > 1:
        lines += ["", "| site | visits | peak | mean stay |", "|---|---:|---:|---:|"]
        lines += [f"| {s['title'] or s['site']} | {s['visits']:,} | {s['peak_occupancy']:,} | "
                  f"{_duration(s['dwell_mean_s'])} |" for s in report["by_site"][:20]]
    return "\n".join(lines) + "\n"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"

"""Calendar buckets in the deployment's time zone: hour, day, ISO week (from Monday), month, year; and report periods.

Every boundary is an epoch second. Stored counts are rolled up per hour of UTC, so a time zone must keep whole-hour
offsets (Asia/Jakarta is UTC+7 all year): each UTC hour then lies in one local hour, day, week and month.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CALENDAR_BUCKETS = ("hour", "day", "week", "month", "year")
DEFAULT_TIMEZONE = "Asia/Jakarta"
RELATIVE_PERIODS = ("yesterday", "last-week", "last-month")
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?|-W(\d{2}))?$")


@lru_cache(maxsize=32)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError when unknown or when its offset is not a whole number of hours."""
    try:
        tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None
    start = datetime(2000, 1, 1, tzinfo=timezone.utc)
    for days in range(0, 365 * 40, 7):  # weekly samples over 40 years catch every offset the zone has used since
        offset = (start + timedelta(days=days)).astimezone(tz).utcoffset()
        if offset.total_seconds() % 3600:
            raise ValueError(f"time zone {name!r} has an offset of {offset} (not whole hours): counts are rolled up "
                             "per hour of UTC, so local days must start on a UTC hour")
    return tz


def _local_start(t: float, bucket: str, tz: ZoneInfo) -> datetime:
    moment = datetime.fromtimestamp(t, tz)
    if bucket == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    if bucket == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"bucket must be one of {', '.join(CALENDAR_BUCKETS)}, got {bucket!r}")


def _epoch(local: datetime, tz: ZoneInfo) -> float:
    """The epoch second of a wall-clock time in tz (the date's midnight even across a DST change)."""
    return datetime(local.year, local.month, local.day, local.hour, tzinfo=tz).timestamp()


def bucket_start(t: float, bucket: str, tz: ZoneInfo) -> float:
    """The start of the `bucket` that epoch second t falls in, in tz."""
    if bucket == "hour":
        return t - t % 3600  # whole-hour offsets: local hours are UTC hours
    return _epoch(_local_start(t, bucket, tz), tz)


def next_start(start: float, bucket: str, tz: ZoneInfo) -> float:
    """The start of the bucket after the one starting at `start`."""
    if bucket == "hour":
        return start + 3600
    local = datetime.fromtimestamp(start, tz)
    if bucket == "day":
        following = local.date() + timedelta(days=1)
    elif bucket == "week":
        following = local.date() + timedelta(days=7)
    elif bucket == "year":
        following = date(local.year + 1, 1, 1)
    else:
        following = date(local.year + local.month // 12, local.month % 12 + 1, 1)
    return datetime(following.year, following.month, following.day, tzinfo=tz).timestamp()


def boundaries(start: float, end: float, bucket: str, tz: ZoneInfo) -> list[float]:
    """Starts of the buckets that [start, end) touches, and the end of the last: widened to whole buckets."""
    edges = [bucket_start(start, bucket, tz)]
    while edges[-1] < end:
        edges.append(next_start(edges[-1], bucket, tz))
    return edges


def label(start: float, bucket: str, tz: ZoneInfo) -> str:
    """How people write the bucket: 2026-11-05T14, 2026-11-05, 2026-W45, 2026-11, 2026."""
    local = datetime.fromtimestamp(start, tz)
    if bucket == "hour":
        return local.strftime("%Y-%m-%dT%H")
    if bucket == "day":
        return local.strftime("%Y-%m-%d")
    if bucket == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.strftime("%Y-%m" if bucket == "month" else "%Y")


def iso(t: float, tz: ZoneInfo) -> str:
    """An epoch second as local ISO-8601 with its offset (2026-11-05T14:30:00+07:00)."""
    return datetime.fromtimestamp(t, tz).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Period:
    """A report period: a year, month, ISO week or day, as written (`2026`, `2026-11`, `2026-W47`, `2026-11-05`)."""

    name: str
    kind: str  # year | month | week | day
    start: float
    end: float
    tz: ZoneInfo

    @property
    def rows(self) -> str:
        """The bucket a report of this period lists its figures by."""
        return {"year": "month", "month": "day", "week": "day", "day": "hour"}[self.kind]

    def previous(self) -> Period:
        """The period of the same kind just before."""
        local = datetime.fromtimestamp(self.start, self.tz)
        if self.kind == "year":
            return parse_period(f"{local.year - 1}", self.tz)
        if self.kind == "month":
            return parse_period(f"{local.year - (local.month == 1)}-{(local.month - 2) % 12 + 1:02d}", self.tz)
        before = local.date() - timedelta(days=7 if self.kind == "week" else 1)
        if self.kind == "week":
            year, week, _ = before.isocalendar()
            return parse_period(f"{year}-W{week:02d}", self.tz)
        return parse_period(before.isoformat(), self.tz)


def parse_period(text: str, tz: ZoneInfo, now: float | None = None) -> Period:
    """`2026`, `2026-11`, `2026-W47` or `2026-11-05` in tz, or `yesterday`, `last-week`, `last-month` as of `now`
    (default: now); ValueError saying what is accepted."""
    text = text.strip()
    if text in RELATIVE_PERIODS:
        today = datetime.fromtimestamp(time.time() if now is None else now, tz).date()
        if text == "yesterday":
            return parse_period((today - timedelta(days=1)).isoformat(), tz)
        if text == "last-week":
            year, week, _ = (today - timedelta(days=7)).isocalendar()
            return parse_period(f"{year}-W{week:02d}", tz)
        last = today.replace(day=1) - timedelta(days=1)
        return parse_period(f"{last.year}-{last.month:02d}", tz)
    match = _PERIOD.match(text)
    problem = (f"period must be a year (2026), month (2026-11), ISO week (2026-W47), day (2026-11-05) or one of "
               f"{', '.join(RELATIVE_PERIODS)}, got {text!r}")
    if not match:
        raise ValueError(problem)
    year, month, day, week = match.groups()
    try:
        if week is not None:
            first, kind = date.fromisocalendar(int(year), int(week), 1), "week"
        elif day is not None:
            first, kind = date(int(year), int(month), int(day)), "day"
        elif month is not None:
            first, kind = date(int(year), int(month), 1), "month"
        else:
            first, kind = date(int(year), 1, 1), "year"
    except ValueError:
        raise ValueError(problem) from None
    start = datetime(first.year, first.month, first.day, tzinfo=tz).timestamp()
    end = next_start(start, kind, tz)
    return Period(text, kind, start, end, tz)

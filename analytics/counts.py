"""Count records: per camera, per zone or line, per fixed interval (1 min by default); roll-ups to
hours and sites.

A record is a partial sum: several runs of one camera's analytics (a restart, a PATCH, a failover) may each
count part of an interval, and the store adds the parts up. Each run names itself (`part`), so a record's id is
(camera, kind, name, start, end, part): a resend of the same part is the same row (idempotent), another part of
the same minute is another row (added up by every query).

A checkpoint is the interval in progress so far, under the same id: the store keeps the record of a part with the
most samples, so checkpoints and the final record replace each other, and a run lost mid-interval (its node gone)
leaves what it counted up to its last checkpoint."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace

from matakota.core.dwell import DWELL_BINS, dwell_bin
from matakota.core.events import stable_id

ALL_CAMERAS = "*"


@dataclass(frozen=True)
class CountRecord:
    camera: str
    site: str
    kind: str  # "zone" | "line"
    name: str
    start: float  # interval start, epoch seconds, aligned to the interval length
    end: float
    samples: int = 0  # analysed frames in the interval (weights the mean in roll-ups)
    occupancy_max: int = 0
    occupancy_mean: float = 0.0
    visits: int = 0
    in_count: int = 0
    out_count: int = 0
    part: str = ""  # the run of the camera's analytics that counted this (see the module's docstring)
    peak_ts: float | None = None  # when occupancy first reached occupancy_max (None: no samples, or a line)
    dwell_count: int = 0  # zone stays that ended in the interval …
    dwell_sum_s: float = 0.0  # … their total seconds …
    dwell_hist: tuple[int, ...] = ()  # … and how many fell in each bin of core/dwell.DWELL_EDGES (empty: none)

    @property
    def id(self) -> str:
        return stable_id(self.camera, self.kind, self.name, float(self.start), float(self.end), self.part)

    def to_json(self) -> dict:
        return {"id": self.id, **{k: getattr(self, k) for k in self.__dataclass_fields__},
                "dwell_hist": list(self.dwell_hist)}


@dataclass
class _Bucket:
    samples: int = 0
    occupancy_sum: int = 0
    occupancy_max: int = 0
    peak_ts: float | None = None
    visits: int = 0
    in_count: int = 0
    out_count: int = 0
    dwell_sum_s: float = 0.0
    dwell_hist: list[int] = field(default_factory=lambda: [0] * DWELL_BINS)


class IntervalCounter:
    """Accumulates one camera's zone and line figures into aligned intervals; `add_*` then `roll(t)`."""

    def __init__(self, camera: str, site: str, zones, lines, interval_s: float = 60.0, part: str = "",
                 checkpoint_s: float = 0.0):
        self.camera, self.site, self.interval_s, self.part = camera, site, interval_s, part
        self.checkpoint_s = checkpoint_s
        self._names = [("zone", z) for z in zones] + [("line", l) for l in lines]
        self._start: float | None = None
        self._checkpointed = float("-inf")
        self._buckets = {key: _Bucket() for key in self._names}

    def _align(self, t: float) -> float:
        return math.floor(t / self.interval_s) * self.interval_s

    def roll(self, t: float) -> list[CountRecord]:
        """Close the current interval if t is past it; returns its records (empty otherwise)."""
        start = self._align(t)
        if self._start is None:
            self._start = start
        if start <= self._start:
            return []
        records = self.flush()
        self._start = self._checkpointed = start
        return records

    def checkpoint(self, t: float) -> list[CountRecord]:
        """The interval in progress so far, once every `checkpoint_s` (empty otherwise); does not reset it."""
        if not self.checkpoint_s or self._start is None or t - max(self._checkpointed, self._start) < self.checkpoint_s:
            return []
        self._checkpointed = t
        return [self._record(kind, name, b) for (kind, name), b in self._buckets.items() if b.samples]

    def flush(self) -> list[CountRecord]:
        """Records of the current interval so far (those with samples); resets it (use on shutdown)."""
        if self._start is None:
            return []
        records = [self._record(kind, name, b) for (kind, name), b in self._buckets.items() if b.samples]
        self._buckets = {key: _Bucket() for key in self._names}
        return records

    def _record(self, kind: str, name: str, b: _Bucket) -> CountRecord:
        mean = b.occupancy_sum / b.samples if b.samples else 0.0
        stays = sum(b.dwell_hist)
        return CountRecord(self.camera, self.site, kind, name, self._start, self._start + self.interval_s,
                           b.samples, b.occupancy_max, round(mean, 3), b.visits, b.in_count, b.out_count, self.part,
                           b.peak_ts, stays, round(b.dwell_sum_s, 1), tuple(b.dwell_hist) if stays else ())

    def add_zone(self, name: str, occupancy: int, new_visits: int, t: float | None = None,
                 stays_s: tuple[float, ...] = ()) -> None:
        """One frame of a zone at time t: its occupancy, visits begun, and the seconds of stays that ended."""
        bucket = self._buckets[("zone", name)]
        bucket.samples += 1
        bucket.occupancy_sum += occupancy
        if occupancy > bucket.occupancy_max or bucket.peak_ts is None:
            bucket.occupancy_max, bucket.peak_ts = max(bucket.occupancy_max, occupancy), t
        bucket.visits += new_visits
        self.add_stays(name, stays_s)

    def add_stays(self, name: str, stays_s: tuple[float, ...]) -> None:
        """Stays in a zone that ended without a frame (the camera stopped): their dwell, no sample."""
        bucket = self._buckets[("zone", name)]
        for seconds in stays_s:
            bucket.dwell_sum_s += seconds
            bucket.dwell_hist[dwell_bin(seconds)] += 1

    def add_line(self, name: str, ins: int, outs: int) -> None:
        bucket = self._buckets[("line", name)]
        bucket.samples += 1
        bucket.in_count += ins
        bucket.out_count += outs


def roll_up(records, interval_s: float = 3600.0, per_site: bool = False) -> list[CountRecord]:
    """Merge records into longer intervals (and across a site's cameras when `per_site`).

    Visits and crossings add up; occupancy max is the max; the mean is weighted by samples. A site roll-up
    sums occupancy across cameras only approximately (cameras sample at different instants)."""
    groups: dict[tuple, list[CountRecord]] = defaultdict(list)
    for r in records:
        start = math.floor(r.start / interval_s) * interval_s
        camera = ALL_CAMERAS if per_site else r.camera
        groups[(r.site, camera, r.kind, r.name, start)].append(r)
    return [_merge(group, camera, start, interval_s, per_site) for (_, camera, _, _, start), group in
            sorted(groups.items(), key=lambda item: item[0])]


def _merge(group: list[CountRecord], camera: str, start: float, interval_s: float, per_site: bool) -> CountRecord:
    samples = sum(r.samples for r in group)
    weighted = sum(r.occupancy_mean * r.samples for r in group)
    if per_site:  # cameras see different people: sum per-camera figures, not max them
        per_camera = defaultdict(list)
        for r in group:
            per_camera[r.camera].append(r)
        occupancy_max = sum(max(r.occupancy_max for r in rs) for rs in per_camera.values())
        mean = sum(sum(r.occupancy_mean * r.samples for r in rs) / max(1, sum(r.samples for r in rs))
                   for rs in per_camera.values())
    else:
        occupancy_max = max(r.occupancy_max for r in group)
        mean = weighted / samples if samples else 0.0
    peak = max(group, key=lambda r: (r.occupancy_max, -(r.peak_ts or 0.0)))
    hists = [r.dwell_hist for r in group if r.dwell_hist]
    return replace(group[0], camera=camera, start=start, end=start + interval_s, samples=samples,
                   occupancy_max=occupancy_max, occupancy_mean=round(mean, 3),
                   visits=sum(r.visits for r in group), in_count=sum(r.in_count for r in group),
                   out_count=sum(r.out_count for r in group), part="",
                   peak_ts=None if per_site else peak.peak_ts, dwell_count=sum(r.dwell_count for r in group),
                   dwell_sum_s=round(sum(r.dwell_sum_s for r in group), 1),
                   dwell_hist=tuple(map(sum, zip(*hists))) if hists else ())

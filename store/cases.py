"""Parking cases in the store (tables `cases`, `case_files`; migration 0008): written by the EventSink beside their
events, read by the API's evidence and export routes, pruned after `store.case_retention_days` on their own clock.

A mixin of `SqlStore` (store/sql.py): the same SQL on SQLite and PostgreSQL. Writes are idempotent like events'
(a case is keyed by its `started` event id), so a retried batch never doubles a case or its files.

A parked car's violation lives in its shard's memory: after a failover the camera's fresh analytics (another `run`)
time the same car again and start a new case. While the earlier case there is still open (never ended) and it is
the same vehicle (the same plate when both were read; boxes overlapping, IoU ≥ 0.5, when either is unread), the new
case `continues` it: same offence (not a repeat), the earlier case's start (the listing's duration is the whole
stay), and the earlier case ends (`ended_by: continued`)."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import numpy as np

from matakota.core.geometry import iou_matrix

from . import InvalidQuery, InvalidRecord

REPEAT_WINDOW_S = 86400.0  # the same plate in the same zone within a day is a repeat offence
UNREAD = "unread"
CASE_COLUMNS = ("event_id", "incident_id", "camera", "site", "zone", "plate", "plate_confidence", "vehicle_class",
                "start_ts", "limit_ts", "end_ts", "repeat_of", "offence", "continues", "ended_by")
EXTRA_COLUMNS = ("run", "box_x0", "box_y0", "box_x1", "box_y1")  # written, not listed
SAME_VEHICLE_IOU = 0.5  # an unread vehicle in an open case's box is the same vehicle
CONTINUED, SHARD_LOST = "continued", "shard lost"
LOST_SLACK_S = 120.0  # beyond a case's own time to its limit, a new run has this long to find its car again
MAX_CASES = 10_000  # cases one listing may answer (a day of a whole city's violations fits)


def case_row(case: Mapping) -> tuple:
    try:
        return (str(case["event_id"]), str(case["incident_id"]), str(case["camera"]), str(case["site"]),
                str(case["zone"]), str(case["plate"]), float(case["plate_confidence"]), str(case["class"]),
                float(case["start"]), float(case["limit_t"]))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidRecord(f"case lacks or mistypes a field: {error}") from None


def case_extra(case: Mapping) -> tuple:
    """(run, x0, y0, x1, y1): the analytics run that timed it and the vehicle's box (None where not given)."""
    box = case.get("box")
    try:
        box = (None,) * 4 if box is None else tuple(float(v) for v in box)
    except (TypeError, ValueError):
        box = ()
    if len(box) != 4:
        raise InvalidRecord(f"case box must be [x0, y0, x1, y1], got {case.get('box')!r}")
    return (None if case.get("run") is None else str(case["run"]), *box)


def same_vehicle(plate: str, box: tuple, other_plate: str, other_box: tuple) -> bool:
    if plate != UNREAD and other_plate != UNREAD:
        return plate == other_plate
    if None in box or None in other_box:
        return False
    return float(iou_matrix(np.asarray([box], float), np.asarray([other_box], float))[0, 0]) >= SAME_VEHICLE_IOU


def case_dict(row: tuple) -> dict[str, Any]:
    case = dict(zip(CASE_COLUMNS, row))
    case["start"], case["limit"], case["end"] = case.pop("start_ts"), case.pop("limit_ts"), case.pop("end_ts")
    case["class"] = case.pop("vehicle_class")
    case["duration_s"] = None if case["end"] is None else round(case["end"] - case["start"], 3)
    return case


class CaseTables:
    """`write_cases`, `close_lost_cases`, `case`, `case_for_incident`, `case_files`, `cases`, `prune_cases`."""

    def write_cases(self, cases: Iterable[Mapping], ended: Iterable[Mapping] = ()) -> int:
        """Insert new cases with their files (`files`: name → bytes); each continues the same vehicle's open case
        from another run (module docstring) or is linked to the same plate's previous case in its zone within a day;
        set the end of cases whose violation `ended` (events). Cases that exist are skipped. Returns the cases
        inserted."""
        cases = [(case_row(c), case_extra(c), dict(c.get("files", {}))) for c in cases]
        ends = [(float(e["end"]), str(e["incident_id"])) for e in ended if e.get("end") is not None]
        columns = (*CASE_COLUMNS, *EXTRA_COLUMNS)
        inserted = 0
        with self._lock, self._transaction():
            self._end(ends)  # a case that ended is never continued
            for row, extra, files in cases:
                if self._execute("SELECT 1 FROM cases WHERE event_id = ?", (row[0],)):
                    continue
                earlier = self._continued(row, extra)
                if earlier is not None:
                    continues, start, repeat_of, offence = earlier
                    self._changed("UPDATE cases SET end_ts = ?, ended_by = ? WHERE event_id = ? AND end_ts IS NULL",
                                  (row[8], CONTINUED, continues))
                    row = (*row[:8], start, *row[9:])
                else:
                    continues, (repeat_of, offence) = None, self._previous(row)
                self._changed(f"INSERT INTO cases ({', '.join(columns)}) VALUES "
                              f"({', '.join('?' * len(columns))}) ON CONFLICT (event_id) DO NOTHING",
                              (*row, None, repeat_of, offence, continues, None, *extra))
                self._executemany("INSERT INTO case_files (event_id, name, data) VALUES (?, ?, ?) "
                                  "ON CONFLICT (event_id, name) DO NOTHING",
                                  [(row[0], name, bytes(data)) for name, data in sorted(files.items())])
                inserted += 1
            self._end(ends)  # and the cases of this batch that ended in it
        return inserted

    def _end(self, ends: list[tuple[float, str]]) -> None:
        if ends:
            self._executemany("UPDATE cases SET end_ts = ? WHERE incident_id = ? AND end_ts IS NULL", ends)

    def _continued(self, row: tuple, extra: tuple) -> tuple[str, float, str | None, int] | None:
        """(event id, start, repeat_of, offence) of the open case from another run this new case continues (a case
        that names no run continues none)."""
        event_id, camera, zone, plate, start = row[0], row[2], row[4], row[5], row[8]
        run, box = extra[0], extra[1:]
        for earlier, earlier_start, earlier_plate, repeat_of, offence, earlier_run, *earlier_box in self._execute(
                f"SELECT event_id, start_ts, plate, repeat_of, offence, {', '.join(EXTRA_COLUMNS)} FROM cases "
                "WHERE camera = ? AND zone = ? AND end_ts IS NULL AND start_ts <= ? AND event_id <> ? "
                "ORDER BY start_ts DESC", (camera, zone, start, event_id)):
            if run is not None and earlier_run != run and same_vehicle(plate, box, earlier_plate, tuple(earlier_box)):
                return earlier, float(earlier_start), repeat_of, int(offence)
        return None

    def _previous(self, row: tuple) -> tuple[str | None, int]:
        plate, camera, zone, start = row[5], row[2], row[4], row[8]
        if plate == UNREAD:
            return None, 1
        found = self._execute("SELECT event_id, offence FROM cases WHERE plate = ? AND camera = ? AND zone = ? "
                                 "AND start_ts >= ? AND start_ts < ? ORDER BY start_ts DESC LIMIT 1",
                                 (plate, camera, zone, start - REPEAT_WINDOW_S, start))
        return (found[0][0], int(found[0][1]) + 1) if found else (None, 1)

    def close_lost_cases(self, replaced: Mapping[str, Any], now: float | None = None) -> int:
        """End the open cases of runs that are gone, once the camera's current run has had time to time the car past
        the limit again and did not continue them: the car left unwatched (`ended_by: shard lost`; end: when the lost
        run was last heard). `replaced`: camera → its latest run change (actors/analytics_runs.py `RunChange`).
        Returns the cases ended."""
        now = time.time() if now is None else now
        if not replaced:
            return 0
        cameras = sorted(replaced)
        ends = []
        with self._lock, self._transaction():
            for event_id, camera, run, start, limit in self._execute(
                    "SELECT event_id, camera, run, start_ts, limit_ts FROM cases WHERE end_ts IS NULL AND run IS NOT "
                    f"NULL AND camera IN ({', '.join('?' * len(cameras))})", cameras):
                change = replaced[camera]
                if run != change.run and now - change.since >= (limit - start) + LOST_SLACK_S:
                    ends.append((change.before_last if run == change.before else change.since, SHARD_LOST, event_id))
            if ends:
                self._executemany("UPDATE cases SET end_ts = ?, ended_by = ? WHERE event_id = ? AND end_ts IS NULL",
                                  ends)
        return len(ends)

    def case(self, event_id: str) -> dict[str, Any] | None:
        rows = self._read(f"SELECT {', '.join(CASE_COLUMNS)} FROM cases WHERE event_id = ?", (event_id,))
        return case_dict(rows[0]) if rows else None

    def case_for_incident(self, incident_id: str) -> dict[str, Any] | None:
        rows = self._read(f"SELECT {', '.join(CASE_COLUMNS)} FROM cases WHERE incident_id = ?", (incident_id,))
        return case_dict(rows[0]) if rows else None

    def case_files(self, event_id: str) -> dict[str, bytes]:
        return {name: bytes(data) for name, data in
                self._read("SELECT name, data FROM case_files WHERE event_id = ? ORDER BY name", (event_id,))}

    def cases(self, *, since: float, until: float, cameras: Collection[str] | None = None) -> list[dict[str, Any]]:
        """Cases whose violation began (limit) in [since, until), oldest first (only of `cameras`, when given)."""
        if not since < until:
            raise InvalidQuery(f"since ({since}) must be before until ({until})")
        clauses, params = ["limit_ts >= ?", "limit_ts < ?"], [since, until]
        if cameras is not None:
            if not cameras:
                return []
            clauses.append(f"camera IN ({', '.join('?' * len(cameras))})")
            params += sorted(cameras)
        rows = self._read(f"SELECT {', '.join(CASE_COLUMNS)} FROM cases WHERE {' AND '.join(clauses)} "
                          "ORDER BY limit_ts, event_id LIMIT ?", (*params, MAX_CASES + 1))
        if len(rows) > MAX_CASES:
            raise InvalidQuery(f"more than {MAX_CASES} cases in that range: ask for a shorter one")
        return [case_dict(r) for r in rows]

    def prune_cases(self, older_than_s: float, now: float | None = None) -> int:
        """Delete cases (and their files) that began more than `older_than_s` seconds ago."""
        cutoff = (time.time() if now is None else now) - older_than_s
        with self._lock, self._transaction():
            self._changed("DELETE FROM case_files WHERE event_id IN (SELECT event_id FROM cases WHERE start_ts < ?)",
                          (cutoff,))
            return self._changed("DELETE FROM cases WHERE start_ts < ?", (cutoff,))

"""Parking cases in the store (tables `cases`, `case_files`; migration 0008): written by the EventSink beside their
events, read by the API's evidence and export routes, pruned after `store.case_retention_days` on their own clock.

A mixin of `SqlStore` (store/sql.py): the same SQL on SQLite and PostgreSQL. Writes are idempotent like events'
(a case is keyed by its `started` event id), so a retried batch never doubles a case or its files."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from . import InvalidQuery, InvalidRecord

REPEAT_WINDOW_S = 86400.0  # the same plate in the same zone within a day is a repeat offence
UNREAD = "unread"
CASE_COLUMNS = ("event_id", "incident_id", "camera", "site", "zone", "plate", "plate_confidence", "vehicle_class",
                "start_ts", "limit_ts", "end_ts", "repeat_of", "offence")
MAX_CASES = 10_000  # cases one listing may answer (a day of a whole city's violations fits)


def case_row(case: Mapping) -> tuple:
    try:
        return (str(case["event_id"]), str(case["incident_id"]), str(case["camera"]), str(case["site"]),
                str(case["zone"]), str(case["plate"]), float(case["plate_confidence"]), str(case["class"]),
                float(case["start"]), float(case["limit_t"]))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidRecord(f"case lacks or mistypes a field: {error}") from None


def case_dict(row: tuple) -> dict[str, Any]:
    case = dict(zip(CASE_COLUMNS, row))
    case["start"], case["limit"], case["end"] = case.pop("start_ts"), case.pop("limit_ts"), case.pop("end_ts")
    case["class"] = case.pop("vehicle_class")
    case["duration_s"] = None if case["end"] is None else round(case["end"] - case["start"], 3)
    return case


class CaseTables:
    """`write_cases`, `end_cases`, `case`, `case_for_incident`, `case_files`, `cases`, `prune_cases`."""

    def write_cases(self, cases: Iterable[Mapping], ended: Iterable[Mapping] = ()) -> int:
        """Insert new cases with their files (`files`: name → bytes) and link each to the same plate's previous case
        in its zone within a day; set the end of cases whose violation `ended` (events). Cases that exist are
        skipped. Returns the cases inserted."""
        cases = [(case_row(c), dict(c.get("files", {}))) for c in cases]
        ends = [(float(e["end"]), str(e["incident_id"])) for e in ended if e.get("end") is not None]
        inserted = 0
        with self._lock, self._transaction():
            for row, files in cases:
                if self._execute("SELECT 1 FROM cases WHERE event_id = ?", (row[0],)):
                    continue
                repeat_of, offence = self._previous(row)
                self._changed(f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES "
                              f"({', '.join('?' * len(CASE_COLUMNS))}) ON CONFLICT (event_id) DO NOTHING",
                              (*row, None, repeat_of, offence))
                self._executemany("INSERT INTO case_files (event_id, name, data) VALUES (?, ?, ?) "
                                  "ON CONFLICT (event_id, name) DO NOTHING",
                                  [(row[0], name, bytes(data)) for name, data in sorted(files.items())])
                inserted += 1
            if ends:
                self._executemany("UPDATE cases SET end_ts = ? WHERE incident_id = ? AND end_ts IS NULL", ends)
        return inserted

    def _previous(self, row: tuple) -> tuple[str | None, int]:
        plate, camera, zone, start = row[5], row[2], row[4], row[8]
        if plate == UNREAD:
            return None, 1
        found = self._execute("SELECT event_id, offence FROM cases WHERE plate = ? AND camera = ? AND zone = ? "
                                 "AND start_ts >= ? AND start_ts < ? ORDER BY start_ts DESC LIMIT 1",
                                 (plate, camera, zone, start - REPEAT_WINDOW_S, start))
        return (found[0][0], int(found[0][1]) + 1) if found else (None, 1)

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

"""`bench_reports --quick` runs end to end on PostgreSQL (50 cameras, once): every row is printed, the dirty-hour rows
included, with the hour's minutes of every camera read."""

from __future__ import annotations

import pytest

from tests.store.conftest import _pg_available

pytestmark = pytest.mark.timeout(120)


def test_quick_run_prints_every_row(capsys):
    if not _pg_available():
        pytest.skip("PostgreSQL not reachable")
    from loadtest import bench_reports

    bench_reports.main(["--quick"])
    lines = capsys.readouterr().out.splitlines()
    rows = {line[:70].strip(): line[70:].split() for line in lines[2:] if not line.startswith("the city's")}
    assert len(rows) == 10 and all(float(ms) > 0 and float(scan) > 0 for ms, scan, *_ in rows.values())
    assert lines[9].endswith("6,120 minute rows in the hour")  # a zone and a line per camera, and the raw site's
    assert rows["refresh_rollups of that hour (the hour, its day and month)"][3] == "6,120"
    assert "city-wide month report, its last hour dirty (roll-ups: counted to it)" in rows  # what reports read

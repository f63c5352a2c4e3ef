"""Store benchmark: batched write throughput and count-query latency, SQLite vs PostgreSQL.

    .venv/bin/python -m loadtest.bench_store [--cameras 1000] [--minutes 1440] [--backends sqlite,postgres]

1. writes: events and count rows in EventSink-sized batches (500 records, one transaction each);
2. a day of 1-minute counts for `--cameras` cameras (one zone each, 10 sites) bulk-inserted through the
   same `Store.write` (10,000 rows per batch), then the latency of the API's count queries (median of 5).
PostgreSQL runs in a throwaway schema of MATAKOTA_BENCH_PG (default the local `test` database), dropped after.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from matakota.core.events import Event, EventState, EventType, stable_id
from matakota.store import open_store

T0 = 1_767_225_600.0
PG = os.environ.get("MATAKOTA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def count_rows(cameras: range, minutes: int, t0: float = T0):
    rng = random.Random(0)
    for m in range(minutes):
        start = t0 + 60 * m
        for c in cameras:
            camera = f"cam-{c:05d}"
            yield {"id": stable_id(camera, "zone", "plaza", start, start + 60), "camera": camera,
                   "site": f"site-{c % 10}", "kind": "zone", "name": "plaza", "start": start, "end": start + 60,
                   "samples": 60, "occupancy_max": rng.randint(0, 40), "occupancy_mean": 7.5,
                   "visits": rng.randint(0, 20), "in_count": 0, "out_count": 0}


def batched(rows, size):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def timed(fn, repeat=1):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def bench(store, cameras: int, minutes: int) -> dict:
    out = {}
    events = [Event(EventType.CROWDING, f"cam-{i % 500:05d}", f"site-{i % 10}", "zone", EventState.RAISED,
                    T0 - 86400 + i * 0.5, payload={"occupancy": i % 50}).to_json() for i in range(20_000)]
    seconds, _ = timed(lambda: [store.write(b, []) for b in batched(events, 500)])
    out["events/s (batch 500)"] = len(events) / seconds
    rows = list(count_rows(range(100_000, 100_200), 250, T0 - 86400))  # 50k rows of other cameras
    seconds, _ = timed(lambda: [store.write([], b) for b in batched(rows, 500)])
    out["count rows/s (batch 500)"] = len(rows) / seconds
    seconds, _ = timed(lambda: store.write(events[:500], rows[:500]))
    out["retried batch of 1000, ms"] = seconds * 1000

    total, t = 0, time.perf_counter()
    for batch in batched(count_rows(range(cameras), minutes), 10_000):
        total += store.write([], batch).counts
    seconds = time.perf_counter() - t
    out[f"bulk fill {total:,} rows, s"] = seconds
    out["bulk count rows/s (batch 10k)"] = total / seconds

    day = dict(start=T0, end=T0 + 60 * minutes)
    for label, kwargs in [("camera, 1m", {"cameras": ["cam-00042"], "bucket": "1m"}),
                          ("camera, hour", {"cameras": ["cam-00042"], "bucket": "hour"}),
                          ("camera, day", {"cameras": ["cam-00042"], "bucket": "day"}),
                          (f"site ({cameras // 10} cams), hour", {"sites": ["site-3"], "bucket": "hour"}),
                          (f"site ({cameras // 10} cams), day", {"sites": ["site-3"], "bucket": "day"})]:
        seconds, result = timed(lambda: store.counts(**day, **kwargs), repeat=5)
        out[f"query {label}, ms ({len(result)} rows)"] = seconds * 1000
    seconds, page = timed(lambda: store.events(site="site-3", limit=100), repeat=5)
    out["query events page of 100, ms"] = seconds * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=1440)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                store = open_store(Path(tmp) / "bench.db")
            else:
                store = open_store(PG, schema=f"matakota_bench_{uuid.uuid4().hex[:8]}")
            try:
                results[backend] = bench(store, args.cameras, args.minutes)
            finally:
                if backend != "sqlite":
                    store.drop_schema()
                store.close()
    names = list(next(iter(results.values())))
    width = max(map(len, names))
    print(f"{'metric':<{width}}  " + "  ".join(f"{b:>12}" for b in results))
    for name in names:
        print(f"{name:<{width}}  " + "  ".join(f"{results[b][name]:>12,.1f}" for b in results))


if __name__ == "__main__":
    main()

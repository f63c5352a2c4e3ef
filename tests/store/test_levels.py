"""Water levels in the store, on SQLite and PostgreSQL: round trip, idempotent resends, buckets, retention and
refused records."""

from __future__ import annotations

import pytest

from matakota.store import AUTO_RAW_READINGS, InvalidQuery, InvalidRecord

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def reading(t: float, level: float | None, status: str = "ok", camera: str = "gauge-1", site: str = "banjir-kanal",
            confidence: float = 0.9) -> dict:
    """A reading as the shard sends it: `GaugeReading.to_json()` (row included) plus camera and site."""
    return {"camera": camera, "site": site, "t": t, "status": status, "row": 200.0, "level_cm": level,
            "confidence": confidence}


def rising(n: int, every_s: float = 30.0, t0: float = T0) -> list[dict]:
    """n readings every_s apart, the water rising 1 cm a reading; every 10th uncertain (no level)."""
    return [reading(t0 + i * every_s, None, "uncertain", confidence=0.1) if i % 10 == 9
            else reading(t0 + i * every_s, 50.0 + i) for i in range(n)]


def test_readings_round_trip_and_a_resend_writes_nothing(store):
    batch = rising(20)
    assert store.write(levels=batch).levels == 20
    assert store.write(levels=batch).levels == 0  # a retried batch: the same (camera, t) rows
    assert store.write(levels=[{**batch[0], "level_cm": 999.0}]).levels == 0  # first write wins, as for events
    series = store.levels(camera="gauge-1", start=T0, end=T0 + 600)
    assert (series.camera, series.site, series.bucket, series.buckets) == ("gauge-1", "banjir-kanal", None, [])
    assert [r.t for r in series.readings] == [T0 + 30 * i for i in range(20)]  # half-open: T0 + 600 is out
    first, uncertain = series.readings[0], series.readings[9]
    assert (first.level_cm, first.confidence, first.status) == (50.0, 0.9, "ok")
    assert (uncertain.level_cm, uncertain.status) == (None, "uncertain")
    assert store.cameras() == ["gauge-1"] and store.sites() == ["banjir-kanal"]
    other = store.levels(camera="gauge-2", start=T0, end=T0 + 600)
    assert other.site is None and other.readings == []


def test_buckets_give_min_mean_max_and_count_the_uncertain(store):
    store.write(levels=rising(40))  # 20 minutes, 2 readings a minute
    series = store.levels(camera="gauge-1", start=T0, end=T0 + 1200, bucket="5m")
    assert series.bucket == "5m" and series.readings == []
    assert [(b.start, b.end, b.readings, b.uncertain) for b in series.buckets] == [
        (T0 + 300 * k, T0 + 300 * (k + 1), 10, 1) for k in range(4)]
    first = series.buckets[0]  # readings 0..9, the 10th uncertain: levels 50..58
    assert (first.min_cm, first.mean_cm, first.max_cm) == (50.0, 54.0, 58.0)
    hourly = store.levels(camera="gauge-1", start=T0, end=T0 + 3600, bucket="1h").buckets
    assert [(b.readings, b.uncertain, b.min_cm, b.max_cm) for b in hourly] == [(40, 4, 50.0, 88.0)]


def test_a_bucket_of_uncertain_readings_only_has_no_level(store):
    store.write(levels=[reading(T0 + s, None, "uncertain", confidence=0.0) for s in (0, 20, 40)])
    [minute] = store.levels(camera="gauge-1", start=T0, end=T0 + 60, bucket="1m").buckets
    assert (minute.readings, minute.uncertain, minute.min_cm, minute.mean_cm, minute.max_cm) == (3, 3, None, None, None)


def test_auto_answers_raw_readings_for_short_ranges_and_buckets_for_long_ones(store):
    store.write(levels=rising(AUTO_RAW_READINGS + 10, every_s=1.0))
    short = store.levels(camera="gauge-1", start=T0, end=T0 + 600)
    assert short.bucket is None and len(short.readings) == 600
    crowded = store.levels(camera="gauge-1", start=T0, end=T0 + 3600)  # short, but over 2,000 readings
    assert crowded.bucket == "1m" and len(crowded.buckets) == 34 and crowded.readings == []
    long = store.levels(camera="gauge-1", start=T0, end=T0 + 86400)
    assert long.bucket == "5m" and long.readings == []  # 1m would make 1,440 buckets, over the 1,000 of auto
    assert sum(b.readings for b in long.buckets) == AUTO_RAW_READINGS + 10
    sparse = store.levels(camera="gauge-1", start=T0 + 3000, end=T0 + 3000 + 7 * 3600)  # no readings, but 7 h
    assert (sparse.bucket, sparse.buckets) == ("1m", [])
    store.write(levels=rising(9000, every_s=1.0, t0=T0 + 5000))
    with pytest.raises(InvalidQuery, match="more than 10,000 readings") as error:
        store.levels(camera="gauge-1", start=T0, end=T0 + 86400, bucket="raw")
    assert "ask for a bucket" in str(error.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"bucket": "2m"}, "bucket must be auto, raw or one of 1m, 5m, 15m, 1h, 1d"),
    ({"start": T0 + 60, "end": T0}, "must be before"),
    ({"end": T0 + 86400 * 30, "bucket": "1m"}, "ask for a larger bucket"),
])
def test_bad_level_queries_raise(store, kwargs, message):
    with pytest.raises(InvalidQuery, match=message):
        store.levels(**{"camera": "gauge-1", "start": T0, "end": T0 + 60, **kwargs})


def test_prune_deletes_old_readings_with_the_events_and_counts(store):
    store.write(levels=rising(5) + rising(5, t0=T0 + 86400 * 10))
    result = store.prune(older_than_s=86400 * 5, now=T0 + 86400 * 11)
    assert result.levels == 5
    assert store.levels(camera="gauge-1", start=T0, end=T0 + 86400).readings == []
    assert len(store.levels(camera="gauge-1", start=T0, end=T0 + 86400 * 11, bucket="raw").readings) == 5


@pytest.mark.parametrize("bad, message", [
    ({"t": T0}, "missing field"),
    (reading(T0, "high"), "bad or missing field"),
    (reading(T0, float("nan")), "level_cm is not a finite number"),
    (reading(float("inf"), 50.0), "t is not a finite"),
    (reading(T0, 50.0, confidence=1.5), "confidence must be within 0..1"),
    (reading(T0, 50.0, status=""), "status must be a non-empty string"),
    (reading(T0, 50.0, camera=None), "camera must be a non-empty string"),
    ("gauge-1 at 50 cm", "a reading is an object"),
])
def test_malformed_readings_are_refused_whole(store, bad, message):
    with pytest.raises(InvalidRecord, match=message):
        store.write(levels=[reading(T0 + 1, 40.0), bad])
    assert store.levels(camera="gauge-1", start=T0, end=T0 + 60).readings == []  # nothing of the batch

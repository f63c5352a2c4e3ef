-- Water levels read from flood gauges: one row per reading, every `gauge.every_s` seconds per gauge camera.
-- Keyed by (camera, t): a resent reading is the same row. Pruned with events and counts (`t` older than retention).
CREATE TABLE levels (
    camera     TEXT NOT NULL,
    site       TEXT NOT NULL,
    t          DOUBLE PRECISION NOT NULL,   -- epoch seconds of the frame read
    level_cm   DOUBLE PRECISION,            -- NULL when the reading is uncertain
    confidence DOUBLE PRECISION NOT NULL,   -- 0–1
    status     TEXT NOT NULL,               -- ok | below_range | uncertain (analytics/gauge.py)
    PRIMARY KEY (camera, t)
);
CREATE INDEX levels_t ON levels (t);

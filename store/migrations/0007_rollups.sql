-- Dwell and peak time on count records, and roll-ups of counts per hour, local day and local month, so that a year
-- of reports never reads the minutes (store/rollups.py).
ALTER TABLE counts ADD COLUMN peak_ts DOUBLE PRECISION;             -- when occupancy first reached occupancy_max
ALTER TABLE counts ADD COLUMN dwell_count BIGINT NOT NULL DEFAULT 0;  -- zone stays that ended in the interval
ALTER TABLE counts ADD COLUMN dwell_sum DOUBLE PRECISION NOT NULL DEFAULT 0;  -- their seconds
-- how many stays fell in each bin of core/dwell.DWELL_EDGES (0-10 s, 10-30 s, … 4 h and over)
ALTER TABLE counts ADD COLUMN dwell_b0 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN dwell_b1 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN dwell_b2 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN dwell_b3 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN dwell_b4 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN dwell_b5 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN dwell_b6 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN dwell_b7 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN dwell_b8 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN dwell_b9 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN dwell_b10 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE counts ADD COLUMN dwell_b11 BIGINT NOT NULL DEFAULT 0;

-- One row per camera, zone or line (camera rows), per site (camera '*', kind 'site', name ''; its figures follow the
-- site's counting plan) and for the city (site and camera '*', kind 'city': the sites added up), per bucket: level
-- `hour` (UTC hours), `day` and `month` (local, in the time zone of rollup_state). Rebuilt from `counts` for the
-- hours rollup_dirty names; kept after the minutes are pruned.
CREATE TABLE rollups (
    level          TEXT NOT NULL,
    site           TEXT NOT NULL,
    camera         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    start_ts       DOUBLE PRECISION NOT NULL,
    end_ts         DOUBLE PRECISION NOT NULL,
    samples        BIGINT NOT NULL,
    occupancy_max  BIGINT NOT NULL,
    peak_ts        DOUBLE PRECISION,
    occupancy_mean DOUBLE PRECISION NOT NULL,
    visits         BIGINT NOT NULL,
    in_count       BIGINT NOT NULL,
    out_count      BIGINT NOT NULL,
    dwell_count    BIGINT NOT NULL,
    dwell_sum      DOUBLE PRECISION NOT NULL,
    dwell_b0       BIGINT NOT NULL,
    dwell_b1       BIGINT NOT NULL,
    dwell_b2       BIGINT NOT NULL,
    dwell_b3       BIGINT NOT NULL,
    dwell_b4       BIGINT NOT NULL,
    dwell_b5       BIGINT NOT NULL,
    dwell_b6       BIGINT NOT NULL,
    dwell_b7       BIGINT NOT NULL,
    dwell_b8       BIGINT NOT NULL,
    dwell_b9       BIGINT NOT NULL,
    dwell_b10       BIGINT NOT NULL,
    dwell_b11       BIGINT NOT NULL,
    peak_site      TEXT,                    -- the city's rows: the site whose peak theirs is
    PRIMARY KEY (level, site, camera, kind, name, start_ts)
);
CREATE INDEX rollups_time ON rollups (level, start_ts);
CREATE INDEX rollups_camera ON rollups (level, camera, kind, start_ts);  -- a camera's, the sites', the city's
-- Hours whose counts changed since they were rolled up: every write of counts bumps its hours' seq; a refresh
-- deletes a mark only if its seq is still the one it read (a write during the refresh keeps it for the next).
CREATE TABLE rollup_dirty (
    hour_start DOUBLE PRECISION PRIMARY KEY,
    seq        BIGINT NOT NULL
);
INSERT INTO rollup_dirty (hour_start, seq) SELECT DISTINCT floor(start_ts / 3600) * 3600, 1 FROM counts;
-- The time zone the day and month roll-ups were cut in (one row; a refresh in another zone recuts them).
CREATE TABLE rollup_state (
    id       INTEGER PRIMARY KEY,
    timezone TEXT NOT NULL
);
-- Sites' counting plans (config `reports.sites`): which zones and lines make a site's figures. A site with no row
-- counts every zone (visits, occupancy, dwell) and every line (in/out).
CREATE TABLE counting_plan (
    site      TEXT NOT NULL,
    camera    TEXT NOT NULL,
    kind      TEXT NOT NULL,                -- zone | line
    name      TEXT NOT NULL,
    visits    INTEGER NOT NULL,             -- 1: an entrance (a zone's visits, a line's in-crossings are visits)
    occupancy INTEGER NOT NULL,             -- 1: part of the site's area (occupancy and dwell)
    PRIMARY KEY (site, camera, kind, name)
);

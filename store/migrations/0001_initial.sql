-- One schema for SQLite and PostgreSQL: only types and syntax both understand.
-- Times are epoch seconds (UTC) as DOUBLE PRECISION; JSON is stored as TEXT.

CREATE TABLE events (
    id            TEXT PRIMARY KEY,          -- Event.id: stable under retries
    incident_id   TEXT NOT NULL,             -- groups started/ended (raised/cleared) of one incident
    type          TEXT NOT NULL,
    camera        TEXT NOT NULL,
    site          TEXT NOT NULL,
    event_key     TEXT NOT NULL,             -- the zone, line or alarm level that raised it
    state         TEXT NOT NULL,
    start_ts      DOUBLE PRECISION NOT NULL,
    end_ts        DOUBLE PRECISION,
    payload       TEXT NOT NULL,             -- JSON object
    box           TEXT,                      -- JSON [x0, y0, x1, y1] or NULL
    snapshot      TEXT,                      -- file name under the snapshot directory
    snapshot_crop TEXT
);
CREATE INDEX events_start ON events (start_ts, id);
CREATE INDEX events_camera ON events (camera, start_ts, id);
CREATE INDEX events_site ON events (site, start_ts, id);
CREATE INDEX events_type ON events (type, start_ts, id);
CREATE INDEX events_incident ON events (incident_id);

CREATE TABLE counts (
    id             TEXT PRIMARY KEY,         -- CountRecord.id: stable under retries
    camera         TEXT NOT NULL,
    site           TEXT NOT NULL,
    kind           TEXT NOT NULL,            -- zone | line
    name           TEXT NOT NULL,
    start_ts       DOUBLE PRECISION NOT NULL,
    end_ts         DOUBLE PRECISION NOT NULL,
    samples        BIGINT NOT NULL,
    occupancy_max  BIGINT NOT NULL,
    occupancy_mean DOUBLE PRECISION NOT NULL,
    visits         BIGINT NOT NULL,
    in_count       BIGINT NOT NULL,
    out_count      BIGINT NOT NULL
);
CREATE INDEX counts_camera ON counts (camera, start_ts);
CREATE INDEX counts_site ON counts (site, start_ts);
CREATE INDEX counts_end ON counts (end_ts);

-- Cameras (and so sites) the store has seen: answers sites()/cameras() without scanning the big tables.
CREATE TABLE cameras (
    camera     TEXT PRIMARY KEY,
    site       TEXT NOT NULL,
    first_seen DOUBLE PRECISION NOT NULL
);
CREATE INDEX cameras_site ON cameras (site);

-- Parking violations the transport agency acts on (issue 22): one row per started violation, with its plate,
-- vehicle class and times, and the files of its evidence package (photos, plate, signed manifest). Kept for
-- store.case_retention_days, apart from events and ordinary snapshots.
CREATE TABLE cases (
    event_id         TEXT PRIMARY KEY,              -- the violation's `started` event
    incident_id      TEXT NOT NULL,
    camera           TEXT NOT NULL,
    site             TEXT NOT NULL,
    zone             TEXT NOT NULL,
    plate            TEXT NOT NULL,                 -- `H 1234 AB`, or `unread`
    plate_confidence DOUBLE PRECISION NOT NULL,
    vehicle_class    TEXT NOT NULL,
    start_ts         DOUBLE PRECISION NOT NULL,     -- first seen standing
    limit_ts         DOUBLE PRECISION NOT NULL,     -- passed the sign's limit (the violation began)
    end_ts           DOUBLE PRECISION,              -- last seen (null while it stands)
    repeat_of        TEXT,                          -- the same plate's previous case in this zone within a day
    offence          INTEGER NOT NULL               -- 1 for a first case, 2 for its first repeat, …
);
CREATE INDEX cases_start ON cases (start_ts);
CREATE INDEX cases_plate_zone ON cases (plate, camera, zone, start_ts);
CREATE INDEX cases_incident ON cases (incident_id);

CREATE TABLE case_files (
    event_id TEXT NOT NULL,
    name     TEXT NOT NULL,                         -- arrival.jpg, limit.jpg, vehicle.jpg, plate.jpg, manifest.json, …
    data     BYTEA NOT NULL,
    PRIMARY KEY (event_id, name)
);

-- Evidence images live in the database, beside their event: every API replica can serve them (no pod-local
-- files), they are written in the event's own transaction (no orphans) and pruned with it.
CREATE TABLE snapshots (
    name     TEXT PRIMARY KEY,               -- {event_id}.jpg or {event_id}-crop.jpg (the event's snapshot columns)
    event_id TEXT NOT NULL,
    data     BYTEA NOT NULL                  -- the JPEG (BLOB in SQLite: any bytes keep their type)
);
CREATE INDEX snapshots_event ON snapshots (event_id);

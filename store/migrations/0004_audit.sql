-- The audit log: append-only, hash-chained (store/audit.py). Each row's hash covers the previous row's hash, so an
-- edited or deleted row breaks the chain (`matakota audit verify`). The primary key on seq makes a fork impossible:
-- two writers appending at once cannot both add the same next row. Never pruned.
CREATE TABLE audit (
    seq       BIGINT PRIMARY KEY,           -- 1, 2, 3, … without gaps
    t         DOUBLE PRECISION NOT NULL,    -- epoch seconds
    actor     TEXT NOT NULL,                -- the token's name, never the token
    action    TEXT NOT NULL,                -- e.g. `PATCH /v1/cameras/{camera_id}`, `evidence.download`
    target    TEXT NOT NULL,                -- what it acted on (a camera or event id; empty when none)
    detail    TEXT NOT NULL,                -- canonical JSON object
    remote    TEXT,                         -- the client's address, when known
    prev_hash TEXT NOT NULL,                -- the previous row's hash (64 zeros for seq 1)
    hash      TEXT NOT NULL                 -- sha256 hex of prev_hash + canonical JSON [seq, t, actor, action, target, detail, remote]
);
CREATE INDEX audit_t ON audit (t);

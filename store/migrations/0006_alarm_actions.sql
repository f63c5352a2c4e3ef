-- What operators did about an alarm (an incident: its raised … cleared events): acknowledged it, resolved it, with
-- who (the token's name), when and a comment. Once each per incident.
CREATE TABLE alarm_actions (
    incident_id TEXT NOT NULL,
    action      TEXT NOT NULL,              -- acknowledged | resolved
    by_name     TEXT NOT NULL,
    at          DOUBLE PRECISION NOT NULL,
    comment     TEXT NOT NULL,
    PRIMARY KEY (incident_id, action)
);

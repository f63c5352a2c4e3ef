-- A parked car whose shard was lost (failover) or that was hidden a long while is timed again by fresh analytics
-- and starts a new case: that case continues the open one (same vehicle: same plate, or overlapping boxes when a
-- plate is unread) instead of counting as a repeat offence, and the old one ends, saying why.
ALTER TABLE cases ADD COLUMN box_x0 DOUBLE PRECISION;   -- the vehicle's box at the limit (image pixels)
ALTER TABLE cases ADD COLUMN box_y0 DOUBLE PRECISION;
ALTER TABLE cases ADD COLUMN box_x1 DOUBLE PRECISION;
ALTER TABLE cases ADD COLUMN box_y1 DOUBLE PRECISION;
ALTER TABLE cases ADD COLUMN continues TEXT;            -- the open case of the same vehicle this one continues
ALTER TABLE cases ADD COLUMN ended_by TEXT;             -- null: the vehicle left; `continued`, `shard lost`
ALTER TABLE cases ADD COLUMN run TEXT;                  -- the analytics run (counts' `part`) that timed it
CREATE INDEX cases_open ON cases (camera, zone, end_ts);

-- Counts by time alone: a refresh rebuilds one hour of every camera, and a city-wide read of the hours not rolled up
-- yet asks for every camera's minutes from the oldest dirty hour; both filter on start_ts only, which the per-camera
-- and per-site indexes cannot serve (on PostgreSQL they were full scans of the minutes).
CREATE INDEX counts_start ON counts (start_ts);

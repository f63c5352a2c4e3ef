-- An alarm's video clip (MP4 remuxed from the camera's stream around its moment) is stored in `snapshots` as
-- {event_id}.mp4 once the shard has cut it, after the event itself: `clip` names it on the event row.
ALTER TABLE events ADD COLUMN clip TEXT;

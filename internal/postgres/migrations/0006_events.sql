-- The events list and webhook descriptions. The SQLite twin has the same
-- columns and indexes.

-- The people's name for a webhook; '' for none, so that existing webhooks
-- read back as they were.
ALTER TABLE webhooks ADD COLUMN description text NOT NULL DEFAULT '';

-- A study's events newest first, in the order the events list pages them
-- (created_at, then id, both descending); a type or time filter reads
-- along it.
CREATE INDEX events_study_created ON events (study_id, created_at DESC, id DESC);

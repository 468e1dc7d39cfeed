-- A study's routing version, bumped in the transaction of every change to
-- one of its webhooks that publish routes by (events, options, active,
-- validation) or that a delivery reads from the webhook (URL, auth,
-- credentials, format, the rotation's overlap); the service's own fields
-- (description, disabled reason) go with them. A publish reads this one
-- row, by primary key, and reuses the webhooks it cached at the same
-- version instead of reading them again (sqlstore/routing.go). A study
-- without a row is at version 0.
--
-- Triggers, so that no write of webhooks can forget the bump. They leave
-- alone the columns the recording of attempts updates every batch (the
-- health counters, validation_checked_at) and updated_at: naming columns
-- in UPDATE OF keeps those statements from even considering the trigger,
-- and WHEN skips statements that name a column but leave it unchanged.
CREATE TABLE routing_versions (
    study_id INTEGER PRIMARY KEY,
    version  INTEGER NOT NULL
) STRICT;

CREATE TRIGGER webhooks_routing_insert AFTER INSERT ON webhooks
BEGIN
    INSERT INTO routing_versions (study_id, version) VALUES (NEW.study_id, 1)
    ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER webhooks_routing_delete AFTER DELETE ON webhooks
BEGIN
    INSERT INTO routing_versions (study_id, version) VALUES (OLD.study_id, 1)
    ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER webhooks_routing_update AFTER UPDATE OF
    study_id, url, auth, credentials, events, event_options, active,
    validation_status, validation_delivery_id, description, format, previous_secret_until,
    disabled_reason, disabled_since
ON webhooks
WHEN OLD.study_id IS NOT NEW.study_id OR OLD.url IS NOT NEW.url OR OLD.auth IS NOT NEW.auth
    OR OLD.credentials IS NOT NEW.credentials OR OLD.events IS NOT NEW.events
    OR OLD.event_options IS NOT NEW.event_options OR OLD.active IS NOT NEW.active
    OR OLD.validation_status IS NOT NEW.validation_status
    OR OLD.validation_delivery_id IS NOT NEW.validation_delivery_id
    OR OLD.description IS NOT NEW.description OR OLD.format IS NOT NEW.format
    OR OLD.previous_secret_until IS NOT NEW.previous_secret_until
    OR OLD.disabled_reason IS NOT NEW.disabled_reason OR OLD.disabled_since IS NOT NEW.disabled_since
BEGIN
    -- Both studies, should a webhook ever move (bumping one twice is
    -- harmless).
    INSERT INTO routing_versions (study_id, version) VALUES (OLD.study_id, 1)
    ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
    INSERT INTO routing_versions (study_id, version) VALUES (NEW.study_id, 1)
    ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

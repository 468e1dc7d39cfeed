-- A study's routing version, bumped in the transaction of every change to
-- one of its webhooks that publish routes by (events, options, active,
-- validation) or that a delivery reads from the webhook (URL, auth,
-- credentials, format, the rotation's overlap); the service's own fields
-- (description, disabled reason) go with them. A publish reads this one
-- row, by primary key, and reuses the webhooks it cached at the same
-- version instead of reading them again (sqlstore/routing.go), in this
-- process or any other on the database. A study without a row is at
-- version 0.
--
-- Triggers, so that no write of webhooks can forget the bump. They leave
-- alone the columns the recording of attempts updates every batch (the
-- health counters, validation_checked_at) and updated_at: naming columns
-- in UPDATE OF keeps those statements from even considering the trigger,
-- and WHEN skips statements that name a column but leave it unchanged.
-- The bump locks the study's row until the change commits, which orders
-- the changes of one study; a publish reads the row without waiting.
-- Constraint triggers, deferred, so that the bump comes at the commit,
-- after every other lock the transaction takes: bumping at the statement
-- would hold the study's row while the transaction goes on to lock other
-- webhooks (the recording of a batch: a validation outcome, then the
-- health of the batch's webhooks), and deadlock with a change of one of
-- them that waits for the row.
CREATE TABLE routing_versions (
    study_id bigint PRIMARY KEY,
    version  bigint NOT NULL
);

CREATE FUNCTION bump_routing_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO routing_versions AS v (study_id, version) VALUES (OLD.study_id, 1)
        ON CONFLICT (study_id) DO UPDATE SET version = v.version + 1;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.study_id <> OLD.study_id) THEN
        INSERT INTO routing_versions AS v (study_id, version) VALUES (NEW.study_id, 1)
        ON CONFLICT (study_id) DO UPDATE SET version = v.version + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER webhooks_routing_insert_delete AFTER INSERT OR DELETE ON webhooks
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bump_routing_version();

CREATE CONSTRAINT TRIGGER webhooks_routing_update AFTER UPDATE OF
    study_id, url, auth, credentials, events, event_options, active,
    validation_status, validation_delivery_id, description, format, previous_secret_until,
    disabled_reason, disabled_since
ON webhooks DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
WHEN (OLD.study_id IS DISTINCT FROM NEW.study_id OR OLD.url IS DISTINCT FROM NEW.url
    OR OLD.auth IS DISTINCT FROM NEW.auth OR OLD.credentials IS DISTINCT FROM NEW.credentials
    OR OLD.events IS DISTINCT FROM NEW.events OR OLD.event_options IS DISTINCT FROM NEW.event_options
    OR OLD.active IS DISTINCT FROM NEW.active OR OLD.validation_status IS DISTINCT FROM NEW.validation_status
    OR OLD.validation_delivery_id IS DISTINCT FROM NEW.validation_delivery_id
    OR OLD.description IS DISTINCT FROM NEW.description OR OLD.format IS DISTINCT FROM NEW.format
    OR OLD.previous_secret_until IS DISTINCT FROM NEW.previous_secret_until
    OR OLD.disabled_reason IS DISTINCT FROM NEW.disabled_reason
    OR OLD.disabled_since IS DISTINCT FROM NEW.disabled_since)
EXECUTE FUNCTION bump_routing_version();

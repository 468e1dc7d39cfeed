-- Endpoint health and recovery (SPEC §14). The SQLite twin has the same
-- tables and columns.

-- A webhook's health, kept current by the recording of attempts, which
-- updates this row in its own transaction: reading health costs no scan
-- of attempts. failing_since is NULL unless every attempt since then
-- failed; disabled_reason says why the service disabled the webhook
-- ('failing' or 'gone'), NULL while it is enabled or when a person
-- disabled it.
ALTER TABLE webhooks
    ADD COLUMN last_success_at      timestamptz,
    ADD COLUMN last_failure_at      timestamptz,
    ADD COLUMN failing_since        timestamptz,
    ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0,
    ADD COLUMN disabled_reason      text,
    ADD COLUMN disabled_since       timestamptz;

-- Attempts and failures per webhook and clock hour, for last_24h: at
-- most 25 rows per webhook, since recording deletes the older ones.
CREATE TABLE webhook_health_hours (
    webhook_id bigint      NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    hour       timestamptz NOT NULL,  -- start of the hour
    attempts   integer     NOT NULL,
    failures   integer     NOT NULL,
    PRIMARY KEY (webhook_id, hour)
);

-- One delivery per event and webhook: a replay that runs twice, or
-- alongside another, cannot deliver an event twice. It also finds the
-- events a webhook has not had yet.
CREATE UNIQUE INDEX deliveries_webhook_event ON deliveries (webhook_id, event_id) WHERE event_id IS NOT NULL;

-- Replay reads a study's events by time through events_study_created
-- (0006_events).

-- The claim holds back the deliveries of disabled webhooks (all but
-- their validation requests) until they are enabled again.
CREATE INDEX webhooks_disabled ON webhooks (id) WHERE NOT active;

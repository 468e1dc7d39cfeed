-- Webhooks registered by `hookshot listen` (SPEC §15): ordinary webhooks
-- whose deliveries the CLI claims over the API instead of the engine
-- sending them. A row here is the relay marker; expires_at is pushed on by
-- every poll of the CLI, and a sweep deletes the webhook once it passes, so
-- a CLI that vanished leaves nothing behind. Kept apart from webhooks so
-- that the engine's claim skips relays by one small lookup.
CREATE TABLE relays (
    webhook_id INTEGER PRIMARY KEY REFERENCES webhooks ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX relays_expires_at ON relays (expires_at);

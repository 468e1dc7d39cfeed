-- Webhooks, events and their deliveries; the deliveries table is also the
-- delivery queue (see the partial index deliveries_due). The PostgreSQL
-- twin has the same tables and columns. Times are unix microseconds, the
-- precision the service truncates every time to. STRICT so that a value
-- of the wrong type fails loudly instead of being stored as something else.

CREATE TABLE webhooks (
    -- AUTOINCREMENT: an id is never reused, even after the newest webhook
    -- is deleted, so a stale link never points at someone else's webhook.
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id               INTEGER NOT NULL,
    url                    TEXT    NOT NULL,
    auth                   TEXT    NOT NULL,  -- JSON of hookshot.Auth, never a secret
    credentials            BLOB,              -- sealed hookshot.Credentials
    events                 TEXT    NOT NULL,  -- JSON array of event types, in order
    event_options          TEXT    NOT NULL,  -- JSON object: event type -> options
    active                 INTEGER NOT NULL,
    validation_status      TEXT    NOT NULL,
    validation_delivery_id TEXT,
    validation_checked_at  INTEGER,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
) STRICT;

CREATE INDEX webhooks_study_id ON webhooks (study_id);

CREATE TABLE events (
    id           TEXT    PRIMARY KEY,
    study_id     INTEGER NOT NULL,
    type         TEXT    NOT NULL,
    -- BLOB, not TEXT: receivers get the producer's bytes unchanged.
    payload      BLOB    NOT NULL,
    trace_parent TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE idempotency_keys (
    study_id     INTEGER NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    event_id     TEXT    NOT NULL REFERENCES events,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (study_id, key)
) STRICT;

CREATE TABLE deliveries (
    id              TEXT    PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    study_id        INTEGER NOT NULL,
    event_id        TEXT    REFERENCES events,  -- NULL for validation deliveries
    event           TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    max_attempts    INTEGER NOT NULL,
    -- While a delivery is leased this is when the lease runs out, so a
    -- delivery whose owner died becomes due again by itself.
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    validation_code TEXT,
    trace_parent    TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

-- The queue: only deliveries in progress, in due order. Leased rows sit
-- at the end of their lease, past every row that is due now.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'in_progress';
-- A webhook's deliveries newest first, and the cascade from webhooks.
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, created_at DESC, id DESC);
-- An idempotent replay answers with the first publication's deliveries;
-- without this it would scan the whole table.
CREATE INDEX deliveries_event_id ON deliveries (event_id) WHERE event_id IS NOT NULL;

CREATE TABLE attempts (
    delivery_id      TEXT    NOT NULL REFERENCES deliveries ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_us      INTEGER NOT NULL,
    request_url      TEXT    NOT NULL,
    request_headers  TEXT    NOT NULL,  -- JSON of http.Header
    -- NULL when the body was the event's payload, which is not stored
    -- again for every attempt.
    request_body     BLOB,
    response_status  INTEGER,  -- NULL when no response arrived
    response_headers TEXT,
    response_body    BLOB,
    error            TEXT    NOT NULL,
    PRIMARY KEY (delivery_id, number)
) STRICT;

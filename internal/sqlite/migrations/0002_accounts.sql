-- Accounts, their API tokens and the audit trail (SPEC §9). The
-- PostgreSQL twin has the same tables and columns.

CREATE TABLE accounts (
    -- AUTOINCREMENT: an id is never reused, so an audit entry naming
    -- "account 3" never points at someone else.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,  -- internal/password encoding; '' for none
    admin         INTEGER NOT NULL,
    publish_all   INTEGER NOT NULL,
    publish       TEXT    NOT NULL,  -- JSON array of study ids
    manage        TEXT    NOT NULL,  -- JSON array of study ids
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- Emails are unique without regard to case.
CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE,  -- SHA-256 of the secret
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX tokens_account_id ON tokens (account_id);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    study_id INTEGER,           -- NULL for targets outside studies
    target   TEXT    NOT NULL,
    detail   TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_log_study_id ON audit_log (study_id, id) WHERE study_id IS NOT NULL;

-- Portal sessions: an account's sign-ins to the web portal. The
-- PostgreSQL twin has the same table and columns.

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts ON DELETE CASCADE,
    hash       BLOB    NOT NULL UNIQUE,  -- SHA-256 of the secret
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- A new password deletes the account's sessions, and so does the cascade
-- from accounts; without this both would scan the whole table.
CREATE INDEX sessions_account_id ON sessions (account_id);
-- Every new session deletes the ones that expired before it.
CREATE INDEX sessions_expires_at ON sessions (expires_at);

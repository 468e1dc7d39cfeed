-- Test events (SPEC §15): the catalog's example sent to one webhook on
-- request; their deliveries carry <prefix>Test: true. The PostgreSQL twin
-- adds the same column.
ALTER TABLE events ADD COLUMN test INTEGER NOT NULL DEFAULT 0;

-- Self-service tokens (SPEC §15) may be narrowed to some of their
-- account's roles: JSON of hookshot.TokenRoles, NULL for all of them.
ALTER TABLE tokens ADD COLUMN roles TEXT;

-- Signature formats, secret rotation with overlap, and the studies'
-- Ed25519 signing keys (SPEC §16). The SQLite twin has the same columns
-- and table.

-- 'actigraph' (SPEC §3) or 'standard' (Standard Webhooks).
ALTER TABLE webhooks ADD COLUMN format text NOT NULL DEFAULT 'actigraph';
-- The end of a secret rotation's overlap: until then the previous secret,
-- sealed with the others in credentials, signs too. NULL when none.
ALTER TABLE webhooks ADD COLUMN previous_secret_until timestamptz;

CREATE TABLE signing_keys (
    kid         text COLLATE "C" PRIMARY KEY,  -- RFC 7638 thumbprint of the public key
    study_id    bigint      NOT NULL,
    public_key  bytea       NOT NULL,          -- 32 bytes
    private_key bytea       NOT NULL,          -- sealed like credentials
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz                    -- NULL for the study's current key
);

-- One current key per study, so that processes creating a study's first
-- key at once agree on one.
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (study_id) WHERE expires_at IS NULL;
CREATE INDEX signing_keys_study ON signing_keys (study_id, created_at);

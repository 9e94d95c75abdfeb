-- TOTP seeds sealed at rest: `secret` holds an AES-256-GCM envelope under the data key (the
-- DATA_KEY secret, never in D1; worker/src/lib/data-key.ts) instead of the base32 seed.
-- `secret_format`: 0 = the seed as it is (rows written before this migration), 1 = envelope v1.
-- `secret_key_id`: the id of the data key that sealed it (null for format 0). A SQL migration
-- cannot encrypt, so the rows this migration finds stay format 0 until the worker seals them: at
-- the first password sign-in after the upgrade (all of them, whoever signs in) or at the row's
-- own first use, whichever is first (docs/security.md, "Secrets at rest").
ALTER TABLE totp_credentials ADD COLUMN secret_format INTEGER NOT NULL DEFAULT 0 CHECK (secret_format IN (0, 1));
ALTER TABLE totp_credentials ADD COLUMN secret_key_id TEXT;
-- Finds rows still to seal (format 0, or sealed under a retired key) without reading the others.
CREATE INDEX totp_credentials_key ON totp_credentials (secret_key_id);

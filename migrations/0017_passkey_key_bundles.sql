-- Passkey envelopes of the key bundle (docs/evidence-format.md §3.1.2): the same private keys as
-- key_bundles.jwe, sealed under a key derived from one passkey's WebAuthn PRF output, which only
-- the user's authenticator can produce. At most one per passkey; removed with the passkey (the
-- routes delete it in the same batch; the foreign key is a second line), and all of a user's at
-- recovery, since they hold the old signing key. The server can open none of them.
CREATE TABLE passkey_key_bundles (
  passkey_id  TEXT PRIMARY KEY REFERENCES passkeys(id) ON DELETE CASCADE,
  user_id     TEXT NOT NULL REFERENCES users(id),
  jwe         TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
CREATE INDEX passkey_key_bundles_by_user ON passkey_key_bundles (user_id);

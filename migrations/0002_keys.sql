-- Keys: public halves and sealed bundles only. The server can open no bundle and unwrap no key.

-- The organisation recovery key's public half (ECDH P-521 JWK), created in the browser at setup.
-- Every case key is also wrapped to it. Its private half was downloaded once by the first admin.
CREATE TABLE recovery_keys (
  org_id      TEXT PRIMARY KEY REFERENCES organisations(id),
  kid         TEXT NOT NULL UNIQUE,
  public_jwk  TEXT NOT NULL,
  created_at  TEXT NOT NULL
);

-- Every public key a user has registered, current and retired: signing keys stay here for good so
-- that what they signed can still be verified; `retired_at` is set when a key is replaced.
CREATE TABLE user_keys (
  kid         TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id),
  use         TEXT NOT NULL CHECK (use IN ('sig', 'enc')),
  public_jwk  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  retired_at  TEXT
);
CREATE INDEX user_keys_by_user ON user_keys (user_id, use, retired_at);
-- At most one current key of each use per user.
CREATE UNIQUE INDEX user_keys_current ON user_keys (user_id, use) WHERE retired_at IS NULL;

-- The user's private keys sealed with their key passphrase (JWE, PBES2-HS512+A256KW, A256GCM).
CREATE TABLE key_bundles (
  user_id     TEXT PRIMARY KEY REFERENCES users(id),
  jwe         TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

-- Recovery after a lost key passphrase. The encryption private key is escrowed to the
-- organisation recovery key (a JWE only the recovery key holder can open); the signing key never is.
ALTER TABLE key_bundles ADD COLUMN escrow TEXT;

-- A user who lost their key passphrase asks for recovery with a one-time transport public key;
-- an administrator holding the recovery key answers with the encryption key wrapped to it.
CREATE TABLE recovery_requests (
  id                TEXT PRIMARY KEY,
  user_id           TEXT NOT NULL REFERENCES users(id),
  transport_jwk     TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('pending', 'released', 'completed', 'cancelled')),
  transfer          TEXT,
  created_at        TEXT NOT NULL,
  released_by       TEXT REFERENCES users(id),
  released_at       TEXT,
  completed_at      TEXT
);
-- At most one open request per user.
CREATE UNIQUE INDEX recovery_requests_open ON recovery_requests (user_id) WHERE status IN ('pending', 'released');

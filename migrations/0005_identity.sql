-- Identity: MFA (TOTP, recovery codes, passkeys), lockout, per-IP throttling, organisation
-- settings, and session stages. Secrets that let someone sign in are stored only as hashes
-- (recovery codes); the TOTP seed must be usable by the server and is stored as is (see
-- docs/security.md, "MFA"); passkeys are public keys.

-- Sessions: a stage ('active', or restricted to finishing MFA), a public id to list and revoke
-- them by, the last (re-)authentication time for sensitive actions, and how they signed in.
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'active' CHECK (stage IN ('active', 'mfa_pending', 'mfa_enrolment'));
ALTER TABLE sessions ADD COLUMN public_id TEXT;
ALTER TABLE sessions ADD COLUMN auth_at TEXT;
ALTER TABLE sessions ADD COLUMN method TEXT;
UPDATE sessions SET public_id = lower(hex(randomblob(16))), auth_at = created_at, method = 'password';
CREATE UNIQUE INDEX sessions_by_public_id ON sessions (public_id);

-- Organisation settings; a missing row means the defaults.
CREATE TABLE org_settings (
  org_id                     TEXT PRIMARY KEY REFERENCES organisations(id),
  mfa_required               INTEGER NOT NULL DEFAULT 1 CHECK (mfa_required IN (0, 1)),
  password_min_length        INTEGER NOT NULL DEFAULT 12 CHECK (password_min_length BETWEEN 8 AND 64),
  idle_timeout_minutes       INTEGER NOT NULL DEFAULT 30 CHECK (idle_timeout_minutes BETWEEN 5 AND 1440),
  absolute_lifetime_minutes  INTEGER NOT NULL DEFAULT 720 CHECK (absolute_lifetime_minutes BETWEEN 15 AND 10080),
  updated_at                 TEXT NOT NULL,
  updated_by                 TEXT REFERENCES users(id)
);

-- TOTP (RFC 6238, SHA-1, 30 s, 6 digits). `confirmed_at` is null while enrolment awaits its
-- first code; `last_step` is the last accepted time step, so no code is accepted twice.
CREATE TABLE totp_credentials (
  user_id       TEXT PRIMARY KEY REFERENCES users(id),
  secret        TEXT NOT NULL,
  confirmed_at  TEXT,
  last_step     INTEGER,
  created_at    TEXT NOT NULL
);

-- One-time recovery codes, as SHA-256 (hex) of the normalised code (80 random bits each).
CREATE TABLE recovery_codes (
  user_id    TEXT NOT NULL REFERENCES users(id),
  code_hash  TEXT NOT NULL,
  created_at TEXT NOT NULL,
  used_at    TEXT,
  PRIMARY KEY (user_id, code_hash)
);

-- WebAuthn credentials (passkeys): the credential id and COSE public key (base64url).
CREATE TABLE passkeys (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users(id),
  public_key    TEXT NOT NULL,
  counter       INTEGER NOT NULL,
  transports    TEXT NOT NULL,
  name          TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  last_used_at  TEXT
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- Outstanding WebAuthn challenges: single use, short-lived, bound to a purpose and, except for
-- passwordless sign-in, to the user and session that asked for them.
CREATE TABLE webauthn_challenges (
  id            TEXT PRIMARY KEY,
  challenge     TEXT NOT NULL,
  purpose       TEXT NOT NULL CHECK (purpose IN ('register', 'sign_in', 'second_factor', 'reauth')),
  user_id       TEXT REFERENCES users(id),
  session_hash  TEXT,
  expires_at    TEXT NOT NULL
);

-- Consecutive sign-in failures per email address (known or not, so an unknown address costs the
-- same work and answers the same), and the lock they set.
CREATE TABLE sign_in_failures (
  email         TEXT PRIMARY KEY,
  failures      INTEGER NOT NULL,
  locked_until  TEXT,
  updated_at    TEXT NOT NULL
);

-- Failed sign-in attempts per client IP, for the sliding-window throttle.
CREATE TABLE sign_in_attempts (
  ip  TEXT NOT NULL,
  at  TEXT NOT NULL
);
CREATE INDEX sign_in_attempts_by_ip ON sign_in_attempts (ip, at);

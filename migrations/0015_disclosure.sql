-- Disclosure (issue 16): shares of evidence with guests and through links, and signed receipts.
-- See docs/disclosure.md. Nothing here opens a share: the share private key is stored only
-- wrapped to the guest's encryption key or to a key derived from the link secret (which never
-- reaches the server); item and case keys only wrapped to the share public key.

-- Guests: accounts of their own kind. The role CHECK of 0001 cannot be widened without rebuilding
-- `users` (which foreign-key enforcement refuses inside a migration), so a guest is stored with
-- role 'site_operator' (the least privileged: no cases, no directory) and guest = 1; the API
-- reads such a row as role 'guest'.
ALTER TABLE users ADD COLUMN guest INTEGER NOT NULL DEFAULT 0 CHECK (guest IN (0, 1));

CREATE TABLE shares (
  id                TEXT PRIMARY KEY,
  org_id            TEXT NOT NULL REFERENCES organisations(id),
  case_id           TEXT NOT NULL REFERENCES cases(id),
  scope             TEXT NOT NULL CHECK (scope IN ('case', 'items')),
  include_later     INTEGER NOT NULL DEFAULT 0 CHECK (include_later IN (0, 1)),
  level             TEXT NOT NULL CHECK (level IN ('view', 'download', 'export')),
  recipient_type    TEXT NOT NULL CHECK (recipient_type IN ('guest', 'link')),
  guest_id          TEXT REFERENCES users(id),
  -- Who a link is for, as the sharer wrote it ("Defence counsel, R v Smith"); a guest's name otherwise.
  recipient_label   TEXT NOT NULL,
  share_kid         TEXT NOT NULL,
  share_public_jwk  TEXT NOT NULL,
  -- The share private key: JWE (ECDH-ES+A256KW) to the guest's encryption key `recipient_kid`,
  -- or (A256KW, kid 'link') to the key derived from the link secret. NULL once revoked.
  share_key_wrap    TEXT,
  recipient_kid     TEXT,
  -- Link shares: PBKDF2 hash of the access code (lib/password.ts), consecutive wrong codes, lock.
  access_code_hash  TEXT,
  code_failures     INTEGER NOT NULL DEFAULT 0,
  locked_at         TEXT,
  expires_at        TEXT NOT NULL,
  created_by        TEXT NOT NULL REFERENCES users(id),
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  revoked_at        TEXT,
  revoked_by        TEXT REFERENCES users(id),
  CHECK ((recipient_type = 'guest') = (guest_id IS NOT NULL)),
  CHECK ((recipient_type = 'link') = (access_code_hash IS NOT NULL))
);
CREATE INDEX shares_by_case ON shares (case_id, created_at);
CREATE INDEX shares_by_guest ON shares (guest_id);

-- The items of a share. For scope 'items', the file key and label re-wrapped to the share key
-- (NULL once revoked); for scope 'case', the items that existed when it was made (wraps NULL:
-- they open with the case key, share_case_keys).
CREATE TABLE share_items (
  share_id     TEXT NOT NULL REFERENCES shares(id),
  evidence_id  TEXT NOT NULL REFERENCES evidence(id),
  file_key     TEXT,
  label        TEXT,
  PRIMARY KEY (share_id, evidence_id)
);

-- Scope 'case': each case private key wrapped (ECDH-ES+A256KW) to the share public key.
CREATE TABLE share_case_keys (
  share_id  TEXT NOT NULL REFERENCES shares(id),
  case_kid  TEXT NOT NULL REFERENCES case_keys(kid),
  jwe       TEXT NOT NULL,
  PRIMARY KEY (share_id, case_kid)
);

-- Link sessions, opened by a right access code; only the token's SHA-256 (hex) is stored.
CREATE TABLE share_sessions (
  token_hash  TEXT PRIMARY KEY,
  share_id    TEXT NOT NULL REFERENCES shares(id),
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  revoked_at  TEXT,
  ip          TEXT
);
CREATE INDEX share_sessions_by_share ON share_sessions (share_id);

-- Signed receipts (compact JWS, typ custody-receipt+jws; docs/evidence-format.md §10).
CREATE TABLE share_receipts (
  id              TEXT PRIMARY KEY,
  share_id        TEXT NOT NULL REFERENCES shares(id),
  jws             TEXT NOT NULL,
  signer_kid      TEXT NOT NULL,
  recipient_name  TEXT NOT NULL,
  item_count      INTEGER NOT NULL,
  received_at     TEXT NOT NULL,
  recorded_at     TEXT NOT NULL
);
CREATE INDEX share_receipts_by_share ON share_receipts (share_id, recorded_at);

-- Receipts are timestamped like manifests: the subject_type CHECK gains 'receipt' (the table is
-- rebuilt; nothing references it).
CREATE TABLE timestamps_new (
  subject_type TEXT NOT NULL CHECK (subject_type IN ('manifest', 'checkpoint', 'receipt')),
  subject_id TEXT NOT NULL,
  org_id TEXT NOT NULL REFERENCES organisations (id),
  data TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'stamped', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  next_attempt_at TEXT,
  tsa_url TEXT,
  tsa_ca_pem TEXT,
  token TEXT,
  gen_time TEXT,
  tsa_name TEXT,
  serial TEXT,
  created_at TEXT NOT NULL,
  stamped_at TEXT,
  PRIMARY KEY (subject_type, subject_id)
);
INSERT INTO timestamps_new SELECT subject_type, subject_id, org_id, data, state, attempts, last_error, next_attempt_at, tsa_url, tsa_ca_pem, token, gen_time, tsa_name, serial, created_at, stamped_at FROM timestamps;
DROP TABLE timestamps;
ALTER TABLE timestamps_new RENAME TO timestamps;
CREATE INDEX timestamps_due ON timestamps (org_id, state, next_attempt_at);

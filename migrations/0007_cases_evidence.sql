-- Cases and evidence. What the server holds about content is only ciphertext, wrapped keys
-- and signed manifests: file names, media types, capture metadata and evidence descriptions
-- are JWEs under the file key. Case number, title, tags and status are plain (they are how
-- investigators find a case; they are not evidence).

CREATE TABLE cases (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES organisations(id),
  number       TEXT NOT NULL,
  title        TEXT NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  tags         TEXT NOT NULL DEFAULT '[]',
  status       TEXT NOT NULL CHECK (status IN ('open', 'closed')),
  created_by   TEXT NOT NULL REFERENCES users(id),
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  UNIQUE (org_id, number)
);

CREATE TABLE case_members (
  case_id   TEXT NOT NULL REFERENCES cases(id),
  user_id   TEXT NOT NULL REFERENCES users(id),
  role      TEXT NOT NULL CHECK (role IN ('lead', 'contributor', 'viewer')),
  added_by  TEXT NOT NULL REFERENCES users(id),
  added_at  TEXT NOT NULL,
  PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_members_by_user ON case_members (user_id);

-- Case key pairs (ECDH P-521). A new one is made when a member is removed; new evidence uses
-- the current one (retired_at null); older evidence keeps the key it was wrapped to.
CREATE TABLE case_keys (
  kid         TEXT PRIMARY KEY,
  case_id     TEXT NOT NULL REFERENCES cases(id),
  public_jwk  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  retired_at  TEXT
);
CREATE UNIQUE INDEX case_keys_current ON case_keys (case_id) WHERE retired_at IS NULL;

-- The case private key wrapped (ECDH-ES+A256KW JWE) to a member's encryption key, or to the
-- organisation recovery key (recipient_user null).
CREATE TABLE case_key_wraps (
  case_kid        TEXT NOT NULL REFERENCES case_keys(kid),
  recipient_kid   TEXT NOT NULL,
  recipient_user  TEXT REFERENCES users(id),
  jwe             TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  PRIMARY KEY (case_kid, recipient_kid)
);
CREATE INDEX case_key_wraps_by_user ON case_key_wraps (recipient_user);

CREATE TABLE evidence (
  id               TEXT PRIMARY KEY,
  case_id          TEXT NOT NULL REFERENCES cases(id),
  status           TEXT NOT NULL CHECK (status IN ('uploading', 'complete')),
  byte_size        INTEGER NOT NULL,
  part_count       INTEGER NOT NULL,
  ciphertext_size  INTEGER NOT NULL,
  manifest         TEXT NOT NULL,
  signer_kid       TEXT NOT NULL,
  case_kid         TEXT NOT NULL REFERENCES case_keys(kid),
  file_key         TEXT NOT NULL,
  r2_key           TEXT NOT NULL,
  upload_id        TEXT,
  uploader_id      TEXT NOT NULL REFERENCES users(id),
  created_at       TEXT NOT NULL,
  completed_at     TEXT
);
CREATE INDEX evidence_by_case ON evidence (case_id, created_at);

-- Parts received for an upload in progress (and kept after, as the record of what was stored).
CREATE TABLE evidence_parts (
  evidence_id  TEXT NOT NULL REFERENCES evidence(id),
  part_number  INTEGER NOT NULL,
  byte_length  INTEGER NOT NULL,
  sha512       TEXT NOT NULL,
  etag         TEXT NOT NULL,
  uploaded_at  TEXT NOT NULL,
  PRIMARY KEY (evidence_id, part_number)
);

-- Evidence details (title, description, tags, location), as JWEs under the file key, versioned:
-- an edit adds a version, never changes one. The original file is never modified.
CREATE TABLE evidence_details (
  evidence_id  TEXT NOT NULL REFERENCES evidence(id),
  version      INTEGER NOT NULL,
  jwe          TEXT NOT NULL,
  edited_by    TEXT NOT NULL REFERENCES users(id),
  edited_at    TEXT NOT NULL,
  PRIMARY KEY (evidence_id, version)
);

-- Server-side secrets made on first use (the HMAC key of signed upload URLs).
CREATE TABLE server_secrets (
  name        TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  created_at  TEXT NOT NULL
);

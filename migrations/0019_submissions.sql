-- Submissions (issue 17): links through which people outside the organisation send evidence,
-- encrypted in their browser. See docs/submissions.md. Nothing here opens a submission: the
-- submission private key is stored only wrapped to a case key (ECDH-ES+A256KW), made and wrapped
-- in the creating member's browser.
CREATE TABLE submission_links (
  -- 256 random bits, base64url, made by the server: the link's only address, unguessable.
  id                     TEXT PRIMARY KEY,
  org_id                 TEXT NOT NULL REFERENCES organisations(id),
  case_id                TEXT NOT NULL REFERENCES cases(id),
  audience               TEXT NOT NULL CHECK (audience IN ('person', 'public')),
  -- Who it is for, as the member wrote it ("Corner shop CCTV", "Public appeal, High St fire").
  label                  TEXT NOT NULL,
  -- A person link's address, when the member gave one (the link is emailed there if mail is set up).
  recipient_email        TEXT,
  instructions           TEXT NOT NULL,
  max_files              INTEGER NOT NULL CHECK (max_files > 0),
  max_bytes              INTEGER NOT NULL CHECK (max_bytes > 0),
  submission_kid         TEXT NOT NULL,
  submission_public_jwk  TEXT NOT NULL,
  -- The submission private key: JWE (custody-submission-key+jwe, ECDH-ES+A256KW) to case key
  -- `case_kid`. NULL once revoked and no submission waits for intake.
  submission_key_wrap    TEXT,
  case_kid               TEXT NOT NULL REFERENCES case_keys(kid),
  expires_at             TEXT NOT NULL,
  created_by             TEXT NOT NULL REFERENCES users(id),
  created_at             TEXT NOT NULL,
  revoked_at             TEXT,
  revoked_by             TEXT REFERENCES users(id),
  CHECK (audience = 'person' OR recipient_email IS NULL)
);
CREATE INDEX submission_links_by_case ON submission_links (case_id, created_at);

-- What a submitter sends through a link: one submission (a visit), its files and their parts. The
-- submitter's browser made the id, a signing key (its public half here) and a bearer token (only
-- its SHA-256 here) that lets it resume. Every file key and label is wrapped to the link's
-- submission key; the details (name, contact, statement) are a JWE to it: the server opens none.
CREATE TABLE submissions (
  id                 TEXT PRIMARY KEY,
  link_id            TEXT NOT NULL REFERENCES submission_links(id),
  org_id             TEXT NOT NULL REFERENCES organisations(id),
  case_id            TEXT NOT NULL REFERENCES cases(id),
  token_hash         TEXT NOT NULL,
  signer_kid         TEXT NOT NULL,
  signer_public_jwk  TEXT NOT NULL,
  details            TEXT,
  status             TEXT NOT NULL CHECK (status IN ('sending', 'sent')),
  ip                 TEXT,
  user_agent         TEXT,
  created_at         TEXT NOT NULL,
  sent_at            TEXT
);
CREATE INDEX submissions_by_link ON submissions (link_id, created_at);

CREATE TABLE submission_files (
  id               TEXT PRIMARY KEY,
  submission_id    TEXT NOT NULL REFERENCES submissions(id),
  link_id          TEXT NOT NULL REFERENCES submission_links(id),
  byte_size        INTEGER NOT NULL,
  part_count       INTEGER NOT NULL,
  ciphertext_size  INTEGER NOT NULL,
  file_key         TEXT NOT NULL,
  label            TEXT NOT NULL,
  r2_key           TEXT NOT NULL,
  upload_id        TEXT,
  manifest         TEXT,
  status           TEXT NOT NULL CHECK (status IN ('uploading', 'complete')),
  created_at       TEXT NOT NULL,
  completed_at     TEXT
);
CREATE INDEX submission_files_by_link ON submission_files (link_id);
CREATE INDEX submission_files_by_submission ON submission_files (submission_id);

CREATE TABLE submission_parts (
  file_id      TEXT NOT NULL REFERENCES submission_files(id),
  part_number  INTEGER NOT NULL,
  byte_length  INTEGER NOT NULL,
  sha512       TEXT NOT NULL,
  etag         TEXT NOT NULL,
  PRIMARY KEY (file_id, part_number)
);

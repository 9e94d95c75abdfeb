-- Trusted timestamps, RFC 3161 (issue 15, item 4). The organisation's time-stamping authority
-- (NULL: none configured) and, optionally, the CA certificate(s) its tokens must chain to.
ALTER TABLE org_settings ADD COLUMN tsa_url TEXT;
ALTER TABLE org_settings ADD COLUMN tsa_ca_pem TEXT;

-- One row per thing stamped: a manifest signature (subject_type 'manifest', subject_id the
-- evidence id) or an audit checkpoint signature ('checkpoint', the checkpoint's seq). `data` is
-- the stamped bytes, base64url (the JWS signature, decoded: the imprint is their SHA-512).
-- pending: asked for (or not yet reached), retried from next_attempt_at on; stamped: `token`
-- holds the TimeStampToken (CMS ContentInfo, DER, base64), checked at receipt against
-- `tsa_ca_pem` (the organisation's setting then; NULL: signature only); failed: given up.
CREATE TABLE timestamps (
  subject_type TEXT NOT NULL CHECK (subject_type IN ('manifest', 'checkpoint')),
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
CREATE INDEX timestamps_due ON timestamps (org_id, state, next_attempt_at);

-- Intake of submitted files (issue 17, docs/submissions.md §5): a member accepts a submitted file
-- as evidence of the case, or rejects it (its keys deleted first, then its object).
ALTER TABLE submission_files ADD COLUMN decision TEXT CHECK (decision IN ('accepted', 'rejected'));
ALTER TABLE submission_files ADD COLUMN decided_by TEXT REFERENCES users(id);
ALTER TABLE submission_files ADD COLUMN decided_at TEXT;

-- Where evidence accepted from a submission link came from. The evidence row keeps the stored
-- object (submissions/<linkId>/<fileId>) and the manifest the submitter signed; its uploader is the
-- member who accepted it, its signer the submitter's key (submitter_keys).
CREATE TABLE evidence_provenance (
  evidence_id          TEXT PRIMARY KEY REFERENCES evidence(id),
  link_id              TEXT NOT NULL REFERENCES submission_links(id),
  -- The link's label when the file was accepted ("Corner shop CCTV").
  link_label           TEXT NOT NULL,
  submission_id        TEXT NOT NULL REFERENCES submissions(id),
  signer_kid           TEXT NOT NULL,
  -- The submission private key, still wrapped (custody-submission-key+jwe) to case key `case_kid`,
  -- so members can read `details` after the link is gone.
  submission_key_wrap  TEXT NOT NULL,
  case_kid             TEXT NOT NULL REFERENCES case_keys(kid),
  -- The submitter's name, contact and statement: custody-submission-details+jwe to the submission key (still encrypted), or NULL.
  details              TEXT,
  sent_at              TEXT NOT NULL,
  ip                   TEXT,
  user_agent           TEXT,
  accepted_by          TEXT NOT NULL REFERENCES users(id),
  accepted_at          TEXT NOT NULL
);
CREATE INDEX evidence_provenance_by_signer ON evidence_provenance (signer_kid);

-- Signing keys made in submitters' browsers (one per submission), registered in the audit log
-- (keys.signer_register, holder type 'submitter') when the first file they signed is accepted.
CREATE TABLE submitter_keys (
  kid            TEXT PRIMARY KEY,
  org_id         TEXT NOT NULL REFERENCES organisations(id),
  submission_id  TEXT NOT NULL REFERENCES submissions(id),
  link_id        TEXT NOT NULL REFERENCES submission_links(id),
  link_label     TEXT NOT NULL,
  public_jwk     TEXT NOT NULL,
  valid_from     TEXT NOT NULL,
  registered_at  TEXT NOT NULL
);

-- Retention, legal hold and disposition (issue 21, docs/retention.md).

-- Evidence categories and their retention rule: kept `period_count` `period_unit` after the case
-- closes ('case_closed') or after the item was received ('capture'), or for ever ('indefinite',
-- period null).
CREATE TABLE retention_categories (
  id            TEXT PRIMARY KEY,
  org_id        TEXT NOT NULL REFERENCES organisations(id),
  name          TEXT NOT NULL,
  basis         TEXT NOT NULL CHECK (basis IN ('case_closed', 'capture', 'indefinite')),
  period_count  INTEGER CHECK (period_count IS NULL OR period_count BETWEEN 0 AND 36500),
  period_unit   TEXT CHECK (period_unit IS NULL OR period_unit IN ('days', 'years')),
  created_by    TEXT,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  UNIQUE (org_id, name),
  CHECK ((basis = 'indefinite') = (period_count IS NULL AND period_unit IS NULL))
);

-- The organisation's retention settings: the default category of new evidence, automatic
-- deletion (null: every deletion needs an administrator's approval; N: items due for N days are
-- deleted by the daily job) and how long deleted items stay in the recycle bin.
CREATE TABLE retention_settings (
  org_id               TEXT PRIMARY KEY REFERENCES organisations(id),
  default_category_id  TEXT NOT NULL REFERENCES retention_categories(id),
  auto_delete_days     INTEGER CHECK (auto_delete_days IS NULL OR auto_delete_days BETWEEN 1 AND 365),
  bin_days             INTEGER NOT NULL DEFAULT 7 CHECK (bin_days BETWEEN 1 AND 365),
  updated_by           TEXT,
  updated_at           TEXT NOT NULL
);

-- Legal holds on a whole case or on one item. Active while lifted_at is null; kept after, as
-- the record of the hold.
CREATE TABLE legal_holds (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES organisations(id),
  case_id      TEXT NOT NULL REFERENCES cases(id),
  evidence_id  TEXT,
  reason       TEXT NOT NULL,
  set_by       TEXT NOT NULL REFERENCES users(id),
  set_at       TEXT NOT NULL,
  lifted_by    TEXT REFERENCES users(id),
  lifted_at    TEXT,
  lift_reason  TEXT
);
CREATE INDEX legal_holds_active_case ON legal_holds (case_id) WHERE lifted_at IS NULL;
CREATE INDEX legal_holds_active_item ON legal_holds (evidence_id) WHERE lifted_at IS NULL;

-- A closed case's disposition; closed_at starts the 'case_closed' clocks (null while open).
ALTER TABLE cases ADD COLUMN disposition TEXT;
ALTER TABLE cases ADD COLUMN disposition_note TEXT;
ALTER TABLE cases ADD COLUMN closed_at TEXT;
UPDATE cases SET closed_at = updated_at, disposition = 'not_recorded' WHERE status = 'closed';

-- An item's category and where it stands in disposal: due (the daily job found it past
-- retention, at due_at), asked to be deleted by its uploader, deleted to the recycle bin
-- (deleted_at, purged after purge_after), and shredded (its file key deleted; purge_started_at)
-- on its way to being purged, when the row itself goes and a tombstone stays.
ALTER TABLE evidence ADD COLUMN category_id TEXT REFERENCES retention_categories(id);
ALTER TABLE evidence ADD COLUMN due_at TEXT;
ALTER TABLE evidence ADD COLUMN deletion_requested_by TEXT;
ALTER TABLE evidence ADD COLUMN deletion_requested_at TEXT;
ALTER TABLE evidence ADD COLUMN deletion_reason TEXT;
ALTER TABLE evidence ADD COLUMN deleted_at TEXT;
ALTER TABLE evidence ADD COLUMN deleted_by TEXT;
ALTER TABLE evidence ADD COLUMN purge_after TEXT;
ALTER TABLE evidence ADD COLUMN purge_started_at TEXT;
CREATE INDEX evidence_in_bin ON evidence (purge_after) WHERE deleted_at IS NOT NULL;

-- What remains of a purged item: proof of what was destroyed, why, who approved it and when.
CREATE TABLE evidence_tombstones (
  evidence_id      TEXT PRIMARY KEY,
  org_id           TEXT NOT NULL REFERENCES organisations(id),
  case_id          TEXT NOT NULL REFERENCES cases(id),
  manifest_sha512  TEXT NOT NULL,
  byte_size        INTEGER NOT NULL,
  uploader_id      TEXT NOT NULL,
  received_at      TEXT NOT NULL,
  category_id      TEXT,
  category_name    TEXT NOT NULL,
  rule             TEXT NOT NULL,
  reason           TEXT NOT NULL CHECK (reason IN ('retention', 'request')),
  requested_by     TEXT,
  request_reason   TEXT,
  approved_by      TEXT,
  deleted_at       TEXT NOT NULL,
  shredded_at      TEXT NOT NULL,
  purged_at        TEXT
);
CREATE INDEX evidence_tombstones_by_org ON evidence_tombstones (org_id, shredded_at);

-- Every organisation starts with one category that keeps evidence indefinitely (what Custody did
-- until now); it is the default, and existing evidence is put in it.
INSERT INTO retention_categories (id, org_id, name, basis, created_at, updated_at)
SELECT lower(hex(randomblob(16))), id, 'General', 'indefinite', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM organisations;
INSERT INTO retention_settings (org_id, default_category_id, updated_at)
SELECT org_id, id, created_at FROM retention_categories;
UPDATE evidence SET category_id = (
  SELECT s.default_category_id FROM retention_settings s JOIN cases c ON c.org_id = s.org_id WHERE c.id = evidence.case_id
);

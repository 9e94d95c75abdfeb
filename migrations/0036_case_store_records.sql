-- Issue 24: what grows with evidence leaves the one D1 database. An item's record (the signed
-- manifest, the wrapped file key, the label, the thumbnail, the filing record) and the contents
-- of its details versions move to its case's CaseStore Durable Object (docs/storage-schema.md,
-- "What grows with evidence"); D1 keeps the small row and names the record by its SHA-256.
-- A row that names a record has its manifest '' and file_key '' and its label, thumbnail and
-- filing null here; a details version that names one has its jwe '' and case copy null.
-- Rows written before this migration name none and keep their fields until the daily job moves
-- them (worker/src/lib/record-move.ts); every read takes either form, so nothing waits for it.
ALTER TABLE evidence ADD COLUMN record_ref TEXT;
ALTER TABLE evidence_details ADD COLUMN ref TEXT;

-- Rows still to move, for the daily job (a partial index: empty once they have moved).
CREATE INDEX evidence_unmoved ON evidence (case_id) WHERE record_ref IS NULL AND purge_started_at IS NULL;
CREATE INDEX evidence_details_unmoved ON evidence_details (evidence_id) WHERE ref IS NULL;

-- Issue 24: the case list showed each case's item count by counting the case's evidence rows on
-- every list (a scan that grows with the evidence). The count is now kept on the case, by
-- triggers, so every change of an item (upload completed, moved to the recycle bin, restored,
-- purged, filed into another case) keeps it exact whatever code path makes it.
-- Counted: items with status 'complete' and not in the recycle bin (deleted_at null).
ALTER TABLE cases ADD COLUMN evidence_count INTEGER NOT NULL DEFAULT 0;

UPDATE cases SET evidence_count = (
  SELECT count(*) FROM evidence e WHERE e.case_id = cases.id AND e.status = 'complete' AND e.deleted_at IS NULL
);

CREATE TRIGGER evidence_count_insert AFTER INSERT ON evidence
  WHEN NEW.status = 'complete' AND NEW.deleted_at IS NULL
BEGIN
  UPDATE cases SET evidence_count = evidence_count + 1 WHERE id = NEW.case_id;
END;

CREATE TRIGGER evidence_count_delete AFTER DELETE ON evidence
  WHEN OLD.status = 'complete' AND OLD.deleted_at IS NULL
BEGIN
  UPDATE cases SET evidence_count = evidence_count - 1 WHERE id = OLD.case_id;
END;

CREATE TRIGGER evidence_count_update_old AFTER UPDATE OF status, deleted_at, case_id ON evidence
  WHEN OLD.status = 'complete' AND OLD.deleted_at IS NULL
BEGIN
  UPDATE cases SET evidence_count = evidence_count - 1 WHERE id = OLD.case_id;
END;

CREATE TRIGGER evidence_count_update_new AFTER UPDATE OF status, deleted_at, case_id ON evidence
  WHEN NEW.status = 'complete' AND NEW.deleted_at IS NULL
BEGIN
  UPDATE cases SET evidence_count = evidence_count + 1 WHERE id = NEW.case_id;
END;

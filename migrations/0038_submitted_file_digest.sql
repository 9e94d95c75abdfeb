-- Issue 24: a submitted file's row is small once it is decided (docs/storage-schema.md, "What
-- grows with evidence"). Its signed manifest (about 200 bytes per 8 MiB part) was kept in D1 for
-- good; an accepted file's is in its evidence record, a rejected file's digests are in its
-- decision's audit event. The row now keeps the file's SHA-512 (what the submitter's receipt
-- lists, from its completion) and its manifest is emptied by the decision. Rows decided before
-- this migration are emptied by the daily job (worker/src/lib/record-move.ts); every read takes
-- either form.
ALTER TABLE submission_files ADD COLUMN sha512 TEXT;

-- Decided files still holding their manifest, for the daily job (a partial index: empty once done).
CREATE INDEX submission_files_undropped ON submission_files (decided_at) WHERE decision IS NOT NULL AND manifest <> '';

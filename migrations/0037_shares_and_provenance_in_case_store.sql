-- Issue 24: what else grows with evidence moves to the case's CaseStore Durable Object, with the
-- items' records (docs/storage-schema.md, "What grows with evidence").
--
-- A share's items: a whole-case share lists each item of the case, a share of chosen items
-- carries each one's file key and label wrapped to the share key. A share with
-- items_in_store = 1 has them in its case's object, under its share key; one made before this
-- migration keeps its share_items rows here until the daily job moves them
-- (worker/src/lib/record-move.ts), and every read takes either form.
ALTER TABLE shares ADD COLUMN items_in_store INTEGER NOT NULL DEFAULT 0 CHECK (items_in_store IN (0, 1));

-- Shares still to move, for the daily job (a partial index: empty once they have moved).
CREATE INDEX shares_unmoved ON shares (case_id) WHERE items_in_store = 0;

-- Where an item accepted from a submission link came from (the submission key's wrap, the
-- submitter's encrypted details, address and browser) is written into the item's record from
-- now on; evidence_provenance gets no new rows, and the daily job moves those it holds into
-- their items' records, then deletes them. No change of schema is needed for that.

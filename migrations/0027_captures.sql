-- Capture first, file later (docs/evidence-format.md §6.2). Each user's "My captures" is a
-- holding place stored as a row of `cases` with kind 'captures': its id is derived from the user
-- id (shared/crypto/filing.ts capturesScopeId), its only member is the user (as contributor, so
-- no lead-only action applies), and its one key is the user's own encryption key, so a capture's
-- file key is wrapped to the user and no case key exists for it. It is never listed as a case.
ALTER TABLE cases ADD COLUMN kind TEXT NOT NULL DEFAULT 'case' CHECK (kind IN ('case', 'captures'));

-- Filing a capture into a case: the filing record (compact JWS by the uploader, filing.ts) that
-- moves the item from the holding place its manifest names to the case it is now in. Null for
-- items uploaded straight into their case.
ALTER TABLE evidence ADD COLUMN filing TEXT;

-- Issue 16: expiry reminders. When the daily job sent a share's "ends soon" reminder (guests and
-- the sharer, a few days before expiry), so it goes once; cleared when the expiry is changed.
ALTER TABLE shares ADD COLUMN reminded_at TEXT;
CREATE INDEX shares_by_expiry ON shares (expires_at) WHERE revoked_at IS NULL AND reminded_at IS NULL;

-- Audit outbox: an audit event is written here in the same D1 transaction as the change it
-- records, so no change can commit without its event. The organisation's AuditLog Durable
-- Object then appends outbox rows to the hash chain, in `seq` order, and deletes them.
CREATE TABLE audit_outbox (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT NOT NULL UNIQUE,
  org_id      TEXT NOT NULL,
  event       TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
CREATE INDEX audit_outbox_by_org ON audit_outbox (org_id, seq);

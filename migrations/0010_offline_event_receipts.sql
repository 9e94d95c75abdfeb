-- Events a device recorded offline (POST /api/audit/offline-events) carry an id the device made.
-- One row per id received, so an event sent again (the answer was lost on a bad connection) is
-- recorded in the audit trail exactly once. Holds ids only, nothing about the evidence.
CREATE TABLE offline_event_receipts (
  user_id TEXT NOT NULL REFERENCES users(id),
  event_id TEXT NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (user_id, event_id)
) WITHOUT ROWID;

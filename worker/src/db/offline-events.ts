/** Receipts of events devices recorded offline (migrations/0009): each id once per user. */

/** Records that `userId`'s device sent event `eventId`; changes nothing if it had been received before. */
export function insertOfflineReceipt(db: D1Database, userId: string, eventId: string, receivedAt: string): D1PreparedStatement {
  return db
    .prepare("INSERT INTO offline_event_receipts (user_id, event_id, received_at) VALUES (?, ?, ?) ON CONFLICT (user_id, event_id) DO NOTHING")
    .bind(userId, eventId, receivedAt);
}

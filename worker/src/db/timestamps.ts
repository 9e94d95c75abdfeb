/** Storage for RFC 3161 timestamps (table `timestamps`, migrations/0013_trusted_timestamps.sql). */

export type TimestampSubject = { type: "manifest" | "checkpoint" | "receipt"; id: string };

export interface TimestampRow {
  subject_type: "manifest" | "checkpoint";
  subject_id: string;
  org_id: string;
  data: string;
  state: "pending" | "stamped" | "failed";
  attempts: number;
  last_error: string | null;
  next_attempt_at: string | null;
  tsa_url: string | null;
  tsa_ca_pem: string | null;
  token: string | null;
  gen_time: string | null;
  tsa_name: string | null;
  serial: string | null;
  created_at: string;
  stamped_at: string | null;
}

export async function findTimestamp(db: D1Database, subject: TimestampSubject): Promise<TimestampRow | null> {
  return db.prepare("SELECT * FROM timestamps WHERE subject_type = ? AND subject_id = ?").bind(subject.type, subject.id).first<TimestampRow>();
}

/** Records that `subject` needs a timestamp over `data` (base64url); a subject already recorded is left as it is. */
export function timestampInsert(db: D1Database, orgId: string, subject: TimestampSubject, data: string, now: string): D1PreparedStatement {
  return db
    .prepare("INSERT OR IGNORE INTO timestamps (subject_type, subject_id, org_id, data, state, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)")
    .bind(subject.type, subject.id, orgId, data, now, now);
}

export async function timestampStamped(
  db: D1Database,
  subject: TimestampSubject,
  t: { tsaUrl: string; caPem: string | null; token: string; genTime: string; tsaName: string; serial: string; now: string },
): Promise<void> {
  await db
    .prepare(
      `UPDATE timestamps SET state = 'stamped', attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL, tsa_url = ?, tsa_ca_pem = ?,
         token = ?, gen_time = ?, tsa_name = ?, serial = ?, stamped_at = ? WHERE subject_type = ? AND subject_id = ? AND state = 'pending'`,
    )
    .bind(t.tsaUrl, t.caPem, t.token, t.genTime, t.tsaName, t.serial, t.now, subject.type, subject.id)
    .run();
}

/** A failed attempt: retried from `nextAttemptAt`, or given up (`failed`) when that is null. */
export async function timestampAttemptFailed(db: D1Database, subject: TimestampSubject, error: string, tsaUrl: string, nextAttemptAt: string | null): Promise<void> {
  await db
    .prepare(
      `UPDATE timestamps SET attempts = attempts + 1, last_error = ?, tsa_url = ?, next_attempt_at = ?, state = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END
       WHERE subject_type = ? AND subject_id = ? AND state = 'pending'`,
    )
    .bind(error, tsaUrl, nextAttemptAt, nextAttemptAt, subject.type, subject.id)
    .run();
}

/** Pending timestamps of an organisation that are due at `now`, oldest first. */
export async function dueTimestamps(db: D1Database, orgId: string, now: string, limit: number): Promise<TimestampRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM timestamps WHERE org_id = ? AND state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?")
    .bind(orgId, now, limit)
    .all<TimestampRow>();
  return results;
}

/** When an organisation's next pending timestamp is due (ISO 8601), or null if none is pending. */
export async function nextTimestampAttempt(db: D1Database, orgId: string): Promise<string | null> {
  const row = await db
    .prepare("SELECT min(next_attempt_at) AS at FROM timestamps WHERE org_id = ? AND state = 'pending' AND next_attempt_at IS NOT NULL")
    .bind(orgId)
    .first<{ at: string | null }>();
  return row?.at ?? null;
}

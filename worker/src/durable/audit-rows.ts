/**
 * The audit chain's rows as both Durable Objects keep them: the `AuditLog` head (the current
 * period) and each sealed `AuditPeriod` (docs/audit.md, "How the log grows"). One schema, one
 * filter, one query of each kind, so a period answers exactly as the head did before it was sealed.
 */
import type { AuditEvent } from "../../../shared/audit/chain";

/** A filter over the chain; every member optional. Times are ISO 8601. */
export interface AuditFilter {
  actorId?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  outcome?: string;
  ip?: string;
  from?: string;
  to?: string;
  /** Events whose details name this case or evidence id (`details.caseId` / `details.evidenceId`). */
  caseId?: string;
  evidenceId?: string;
}

export type Row = Record<string, SqlStorageValue>;

/** The columns of a `chain` row, in table order (what a period imports). */
export const CHAIN_COLUMNS = ["seq", "id", "at", "action", "actor_id", "target_type", "target_id", "outcome", "ip", "case_id", "evidence_id", "event", "hash"] as const;
export type ChainRow = { [K in (typeof CHAIN_COLUMNS)[number]]: SqlStorageValue };

/** Creates the chain and tree tables (and the chain's indexes) if they are not there. */
export function createChainTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS chain (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, at TEXT NOT NULL, action TEXT NOT NULL,
    actor_id TEXT, target_type TEXT NOT NULL, target_id TEXT, outcome TEXT NOT NULL, ip TEXT,
    case_id TEXT, evidence_id TEXT, event TEXT NOT NULL, hash TEXT NOT NULL)`);
  sql.exec("CREATE INDEX IF NOT EXISTS chain_by_actor ON chain (actor_id, seq)");
  sql.exec("CREATE INDEX IF NOT EXISTS chain_by_target ON chain (target_type, target_id, seq)");
  sql.exec("CREATE INDEX IF NOT EXISTS chain_by_case ON chain (case_id, seq)");
  sql.exec("CREATE INDEX IF NOT EXISTS chain_by_evidence ON chain (evidence_id, seq)");
  sql.exec("CREATE INDEX IF NOT EXISTS chain_by_at ON chain (at)");
  // The Merkle tree over the chain (docs/audit.md §3): every complete aligned subtree, so any
  // root or proof is O(log n) lookups. Leaf `idx` (level 0) is event `seq` = idx + 1.
  sql.exec("CREATE TABLE IF NOT EXISTS tree (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID");
}

/** Columns the filter may use, each with its fixed SQL condition (values are always bound). */
const FILTER_SQL: Record<keyof AuditFilter, string> = {
  actorId: "actor_id = ?",
  action: "action = ?",
  targetType: "target_type = ?",
  targetId: "target_id = ?",
  outcome: "outcome = ?",
  ip: "ip = ?",
  from: "at >= ?",
  to: "at <= ?",
  caseId: "case_id = ?",
  evidenceId: "evidence_id = ?",
};

/** The WHERE conditions (fixed SQL, values bound) of `filter`, after the given ones. */
export function whereOf(filter: AuditFilter, conditions: string[], values: SqlStorageValue[]): { conditions: string[]; values: SqlStorageValue[] } {
  const outConditions = [...conditions];
  const outValues = [...values];
  for (const [key, condition] of Object.entries(FILTER_SQL) as [keyof AuditFilter, string][]) {
    const value = filter[key];
    if (value !== undefined) {
      outConditions.push(condition);
      outValues.push(value);
    }
  }
  return { conditions: outConditions, values: outValues };
}

/** At most this many events per call. */
export const MAX_PAGE = 5000;

/**
 * Events matching `filter` with `min` < seq ≤ `max`, at most `limit`: in chain order after seq
 * `cursor`, or with `order` "desc" newest first before seq `cursor` (0: from the newest).
 */
export function listRows(
  sql: SqlStorage,
  filter: AuditFilter,
  cursor: number,
  limit: number,
  order: "asc" | "desc",
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): AuditEvent[] {
  const desc = order === "desc";
  const { conditions, values } = whereOf(filter, [desc ? "seq < ?" : "seq > ?", "seq > ?", "seq <= ?"], [desc && cursor === 0 ? Number.MAX_SAFE_INTEGER : cursor, min, max]);
  return sql
    .exec<{ event: string } & Row>(`SELECT event FROM chain WHERE ${conditions.join(" AND ")} ORDER BY seq ${desc ? "DESC" : "ASC"} LIMIT ?`, ...values, Math.max(0, Math.min(limit, MAX_PAGE)))
    .toArray()
    .map((row) => JSON.parse(row.event) as AuditEvent);
}

/** How many events match `filter` with `min` < seq ≤ `max`, and the first and last of their seqs. */
export function countRows(sql: SqlStorage, filter: AuditFilter, min: number, max: number): { n: number; first: number | null; last: number | null } {
  const { conditions, values } = whereOf(filter, ["seq > ?", "seq <= ?"], [min, max]);
  const row = sql
    .exec<{ n: number; first: number | null; last: number | null } & Row>(`SELECT COUNT(*) AS n, MIN(seq) AS first, MAX(seq) AS last FROM chain WHERE ${conditions.join(" AND ")}`, ...values)
    .toArray()[0]!;
  return { n: row.n, first: row.first, last: row.last };
}

/** The first online key release of the evidence to the user among the rows with seq > `min` (see AuditLog.firstKeyRelease). */
export function firstKeyReleaseRow(sql: SqlStorage, userId: string, evidenceId: string, min = 0): string | null {
  const row = sql
    .exec<{ at: string | null } & Row>(
      `SELECT min(at) AS at FROM chain
        WHERE evidence_id = ? AND actor_id = ? AND action = 'evidence.view' AND outcome = 'success'
          AND target_type = 'evidence' AND json_extract(event, '$.recordedOffline') IS NULL AND seq > ?`,
      evidenceId,
      userId,
      min,
    )
    .toArray()[0];
  return row?.at ?? null;
}

/** The earlier of two ISO times, either possibly null. */
export function earlierTime(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a <= b ? a : b;
}

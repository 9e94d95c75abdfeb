import { DurableObject } from "cloudflare:workers";
import type { AuditEvent } from "../../../shared/audit/chain";
import { eventLeafHash } from "../../../shared/audit/export";
import { nodeHash, toHex } from "../../../shared/audit/merkle";
import { CHAIN_COLUMNS, countRows, createChainTables, firstKeyReleaseRow, listRows, type AuditFilter, type ChainRow, type Row } from "./audit-rows";

/** A tree node as it travels between the head and a period: level, index, 32-byte hash. */
export interface WireNode {
  level: number;
  idx: number;
  hash: ArrayBuffer;
}

/** What a period says about itself (the head checks it before it seals the period). */
export interface PeriodSummary {
  count: number;
  firstSeq: number | null;
  lastSeq: number | null;
  firstAt: string | null;
  lastAt: string | null;
  /** The period's own root, tree node (level `bits`, index p), lowercase hex; null until imported. */
  root: string | null;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * One sealed period of an organisation's audit log (docs/audit.md, "How the log grows"):
 * `idFromName("<orgId>/<p>")`, holding events p·2^bits+1 … (p+1)·2^bits and their tree nodes of
 * levels 0…bits. The head (`AuditLog`) copies them here and then never changes them: after the
 * import the object only answers reads. It checks what it imports: each event's leaf hash is its
 * level-0 node and each higher node is the hash of its two children, so its root is computed
 * from its own events, not merely copied.
 */
export class AuditPeriod extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    createChainTables(this.sql);
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  private stored(level: number, idx: number): Uint8Array | null {
    const row = this.sql.exec<{ hash: ArrayBuffer } & Row>("SELECT hash FROM tree WHERE level = ? AND idx = ?", level, idx).toArray()[0];
    return row ? new Uint8Array(row.hash) : null;
  }

  /**
   * Imports a batch of the period's chain rows and tree nodes, idempotently (a row or node already
   * here is left as it is). Refuses the batch if an event's leaf hash is not its level-0 node, or
   * a node is not the hash of its children. Returns how many events the period now holds.
   */
  async importBatch(p: number, bits: number, rows: ChainRow[], nodes: WireNode[]): Promise<number> {
    const known = this.sql.exec<{ value: string } & Row>("SELECT value FROM meta WHERE key = 'period'").toArray()[0]?.value;
    if (known !== undefined && known !== `${p}/${bits}`) throw new Error(`audit period: this object holds period ${known}, not ${p}/${bits}`);
    const first = p * 2 ** bits + 1;
    const last = (p + 1) * 2 ** bits;
    const batch = new Map<string, Uint8Array>();
    for (const n of nodes) {
      const lowest = n.idx * 2 ** n.level; // the node's first leaf index
      if (n.level > bits || lowest + 1 < first || lowest + 2 ** n.level > last) throw new Error(`audit period ${p}: node ${n.level}/${n.idx} is not in this period`);
      batch.set(`${n.level}/${n.idx}`, new Uint8Array(n.hash));
    }
    const child = (level: number, idx: number): Uint8Array => {
      const found = batch.get(`${level}/${idx}`) ?? this.stored(level, idx);
      if (!found) throw new Error(`audit period ${p}: node ${level}/${idx} is missing`);
      return found;
    };
    for (const row of rows) {
      const seq = Number(row.seq);
      if (!(seq >= first && seq <= last)) throw new Error(`audit period ${p}: event ${seq} is not in this period`);
      const leaf = await eventLeafHash(JSON.parse(String(row.event)) as AuditEvent);
      if (!same(leaf, child(0, seq - 1))) throw new Error(`audit period ${p}: event ${seq} does not match its leaf`);
    }
    for (const n of [...nodes].sort((a, b) => a.level - b.level)) {
      if (n.level === 0) continue;
      const expected = await nodeHash(child(n.level - 1, n.idx * 2), child(n.level - 1, n.idx * 2 + 1));
      if (!same(expected, batch.get(`${n.level}/${n.idx}`)!)) throw new Error(`audit period ${p}: node ${n.level}/${n.idx} is not the hash of its children`);
    }
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('period', ?)", `${p}/${bits}`);
      const placeholders = CHAIN_COLUMNS.map(() => "?").join(", ");
      for (const row of rows) this.sql.exec(`INSERT OR IGNORE INTO chain (${CHAIN_COLUMNS.join(", ")}) VALUES (${placeholders})`, ...CHAIN_COLUMNS.map((c) => row[c]));
      for (const n of nodes) this.sql.exec("INSERT OR IGNORE INTO tree (level, idx, hash) VALUES (?, ?, ?)", n.level, n.idx, n.hash);
    });
    return this.sql.exec<{ n: number } & Row>("SELECT COUNT(*) AS n FROM chain").toArray()[0]!.n;
  }

  /** How many events the period holds, their first and last seq and time, and its root (node `bits`/p). */
  async summary(p: number, bits: number): Promise<PeriodSummary> {
    const row = this.sql
      .exec<{ n: number; first: number | null; last: number | null; first_at: string | null; last_at: string | null } & Row>(
        "SELECT COUNT(*) AS n, MIN(seq) AS first, MAX(seq) AS last, MIN(at) AS first_at, MAX(at) AS last_at FROM chain",
      )
      .toArray()[0]!;
    const root = this.stored(bits, p);
    return { count: row.n, firstSeq: row.first, lastSeq: row.last, firstAt: row.first_at, lastAt: row.last_at, root: root ? toHex(root) : null };
  }

  /** As `AuditLog.list`, over this period's events, with seq ≤ `max`. */
  async list(filter: AuditFilter, cursor: number, limit: number, order: "asc" | "desc" = "asc", max = Number.MAX_SAFE_INTEGER): Promise<AuditEvent[]> {
    return listRows(this.sql, filter, cursor, limit, order, 0, max);
  }

  /** How many of this period's events with seq ≤ `max` match `filter`, and their first and last seq. */
  async count(filter: AuditFilter, max: number): Promise<{ n: number; first: number | null; last: number | null }> {
    return countRows(this.sql, filter, 0, max);
  }

  /** The hashes of the given tree nodes ([level, index]), in order; refuses if one is not here. */
  async nodes(ids: [number, number][]): Promise<ArrayBuffer[]> {
    return ids.map(([level, idx]) => {
      const found = this.stored(level, idx);
      if (!found) throw new Error(`audit period: node ${level}/${idx} is not here`);
      return found.slice().buffer;
    });
  }

  /** As `AuditLog.firstKeyRelease`, among this period's events. */
  async firstKeyRelease(userId: string, evidenceId: string): Promise<string | null> {
    return firstKeyReleaseRow(this.sql, userId, evidenceId);
  }
}

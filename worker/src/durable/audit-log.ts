import { DurableObject } from "cloudflare:workers";
import { CompactSign, exportJWK, calculateJwkThumbprint, importJWK, type JWK } from "jose";
import {
  chainEvent,
  CHECKPOINT_EVERY_EVENTS,
  CHECKPOINT_EVERY_MS,
  CHECKPOINT_TYP,
  GENESIS_HASH,
  type AuditCheckpoint,
  type AuditEvent,
  type AuditEventInput,
} from "../../../shared/audit/chain";
import { retryDueTimestamps, timestampCheckpoint } from "../lib/timestamps";

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

/** What the outbox holds for one event: the input plus its id and time. */
export interface PendingEvent extends AuditEventInput {
  id: string;
  at: string;
  recordedOffline?: { at: string };
}

type Row = Record<string, SqlStorageValue>;

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

/**
 * One per organisation: the single writer of its audit trail. A Durable Object handles one
 * call at a time, so every event gets the next sequence number and the previous event's hash
 * with no race, and the chain has one order. Events reach it through the D1 outbox
 * (`audit_outbox`), written in the same transaction as the change they record.
 */
export class AuditLog extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS chain (
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, at TEXT NOT NULL, action TEXT NOT NULL,
      actor_id TEXT, target_type TEXT NOT NULL, target_id TEXT, outcome TEXT NOT NULL, ip TEXT,
      case_id TEXT, evidence_id TEXT, event TEXT NOT NULL, hash TEXT NOT NULL)`);
    this.sql.exec("CREATE INDEX IF NOT EXISTS chain_by_actor ON chain (actor_id, seq)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS chain_by_target ON chain (target_type, target_id, seq)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS chain_by_case ON chain (case_id, seq)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS chain_by_evidence ON chain (evidence_id, seq)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS chain_by_at ON chain (at)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS checkpoints (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, at TEXT NOT NULL, jws TEXT NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS signing_keys (kid TEXT PRIMARY KEY, private_jwk TEXT NOT NULL, public_jwk TEXT NOT NULL, created_at TEXT NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  /**
   * Moves the organisation's outbox into the chain, in outbox order, then deletes what it moved.
   * Idempotent: an event already chained (same id) is not chained twice, so a crash between the
   * two steps loses nothing and duplicates nothing. Returns how many events were appended.
   */
  async drain(orgId: string): Promise<number> {
    // One drain at a time: the D1 reads below let other calls in, and two drains must never
    // chain the same outbox rows side by side.
    return this.serially(() => this.drainNow(orgId));
  }

  private queue: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it: the chain has one writer at a time. */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async drainNow(orgId: string): Promise<number> {
    this.remember(orgId);
    let appended = 0;
    for (;;) {
      const { results } = await this.env.DB.prepare(
        "SELECT seq, event FROM audit_outbox WHERE org_id = ? ORDER BY seq LIMIT 200",
      )
        .bind(orgId)
        .all<{ seq: number; event: string }>();
      if (results.length === 0) break;
      for (const row of results) {
        if (await this.appendOne(JSON.parse(row.event) as PendingEvent)) appended++;
      }
      await this.env.DB.prepare("DELETE FROM audit_outbox WHERE org_id = ? AND seq <= ?").bind(orgId, results.at(-1)!.seq).run();
    }
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + CHECKPOINT_EVERY_MS);
    return appended;
  }

  private async appendOne(pending: PendingEvent): Promise<boolean> {
    if (this.sql.exec("SELECT 1 FROM chain WHERE id = ?", pending.id).toArray().length > 0) return false;
    const head = this.head();
    const event = await chainEvent(pending, { seq: head.seq + 1, prevHash: head.hash });
    const details = event.details as { caseId?: unknown; evidenceId?: unknown };
    this.sql.exec(
      `INSERT INTO chain (seq, id, at, action, actor_id, target_type, target_id, outcome, ip, case_id, evidence_id, event, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      event.seq, event.id, event.at, event.action, event.actor.id, event.target.type, event.target.id, event.outcome, event.ip,
      typeof details.caseId === "string" ? details.caseId : event.target.type === "case" ? event.target.id : null,
      typeof details.evidenceId === "string" ? details.evidenceId : event.target.type === "evidence" ? event.target.id : null,
      JSON.stringify(event), event.hash,
    );
    if (event.seq % CHECKPOINT_EVERY_EVENTS === 0) await this.checkpointNow();
    return true;
  }

  private head(): { seq: number; hash: string } {
    const row = this.sql.exec<{ seq: number; hash: string } & Row>("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").toArray()[0];
    return row ? { seq: row.seq, hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  private remember(orgId: string): void {
    this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('orgId', ?)", orgId);
  }

  private orgId(): string | null {
    return this.sql.exec<{ value: string } & Row>("SELECT value FROM meta WHERE key = 'orgId'").toArray()[0]?.value ?? null;
  }

  /** The organisation's audit signing key (ES512), made on first use and kept in this object's storage. */
  private async signingKey(): Promise<{ kid: string; key: CryptoKey }> {
    const row = this.sql.exec<{ kid: string; private_jwk: string } & Row>("SELECT kid, private_jwk FROM signing_keys ORDER BY created_at DESC LIMIT 1").toArray()[0];
    if (row) return { kid: row.kid, key: (await importJWK(JSON.parse(row.private_jwk) as JWK, "ES512")) as CryptoKey };
    // Extractable once, to be stored: this key signs the server's own statements (checkpoints), not evidence.
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-521" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const publicJwk = await exportJWK(pair.publicKey);
    const kid = await calculateJwkThumbprint(publicJwk, "sha256");
    const privateJwk = await exportJWK(pair.privateKey);
    this.sql.exec(
      "INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?)",
      kid, JSON.stringify({ ...privateJwk, kid, alg: "ES512" }), JSON.stringify({ ...publicJwk, kid, alg: "ES512", use: "sig" }), new Date().toISOString(),
    );
    return { kid, key: pair.privateKey };
  }

  /** Signs the chain head if it moved since the last checkpoint; returns the newest checkpoint JWS, if any. */
  async checkpoint(): Promise<string | null> {
    return this.serially(() => this.checkpointNow());
  }

  private async checkpointNow(): Promise<string | null> {
    const head = this.head();
    const last = this.sql.exec<{ seq: number; jws: string } & Row>("SELECT seq, jws FROM checkpoints ORDER BY seq DESC LIMIT 1").toArray()[0];
    if (head.seq === 0) return null;
    if (last && last.seq >= head.seq) return last.jws;
    const orgId = this.orgId();
    if (!orgId) return null;
    const { kid, key } = await this.signingKey();
    const at = new Date().toISOString();
    const payload: AuditCheckpoint = { v: 1, orgId, seq: head.seq, hash: head.hash, at };
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: "ES512", kid, typ: CHECKPOINT_TYP })
      .sign(key);
    this.sql.exec("INSERT INTO checkpoints (seq, hash, at, jws) VALUES (?, ?, ?, ?)", head.seq, head.hash, at, jws);
    await timestampCheckpoint(this.env, orgId, head.seq, jws).catch(() => undefined); // records the request; the alarm asks the TSA
    return jws;
  }

  /** Hourly: chain anything left in the outbox, and sign the head if it moved. */
  override async alarm(): Promise<void> {
    const orgId = this.orgId();
    if (orgId) await this.drain(orgId);
    await this.checkpoint();
    if (orgId) await retryDueTimestamps(this.env, orgId).catch(() => undefined); // RFC 3161 stamps of checkpoints and manifests
    await this.ctx.storage.setAlarm(Date.now() + CHECKPOINT_EVERY_MS);
  }

  /**
   * Events matching `filter`, at most `limit`: in chain order after seq `cursor`, or with
   * `order` "desc" newest first before seq `cursor` (0: from the newest).
   */
  async list(filter: AuditFilter = {}, cursor = 0, limit = 1000, order: "asc" | "desc" = "asc"): Promise<AuditEvent[]> {
    const desc = order === "desc";
    const conditions = [desc ? "seq < ?" : "seq > ?"];
    const values: SqlStorageValue[] = [desc && cursor === 0 ? Number.MAX_SAFE_INTEGER : cursor];
    for (const [key, condition] of Object.entries(FILTER_SQL) as [keyof AuditFilter, string][]) {
      const value = filter[key];
      if (value !== undefined) {
        conditions.push(condition);
        values.push(value);
      }
    }
    return this.sql
      .exec<{ event: string } & Row>(`SELECT event FROM chain WHERE ${conditions.join(" AND ")} ORDER BY seq ${desc ? "DESC" : "ASC"} LIMIT ?`, ...values, Math.min(limit, 5000))
      .toArray()
      .map((row) => JSON.parse(row.event) as AuditEvent);
  }

  /** Signed checkpoints with `fromSeq <= seq`, in order. */
  async checkpoints(fromSeq = 0): Promise<string[]> {
    return this.sql.exec<{ jws: string } & Row>("SELECT jws FROM checkpoints WHERE seq >= ? ORDER BY seq", fromSeq).toArray().map((row) => row.jws);
  }

  /** Public halves of every audit signing key this organisation has used. */
  async signingKeys(): Promise<JWK[]> {
    return this.sql.exec<{ public_jwk: string } & Row>("SELECT public_jwk FROM signing_keys ORDER BY created_at").toArray().map((row) => JSON.parse(row.public_jwk) as JWK);
  }
}

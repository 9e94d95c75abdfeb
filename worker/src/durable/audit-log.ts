import { DurableObject } from "cloudflare:workers";
import { CompactSign, exportJWK, calculateJwkThumbprint, importJWK, type JWK } from "jose";
import {
  chainEvent,
  CHECKPOINT_EVERY_EVENTS,
  CHECKPOINT_EVERY_MS,
  CHECKPOINT_TYP,
  GENESIS_HASH,
  type AuditEvent,
  type AuditEventInput,
} from "../../../shared/audit/chain";
import {
  checkpointLine,
  eventLeafHash,
  EXPORT_STATEMENT_TYP,
  FILTER_NAMES,
  type ExportHeader,
  type ExportStatement,
  type PublicAuditDocument,
  type TreeCheckpoint,
} from "../../../shared/audit/export";
import { consistencyProof, inclusionProof, nodesCompletedBy, toHex, treeRoot, type TreeNodes } from "../../../shared/audit/merkle";
import { STAMP_SOON_MS, earlierAlarm, nextAuditAlarm, retryDueTimestamps, stampedCheckpointToken, timestampCheckpoint } from "../lib/timestamps";

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

/** The WHERE conditions (fixed SQL, values bound) of `filter`, after the given ones. */
function whereOf(filter: AuditFilter, conditions: string[], values: SqlStorageValue[]): { conditions: string[]; values: SqlStorageValue[] } {
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
    // The Merkle tree over the chain (docs/audit.md §3): every complete aligned subtree, so any
    // root or proof is O(log n) lookups. Leaf `idx` (level 0) is event `seq` = idx + 1.
    this.sql.exec("CREATE TABLE IF NOT EXISTS tree (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID");
    // Checkpoints signed before the tree have no root (version 1); `timestamp_token` is where an
    // RFC 3161 token over a checkpoint's JWS is kept once time-stamping is added (`attachTimestamp`).
    const columns = this.sql.exec<{ name: string } & Row>("PRAGMA table_info(checkpoints)").toArray().map((c) => c.name);
    if (!columns.includes("root")) this.sql.exec("ALTER TABLE checkpoints ADD COLUMN root TEXT");
    if (!columns.includes("timestamp_token")) this.sql.exec("ALTER TABLE checkpoints ADD COLUMN timestamp_token TEXT");
    // Migration: events chained before the tree existed (or a leaf lost to a crash) become its first leaves.
    void ctx.blockConcurrencyWhile(() => this.extendTree());
  }

  /** Complete subtrees from storage, each read once per call site that keeps this object. */
  private nodes(): TreeNodes {
    const memo = new Map<string, Uint8Array>();
    return {
      node: async (level, index) => {
        const key = `${level}/${index}`;
        let found = memo.get(key);
        if (!found) {
          const row = this.sql.exec<{ hash: ArrayBuffer } & Row>("SELECT hash FROM tree WHERE level = ? AND idx = ?", level, index).toArray()[0];
          if (!row) throw new Error(`audit tree: node ${key} missing`);
          found = new Uint8Array(row.hash);
          memo.set(key, found);
        }
        return found;
      },
    };
  }

  /** Leaves in the tree. */
  private treeSize(): number {
    const row = this.sql.exec<{ n: number | null } & Row>("SELECT MAX(idx) AS n FROM tree WHERE level = 0").toArray()[0];
    return row?.n === null || row?.n === undefined ? 0 : row.n + 1;
  }

  /** The tree nodes that appending `event` as leaf `seq - 1` adds (computed before anything is written). */
  private async leafNodes(event: AuditEvent, nodes: TreeNodes): Promise<{ level: number; index: number; hash: Uint8Array }[]> {
    return nodesCompletedBy(event.seq - 1, await eventLeafHash(event), (level, index) => nodes.node(level, index));
  }

  private writeNodes(added: { level: number; index: number; hash: Uint8Array }[]): void {
    for (const n of added) this.sql.exec("INSERT INTO tree (level, idx, hash) VALUES (?, ?, ?)", n.level, n.index, n.hash.slice().buffer);
  }

  /** Adds every chained event not yet in the tree, in order. */
  private async extendTree(): Promise<void> {
    const nodes = this.nodes();
    for (let size = this.treeSize(); ; size++) {
      const row = this.sql.exec<{ event: string } & Row>("SELECT event FROM chain WHERE seq = ?", size + 1).toArray()[0];
      if (!row) return;
      this.writeNodes(await this.leafNodes(JSON.parse(row.event) as AuditEvent, nodes));
    }
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
    // Hash first, then write the event and its leaf together: the tree never lags the chain.
    const added = await this.leafNodes(event, this.nodes());
    this.ctx.storage.transactionSync(() => {
      this.insertEvent(event, details);
      this.writeNodes(added);
    });
    if (event.seq % CHECKPOINT_EVERY_EVENTS === 0) await this.checkpointNow();
    return true;
  }

  private insertEvent(event: AuditEvent, details: { caseId?: unknown; evidenceId?: unknown }): void {
    this.sql.exec(
      `INSERT INTO chain (seq, id, at, action, actor_id, target_type, target_id, outcome, ip, case_id, evidence_id, event, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      event.seq, event.id, event.at, event.action, event.actor.id, event.target.type, event.target.id, event.outcome, event.ip,
      typeof details.caseId === "string" ? details.caseId : event.target.type === "case" ? event.target.id : null,
      typeof details.evidenceId === "string" ? details.evidenceId : event.target.type === "evidence" ? event.target.id : null,
      JSON.stringify(event), event.hash,
    );
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
    const last = this.sql.exec<{ seq: number; jws: string; root: string | null } & Row>("SELECT seq, jws, root FROM checkpoints ORDER BY seq DESC LIMIT 1").toArray()[0];
    if (head.seq === 0) return null;
    // A version 1 checkpoint of the head (signed before the tree) is superseded by one that also signs the root.
    if (last && last.seq >= head.seq && last.root !== null) return last.jws;
    const orgId = this.orgId();
    if (!orgId) return null;
    const rootHash = toHex(await treeRoot(this.nodes(), head.seq));
    const at = new Date().toISOString();
    const payload: TreeCheckpoint = { v: 2, orgId, treeSize: head.seq, rootHash, seq: head.seq, hash: head.hash, at };
    const jws = await this.sign(payload, CHECKPOINT_TYP);
    this.sql.exec("INSERT OR REPLACE INTO checkpoints (seq, hash, at, jws, root) VALUES (?, ?, ?, ?, ?)", head.seq, head.hash, at, jws, rootHash);
    // Records the request; the alarm asks the TSA, rung within seconds so the token follows the checkpoint promptly.
    if (await timestampCheckpoint(this.env, orgId, head.seq, jws).catch(() => false)) await this.ringBy(Date.now() + STAMP_SOON_MS);
    return jws;
  }

  /** Sets the alarm to ring by `at`, unless it is already set to ring sooner. */
  private async ringBy(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    const next = earlierAlarm(current, at);
    if (next !== current) await this.ctx.storage.setAlarm(next);
  }

  /** A compact JWS (ES512) by the audit signing key over `payload`'s JSON. */
  private async sign(payload: object, typ: string): Promise<string> {
    const { kid, key } = await this.signingKey();
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: "ES512", kid, typ }).sign(key);
  }

  /**
   * Trusted time (RFC 3161): keeps a time-stamp token (DER, standard base64) over the checkpoint of
   * `treeSize`; exports and the public document carry it beside the checkpoint's JWS.
   */
  async attachTimestamp(treeSize: number, token: string): Promise<boolean> {
    return this.sql.exec("UPDATE checkpoints SET timestamp_token = ? WHERE seq = ? AND timestamp_token IS NULL", token, treeSize).rowsWritten > 0;
  }

  /** Attaches the tokens the TSA has given (worker/src/lib/timestamps.ts) to the checkpoints still waiting for one, newest first. */
  private async attachStampedCheckpoints(limit = 50): Promise<number> {
    const waiting = this.sql.exec<{ seq: number; jws: string } & Row>("SELECT seq, jws FROM checkpoints WHERE root IS NOT NULL AND timestamp_token IS NULL ORDER BY seq DESC LIMIT ?", limit).toArray();
    let attached = 0;
    for (const row of waiting) {
      const token = await stampedCheckpointToken(this.env, row.seq, row.jws);
      if (token && (await this.attachTimestamp(row.seq, token))) attached++;
    }
    return attached;
  }

  /**
   * The latest checkpoint for the public document: signs the head afresh only when it moved and
   * the newest checkpoint is older than `maxAgeMs`, so unauthenticated callers cannot make the
   * object sign on every request.
   */
  async publicDocument(maxAgeMs = 60_000): Promise<PublicAuditDocument | null> {
    return this.serially(async () => {
      const last = this.sql.exec<{ seq: number; at: string } & Row>("SELECT seq, at FROM checkpoints WHERE root IS NOT NULL ORDER BY seq DESC LIMIT 1").toArray()[0];
      if (!last || (last.seq < this.head().seq && Date.now() - Date.parse(last.at) > maxAgeMs)) await this.checkpointNow();
      const row = this.sql
        .exec<{ seq: number; at: string; jws: string; root: string; timestamp_token: string | null } & Row>("SELECT seq, at, jws, root, timestamp_token FROM checkpoints WHERE root IS NOT NULL ORDER BY seq DESC LIMIT 1")
        .toArray()[0];
      const orgId = this.orgId();
      if (!row || !orgId) return null;
      return {
        type: "custody-audit-public", v: 1, orgId, checkpoint: row.jws, treeSize: row.seq, rootHash: row.root, at: row.at, signingKeys: await this.signingKeys(),
        ...(row.timestamp_token ? { timestamp: row.timestamp_token } : {}),
      };
    });
  }

  /**
   * Starts an export: signs the head (so the export's final checkpoint covers every event up to
   * now), counts the events matching `filter` in that tree, and signs the statement that heads the
   * export. Returns the header line, the checkpoint lines (each earlier one with its consistency
   * proof to the final one, which comes last) and the tree size the events' proofs are against.
   */
  async exportStart(filter: AuditFilter, exportedAt: string, keptSize?: number): Promise<{ header: string; checkpoints: string[]; treeSize: number }> {
    return this.serially(async () => {
      await this.checkpointNow();
      const orgId = this.orgId();
      const final = this.sql.exec<{ seq: number; root: string | null } & Row>("SELECT seq, root FROM checkpoints ORDER BY seq DESC LIMIT 1").toArray()[0];
      if (!orgId || !final || final.root === null) throw new Error("audit export: no checkpoint of the tree to export against");
      const treeSize = final.seq;
      const { conditions, values } = whereOf(filter, ["seq <= ?"], [treeSize]);
      const range = this.sql
        .exec<{ n: number; first: number | null; last: number | null } & Row>(`SELECT COUNT(*) AS n, MIN(seq) AS first, MAX(seq) AS last FROM chain WHERE ${conditions.join(" AND ")}`, ...values)
        .toArray()[0]!;
      const nodes = this.nodes();
      const checkpoints: string[] = [];
      for (const row of this.exportCheckpoints(filter, treeSize, keptSize)) {
        const consistency = row.root !== null && row.seq < treeSize ? (await consistencyProof(nodes, row.seq, treeSize)).map(toHex) : undefined;
        checkpoints.push(checkpointLine(row.jws, consistency, row.timestamp_token));
      }
      const clean = Object.fromEntries(FILTER_NAMES.filter((name) => filter[name] !== undefined).map((name) => [name, filter[name]!]));
      const statement: ExportStatement = {
        v: 2, orgId, exportedAt, kind: Object.keys(clean).length === 0 ? "full" : "filtered", filter: clean,
        treeSize, rootHash: final.root, events: range.n, firstSeq: range.first, lastSeq: range.last, checkpoints: checkpoints.length,
      };
      const header: ExportHeader = { type: "custody-audit-export", v: 2, signingKeys: await this.signingKeys(), statement: await this.sign(statement, EXPORT_STATEMENT_TYP) };
      return { header: JSON.stringify(header), checkpoints, treeSize };
    });
  }

  /**
   * The checkpoints an export carries (docs/audit.md §4), in order, the final one (of `treeSize`)
   * last. A full export: every checkpoint up to `treeSize`. A filtered one: for each event it
   * holds, the first tree checkpoint at or after that event (the earliest signed statement, and
   * its timestamp, that the event was in the log), the checkpoint of `keptSize` when asked for
   * (so a kept copy of the public document can be checked against a filtered export), and the
   * final one. An item's extract thus carries a handful, not the log's whole history.
   */
  private exportCheckpoints(filter: AuditFilter, treeSize: number, keptSize?: number): ({ seq: number; jws: string; root: string | null; timestamp_token: string | null } & Row)[] {
    const columns = "seq, jws, root, timestamp_token";
    if (FILTER_NAMES.every((name) => filter[name] === undefined)) {
      return this.sql.exec<{ seq: number; jws: string; root: string | null; timestamp_token: string | null } & Row>(`SELECT ${columns} FROM checkpoints WHERE seq <= ? ORDER BY seq`, treeSize).toArray();
    }
    const { conditions, values } = whereOf(filter, ["seq <= ?"], [treeSize]);
    return this.sql
      .exec<{ seq: number; jws: string; root: string | null; timestamp_token: string | null } & Row>(
        `SELECT ${columns} FROM checkpoints WHERE root IS NOT NULL AND seq <= ? AND (seq = ? OR seq = ? OR seq IN (
           SELECT (SELECT k.seq FROM checkpoints k WHERE k.root IS NOT NULL AND k.seq >= chain.seq ORDER BY k.seq LIMIT 1)
             FROM chain WHERE ${conditions.join(" AND ")}))
         ORDER BY seq`,
        treeSize, treeSize, keptSize ?? -1, ...values,
      )
      .toArray();
  }

  /** Events matching `filter` after seq `after`, up to seq `treeSize`, each with its inclusion proof (lowercase hex) in the tree of `treeSize`. */
  async exportPage(filter: AuditFilter, after: number, limit: number, treeSize: number): Promise<{ event: AuditEvent; inclusion: string[] }[]> {
    const { conditions, values } = whereOf(filter, ["seq > ?", "seq <= ?"], [after, treeSize]);
    const events = this.sql
      .exec<{ event: string } & Row>(`SELECT event FROM chain WHERE ${conditions.join(" AND ")} ORDER BY seq LIMIT ?`, ...values, Math.min(limit, 5000))
      .toArray()
      .map((row) => JSON.parse(row.event) as AuditEvent);
    const nodes = this.nodes();
    const out: { event: AuditEvent; inclusion: string[] }[] = [];
    for (const event of events) out.push({ event, inclusion: (await inclusionProof(nodes, event.seq - 1, treeSize)).map(toHex) });
    return out;
  }

  /**
   * Hourly: chain anything left in the outbox, sign the head if it moved, ask the TSA for due
   * timestamps. Rung sooner a few seconds after a checkpoint is signed, and when a pending
   * timestamp's retry (with its backoff) is due before the next hour.
   */
  override async alarm(): Promise<void> {
    const orgId = this.orgId();
    if (orgId) await this.drain(orgId);
    await this.checkpoint();
    let next = Date.now() + CHECKPOINT_EVERY_MS;
    if (orgId) {
      await retryDueTimestamps(this.env, orgId).catch(() => undefined); // RFC 3161 stamps of checkpoints and manifests
      await this.attachStampedCheckpoints().catch(() => undefined); // tokens of checkpoints, kept beside their JWS
      next = await nextAuditAlarm(this.env, orgId, Date.now(), CHECKPOINT_EVERY_MS).catch(() => next);
    }
    await this.ctx.storage.setAlarm(next);
  }

  /**
   * Events matching `filter`, at most `limit`: in chain order after seq `cursor`, or with
   * `order` "desc" newest first before seq `cursor` (0: from the newest).
   */
  async list(filter: AuditFilter = {}, cursor = 0, limit = 1000, order: "asc" | "desc" = "asc"): Promise<AuditEvent[]> {
    const desc = order === "desc";
    const { conditions, values } = whereOf(filter, [desc ? "seq < ?" : "seq > ?"], [desc && cursor === 0 ? Number.MAX_SAFE_INTEGER : cursor]);
    return this.sql
      .exec<{ event: string } & Row>(`SELECT event FROM chain WHERE ${conditions.join(" AND ")} ORDER BY seq ${desc ? "DESC" : "ASC"} LIMIT ?`, ...values, Math.min(limit, 5000))
      .toArray()
      .map((row) => JSON.parse(row.event) as AuditEvent);
  }

  /**
   * When the evidence's key was first released to the user (`GET /api/evidence/:id/key`, recorded
   * online as a successful `evidence.view`), or null if it never was: what an offline event must
   * come after (routes/audit.ts).
   */
  async firstKeyRelease(userId: string, evidenceId: string): Promise<string | null> {
    const row = this.sql
      .exec<{ at: string | null } & Row>(
        `SELECT min(at) AS at FROM chain
          WHERE evidence_id = ? AND actor_id = ? AND action = 'evidence.view' AND outcome = 'success'
            AND target_type = 'evidence' AND json_extract(event, '$.recordedOffline') IS NULL`,
        evidenceId,
        userId,
      )
      .toArray()[0];
    return row?.at ?? null;
  }

  /** Public halves of every audit signing key this organisation has used. */
  async signingKeys(): Promise<JWK[]> {
    return this.sql.exec<{ public_jwk: string } & Row>("SELECT public_jwk FROM signing_keys ORDER BY created_at").toArray().map((row) => JSON.parse(row.public_jwk) as JWK);
  }
}

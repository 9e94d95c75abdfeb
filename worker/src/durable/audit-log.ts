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
import { consistencyProof, inclusionProof, nodesCompletedBy, nodesUsedBy, toHex, treeRoot, type TreeNodes } from "../../../shared/audit/merkle";
import { nodesEndingIn, periodBitsOf, periodOfNode, periodSeqs } from "../../../shared/audit/periods";
import type { AuditPeriod, WireNode } from "./audit-period";
import { countRows, createChainTables, earlierTime, firstKeyReleaseRow, listRows, MAX_PAGE, type AuditFilter, type ChainRow, type Row } from "./audit-rows";
import { STAMP_SOON_MS, earlierAlarm, nextAuditAlarm, retryDueTimestamps, stampedCheckpointToken, timestampCheckpoint } from "../lib/timestamps";

export type { AuditFilter };

/** What the outbox holds for one event: the input plus its id and time. */
export interface PendingEvent extends AuditEventInput {
  id: string;
  at: string;
  recordedOffline?: { at: string };
}

/** Rows copied to a period per import call while sealing (a few MB per call). */
export const SEAL_BATCH_ROWS = 2000;
/** Sealing steps (an import, the seal itself, a deletion batch) per alarm run, so a drain never waits long. */
const SEAL_STEPS_PER_ALARM = 20;
/** How soon the alarm rings again while sealing has work left (and after a drain completes a period). */
const SEAL_SOON_MS = 2_000;
/** Target types the key index leaves out: their ids are the events' case or item ids, indexed as such. */
const UNINDEXED_TARGET_TYPES: readonly string[] = ["case", "evidence"];
/** After a sealing step failed: try again in a minute. */
const SEAL_RETRY_MS = 60_000;

/** How sealing stands (`AuditLog.sealDue`). */
export interface SealProgress {
  /** Events per period, as a power of two. */
  bits: number;
  headSeq: number;
  /** Periods sealed: their events are read from their own objects. */
  sealed: number;
  /** Complete periods still waiting to be sealed (or to have the head's copies deleted). */
  due: number;
  /** The period being worked on, if any: its number, state and how far its copy has got. */
  working: { p: number; state: string; copiedThrough: number } | null;
  /** Steps done by this call. */
  steps: number;
}

interface PeriodRow {
  p: number;
  state: string;
  copied_through: number;
  first_seq: number | null;
  last_seq: number | null;
}

/** The index of the first of the ascending `sizes` at or after `seq` (`sizes.length` when none is). */
function firstAtOrAfter(sizes: number[], seq: number): number {
  let low = 0;
  let high = sizes.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (sizes[mid]! < seq) low = mid + 1;
    else high = mid;
  }
  return low;
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
    // The chain and its tree (docs/audit.md §3): since periods, the head keeps the rows of the
    // periods not yet sealed and the tree nodes of level >= the period bits of every period.
    createChainTables(this.sql);
    this.sql.exec("CREATE TABLE IF NOT EXISTS checkpoints (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, at TEXT NOT NULL, jws TEXT NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS signing_keys (kid TEXT PRIMARY KEY, private_jwk TEXT NOT NULL, public_jwk TEXT NOT NULL, created_at TEXT NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    // Periods (docs/audit.md, "How the log grows"): one row per period being sealed or sealed;
    // `state` copying (the head's rows are read), sealed (the period's object is read; the head's
    // copies are being deleted), done. `period_keys`: which sealed periods hold events of a case
    // (c:<id>), an item (e:<id>), an actor (a:<id>) or a target (t:<id>), so a filtered read asks
    // only those.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS periods (
      p INTEGER PRIMARY KEY, state TEXT NOT NULL, copied_through INTEGER NOT NULL, count INTEGER,
      first_seq INTEGER, last_seq INTEGER, first_at TEXT, last_at TEXT, last_hash TEXT, root TEXT, sealed_at TEXT)`);
    this.sql.exec("CREATE TABLE IF NOT EXISTS period_keys (key TEXT NOT NULL, period INTEGER NOT NULL, PRIMARY KEY (key, period)) WITHOUT ROWID");
    // Checkpoints signed before the tree have no root (version 1); `timestamp_token` is where an
    // RFC 3161 token over a checkpoint's JWS is kept once time-stamping is added (`attachTimestamp`).
    const columns = this.sql.exec<{ name: string } & Row>("PRAGMA table_info(checkpoints)").toArray().map((c) => c.name);
    if (!columns.includes("root")) this.sql.exec("ALTER TABLE checkpoints ADD COLUMN root TEXT");
    if (!columns.includes("timestamp_token")) this.sql.exec("ALTER TABLE checkpoints ADD COLUMN timestamp_token TEXT");
    // Migration: events chained before the tree existed (or a leaf lost to a crash) become its first leaves.
    // Migration to periods: an existing log with complete periods starts sealing them by itself.
    void ctx.blockConcurrencyWhile(async () => {
      await this.extendTree();
      if (this.sealWorkDue()) await this.ringForSealing();
    });
  }

  private periodBits: number | null = null;

  /**
   * Events per period, as a power of two: fixed for the organisation when first asked (kept in
   * meta), so a later change of the AUDIT_PERIOD_BITS binding never re-cuts a log.
   */
  private bits(): number {
    if (this.periodBits === null) {
      const stored = this.sql.exec<{ value: string } & Row>("SELECT value FROM meta WHERE key = 'period_bits'").toArray()[0]?.value;
      const bits = stored === undefined ? periodBitsOf((this.env as unknown as { AUDIT_PERIOD_BITS?: unknown }).AUDIT_PERIOD_BITS) : Number(stored);
      if (stored === undefined) this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('period_bits', ?)", String(bits));
      this.periodBits = bits;
    }
    return this.periodBits;
  }

  /** The last seq held by a sealed period (0 if none): events up to it are read from the periods' objects, later ones here. */
  private sealedThrough(): number {
    const row = this.sql.exec<{ n: number | null } & Row>("SELECT MAX(last_seq) AS n FROM periods WHERE state IN ('sealed', 'done')").toArray()[0];
    return row?.n ?? 0;
  }

  private isSealed(p: number): boolean {
    return this.sql.exec("SELECT 1 FROM periods WHERE p = ? AND state IN ('sealed', 'done')", p).toArray().length > 0;
  }

  /** The Durable Object of period `p` of this organisation. */
  private period(p: number): DurableObjectStub<AuditPeriod> {
    const orgId = this.orgId();
    if (!orgId) throw new Error("audit log: no organisation yet, so no periods");
    return this.env.AUDIT_PERIODS.get(this.env.AUDIT_PERIODS.idFromName(`${orgId}/${p}`));
  }

  /**
   * Complete subtrees, each read once per call site that keeps this object: from this object's
   * storage (nodes of level >= the period bits, and every node of a period not yet sealed), or
   * from a sealed period's object (its nodes below its root), best fetched in one call per period
   * with `prefetch` (the ids from `nodesUsedBy`).
   */
  private nodes(): TreeNodes & { prefetch(ids: [number, number][]): Promise<void> } {
    const memo = new Map<string, Uint8Array>();
    const bits = this.bits();
    const local = (level: number, index: number): Uint8Array | null => {
      const row = this.sql.exec<{ hash: ArrayBuffer } & Row>("SELECT hash FROM tree WHERE level = ? AND idx = ?", level, index).toArray()[0];
      return row ? new Uint8Array(row.hash) : null;
    };
    /** The sealed period holding the node, or null if it is this object's to hold. */
    const sealedPeriodOf = (level: number, index: number): number | null => {
      if (level >= bits) return null;
      const p = periodOfNode(level, index, bits);
      return this.isSealed(p) ? p : null;
    };
    return {
      node: async (level, index) => {
        const key = `${level}/${index}`;
        let found = memo.get(key) ?? local(level, index);
        if (!found) {
          const p = sealedPeriodOf(level, index);
          if (p === null) throw new Error(`audit tree: node ${key} missing`);
          found = new Uint8Array((await this.period(p).nodes([[level, index]]))[0]!);
        }
        memo.set(key, found);
        return found;
      },
      prefetch: async (ids) => {
        const wanted = new Map<number, [number, number][]>();
        for (const [level, index] of ids) {
          if (memo.has(`${level}/${index}`)) continue;
          const p = sealedPeriodOf(level, index);
          if (p === null) continue;
          const hit = local(level, index); // a sealed period's nodes the head has not deleted yet
          if (hit) memo.set(`${level}/${index}`, hit);
          else if (wanted.has(p)) wanted.get(p)!.push([level, index]);
          else wanted.set(p, [[level, index]]);
        }
        for (const [p, list] of wanted) {
          const hashes = await this.period(p).nodes(list);
          list.forEach(([level, index], i) => memo.set(`${level}/${index}`, new Uint8Array(hashes[i]!)));
        }
      },
    };
  }

  /** Leaves in the tree. */
  private treeSize(): number {
    const row = this.sql.exec<{ n: number | null } & Row>("SELECT MAX(idx) AS n FROM tree WHERE level = 0").toArray()[0];
    return row?.n === null || row?.n === undefined ? this.sealedThrough() : Math.max(row.n + 1, this.sealedThrough());
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
    // A period just completed: the alarm seals it soon (in short runs, between drains).
    if (appended > 0 && this.sealWorkDue()) await this.ringForSealing();
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
    if (row) return { seq: row.seq, hash: row.hash };
    // Every event is in a sealed period (the last one sealed ended exactly at the head).
    const last = this.sql.exec<{ last_seq: number; last_hash: string } & Row>("SELECT last_seq, last_hash FROM periods WHERE state IN ('sealed', 'done') ORDER BY p DESC LIMIT 1").toArray()[0];
    return last ? { seq: last.last_seq, hash: last.last_hash } : { seq: 0, hash: GENESIS_HASH };
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
    // A sealing wake in front of this: the next run does everything (see ringForSealing).
    this.sql.exec("DELETE FROM meta WHERE key IN ('seal_wake_at', 'duties_at')");
    const current = await this.ctx.storage.getAlarm();
    const next = earlierAlarm(current, at);
    if (next !== current) await this.ctx.storage.setAlarm(next);
  }

  /**
   * Rings the alarm within seconds to seal a complete period, in front of the alarm already set
   * (whose time is kept as `duties_at`): that run only seals (it does not sign a checkpoint or ask
   * the TSA), and the alarm then goes back to `duties_at`. An alarm run before `seal_wake_at` (run
   * early, as tests do) or at `duties_at` does everything.
   */
  private async ringForSealing(): Promise<void> {
    const at = Date.now() + SEAL_SOON_MS;
    const current = await this.ctx.storage.getAlarm();
    if (current !== null && current <= at) return;
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('duties_at', ?), ('seal_wake_at', ?)", String(current ?? Date.now() + CHECKPOINT_EVERY_MS), String(at));
    await this.ctx.storage.setAlarm(at);
  }

  private metaNumber(key: string): number | null {
    const value = this.sql.exec<{ value: string } & Row>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
    return value === undefined ? null : Number(value);
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
      const range = await this.countMatching(filter, treeSize);
      const checkpoints = await this.checkpointLines(treeSize, await this.exportCheckpointSizes(filter, treeSize, keptSize));
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
   * The checkpoints a filtered export carries (docs/audit.md §4), by tree size: for each event it
   * holds, the first tree checkpoint at or after that event (the earliest signed statement, and
   * its timestamp, that the event was in the log), the checkpoint of `keptSize` when asked for
   * (so a kept copy of the public document can be checked against a filtered export), and the
   * final one. An item's extract thus carries a handful, not the log's whole history. Null for a
   * full export, which carries every checkpoint.
   */
  private async exportCheckpointSizes(filter: AuditFilter, treeSize: number, keptSize?: number): Promise<Set<number> | null> {
    if (FILTER_NAMES.every((name) => filter[name] === undefined)) return null;
    const sizes = this.sql.exec<{ seq: number } & Row>("SELECT seq FROM checkpoints WHERE root IS NOT NULL AND seq <= ? ORDER BY seq", treeSize).toArray().map((row) => row.seq);
    const chosen = new Set<number>([treeSize]);
    if (keptSize !== undefined && sizes[firstAtOrAfter(sizes, keptSize)] === keptSize) chosen.add(keptSize);
    for (let after = 0; ; ) {
      const page = await this.collect(filter, after, MAX_PAGE, "asc", treeSize);
      for (const event of page) chosen.add(sizes[firstAtOrAfter(sizes, event.seq)] ?? treeSize);
      if (page.length < MAX_PAGE) break;
      after = page.at(-1)!.seq;
    }
    return chosen;
  }

  /** The export's checkpoint lines: every checkpoint up to `treeSize` (or those of the sizes in `only`), each earlier one with its consistency proof to it. */
  private async checkpointLines(treeSize: number, only: Set<number> | null): Promise<string[]> {
    const rows = this.sql
      .exec<{ seq: number; jws: string; root: string | null; timestamp_token: string | null } & Row>("SELECT seq, jws, root, timestamp_token FROM checkpoints WHERE seq <= ? ORDER BY seq", treeSize)
      .toArray()
      .filter((row) => only === null || (row.root !== null && only.has(row.seq)));
    const proven = rows.filter((row) => row.root !== null && row.seq < treeSize);
    const nodes = this.nodes();
    // A checkpoint inside a sealed period needs a few of that period's nodes: one call per period.
    await nodes.prefetch(await nodesUsedBy(async (recorder) => {
      for (const row of proven) await consistencyProof(recorder, row.seq, treeSize);
    }));
    const lines: string[] = [];
    for (const row of rows) {
      const consistency = row.root !== null && row.seq < treeSize ? (await consistencyProof(nodes, row.seq, treeSize)).map(toHex) : undefined;
      lines.push(checkpointLine(row.jws, consistency, row.timestamp_token));
    }
    return lines;
  }

  /**
   * The sealed periods that may hold events matching `filter`, in seq order: those whose key
   * index names the filter's case, item, actor and target, and whose times meet `from`/`to`.
   */
  private candidatePeriods(filter: AuditFilter): { p: number; first_seq: number; last_seq: number; count: number }[] {
    const conditions = ["state IN ('sealed', 'done')"];
    const values: SqlStorageValue[] = [];
    // Targets that are cases or items are indexed by their c:/e: keys only (see sealStep).
    const indexedTarget = filter.targetType !== undefined && !UNINDEXED_TARGET_TYPES.includes(filter.targetType) ? filter.targetId : undefined;
    const keys: [string | undefined, string][] = [[filter.caseId, "c:"], [filter.evidenceId, "e:"], [filter.actorId, "a:"], [indexedTarget, "t:"]];
    for (const [value, prefix] of keys) {
      if (value === undefined) continue;
      conditions.push("EXISTS (SELECT 1 FROM period_keys WHERE key = ? AND period = p)");
      values.push(prefix + value);
    }
    if (filter.from !== undefined) {
      conditions.push("last_at >= ?");
      values.push(filter.from);
    }
    if (filter.to !== undefined) {
      conditions.push("first_at <= ?");
      values.push(filter.to);
    }
    return this.sql
      .exec<{ p: number; first_seq: number; last_seq: number; count: number } & Row>(`SELECT p, first_seq, last_seq, count FROM periods WHERE ${conditions.join(" AND ")} ORDER BY p`, ...values)
      .toArray()
      .map((row) => ({ p: row.p, first_seq: row.first_seq, last_seq: row.last_seq, count: row.count }));
  }

  /** How many events with seq ≤ `max` match `filter`, and the first and last of their seqs, across the periods and the head. */
  private async countMatching(filter: AuditFilter, max: number): Promise<{ n: number; first: number | null; last: number | null }> {
    const sealedThrough = this.sealedThrough();
    const total = countRows(this.sql, filter, sealedThrough, max);
    const unfiltered = FILTER_NAMES.every((name) => filter[name] === undefined);
    for (const period of this.candidatePeriods(filter)) {
      if (period.first_seq > max) break;
      const part = unfiltered && period.last_seq <= max ? { n: period.count, first: period.first_seq, last: period.last_seq } : await this.period(period.p).count(filter, max);
      if (part.n === 0) continue;
      total.n += part.n;
      total.first = total.first === null ? part.first : Math.min(total.first, part.first!);
      total.last = total.last === null ? part.last : Math.max(total.last, part.last!);
    }
    return total;
  }

  /**
   * Events matching `filter`, at most `limit`, with seq ≤ `max`: in chain order after seq
   * `cursor`, or newest first before `cursor` (0: from the newest). The head's part is read
   * first, in the same instant as the list of sealed periods, so a period sealed meanwhile (and
   * its rows deleted here) is neither missed nor read twice; a sealed period never changes.
   */
  private async collect(filter: AuditFilter, cursor: number, limit: number, order: "asc" | "desc", max = Number.MAX_SAFE_INTEGER): Promise<AuditEvent[]> {
    const wanted = Math.max(0, Math.min(limit, MAX_PAGE));
    const sealedThrough = this.sealedThrough();
    const periods = this.candidatePeriods(filter);
    const head = listRows(this.sql, filter, cursor, wanted, order, sealedThrough, max);
    const out: AuditEvent[] = [];
    if (order === "desc") {
      out.push(...head);
      const before = cursor === 0 ? Number.MAX_SAFE_INTEGER : cursor;
      for (const period of periods.reverse()) {
        if (out.length >= wanted) break;
        if (period.first_seq >= before || period.first_seq > max) continue;
        out.push(...((await this.period(period.p).list(filter, cursor, wanted - out.length, "desc", max)) as unknown as AuditEvent[]));
      }
      return out;
    }
    for (const period of periods) {
      if (out.length >= wanted || period.first_seq > max) break;
      if (period.last_seq <= cursor) continue;
      out.push(...((await this.period(period.p).list(filter, cursor, wanted - out.length, "asc", max)) as unknown as AuditEvent[]));
    }
    if (out.length < wanted) out.push(...head.slice(0, wanted - out.length));
    return out;
  }

  /** Events matching `filter` after seq `after`, up to seq `treeSize`, each with its inclusion proof (lowercase hex) in the tree of `treeSize`. */
  async exportPage(filter: AuditFilter, after: number, limit: number, treeSize: number): Promise<{ event: AuditEvent; inclusion: string[] }[]> {
    const events = await this.collect(filter, after, limit, "asc", treeSize);
    const nodes = this.nodes();
    // The nodes below a sealed period's root come from that period: one call per period per page.
    await nodes.prefetch(await nodesUsedBy(async (recorder) => {
      for (const event of events) await inclusionProof(recorder, event.seq - 1, treeSize);
    }));
    const out: { event: AuditEvent; inclusion: string[] }[] = [];
    for (const event of events) out.push({ event, inclusion: (await inclusionProof(nodes, event.seq - 1, treeSize)).map(toHex) });
    return out;
  }

  /**
   * Hourly: chain anything left in the outbox, sign the head if it moved, ask the TSA for due
   * timestamps. Rung sooner a few seconds after a checkpoint is signed, and when a pending
   * timestamp's retry (with its backoff) is due before the next hour. While complete periods wait
   * to be sealed, it also rings every few seconds only to seal, each run a bounded number of steps.
   */
  override async alarm(): Promise<void> {
    const orgId = this.orgId();
    const sealWake = this.metaNumber("seal_wake_at");
    const dutiesAt = this.metaNumber("duties_at");
    const sealingOnly = sealWake !== null && dutiesAt !== null && Date.now() >= sealWake && Date.now() < dutiesAt;
    this.sql.exec("DELETE FROM meta WHERE key IN ('seal_wake_at', 'duties_at')");
    let next = dutiesAt ?? Date.now() + CHECKPOINT_EVERY_MS;
    if (!sealingOnly) {
      if (orgId) await this.drain(orgId);
      await this.checkpoint();
      next = Date.now() + CHECKPOINT_EVERY_MS;
      if (orgId) {
        await retryDueTimestamps(this.env, orgId).catch(() => undefined); // RFC 3161 stamps of checkpoints and manifests
        await this.attachStampedCheckpoints().catch(() => undefined); // tokens of checkpoints, kept beside their JWS
        next = await nextAuditAlarm(this.env, orgId, Date.now(), CHECKPOINT_EVERY_MS).catch(() => next);
      }
    }
    if (orgId) {
      const sealing = await this.sealSteps(SEAL_STEPS_PER_ALARM, SEAL_BATCH_ROWS).catch((err: unknown) => {
        console.error("audit: sealing a period failed; it is tried again", err);
        return { retry: true };
      });
      const wake = Date.now() + ("retry" in sealing ? SEAL_RETRY_MS : SEAL_SOON_MS);
      if (("retry" in sealing || sealing.due > 0) && wake < next) {
        // A sealing-only wake in front of the duties' time (see ringForSealing).
        this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('duties_at', ?), ('seal_wake_at', ?)", String(next), String(wake));
        next = wake;
      }
    }
    await this.ctx.storage.setAlarm(next);
  }

  /**
   * Events matching `filter`, at most `limit`: in chain order after seq `cursor`, or with
   * `order` "desc" newest first before seq `cursor` (0: from the newest).
   */
  async list(filter: AuditFilter = {}, cursor = 0, limit = 1000, order: "asc" | "desc" = "asc"): Promise<AuditEvent[]> {
    return this.collect(filter, cursor, limit, order);
  }

  /**
   * When the evidence's key was first released to the user (`GET /api/evidence/:id/key`, recorded
   * online as a successful `evidence.view`), or null if it never was: what an offline event must
   * come after (routes/audit.ts).
   */
  async firstKeyRelease(userId: string, evidenceId: string): Promise<string | null> {
    const periods = this.candidatePeriods({ evidenceId, actorId: userId });
    let first = firstKeyReleaseRow(this.sql, userId, evidenceId, this.sealedThrough());
    for (const period of periods) first = earlierTime(first, await this.period(period.p).firstKeyRelease(userId, evidenceId));
    return first;
  }

  /** True when a complete period is not yet sealed (or its copies here not yet deleted). */
  private sealWorkDue(): boolean {
    if (this.sql.exec("SELECT 1 FROM periods WHERE state <> 'done' LIMIT 1").toArray().length > 0) return true;
    const next = (this.sql.exec<{ n: number | null } & Row>("SELECT MAX(p) AS n FROM periods").toArray()[0]?.n ?? -1) + 1;
    return this.head().seq >= periodSeqs(next, this.bits()).last;
  }

  /** How sealing stands. */
  private sealProgress(steps: number): SealProgress {
    const bits = this.bits();
    const headSeq = this.head().seq;
    const sealed = this.sql.exec<{ n: number } & Row>("SELECT COUNT(*) AS n FROM periods WHERE state IN ('sealed', 'done')").toArray()[0]!.n;
    const done = this.sql.exec<{ n: number } & Row>("SELECT COUNT(*) AS n FROM periods WHERE state = 'done'").toArray()[0]!.n;
    const working = this.sql.exec<PeriodRow & Row>("SELECT p, state, copied_through FROM periods WHERE state <> 'done' ORDER BY p LIMIT 1").toArray()[0];
    return {
      bits, headSeq, sealed, due: Math.floor(headSeq / 2 ** bits) - done, steps,
      working: working ? { p: working.p, state: working.state, copiedThrough: working.copied_through } : null,
    };
  }

  /**
   * Seals complete periods now, at most `maxSteps` steps (an import of `batchRows` events, the
   * seal itself, a deletion batch), after draining the outbox; returns how it stands. The alarm
   * does this by itself; the bench and the tests call it to run or finish sealing on demand.
   */
  async sealDue(maxSteps = SEAL_STEPS_PER_ALARM, batchRows = SEAL_BATCH_ROWS): Promise<SealProgress> {
    const orgId = this.orgId();
    if (orgId) await this.drain(orgId);
    return this.sealSteps(maxSteps, batchRows);
  }

  private async sealSteps(maxSteps: number, batchRows: number): Promise<SealProgress> {
    let steps = 0;
    // One step per turn of the writer's queue: drains wait for one step at most.
    while (steps < maxSteps && (await this.serially(() => this.sealStep(Math.max(1, Math.floor(batchRows)))))) steps++;
    return this.sealProgress(steps);
  }

  /**
   * One step of sealing the lowest complete period not yet done; false when there is nothing to
   * do. Every step is idempotent, so a crash at any point redoes the step it interrupted:
   * 1. copying: the next batch of its rows and of its tree nodes below its root go to the period's
   *    object (which checks them);
   * 2. the period's object is asked for its count, bounds and root; if they are the head's, one
   *    storage transaction records the period as sealed, with its bounds and its key index; from
   *    then on reads go to the period's object;
   * 3. sealed: the head's copies of the rows and nodes are deleted, a batch at a time; then done.
   */
  private async sealStep(batchRows: number): Promise<boolean> {
    const bits = this.bits();
    let period = this.sql.exec<PeriodRow & Row>("SELECT p, state, copied_through, first_seq, last_seq FROM periods WHERE state <> 'done' ORDER BY p LIMIT 1").toArray()[0];
    if (!period) {
      if (!this.orgId() || !this.sealWorkDue()) return false;
      const p = (this.sql.exec<{ n: number | null } & Row>("SELECT MAX(p) AS n FROM periods").toArray()[0]?.n ?? -1) + 1;
      const { first, last } = periodSeqs(p, bits);
      this.sql.exec("INSERT INTO periods (p, state, copied_through, first_seq, last_seq) VALUES (?, 'copying', ?, ?, ?)", p, first - 1, first, last);
      period = { p, state: "copying", copied_through: first - 1, first_seq: first, last_seq: last };
    }
    const { p } = period;
    const { first, last } = periodSeqs(p, bits);
    if (period.state === "copying" && period.copied_through < last) {
      const to = Math.min(last, period.copied_through + batchRows);
      const rows = this.sql.exec<ChainRow & Row>("SELECT * FROM chain WHERE seq > ? AND seq <= ? ORDER BY seq", period.copied_through, to).toArray();
      if (rows.length !== to - period.copied_through) throw new Error(`audit sealing: period ${p} misses events ${period.copied_through + 1}…${to} in the head`);
      const nodes: WireNode[] = [];
      for (const range of nodesEndingIn(period.copied_through, to - 1, bits)) {
        for (const n of this.sql.exec<{ level: number; idx: number; hash: ArrayBuffer } & Row>("SELECT level, idx, hash FROM tree WHERE level = ? AND idx BETWEEN ? AND ?", range.level, range.first, range.last)) {
          nodes.push({ level: n.level, idx: n.idx, hash: n.hash });
        }
      }
      await this.period(p).importBatch(p, bits, rows.map((row) => ({ ...row }) as ChainRow), nodes);
      this.sql.exec("UPDATE periods SET copied_through = ? WHERE p = ? AND copied_through < ?", to, p, to);
      return true;
    }
    if (period.state === "copying") {
      const summary = await this.period(p).summary(p, bits);
      const root = this.sql.exec<{ hash: ArrayBuffer } & Row>("SELECT hash FROM tree WHERE level = ? AND idx = ?", bits, p).toArray()[0];
      const bounds = this.sql
        .exec<{ n: number; first_at: string; last_at: string } & Row>("SELECT COUNT(*) AS n, MIN(at) AS first_at, MAX(at) AS last_at FROM chain WHERE seq BETWEEN ? AND ?", first, last)
        .toArray()[0]!;
      const lastHash = this.sql.exec<{ hash: string } & Row>("SELECT hash FROM chain WHERE seq = ?", last).toArray()[0]?.hash;
      const rootHex = root ? toHex(new Uint8Array(root.hash)) : null;
      if (summary.count !== 2 ** bits || summary.firstSeq !== first || summary.lastSeq !== last || summary.root === null || summary.root !== rootHex || !lastHash || bounds.n !== 2 ** bits) {
        // Copy again from the start (imports are idempotent); the alarm tries again later.
        this.sql.exec("UPDATE periods SET copied_through = ? WHERE p = ?", first - 1, p);
        throw new Error(`audit sealing: period ${p}'s object does not match the head (${JSON.stringify(summary)}, root ${rootHex})`);
      }
      this.ctx.storage.transactionSync(() => {
        for (const [prefix, column] of [["c:", "case_id"], ["e:", "evidence_id"], ["a:", "actor_id"]] as const) {
          this.sql.exec(`INSERT OR IGNORE INTO period_keys (key, period) SELECT DISTINCT ? || ${column}, ? FROM chain WHERE seq BETWEEN ? AND ? AND ${column} IS NOT NULL`, prefix, p, first, last);
        }
        // Targets but cases and items (a signing key, a user, a request…): those two would repeat the c:/e: keys.
        this.sql.exec(
          `INSERT OR IGNORE INTO period_keys (key, period) SELECT DISTINCT 't:' || target_id, ? FROM chain
            WHERE seq BETWEEN ? AND ? AND target_id IS NOT NULL AND target_type NOT IN (${UNINDEXED_TARGET_TYPES.map(() => "?").join(", ")})`,
          p, first, last, ...UNINDEXED_TARGET_TYPES,
        );
        this.sql.exec(
          "UPDATE periods SET state = 'sealed', count = ?, first_at = ?, last_at = ?, last_hash = ?, root = ?, sealed_at = ? WHERE p = ?",
          bounds.n, bounds.first_at, bounds.last_at, lastHash, rootHex, new Date().toISOString(), p,
        );
      });
      return true;
    }
    // Sealed: delete the head's copies, a batch at a time (the period's root and higher nodes stay).
    // (Rows are counted before they are deleted: `rowsWritten` counts index rows too.)
    let budget = batchRows;
    const chainRows = this.sql.exec<{ n: number } & Row>("SELECT COUNT(*) AS n FROM (SELECT seq FROM chain WHERE seq BETWEEN ? AND ? LIMIT ?)", first, last, budget).toArray()[0]!.n;
    this.sql.exec("DELETE FROM chain WHERE seq IN (SELECT seq FROM chain WHERE seq BETWEEN ? AND ? ORDER BY seq LIMIT ?)", first, last, budget);
    budget -= chainRows;
    for (let level = 0; level < bits && budget > 0; level++) {
      const span = 2 ** (bits - level);
      const nodeRows = this.sql
        .exec<{ n: number } & Row>("SELECT COUNT(*) AS n FROM (SELECT idx FROM tree WHERE level = ? AND idx BETWEEN ? AND ? LIMIT ?)", level, p * span, (p + 1) * span - 1, budget)
        .toArray()[0]!.n;
      this.sql.exec("DELETE FROM tree WHERE level = ? AND idx IN (SELECT idx FROM tree WHERE level = ? AND idx BETWEEN ? AND ? ORDER BY idx LIMIT ?)", level, level, p * span, (p + 1) * span - 1, budget);
      budget -= nodeRows;
    }
    // Fewer left than the budget: every copy of this period in the head is gone.
    if (budget > 0) this.sql.exec("UPDATE periods SET state = 'done' WHERE p = ?", p);
    return true;
  }

  /** Public halves of every audit signing key this organisation has used. */
  async signingKeys(): Promise<JWK[]> {
    return this.sql.exec<{ public_jwk: string } & Row>("SELECT public_jwk FROM signing_keys ORDER BY created_at").toArray().map((row) => JSON.parse(row.public_jwk) as JWK);
  }
}

/**
 * The retention job (docs/retention.md): run daily by the Workers Cron Trigger (`scheduled` in
 * worker/src/index.ts) and by the Deno host's timer (deno/scheduler.ts), and by an administrator's
 * "Check now". Every step is a guarded state change that commits with its audit event, so a run
 * repeated, or cut short at any point and run again, does each thing once.
 */
import { addPeriod, describeRule, type RetentionRule, type RunResult } from "../../../shared/api/retention";
import { toHex } from "../../../shared/crypto/encoding";
import {
  binInsert,
  dueClear,
  dueMark,
  listAutoDeletable,
  listClocked,
  listPurgeable,
  manifestOf,
  tombstoneDigest,
  purgeRows,
  retentionSettings,
  ruleOf,
  shreddedDetailsDelete,
  shreddedShareWrapsDelete,
  shredStatement,
  tombstoneInsert,
  tombstonePurged,
  type DisposalRow,
} from "../db/retention";
import { caseStore } from "../db/records";
import { flushAudit, systemAuditStatement } from "./audit";

const DAY_MS = 24 * 60 * 60 * 1000;

/** When the item's retention ends: null when kept indefinitely or while its case is open (for rules counted from the close). */
export function retentionEnd(row: Pick<DisposalRow, "basis" | "period_count" | "period_unit" | "created_at" | "closed_at">): string | null {
  const rule = ruleOf(row);
  if (rule.basis === "indefinite") return null;
  const start = clockStart(row, rule);
  return start ? addPeriod(start, rule) : null;
}

/** Where the item's clock starts: its receipt (the server's time of the upload; capture time itself is encrypted), or its case's close. */
export function clockStart(row: Pick<DisposalRow, "created_at" | "closed_at">, rule: RetentionRule): string | null {
  if (rule.basis === "indefinite") return null;
  return rule.basis === "capture" ? row.created_at : row.closed_at;
}

/** SHA-512 (hex) of the manifest compact JWS as ASCII: what the upload events and the tombstone record. */
export async function manifestDigest(manifest: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-512", new TextEncoder().encode(manifest))));
}

function itemDetails(row: DisposalRow): Record<string, unknown> {
  return { caseId: row.case_id, evidenceId: row.id, category: { id: row.category_id, name: row.category_name, rule: describeRule(ruleOf(row)) } };
}

/** Orgs to run for: all of them, or one. */
async function organisations(db: D1Database, only?: string): Promise<string[]> {
  if (only) return [only];
  const { results } = await db.prepare("SELECT id FROM organisations ORDER BY id").all<{ id: string }>();
  return results.map((r) => r.id);
}

/**
 * One run of the job at `now` (the Cron Trigger's scheduled time): lists items past retention as
 * due (and unlists those no longer due), deletes to the bin what automatic deletion allows, and
 * purges what has had its time in the bin. Holds are checked in every statement that deletes.
 */
export async function runRetention(env: Env, now: Date, only?: string): Promise<RunResult> {
  const total: RunResult = { due: 0, cleared: 0, autoDeleted: 0, purged: 0 };
  for (const orgId of await organisations(env.DB, only)) {
    try {
      const result = await runForOrganisation(env, orgId, now);
      for (const key of Object.keys(total) as (keyof RunResult)[]) total[key] += result[key];
    } catch (err) {
      console.error(`retention: the run for ${orgId} stopped; the next run takes it up again`, err);
      if (only) throw err;
    } finally {
      await flushAudit(env, orgId);
    }
  }
  return total;
}

async function runForOrganisation(env: Env, orgId: string, now: Date): Promise<RunResult> {
  const db = env.DB;
  const at = now.toISOString();
  const settings = await retentionSettings(db, orgId);
  const result: RunResult = { due: 0, cleared: 0, autoDeleted: 0, purged: 0 };

  // 1. The due list: what is past retention now, and what no longer is (rule changed, case reopened).
  const changes: D1PreparedStatement[] = [];
  for (const row of await listClocked(db, orgId)) {
    const end = retentionEnd(row);
    const due = end !== null && end <= at;
    if (due && row.due_at === null) {
      changes.push(dueMark(db, row.id, at), systemAuditStatement(db, orgId, { action: "retention.due", target: { type: "evidence", id: row.id }, details: { ...itemDetails(row), retentionEnded: end, held: row.held === 1 } }, { onlyIfChanged: true }));
      result.due++;
    } else if (!due && row.due_at !== null) {
      changes.push(dueClear(db, row.id), systemAuditStatement(db, orgId, { action: "retention.due_cleared", target: { type: "evidence", id: row.id }, details: { ...itemDetails(row), retentionEnds: end } }, { onlyIfChanged: true }));
      result.cleared++;
    }
  }
  for (let i = 0; i < changes.length; i += 100) await db.batch(changes.slice(i, i + 100));

  // 2. Automatic deletion, when the organisation allows it: items listed as due for its waiting period.
  if (settings.auto_delete_days !== null) {
    const listedBefore = new Date(now.getTime() - settings.auto_delete_days * DAY_MS).toISOString();
    const purgeAfter = new Date(now.getTime() + settings.bin_days * DAY_MS).toISOString();
    for (const row of await listAutoDeletable(db, orgId, listedBefore)) {
      const [moved] = await db.batch([
        binInsert(db, row.id, { by: null, now: at, purgeAfter, retentionOnly: true }),
        systemAuditStatement(db, orgId, { action: "retention.delete", target: { type: "evidence", id: row.id }, details: { ...itemDetails(row), automatic: true, waitedDays: settings.auto_delete_days, purgeAfter } }, { onlyIfChanged: true }),
      ]);
      if ((moved?.meta.changes ?? 0) > 0) result.autoDeleted++;
    }
  }

  // 3. Purge what has had its time in the bin (and finish any purge a crash cut short).
  for (const row of await listPurgeable(db, orgId, at)) {
    try {
      if (await purgeItem(env, orgId, row, at)) result.purged++;
    } catch (err) {
      console.error(`retention: purge of ${row.id} stopped; the next run finishes it`, err);
    }
  }
  return result;
}

/**
 * Purges one item, in three steps, each safe to crash after (docs/retention.md, "Purge"):
 * 1. shred: the wrapped file key (and label, details, and its wraps in shares) deleted, the tombstone written, one
 *    transaction, only if still in the bin past its time and not held;
 * 2. the stored object deleted from R2 (deleting what is gone already is no error);
 * 3. every row left deleted, the evidence row last, and the tombstone marked purged.
 * An item already shredded (a crash after step 1) goes straight on to 2 and 3, hold or not: its key is gone.
 */
export async function purgeItem(env: Env, orgId: string, row: DisposalRow, at: string): Promise<boolean> {
  const db = env.DB;
  // An item shredded already (a purge a crash cut short) has its manifest's digest in its tombstone.
  let manifestSha512 = row.purge_started_at !== null ? await tombstoneDigest(db, row.id) : null;
  // The stored object's key: in the row once shredded (or from before migration 0036), else in the record.
  let r2Key = row.r2_key;
  if (manifestSha512 === null) {
    const found = await manifestOf(env, row.id);
    if (found === null) return false; // purged by another run meanwhile
    manifestSha512 = await manifestDigest(found.manifest);
    r2Key = found.r2_key;
  }
  if (!r2Key) throw new Error(`evidence ${row.id}: no stored object key to purge`);
  const details = { ...itemDetails(row), manifestSha512, approvedBy: row.deleted_by, deletedAt: row.deleted_at };
  if (row.purge_started_at === null) {
    const [shredded] = await db.batch([
      shredStatement(db, row.id, at, r2Key),
      systemAuditStatement(db, orgId, { action: "retention.shred", target: { type: "evidence", id: row.id }, details }, { onlyIfChanged: true }),
      tombstoneInsert(db, { evidenceId: row.id, manifestSha512, categoryName: row.category_name, rule: describeRule(ruleOf(row)) }),
      shreddedDetailsDelete(db, row.id),
      shreddedShareWrapsDelete(db, row.id),
    ]);
    if ((shredded?.meta.changes ?? 0) === 0) return false; // held, restored, or purged by another run meanwhile
  }
  // The record (the wrapped file key, label, thumbnail, details) in the case's object, first.
  await caseStore(env, row.case_id).forget(row.id);
  if (row.upload_id) await env.EVIDENCE.resumeMultipartUpload(r2Key, row.upload_id).abort().catch(() => undefined);
  await env.EVIDENCE.delete(r2Key);
  // Anything stored under the item's key as a folder (derived objects of the item) goes too.
  for (let cursor: string | undefined, more = true; more; ) {
    const listed = await env.EVIDENCE.list({ prefix: `${r2Key}/`, ...(cursor ? { cursor } : {}) });
    if (listed.objects.length > 0) await env.EVIDENCE.delete(listed.objects.map((o) => o.key));
    more = listed.truncated;
    cursor = listed.truncated ? listed.cursor : undefined;
  }
  const statements = purgeRows(db, row.id);
  const results = await db.batch([
    ...statements,
    systemAuditStatement(db, orgId, { action: "retention.purge", target: { type: "evidence", id: row.id }, details }, { onlyIfChanged: true }),
    tombstonePurged(db, row.id, at),
  ]);
  return (results[statements.length - 1]?.meta.changes ?? 0) > 0;
}

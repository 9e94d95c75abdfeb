/**
 * Moves the records of evidence rows written before migration 0036 (and the stamped timestamps
 * of their manifests) out of D1 into their cases' objects (docs/storage-schema.md, "What grows with evidence"), a batch at a time, by the daily
 * job. Nothing waits for it: every read takes a row in either form. Each row moves by a
 * compare-and-set on every field it moves, so a row that changed meanwhile (completed, shredded,
 * filed) is left for the next batch and nothing is lost or overwritten.
 *
 * Items in a user's holding place for captures are left where they are: filing one into a case
 * writes its record into that case's object (and copies its details versions there) anyway.
 *
 * It moves the items of shares made before migration 0037 the same way, a share at a time, and
 * the provenance of items accepted from submission links before it into their items' records.
 */
import { detailsHistory } from "../db/evidence";
import { manifestSha512 } from "../db/submission-intake";
import { caseStore, chainDetails, dropReplacedRecord, itemRecordOf, loadRecords, storeRecords, type ItemRecord, type ProvenanceRecord, type StoreEnv } from "../db/records";
import { moveStampedManifests } from "./timestamps";

const BATCH = 100;

interface LegacyItem extends ItemRecord {
  id: string;
  case_id: string;
}

const byCase = <T extends { case_id: string }>(rows: T[]): Map<string, T[]> => {
  const out = new Map<string, T[]>();
  for (const r of rows) out.set(r.case_id, [...(out.get(r.case_id) ?? []), r]);
  return out;
};

const LEGACY_ITEM = "SELECT e.id, e.case_id, e.r2_key, e.signer_kid, e.manifest, e.file_key, e.label, e.thumbnail, e.filing FROM evidence e";

/** Moves the records of rows of one case; returns how many moved. */
async function moveItemRecords(env: StoreEnv, caseId: string, rows: LegacyItem[]): Promise<number> {
  const stored = await storeRecords(env, caseId, rows.map((r) => ({ evidenceId: r.id, record: r })));
  const outcomes = await env.DB.batch(
    rows.map((r, i) =>
      env.DB
        .prepare(
          `UPDATE evidence SET record_ref = ?, r2_key = '', signer_kid = '', manifest = '', file_key = '', label = NULL, thumbnail = NULL, filing = NULL
            WHERE id = ? AND case_id = ? AND record_ref IS NULL AND purge_started_at IS NULL
              AND r2_key = ? AND signer_kid = ? AND manifest = ? AND file_key = ? AND label IS ? AND thumbnail IS ? AND filing IS ?`,
        )
        .bind(stored.items[i]!, r.id, caseId, r.r2_key, r.signer_kid, r.manifest, r.file_key, r.label, r.thumbnail, r.filing),
    ),
  );
  return outcomes.reduce((n, o) => n + (o.meta.changes ?? 0), 0);
}

/** One batch of item records; returns how many moved (0: none left, or each changed meanwhile: the next run takes them). */
async function moveItems(env: StoreEnv): Promise<number> {
  const { results } = await env.DB
    .prepare(`${LEGACY_ITEM} JOIN cases c ON c.id = e.case_id WHERE e.record_ref IS NULL AND e.purge_started_at IS NULL AND c.kind = 'case' LIMIT ?`)
    .bind(BATCH)
    .all<LegacyItem>();
  let moved = 0;
  for (const [caseId, rows] of byCase(results)) moved += await moveItemRecords(env, caseId, rows);
  return moved;
}

/**
 * Moves an item's details versions out of D1 rows into a chain of records in its case's object
 * (docs/storage-schema.md, "Details versions"): the chain, then a new item record naming its
 * latest version, then one D1 transaction swaps the record's reference by compare-and-set and
 * deletes the rows. Returns whether it moved (false: nothing to move, or the item changed meanwhile).
 */
async function moveItemDetails(env: StoreEnv, item: { id: string; case_id: string; record_ref: string }): Promise<boolean> {
  const versions = await detailsHistory(env, item.case_id, { id: item.id, details: null });
  if (versions.length === 0) return false;
  const { items } = await loadRecords(env, [{ caseId: item.case_id, evidenceId: item.id, itemRef: item.record_ref }]);
  const current = items.get(item.record_ref)!;
  if (current.details) throw new Error(`record move: item ${item.id} names a details chain and still has details rows in D1`);
  const chain = await chainDetails(versions);
  const latest = chain.at(-1)!;
  const stored = await storeRecords(
    env,
    item.case_id,
    [{ evidenceId: item.id, record: { ...itemRecordOf(current), details: { version: latest.record.version!, ref: latest.ref } } }],
    chain.map((c) => ({ evidenceId: item.id, record: c.record })),
  );
  const ref = stored.items[0]!;
  const [swapped] = await env.DB.batch([
    env.DB
      .prepare(
        `UPDATE evidence SET record_ref = ?1 WHERE id = ?2 AND record_ref = ?3 AND purge_started_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM evidence_details WHERE evidence_id = ?2 AND version > ?4)`,
      )
      .bind(ref, item.id, item.record_ref, latest.record.version!),
    env.DB.prepare("DELETE FROM evidence_details WHERE evidence_id = ?1 AND EXISTS (SELECT 1 FROM evidence WHERE id = ?1 AND record_ref = ?2)").bind(item.id, ref),
  ]);
  if (!swapped!.meta.changes) return false;
  // The replaced item record and the records the rows named (versions saved after 0036) are named by nothing now.
  const chained = new Set(chain.map((c) => c.ref));
  try {
    await caseStore(env, item.case_id).drop(item.id, item.record_ref === ref ? [] : [item.record_ref], versions.flatMap((v) => (v.ref && !chained.has(v.ref) ? [v.ref] : [])));
  } catch (err) {
    console.error(`case store: the replaced records of item ${item.id} were not deleted`, err);
  }
  return true;
}

/** One batch of items' details versions; returns how many items' moved. Items whose record has not moved yet wait for the item batch above. */
async function moveDetails(env: StoreEnv): Promise<number> {
  const { results } = await env.DB
    .prepare(
      `SELECT e.id, e.case_id, e.record_ref FROM (SELECT DISTINCT evidence_id FROM evidence_details) d JOIN evidence e ON e.id = d.evidence_id
        WHERE e.record_ref IS NOT NULL AND e.purge_started_at IS NULL LIMIT ?`,
    )
    .bind(BATCH)
    .all<{ id: string; case_id: string; record_ref: string }>();
  let moved = 0;
  for (const item of results) if (await moveItemDetails(env, item)) moved++;
  return moved;
}

/**
 * Moves one item's record and details versions now, if they are still in D1 (a details edit of an
 * item the daily job has not reached yet: new versions chain onto the ones before). Returns
 * whether anything moved.
 */
export async function moveItemNow(env: StoreEnv, evidenceId: string): Promise<boolean> {
  const legacy = await env.DB.prepare(`${LEGACY_ITEM} WHERE e.id = ? AND e.record_ref IS NULL AND e.purge_started_at IS NULL`).bind(evidenceId).first<LegacyItem>();
  const recordMoved = legacy ? (await moveItemRecords(env, legacy.case_id, [legacy])) > 0 : false;
  const item = await env.DB.prepare("SELECT id, case_id, record_ref FROM evidence WHERE id = ? AND record_ref IS NOT NULL AND purge_started_at IS NULL").bind(evidenceId).first<{ id: string; case_id: string; record_ref: string }>();
  const detailsMoved = item ? await moveItemDetails(env, item) : false;
  return recordMoved || detailsMoved;
}

/**
 * One batch of provenance rows (items accepted from a submission link before migration 0037):
 * each item gets a new record with its provenance, and one D1 transaction swaps the record's
 * reference by compare-and-set and deletes the row. Items whose record has not moved yet wait
 * for the item batch above.
 */
async function moveProvenance(env: StoreEnv): Promise<number> {
  const { results } = await env.DB
    .prepare(
      `SELECT e.id, e.case_id, e.record_ref, p.link_id, p.link_label, p.submission_id, p.signer_kid, p.submission_key_wrap, p.case_kid, p.details, p.sent_at, p.ip,
              p.user_agent, p.accepted_by, p.accepted_at
         FROM evidence_provenance p JOIN evidence e ON e.id = p.evidence_id
        WHERE e.record_ref IS NOT NULL AND e.purge_started_at IS NULL LIMIT ?`,
    )
    .bind(BATCH)
    .all<ProvenanceRecord & { id: string; case_id: string; record_ref: string }>();
  let moved = 0;
  for (const [caseId, rows] of byCase(results)) {
    const { items } = await loadRecords(env, rows.map((r) => ({ caseId, evidenceId: r.id, itemRef: r.record_ref })));
    const stored = await storeRecords(
      env,
      caseId,
      rows.map(({ id, case_id: _case, record_ref, ...provenance }) => ({ evidenceId: id, record: { ...itemRecordOf(items.get(record_ref)!), provenance } })),
    );
    const outcomes = await env.DB.batch(
      rows.flatMap((r, i) => [
        env.DB.prepare("UPDATE evidence SET record_ref = ? WHERE id = ? AND record_ref = ? AND purge_started_at IS NULL").bind(stored.items[i]!, r.id, r.record_ref),
        env.DB.prepare("DELETE FROM evidence_provenance WHERE evidence_id = ?1 AND EXISTS (SELECT 1 FROM evidence WHERE id = ?1 AND record_ref = ?2)").bind(r.id, stored.items[i]!),
      ]),
    );
    for (const [i, r] of rows.entries()) {
      if (!outcomes[2 * i]!.meta.changes) continue;
      moved++;
      await dropReplacedRecord(env, caseId, r.id, r.record_ref, stored.items[i]!);
    }
  }
  return moved;
}

/**
 * One batch of submitted files decided before migration 0038: each keeps its file's SHA-512 (what
 * the submitter's receipt lists) and drops its manifest, by compare-and-set on it. An accepted
 * file's manifest is in its evidence record; the decision's audit event records the digests.
 */
async function dropDecidedManifests(env: StoreEnv): Promise<number> {
  const { results } = await env.DB
    .prepare("SELECT id, manifest FROM submission_files WHERE decision IS NOT NULL AND manifest <> '' LIMIT ?")
    .bind(BATCH)
    .all<{ id: string; manifest: string }>();
  if (results.length === 0) return 0;
  const outcomes = await env.DB.batch(
    results.map((r) =>
      env.DB.prepare("UPDATE submission_files SET sha512 = coalesce(sha512, ?1), manifest = '' WHERE id = ?2 AND manifest = ?3").bind(manifestSha512(r.manifest), r.id, r.manifest),
    ),
  );
  return outcomes.reduce((n, o) => n + (o.meta.changes ?? 0), 0);
}

/** Shares moved per batch (a whole-case share lists every item of its case). */
const SHARE_BATCH = 10;

/**
 * One batch of shares made before migration 0037: each share's items (and its wraps, unless it is
 * revoked) are written to its case's object, then one D1 transaction marks the share moved, on
 * condition its revocation state is still the one read, and deletes its D1 rows. An item whose
 * purge began meanwhile is taken out of the object again, so no wrap of a shredded key survives.
 */
async function moveShares(env: StoreEnv): Promise<number> {
  const { results } = await env.DB
    .prepare("SELECT id, case_id, share_kid, revoked_at FROM shares WHERE items_in_store = 0 LIMIT ?")
    .bind(SHARE_BATCH)
    .all<{ id: string; case_id: string; share_kid: string; revoked_at: string | null }>();
  let moved = 0;
  for (const share of results) {
    const { results: items } = await env.DB
      .prepare("SELECT i.evidence_id, i.file_key, i.label FROM share_items i JOIN evidence e ON e.id = i.evidence_id WHERE i.share_id = ? AND e.purge_started_at IS NULL")
      .bind(share.id)
      .all<{ evidence_id: string; file_key: string | null; label: string | null }>();
    const store = caseStore(env, share.case_id);
    const revoked = share.revoked_at !== null;
    await store.putShareItems(share.id, share.share_kid, items.map((i) => ({ evidenceId: i.evidence_id, fileKey: revoked ? null : i.file_key, label: revoked ? null : i.label })));
    const [marked] = await env.DB.batch([
      env.DB.prepare("UPDATE shares SET items_in_store = 1 WHERE id = ? AND items_in_store = 0 AND revoked_at IS ?").bind(share.id, share.revoked_at),
      env.DB.prepare("DELETE FROM share_items WHERE share_id = ?1 AND EXISTS (SELECT 1 FROM shares WHERE id = ?1 AND items_in_store = 1)").bind(share.id),
    ]);
    if (marked!.meta.changes) moved++;
    // Revoked meanwhile: what was just written holds no wrap either (the next batch moves it again).
    else if ((await env.DB.prepare("SELECT revoked_at FROM shares WHERE id = ?").bind(share.id).first("revoked_at")) !== null) await store.revokeShare(share.id);
    const ids = items.map((i) => i.evidence_id);
    const live = new Set(
      (await env.DB.prepare("SELECT id FROM evidence WHERE id IN (SELECT value FROM json_each(?)) AND purge_started_at IS NULL").bind(JSON.stringify(ids)).all<{ id: string }>()).results.map((r) => r.id),
    );
    for (const id of ids) if (!live.has(id)) await store.forget(id);
  }
  return moved;
}

/**
 * Moves records until none are left or `budgetMs` has passed (the daily job gives it ten
 * minutes). Returns how many items, details versions, manifest timestamps, provenance rows and shares moved.
 */
export async function moveLegacyRecords(
  env: Env,
  budgetMs = 10 * 60_000,
): Promise<{ items: number; details: number; timestamps: number; provenance: number; shares: number; submittedFiles: number }> {
  const until = Date.now() + budgetMs;
  const total = { items: 0, details: 0, timestamps: 0, provenance: 0, shares: 0, submittedFiles: 0 };
  for (let n; Date.now() < until && (n = await moveItems(env)) > 0; ) total.items += n;
  for (let n; Date.now() < until && (n = await moveDetails(env)) > 0; ) total.details += n;
  for (let n; Date.now() < until && (n = await moveStampedManifests(env, BATCH)) > 0; ) total.timestamps += n;
  for (let n; Date.now() < until && (n = await moveProvenance(env)) > 0; ) total.provenance += n;
  for (let n; Date.now() < until && (n = await moveShares(env)) > 0; ) total.shares += n;
  for (let n; Date.now() < until && (n = await dropDecidedManifests(env)) > 0; ) total.submittedFiles += n;
  if (Object.values(total).some((n) => n > 0)) {
    console.log(
      `records moved to the cases' objects: ${total.items} items, ${total.details} details versions, ${total.timestamps} manifest timestamps, ${total.provenance} items' provenance, the items of ${total.shares} shares; ${total.submittedFiles} decided submitted files' manifests dropped`,
    );
  }
  return total;
}

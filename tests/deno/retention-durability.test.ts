/**
 * The retention job's purge on the Deno server, killed (SIGKILL) in the middle of it and started
 * again on the same data folder. After each kill, every item is in one of the states the purge's
 * steps leave (docs/retention.md, "Purge"): untouched in the bin, shredded with its tombstone, or
 * purged; never a key without its tombstone, a tombstone without a shredded key, or rows without
 * their item. The next run finishes the job: every item purged once, one shred and one purge
 * event each, no object, blob or row of the items left.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { auditEvents } from "../worker/audit-helpers";
import { backend, db } from "../worker/backend";
import { denoServer, restartDenoBackend } from "../worker/backend-deno";
import { approve, createCategory, DAY, runJobAt, upload, world } from "../worker/retention-helpers";

const ITEMS = 24;

interface ItemState {
  id: string;
  file_key: string;
  record_ref: string | null;
  purge_started_at: string | null;
}

async function snapshot(ids: string[]): Promise<{ bin: number; shredded: number; purged: number }> {
  const rows = new Map(
    (await db.prepare("SELECT id, file_key, record_ref, purge_started_at FROM evidence").all<ItemState>()).results.map((row) => [row.id, row]),
  );
  const tombstones = new Map(
    (await db.prepare("SELECT evidence_id, purged_at FROM evidence_tombstones").all<{ evidence_id: string; purged_at: string | null }>()).results.map((t) => [t.evidence_id, t]),
  );
  const counts = { bin: 0, shredded: 0, purged: 0 };
  for (const id of ids) {
    const row = rows.get(id);
    const tombstone = tombstones.get(id);
    if (row && row.purge_started_at === null) {
      // Untouched: its record (with its wrapped key) named, no tombstone.
      expect(row.record_ref, id).not.toBeNull();
      expect(tombstone, id).toBeUndefined();
      counts.bin++;
    } else if (row) {
      // Shredded (step 1 committed whole): its record unnamed, tombstone there, not yet marked purged.
      expect(row.record_ref, id).toBeNull();
      expect(row.file_key, id).toBe("");
      expect(tombstone?.purged_at, id).toBeNull();
      counts.shredded++;
    } else {
      // Purged (step 3 committed whole): no row, no part, the tombstone marked.
      expect(tombstone?.purged_at, id).toBeTruthy();
      const parts = await db.prepare("SELECT count(*) AS n FROM evidence_parts WHERE evidence_id = ?").bind(id).first<{ n: number }>();
      expect(parts!.n, id).toBe(0);
      counts.purged++;
    }
  }
  return counts;
}

describe("the Deno server killed in the middle of a purge", () => {
  it("restarts in a state each step allows, and the next run finishes it, once per item", async () => {
    const w = await world();
    const short = await createCategory(w.admin, "Short", { basis: "capture", count: 1, unit: "days" });
    const ids: string[] = [];
    for (let n = 0; n < ITEMS; n++) ids.push((await upload(w.lead, w.case, short.id, n + 1, 3000 + n)).evidenceId);
    await runJobAt(2);
    expect((await approve(w.admin, ids)).deleted).toHaveLength(ITEMS);

    let cutShort = 0;
    for (let round = 0; round < 3; round++) {
      const before = await snapshot(ids);
      if (before.bin + before.shredded === 0) break;
      // Fire the job, and kill the server once it has begun shredding (a little later each round).
      const running = backend.runScheduled(new Date(Date.now() + 10 * DAY)).catch(() => undefined);
      for (let i = 0; i < 2000; i++) {
        const begun = await db.prepare("SELECT count(*) AS n FROM evidence_tombstones").first<{ n: number }>();
        if (begun!.n > before.shredded + before.purged + round) break;
        await new Promise((done) => setTimeout(done, 2));
      }
      await restartDenoBackend("kill");
      await running;
      const after = await snapshot(ids);
      if (after.bin + after.shredded > 0) cutShort++;
    }
    // The kills did land in the middle of the purge (else this test proved nothing).
    expect(cutShort).toBeGreaterThan(0);

    // The next run finishes it.
    await runJobAt(10);
    expect(await snapshot(ids)).toEqual({ bin: 0, shredded: 0, purged: ITEMS });
    const events = await auditEvents();
    for (const id of ids) {
      expect(events.filter((e) => e.action === "retention.shred" && e.target.id === id), id).toHaveLength(1);
      expect(events.filter((e) => e.action === "retention.purge" && e.target.id === id), id).toHaveLength(1);
    }
    // Nothing of the items is left in the bucket: no object, and (after the sweep at start) no blob.
    expect((await db.prepare("SELECT count(*) AS n FROM evidence").first<{ n: number }>())!.n).toBe(0);
    const bucketDir = join(denoServer().stateDir, "r2", "EVIDENCE");
    expect((await backend.bucket.list()).objects).toEqual([]);
    await restartDenoBackend("stop");
    expect(existsSync(join(bucketDir, "blobs")) ? readdirSync(join(bucketDir, "blobs")) : []).toEqual([]);
  }, 300_000);
});

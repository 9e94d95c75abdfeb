/**
 * Durability of the Deno host: the server is killed (SIGKILL, so none of its code runs after)
 * while it stores upload parts, completes uploads and records audited changes, then started
 * again on the same data folder. After every restart:
 * - every upload the server holds as complete downloads and verifies (every GCM tag, part hash,
 *   whole-file SHA-512 and the manifest signature), byte for byte what was sent;
 * - every upload the kill cut short resumes where the server says it stopped, and finishes;
 * - the bucket refers to no missing or short file, and keeps no stray one;
 * - every change that happened has its audit event, and none that did not: the event commits
 *   with the change or not at all;
 * - the exported audit chain verifies, in the test and with `npm run audit:verify`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import type { PartUrls, UploadState } from "../../shared/api/cases";
import type { AuditEvent } from "../../shared/audit/chain";
import { verifyExport } from "../../shared/audit/export";
import { db } from "../worker/backend";
import { denoServer, restartDenoBackend } from "../worker/backend-deno";
import { downloadEvidence, openCase, prepareEvidence, randomBytes, withKeys, type Person, type Upload } from "../worker/evidence-helpers";
import { call, setUpOrganisation } from "../worker/helpers";

const MiB = 1024 * 1024;
const ROUNDS = 4;
/** Each round's uploads: two parts of 8 MiB (+ 128 B) and less, one part, and small ones that complete quickly. */
const SIZES = [9 * MiB, 3 * MiB, 200_000, 50_000, 1_000];

interface Sent extends Upload {
  bytes: Uint8Array;
  body: Record<string, unknown>;
}

/** Starts (or restarts) an upload, sends the parts the server does not have, completes it; counts stored parts. */
async function upload(person: Person, caseId: string, sent: Sent, stored: { parts: number }): Promise<void> {
  const started = await call(`/api/cases/${caseId}/evidence`, { cookie: person.cookie, body: sent.body });
  if (started.status !== 201 && started.status !== 200) throw new Error(`start: ${started.status} ${await started.text()}`);
  const state = (await started.json()) as UploadState;
  const missing = sent.parts.map((_, n) => n).filter((n) => !state.received.includes(n));
  if (missing.length > 0) {
    const urls = (await (await call(`/api/evidence/${sent.evidenceId}/part-urls`, { cookie: person.cookie, body: { parts: missing } })).json()) as PartUrls;
    for (const { part, url } of urls.urls) {
      const response = await call(url, { method: "PUT", body: sent.parts[part]! });
      if (response.status !== 204) throw new Error(`part ${part}: ${response.status} ${await response.text()}`);
      stored.parts++;
    }
  }
  const completed = await call(`/api/evidence/${sent.evidenceId}/complete`, { method: "POST", cookie: person.cookie });
  if (completed.status !== 200) throw new Error(`complete: ${completed.status} ${await completed.text()}`);
}

/** The bucket's index checked against its folder: each referenced file there at its recorded size, no other file. */
function checkBucketFiles(): void {
  const dir = join(denoServer().stateDir, "r2", "EVIDENCE");
  const index = new DatabaseSync(join(dir, "index.sqlite"));
  try {
    const referenced = new Map<string, number>();
    for (const row of index.prepare("SELECT blobs FROM objects").all() as { blobs: string }[]) {
      for (const blob of JSON.parse(row.blobs) as { id: string; size: number }[]) referenced.set(blob.id, blob.size);
    }
    for (const row of index.prepare("SELECT blob, size FROM parts").all() as { blob: string; size: number }[]) referenced.set(row.blob, row.size);
    for (const [id, size] of referenced) {
      expect(existsSync(join(dir, "blobs", id)), `blob ${id}`).toBe(true);
      expect(statSync(join(dir, "blobs", id)).size, `blob ${id}`).toBe(size);
    }
    expect(readdirSync(join(dir, "blobs")).sort()).toEqual([...referenced.keys()].sort());
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
  } finally {
    index.close();
  }
}

/** The organisation's whole audit trail as the API exports it, checked offline in the test and by the CLI. */
async function checkAuditExport(admin: Person): Promise<AuditEvent[]> {
  const response = await call("/api/audit/export?format=jsonl", { cookie: admin.cookie });
  expect(response.status).toBe(200);
  const text = await response.text();
  const lines = text.split("\n").filter((line) => line !== "");
  expect(await verifyExport(lines)).toMatchObject({ ok: true });
  const dir = mkdtempSync(join(tmpdir(), "custody-audit-"));
  try {
    const file = join(dir, "audit.jsonl");
    writeFileSync(file, text);
    const root = resolve(import.meta.dirname, "../..");
    const cli = spawnSync(process.execPath, [join(root, "scripts/audit-verify.ts"), file], { cwd: root, encoding: "utf8" });
    expect(cli.status, cli.stdout + cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^✓ /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines.map((line) => JSON.parse(line) as { type?: string } & AuditEvent).filter((entry) => entry.type === undefined || entry.type === "event");
}

describe("the Deno server killed in the middle of writes", () => {
  it("restarts consistent: complete uploads verify, cut ones resume, and every change has exactly its audit event", async () => {
    const admin = await withKeys(await setUpOrganisation());
    const c = await openCase(admin, "K-1");
    const all = new Map<string, Sent>();
    const verified = new Set<string>();
    let cutShort = 0;
    let edits = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const batch: Sent[] = [];
      for (const [i, size] of SIZES.entries()) {
        const bytes = randomBytes(size, round * 100 + i + 1);
        const prepared = await prepareEvidence(admin, c, bytes, `clip-${round}-${i}.mp4`);
        batch.push({ ...prepared, bytes });
        all.set(prepared.evidenceId, { ...prepared, bytes });
      }

      // Everything at once: the uploads, and a stream of audited case edits, one after another.
      const stored = { parts: 0 };
      let killed = false;
      const work = [
        ...batch.map((sent) => upload(admin, c.id, sent, stored)),
        (async () => {
          while (!killed) {
            const response = await call(`/api/cases/${c.id}`, { method: "PATCH", cookie: admin.cookie, body: { title: `Edit ${edits}` } });
            if (response.status !== 200) throw new Error(`edit: ${response.status}`);
            edits++;
          }
        })(),
      ].map((task) => task.catch(() => undefined));
      // Kill once some parts are in and more are on their way, a little later each round.
      while (stored.parts < 1 + (round % 2)) await new Promise((done) => setTimeout(done, 5));
      await new Promise((done) => setTimeout(done, 20 + round * 45));
      killed = true;
      await restartDenoBackend("kill");
      await Promise.all(work);

      // After the restart: the bucket's files match its index.
      checkBucketFiles();

      // Every upload the server holds as complete verifies; every other one resumes and completes.
      // (Each is downloaded once it is complete, and all of them again after the last kill.)
      const rows = (await db.prepare("SELECT id, status FROM evidence").all<{ id: string; status: string }>()).results;
      const status = new Map(rows.map((row) => [row.id, row.status]));
      const last = round === ROUNDS - 1;
      for (const [id, sent] of all) {
        if (status.get(id) !== "complete") {
          cutShort++;
          await upload(admin, c.id, sent, { parts: 0 });
        }
        if (verified.has(id) && !last) continue;
        expect(await downloadEvidence(admin, id), id).toEqual(sent.bytes);
        verified.add(id);
      }
      checkBucketFiles();

      // The audit chain verifies, and holds exactly the changes that happened.
      const events = await checkAuditExport(admin);
      const title = (await db.prepare("SELECT title FROM cases WHERE id = ?").bind(c.id).first<{ title: string }>())!.title;
      const committedEdits = title.startsWith("Edit ") ? Number(title.slice(5)) + 1 : 0;
      expect(events.filter((e) => e.action === "case.update" && e.target.id === c.id)).toHaveLength(committedEdits);
      edits = committedEdits;
      for (const id of all.keys()) {
        expect(events.filter((e) => e.action === "evidence.upload_complete" && e.target.id === id), `upload_complete of ${id}`).toHaveLength(1);
        expect(events.filter((e) => e.action === "evidence.upload_start" && e.target.id === id), `upload_start of ${id}`).toHaveLength(1);
      }
      const parts = (await db.prepare("SELECT evidence_id, part_number FROM evidence_parts").all<{ evidence_id: string; part_number: number }>()).results;
      for (const part of parts) {
        const recorded = events.filter((e) => e.action === "evidence.part_upload" && e.target.id === part.evidence_id && (e.details as { part?: number }).part === part.part_number);
        expect(recorded.length, `part ${part.part_number} of ${part.evidence_id}`).toBeGreaterThanOrEqual(1);
      }
    }
    expect(all.size).toBe(ROUNDS * SIZES.length);
    // The kills did land in the middle of uploads (else this test proved nothing).
    expect(cutShort).toBeGreaterThan(0);
  }, 300_000);
});

/**
 * Trusted timestamps (RFC 3161) against a real TSA (`openssl ts -reply`, tests/support/tsa.ts):
 * an upload's manifest signature is stamped when it completes, checkpoints when the audit
 * alarm runs (rung within seconds of a new checkpoint); a TSA that is down or answers garbage
 * never blocks an upload (the item awaits its timestamp and is retried); with no TSA configured
 * everything works and says so; the TSA URL is validated and its change audited.
 */
import { describe, expect, inject, it } from "vitest";
import type { TimestampStatus } from "../../shared/api/cases";
import type { OrgSettings } from "../../shared/api/identity";
import { verifyExport, type PublicAuditDocument } from "../../shared/audit/export";
import { fromBase64url } from "../../shared/crypto/encoding";
import { verifyTimestampToken } from "../../shared/timestamp/rfc3161";
import { auditEvents } from "./audit-helpers";
import { backend, db } from "./backend";
import { openCase, randomBytes, storedItem, uploadEvidence, withKeys } from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";
import { OTHER_CA_PEM } from "./timestamps-other-ca";
import { STAMP_SOON_MS, earlierAlarm } from "../../worker/src/lib/timestamps";

declare module "vitest" {
  export interface ProvidedContext {
    tsaUrl: string;
    tsaCaPem: string;
  }
}

const tsaUrl = inject("tsaUrl");
const tsaCaPem = inject("tsaCaPem");

/** A TSA endpoint of its own for this test, in `mode`. */
async function endpoint(mode: "ok" | "garbage" | "down" | "reject" = "ok"): Promise<string> {
  const name = `${backend.runtime}-${crypto.randomUUID()}`;
  await setMode(name, mode);
  return `${tsaUrl}/${name}`;
}
async function setMode(name: string, mode: string): Promise<void> {
  const response = await fetch(`${tsaUrl}/control/${name}`, { method: "PUT", body: mode });
  expect(response.status).toBe(204);
}

async function organisation(settings: Partial<OrgSettings> = {}) {
  const adminSession = await setUpOrganisation();
  if (Object.keys(settings).length > 0) {
    const saved = await call("/api/settings", { method: "PUT", body: settings, cookie: adminSession.cookie });
    expect(saved.status, await saved.clone().text()).toBe(200);
  }
  const lead = await withKeys(await addUser(adminSession.cookie, { email: "lead@example.org", name: "Lea Lead", role: "investigator" }));
  const caseDetail = await openCase(lead, "2026-0101");
  return { adminSession, lead, caseDetail };
}

async function timestampOf(cookie: string, evidenceId: string): Promise<TimestampStatus> {
  const response = await call(`/api/evidence/${evidenceId}/timestamp`, { cookie });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as TimestampStatus;
}

/** Makes a pending timestamp due now (instead of waiting out the backoff). */
async function makeDue(subjectId: string): Promise<void> {
  await db.prepare("UPDATE timestamps SET next_attempt_at = ? WHERE subject_id = ?").bind(new Date(Date.now() - 1000).toISOString(), subjectId).run();
}

describe("trusted timestamps (RFC 3161)", () => {
  it("stamps the manifest signature when an upload completes; the token verifies against the TSA's CA", async () => {
    const { lead, caseDetail } = await organisation({ tsaUrl: await endpoint(), tsaCaPem });
    const upload = await uploadEvidence(lead, caseDetail, randomBytes(1000));
    const stamp = await timestampOf(lead.cookie, upload.evidenceId);
    expect(stamp).toMatchObject({ state: "stamped", tsaName: "O=Custody tests, CN=Custody Test TSA", caPem: tsaCaPem });
    if (stamp.state !== "stamped") throw new Error("not stamped");
    expect(Math.abs(Date.parse(stamp.genTime) - Date.now())).toBeLessThan(120_000);
    const signature = fromBase64url(upload.manifest.split(".")[2]!);
    const token = Uint8Array.from(atob(stamp.token), (ch) => ch.charCodeAt(0));
    const info = await verifyTimestampToken(token, signature, { trustedPem: tsaCaPem });
    expect(info).toMatchObject({ genTime: stamp.genTime, serial: stamp.serial, chainVerified: true });
    // Over the signature, nothing else.
    await expect(verifyTimestampToken(token, new TextEncoder().encode(upload.manifest))).rejects.toMatchObject({ what: "imprint" });
    // Once stamped it leaves D1's queue for the item's record in its case's object (docs/storage-schema.md).
    expect(await db.prepare("SELECT count(*) AS n FROM timestamps WHERE subject_id = ?").bind(upload.evidenceId).first("n")).toBe(0);
    expect(await storedItem(upload.evidenceId)).toMatchObject({ timestamp: { token: stamp.token, gen_time: stamp.genTime, serial: stamp.serial, tsa_ca_pem: tsaCaPem } });

    // The upload's audit events tie the log to the evidence: the manifest's SHA-512 and the content's.
    const manifestSha512 = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-512", new TextEncoder().encode(upload.manifest))), (b) => b.toString(16).padStart(2, "0")).join("");
    const contentSha512 = (JSON.parse(new TextDecoder().decode(fromBase64url(upload.manifest.split(".")[1]!))) as { sha512: string }).sha512;
    const events = (await auditEvents()).filter((e) => e.action === "evidence.upload_start" || e.action === "evidence.upload_complete");
    expect(events.map((e) => e.action)).toEqual(["evidence.upload_start", "evidence.upload_complete"]);
    for (const event of events) expect(event.details).toMatchObject({ manifestSha512, sha512: contentSha512 });
  });

  it("moves a manifest's timestamp stamped before migration 0036 out of D1's queue into the item's record, answering the same", async () => {
    const { lead, caseDetail } = await organisation({ tsaUrl: await endpoint(), tsaCaPem });
    const upload = await uploadEvidence(lead, caseDetail, randomBytes(700));
    const before = await timestampOf(lead.cookie, upload.evidenceId);
    expect(before).toMatchObject({ state: "stamped" });
    // The state from before 0036: the record in the row's own columns, the token in the queue row.
    const stored = (await storedItem(upload.evidenceId))!;
    const t = stored.timestamp as { data: string; token: string; gen_time: string; tsa_name: string; serial: string; tsa_url: string; tsa_ca_pem: string; attempts: number; stamped_at: string };
    await db
      .prepare("UPDATE evidence SET r2_key = ?, signer_kid = ?, manifest = ?, file_key = ?, label = ?, record_ref = NULL WHERE id = ?")
      .bind(stored.r2_key, stored.signer_kid, stored.manifest, stored.file_key, stored.label, upload.evidenceId)
      .run();
    const org = (await db.prepare("SELECT org_id FROM setup WHERE id = 1").first<{ org_id: string }>())!.org_id;
    await db
      .prepare(
        `INSERT INTO timestamps (subject_type, subject_id, org_id, data, state, attempts, tsa_url, tsa_ca_pem, token, gen_time, tsa_name, serial, created_at, stamped_at)
         VALUES ('manifest', ?, ?, ?, 'stamped', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(upload.evidenceId, org, t.data, t.attempts, t.tsa_url, t.tsa_ca_pem, t.token, t.gen_time, t.tsa_name, t.serial, t.stamped_at, t.stamped_at)
      .run();
    await backend.dropCaseRecords(caseDetail.id);
    expect(await timestampOf(lead.cookie, upload.evidenceId)).toEqual(before);

    await backend.runScheduled(new Date());
    expect(await db.prepare("SELECT count(*) AS n FROM timestamps WHERE subject_id = ?").bind(upload.evidenceId).first("n")).toBe(0);
    expect((await storedItem(upload.evidenceId))!.timestamp).toEqual(t);
    expect(await timestampOf(lead.cookie, upload.evidenceId)).toEqual(before);
  });

  for (const mode of ["down", "garbage", "reject"] as const) {
    it(`never blocks an upload when the TSA is ${mode}: the item awaits its timestamp and gets it on a retry`, async () => {
      const url = await endpoint(mode);
      const { lead, caseDetail } = await organisation({ tsaUrl: url, tsaCaPem });
      const upload = await uploadEvidence(lead, caseDetail, randomBytes(500));
      const waiting = await timestampOf(lead.cookie, upload.evidenceId);
      expect(waiting).toMatchObject({ state: "pending", attempts: 1 });
      if (waiting.state !== "pending") throw new Error("not pending");
      expect(waiting.lastError).toMatch(mode === "down" ? /HTTP 503/ : mode === "garbage" ? /not a TimeStampResp/ : /refused \(status 2/);
      expect(Date.parse(waiting.nextAttemptAt!)).toBeGreaterThan(Date.now());
      // Not due yet: looking again does not hammer the TSA.
      expect(await timestampOf(lead.cookie, upload.evidenceId)).toMatchObject({ state: "pending", attempts: 1 });

      await setMode(url.slice(tsaUrl.length + 1), "ok");
      await makeDue(upload.evidenceId);
      const manifestStamp = await timestampOf(lead.cookie, upload.evidenceId);
    expect(manifestStamp).toMatchObject({ state: "stamped", tsaName: "O=Custody tests, CN=Custody Test TSA" });
    if (manifestStamp.state !== "stamped") throw new Error("not stamped");
    });
  }

  it("refuses a token from a TSA that does not chain to the configured CA (pending, retried)", async () => {
    const other = OTHER_CA_PEM;
    const { lead, caseDetail } = await organisation({ tsaUrl: await endpoint(), tsaCaPem: other });
    const upload = await uploadEvidence(lead, caseDetail, randomBytes(10));
    const stamp = await timestampOf(lead.cookie, upload.evidenceId);
    expect(stamp).toMatchObject({ state: "pending", lastError: expect.stringMatching(/does not chain/) });
  });

  it("with no TSA configured, uploads work and the item says so", async () => {
    const { lead, caseDetail } = await organisation();
    const upload = await uploadEvidence(lead, caseDetail, randomBytes(100));
    expect(await timestampOf(lead.cookie, upload.evidenceId)).toEqual({ state: "unconfigured" });
    expect((await db.prepare("SELECT COUNT(*) AS n FROM timestamps").first<{ n: number }>())!.n).toBe(0);
  });

  it("stamps audit checkpoints when the audit alarm runs (the same retry path for manifests)", async () => {
    const url = await endpoint("down");
    const { adminSession, lead, caseDetail } = await organisation({ tsaUrl: url, tsaCaPem });
    const upload = await uploadEvidence(lead, caseDetail, randomBytes(100));
    const org = (await db.prepare("SELECT org_id FROM setup WHERE id = 1").first<{ org_id: string }>())!.org_id;
    await setMode(url.slice(tsaUrl.length + 1), "ok");
    await makeDue(upload.evidenceId);
    expect(await backend.runDurableObjectAlarm("AUDIT", org)).toBe(true);
    const rows = await db.prepare("SELECT subject_type, subject_id, state, token, data FROM timestamps ORDER BY subject_type").all<{ subject_type: string; subject_id: string; state: string; token: string | null; data: string }>();
    const checkpoint = rows.results.find((r) => r.subject_type === "checkpoint");
    expect(checkpoint, JSON.stringify(rows.results)).toBeDefined();
    // The alarm asked the TSA for the checkpoint it had just signed, and retried the manifest, whose
    // timestamp then left the queue for the item's record.
    expect(rows.results.map((r) => [r.subject_type, r.state])).toEqual([["checkpoint", "stamped"]]);
    const manifestStamp = await timestampOf(lead.cookie, upload.evidenceId);
    expect(manifestStamp).toMatchObject({ state: "stamped", tsaName: "O=Custody tests, CN=Custody Test TSA" });
    if (manifestStamp.state !== "stamped") throw new Error("not stamped");
    const token = Uint8Array.from(atob(checkpoint!.token!), (ch) => ch.charCodeAt(0));
    await verifyTimestampToken(token, fromBase64url(checkpoint!.data), { trustedPem: tsaCaPem });

    // The token is kept beside its checkpoint: in the public document and on the export's checkpoint line.
    const doc = (await (await call("/.well-known/custody/audit.json")).json()) as PublicAuditDocument;
    expect(doc.treeSize).toBe(Number(checkpoint!.subject_id));
    expect(doc.timestamp).toBe(checkpoint!.token);
    const exported = await call("/api/audit/export?format=jsonl", { cookie: adminSession.cookie });
    const lines = (await exported.text()).split("\n").filter((line) => line !== "");
    const stamped = lines.findIndex((line) => line.includes(`"timestamp":"${checkpoint!.token}"`));
    expect(stamped, "a checkpoint line carries the token").toBeGreaterThan(0);
    const report = await verifyExport(lines, { tsaCaPem });
    expect(report).toMatchObject({ ok: true, timestamps: [{ treeSize: Number(checkpoint!.subject_id), tsaName: "O=Custody tests, CN=Custody Test TSA", chainVerified: true }] });
    // A token that is not over this checkpoint's signature (here: another checkpoint's) fails, naming the line.
    const other = JSON.parse(lines[stamped]!) as { timestamp: string };
    const forged = [...lines];
    const manifestToken = manifestStamp.token;
    forged[stamped] = JSON.stringify({ ...(JSON.parse(lines[stamped]!) as object), timestamp: manifestToken });
    expect(other.timestamp).not.toBe(manifestToken);
    expect(await verifyExport(forged, { tsaCaPem })).toMatchObject({ ok: false, error: { line: stamped + 1, message: expect.stringMatching(/timestamp/) } });
  });

  it("stamps a newly signed checkpoint within seconds (the alarm rings soon), not at the next hourly alarm", async () => {
    const url = await endpoint("ok");
    const { adminSession } = await organisation({ tsaUrl: url, tsaCaPem });
    const exported = await call("/api/audit/export?format=jsonl", { cookie: adminSession.cookie });
    expect(exported.status).toBe(200);
    const lines = (await exported.text()).split("\n").filter((line) => line !== "");
    const signed = await db.prepare("SELECT subject_id, state FROM timestamps WHERE subject_type = 'checkpoint' ORDER BY CAST(subject_id AS INTEGER) DESC").all<{ subject_id: string; state: string }>();
    const newest = signed.results[0];
    expect(newest, "the export signed a checkpoint and asked for its timestamp").toMatchObject({ state: "pending" });
    expect(lines.some((line) => line.includes('"timestamp"')), "no token yet on the export").toBe(false);
    // Nobody rings the alarm: it was set to ring within seconds of the checkpoint, and brings the token.
    const deadline = Date.now() + 20_000;
    let state = "pending";
    while (state === "pending" && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 250));
      state = (await db.prepare("SELECT state FROM timestamps WHERE subject_type = 'checkpoint' AND subject_id = ?").bind(newest!.subject_id).first<{ state: string }>())!.state;
    }
    expect(state, "stamped within seconds of the export").toBe("stamped");
    const again = (await (await call("/api/audit/export?format=jsonl", { cookie: adminSession.cookie })).text()).split("\n").filter((line) => line !== "");
    const report = await verifyExport(again, { tsaCaPem });
    expect(report).toMatchObject({ ok: true, timestamps: expect.arrayContaining([expect.objectContaining({ treeSize: Number(newest!.subject_id), chainVerified: true })]) });
  });

  it("rings the audit alarm soon for a new checkpoint without pushing back an earlier one", () => {
    const now = Date.parse("2026-12-04T12:00:00Z");
    const soon = now + STAMP_SOON_MS;
    expect(STAMP_SOON_MS).toBeLessThanOrEqual(5_000);
    expect(earlierAlarm(null, soon)).toBe(soon); // no alarm yet
    expect(earlierAlarm(now + 60 * 60 * 1000, soon)).toBe(soon); // the hourly one is brought forward
    expect(earlierAlarm(now + 1000, soon)).toBe(now + 1000); // a sooner one stays
  });

  it("validates the TSA URL (https; http only for localhost) and CA certificate, and audits the change", async () => {
    const admin = await setUpOrganisation();
    for (const tsa of ["http://tsa.example.org/", "ftp://tsa.example.org", "not a url", "https://user:pw@tsa.example.org/"]) {
      await expectError(await call("/api/settings", { method: "PUT", body: { tsaUrl: tsa }, cookie: admin.cookie }), 400, "validation_failed");
    }
    await expectError(await call("/api/settings", { method: "PUT", body: { tsaCaPem: "hello" }, cookie: admin.cookie }), 400, "validation_failed");
    await expectError(await call("/api/settings", { method: "PUT", body: { tsaCaPem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" }, cookie: admin.cookie }), 400, "validation_failed");
    for (const tsa of ["https://tsa.example.org/tsr", "http://localhost:3180/tsr", "http://127.0.0.1:3180/"]) {
      const saved = await call("/api/settings", { method: "PUT", body: { tsaUrl: tsa }, cookie: admin.cookie });
      expect(saved.status, await saved.clone().text()).toBe(200);
      expect(((await saved.json()) as OrgSettings).tsaUrl).toBe(tsa);
    }
    const withCa = await call("/api/settings", { method: "PUT", body: { tsaCaPem }, cookie: admin.cookie });
    expect(((await withCa.json()) as OrgSettings).tsaCaPem).toBe(tsaCaPem);
    const off = await call("/api/settings", { method: "PUT", body: { tsaUrl: null, tsaCaPem: null }, cookie: admin.cookie });
    expect((await off.json()) as OrgSettings).toMatchObject({ tsaUrl: null, tsaCaPem: null });
    const changes = (await auditEvents()).filter((e) => e.action === "settings.change").map((e) => (e.details as { changed: Record<string, { from: unknown; to: unknown }> }).changed);
    expect(changes[0]).toEqual({ tsaUrl: { from: null, to: "https://tsa.example.org/tsr" } });
    expect(changes.at(-1)).toMatchObject({ tsaUrl: { from: "http://127.0.0.1:3180/", to: null }, tsaCaPem: { from: tsaCaPem, to: null } });
    // Only administrators.
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await expectError(await call("/api/settings", { method: "PUT", body: { tsaUrl: "https://tsa.example.org/" }, cookie: ivy.cookie }), 403, "forbidden");
  });
});

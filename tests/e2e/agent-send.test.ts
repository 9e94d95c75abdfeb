/**
 * The real site agent's `send` (agent/send.ts, docs/agent.md "Sending on the site's own
 * initiative") against the real server (`npm start`), with real ffmpeg: a clip and a still sent
 * through a submission link arrive encrypted (the stored ciphertext opens only with the link's
 * submission key) and signed by the agent's own key, with the camera's metadata; an unknown
 * camera and a closed link are refused plainly; `send --request` holds a request's clip for the
 * owner's decision. Needs `npx vite build` first.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditPage } from "../../shared/api/audit";
import type { CaseDetail } from "../../shared/api/cases";
import type { CreatedSubmissionLink } from "../../shared/api/submissions";
import type { SiteCreated, VideoRequest } from "../../shared/api/video";
import { decryptExpectations, decryptMetadata, decryptParts, generateSubmissionKeyPair, importPrivateKey, keyId, unwrapFileKey, verifyManifest, wrapSubmissionKey } from "../../shared/crypto";
import { addUserByApi, openCaseByApi, setUpByApi, withKeysByApi, type Person } from "./api-client";
import { CustodyServer } from "./harness";

const root = resolve(import.meta.dirname, "../..");

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** Runs the agent as `npm run agent` does; answers its exit status and output. */
function runAgent(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["agent/main.ts", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("exit", (code) => done({ code, stdout, stderr }));
  });
}

describe("the site agent sends a clip and a still through a submission link", () => {
  let server: CustodyServer;
  let work: string;
  let admin: Person;
  let ivy: Person;
  let caseDetail: CaseDetail;
  let configPath: string;
  let t0: number;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-agent-send-"));
    const archive = join(work, "recordings");
    mkdirSync(join(archive, "entrance"), { recursive: true });
    t0 = Math.floor((Date.now() - 3600_000) / 60_000) * 60_000;
    for (let i = 0; i < 2; i++) {
      const name = `${new Date(t0 + i * 10_000).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}.mp4`;
      const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", join(archive, "entrance", name)], { encoding: "utf8" });
      if (made.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${made.stderr}`);
    }
    server = await CustodyServer.start();
    admin = await setUpByApi(server.url);
    ivy = await withKeysByApi(await addUserByApi(admin, { email: "ivy@example.org", name: "Ivy Investigator", role: "investigator" }));
    caseDetail = await openCaseByApi(ivy, "S-17");
    const site = await admin.json<SiteCreated>("/api/sites", { body: { name: "Corner Shop", address: "1 High Street", holdDays: 30 } });
    configPath = join(work, "site.json");
    const cameras = [{ archiveId: "entrance", name: "Entrance", latitude: 51.5, longitude: -0.12, direction: 90, recorderId: "nvr-1" }];
    writeFileSync(configPath, JSON.stringify({ ...site.config, archive, dataDir: join(work, "agent-data"), cameras }, null, 2));
  }, 240_000);

  afterAll(async () => {
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("sends both encrypted to the link's key and signed by the agent; refuses an unknown camera and a closed link plainly", async () => {
    server.attachLogOnFailure();
    const key = await generateSubmissionKeyPair();
    const { link } = await ivy.json<CreatedSubmissionLink>(`/api/cases/${caseDetail.id}/submission-links`, {
      body: {
        audience: "person", label: "Corner Shop", instructions: "Send what your cameras saw.", expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
        maxFiles: 5, maxBytes: 50_000_000, submissionKey: key.publicJwk, submissionKeyWrap: await wrapSubmissionKey(key.privateJwk, caseDetail.caseKey.publicJwk), caseKid: caseDetail.caseKey.kid,
      },
    });
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();

    const unknown = await runAgent(["--config", configPath, "send", "--camera", "lobby", "--from", at(2), "--to", at(8), "--link", link.url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No camera "lobby"');

    const clip = await runAgent(["--config", configPath, "send", "--camera", "entrance", "--from", at(6), "--to", at(14), "--link", link.url]);
    expect(clip.code, clip.stderr).toBe(0);
    const still = await runAgent(["--config", configPath, "send", "--camera", "entrance", "--snapshot", "--at", at(5), "--link", link.url]);
    expect(still.code, still.stderr).toBe(0);
    const receipts = [clip, still].map((r) => (JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { sent: { fileId: string; sha512: string } }).sent);
    // Nothing left at the site: the held copies go once sent, no plaintext in work/.
    expect(readdirSync(join(work, "agent-data", "held"))).toEqual([]);
    expect(readdirSync(join(work, "agent-data", "work"))).toEqual([]);

    // Signed by the agent's own key: the server checked it, and its events name it.
    const agentKeys = JSON.parse(readFileSync(join(work, "agent-data", "agent-keys.json"), "utf8")) as { signing: Record<string, string> };
    const { d: _d, ...agentSigningPublic } = agentKeys.signing;
    const agentKid = await keyId(agentSigningPublic);
    const { events } = await admin.json<AuditPage>("/api/audit/events?action=submission.file&limit=100");
    expect(events.map((e) => e.details!.fileId).sort()).toEqual(receipts.map((r) => r.fileId).sort());
    for (const e of events) expect(e.details!.signerKid).toBe(agentKid);

    // Encrypted: what the server stored opens with the link's submission key only (as a member's would, after unwrapping it with the case key).
    const d1 = filesUnder(server.stateDir).filter((f) => f.endsWith(".sqlite")).map((f) => new DatabaseSync(f, { readOnly: true })).find((db) => {
      try {
        db.prepare("SELECT 1 FROM submission_files LIMIT 1").all();
        return true;
      } catch {
        return false;
      }
    })!;
    const submissionKey = await importPrivateKey(key.privateJwk, "enc");
    const blobs = new Map(filesUnder(server.stateDir).map((f) => [createHash("sha512").update(readFileSync(f)).digest("hex"), f]));
    const opened: Record<string, { mediaType: string; bytes: Buffer; camera: Record<string, unknown> }> = {};
    for (const receipt of receipts) {
      const row = d1.prepare("SELECT file_key, manifest FROM submission_files WHERE id = ?").get(receipt.fileId) as { file_key: string; manifest: string };
      const manifest = await verifyManifest(row.manifest, agentSigningPublic);
      expect(manifest.sha512).toBe(receipt.sha512);
      const fileKey = await unwrapFileKey(row.file_key, submissionKey.privateKey);
      const parts = manifest.parts.map((sha) => readFileSync(blobs.get(sha)!));
      const chunks: Uint8Array[] = [];
      for await (const chunk of decryptParts(parts, fileKey, decryptExpectations(manifest))) chunks.push(chunk);
      const metadata = await decryptMetadata(manifest.metadata, fileKey);
      opened[metadata.mediaType] = { mediaType: metadata.mediaType, bytes: Buffer.concat(chunks), camera: metadata.camera! };
      // The stored ciphertext is not the plaintext.
      expect(parts[0]!.includes(Buffer.concat(chunks).subarray(64, 128))).toBe(false);
    }
    d1.close();
    expect(opened["video/mp4"]!.camera).toMatchObject({ name: "Entrance", archiveId: "entrance", recorderId: "nvr-1", siteName: "Corner Shop", initiative: "site", still: false, requestedStart: at(6), requestedEnd: at(14) });
    expect(opened["image/jpeg"]!.camera).toMatchObject({ name: "Entrance", still: true, footageStart: at(5) });
    // A playable 8-second clip across the two segments, and a JPEG frame of the camera's size.
    writeFileSync(join(work, "sent.mp4"), opened["video/mp4"]!.bytes);
    writeFileSync(join(work, "sent.jpg"), opened["image/jpeg"]!.bytes);
    const probe = (file: string, entries: string) => spawnSync("ffprobe", ["-v", "error", "-show_entries", entries, "-of", "default=noprint_wrappers=1:nokey=1", file], { encoding: "utf8" }).stdout.trim();
    expect(Math.abs(Number.parseFloat(probe(join(work, "sent.mp4"), "format=duration")) - 8)).toBeLessThanOrEqual(1);
    expect(opened["image/jpeg"]!.bytes.subarray(0, 2).toString("hex")).toBe("ffd8");
    expect(probe(join(work, "sent.jpg"), "stream=width,height").split("\n")).toEqual(["320", "240"]);

    // A closed link: said plainly, nothing cut.
    await ivy.json(`/api/submission-links/${link.id}/revoke`, { method: "POST" });
    const closed = await runAgent(["--config", configPath, "send", "--camera", "entrance", "--snapshot", "--at", at(5), "--link", link.url]);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain("cannot take files");
  }, 180_000);

  it("holds a request's clip with --request, for the owner's decision; refuses an unknown request and a still", async () => {
    server.attachLogOnFailure();
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    // The site's cameras reach the registry as the agent's first run sends them.
    const once = await runAgent(["--config", configPath, "--once"]);
    expect(once.code, once.stderr).toBe(0);
    const { cameras } = await ivy.json<{ cameras: { id: string; archiveId: string }[] }>("/api/cameras");
    const asked = await ivy.json<VideoRequest>("/api/video-requests", { body: { caseId: caseDetail.id, cameraIds: [cameras.find((c) => c.archiveId === "entrance")!.id], start: at(2), end: at(12), reason: "Robbery at the till" } });

    const unknown = await runAgent(["--config", configPath, "send", "--camera", "entrance", "--request", "f".repeat(32)]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No request");
    const still = await runAgent(["--config", configPath, "send", "--camera", "entrance", "--snapshot", "--at", at(5), "--request", asked.id]);
    expect(still.code).toBe(2);
    expect(still.stderr).toContain("A request asks for video");

    const held = await runAgent(["--config", configPath, "send", "--camera", "entrance", "--request", asked.id]);
    expect(held.code, held.stderr).toBe(0);
    const receipt = (JSON.parse(held.stdout.trim().split("\n").at(-1)!) as { held: { clipId: string; byteSize: number; footageStart: string } }).held;
    // Held, encrypted to the site's key, for the owner to approve or deny: the request says so.
    const after = await ivy.json<VideoRequest>(`/api/video-requests/${asked.id}`);
    expect(after.status).toBe("held");
    expect(after.clips.find((k) => k.id === receipt.clipId)).toMatchObject({ status: "held", byteSize: receipt.byteSize });
    expect(readdirSync(join(work, "agent-data", "held"))).toContain(receipt.clipId);
    expect(readdirSync(join(work, "agent-data", "work"))).toEqual([]);
  }, 180_000);
});

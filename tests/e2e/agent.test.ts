/**
 * The real site agent (`node agent/main.ts`, as `npm run agent` runs it) against the real
 * server (`npm start`, or `npm run start:deno` in the e2e-deno project), with real ffmpeg on an archive of MP4 segments made from ffmpeg's test
 * source: enrolment and camera sync, export across segment boundaries, live notification,
 * approve (a playable, verified clip of the requested duration in the case), deny (nothing
 * left at the site or on the server), missing footage, an agent killed mid-export, and the
 * limit of 5 exports at once. Needs `npx vite build` first (the server runs with --no-build).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import type { SiteCreated, VideoRequest } from "../../shared/api/video";
import { decryptMetadata } from "../../shared/crypto";
import { addUserByApi, openCaseByApi, openEvidenceByApi, setUpByApi, waitFor, withKeysByApi, type Person } from "./api-client";
import { CustodyServer, RUNTIME } from "./harness";

const root = resolve(import.meta.dirname, "../..");
const SEGMENT_SECONDS = 10;
const SEGMENTS = 9;

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
  } catch {
    return [];
  }
}

/** True when some file under `dir` contains `needle`. */
function foundUnder(dir: string, needle: Buffer): string | null {
  for (const file of filesUnder(dir)) if (readFileSync(file).includes(needle)) return file;
  return null;
}

function segmentName(t: number): string {
  return `${new Date(t).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}.mp4`;
}

function ffprobeDuration(path: string): number {
  const out = spawnSync("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "default=noprint_wrappers=1:nokey=1", path], { encoding: "utf8" });
  return Number.parseFloat(out.stdout.trim());
}

/** The agent as a process of its own (its own process group, so a kill takes its ffmpeg too). */
class AgentProcess {
  readonly log: string[] = [];
  private child: ChildProcess;
  exited: Promise<number | null>;

  constructor(configPath: string, runtime: Runtime) {
    const [command, args] =
      runtime.name === "node"
        ? [process.execPath, ["agent/main.ts", "--config", configPath]]
        : [runtime.path, ["run", "--sloppy-imports", "--allow-read", "--allow-write", "--allow-net", "--allow-run", "--allow-env", "agent/main.ts", "--config", configPath]];
    this.child = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.child.stdout!.on("data", (c: Buffer) => this.log.push(c.toString()));
    this.child.stderr!.on("data", (c: Buffer) => this.log.push(c.toString()));
    this.exited = new Promise((done) => this.child.once("exit", (code) => done(code)));
  }

  /** Kills the agent and its children at once (as a crash or a power cut would). */
  async kill(): Promise<void> {
    process.kill(-this.child.pid!, "SIGKILL");
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => process.kill(-this.child.pid!, "SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

interface Runtime {
  name: "node" | "deno";
  path: string;
}

/**
 * The runtimes the agent is tested on: Node (this one), and Deno when it is installed
 * (`node_modules/.bin/deno`, or DENO_PATH).
 */
const RUNTIMES: Runtime[] = [{ name: "node", path: process.execPath }];
const denoPath = process.env.DENO_PATH ?? resolve(root, "node_modules/.bin/deno");
if (existsSync(denoPath)) RUNTIMES.push({ name: "deno", path: denoPath });

const SERVER = RUNTIME === "deno" ? "npm run start:deno" : "npm start";

describe.each(RUNTIMES)(`the site agent on $name, with real ffmpeg, against ${SERVER}`, (runtime) => {
  let server: CustodyServer;
  let work: string;
  let archive: string;
  let dataDir: string;
  let admin: Person;
  let ivy: Person;
  let olive: Person;
  let caseId: string;
  let site: SiteCreated;
  let agent: AgentProcess | null = null;
  let t0: number;
  const cameras = [
    { archiveId: "entrance", name: "Entrance", latitude: 51.5007, longitude: -0.1246, direction: 90, recorderId: "nvr-1" },
    { archiveId: "car-park", name: "Car park", latitude: 51.501, longitude: -0.125, direction: 270, recorderId: "nvr-1" },
    ...Array.from({ length: 7 }, (_, i) => ({ archiveId: `aisle-${i + 1}`, name: `Aisle ${i + 1}`, latitude: null, longitude: null, direction: null, recorderId: "nvr-2" })),
  ];
  const cameraIds = new Map<string, string>();

  /** Writes a configuration file (the downloaded one, completed at the site) and starts the agent with it. */
  function startAgent(extra: Record<string, unknown> = {}, name = "site.json"): AgentProcess {
    const path = join(work, name);
    writeFileSync(path, JSON.stringify({ ...site.config, archive, dataDir, cameras, pollSeconds: 2, ...extra }, null, 2));
    agent = new AgentProcess(path, runtime);
    return agent;
  }

  function attachLogs(): void {
    server.attachLogOnFailure();
    onTestFailed(() => console.error(`--- agent log ---\n${agent?.log.join("").slice(-10_000)}\n--- end of agent log ---`));
  }

  const request = (id: string) => ivy.json<VideoRequest>(`/api/video-requests/${id}`);
  const at = (seconds: number) => new Date(t0 + seconds * 1000).toISOString();

  async function ask(archiveIds: string[], from: number, to: number): Promise<VideoRequest> {
    return ivy.json<VideoRequest>("/api/video-requests", { body: { caseId, cameraIds: archiveIds.map((a) => cameraIds.get(a)!), start: at(from), end: at(to), reason: "Robbery at the till" } });
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-agent-"));
    archive = join(work, "recordings");
    dataDir = join(work, "agent-data");
    // Ten-second segments of ffmpeg's test pattern, H.264 with a keyframe every second (as recorders do), starting three hours ago.
    t0 = Math.floor((Date.now() - 3 * 3600_000) / 60_000) * 60_000;
    mkdirSync(join(archive, "entrance"), { recursive: true });
    for (let i = 0; i < SEGMENTS; i++) {
      const out = join(archive, "entrance", segmentName(t0 + i * SEGMENT_SECONDS * 1000));
      const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc=size=320x240:rate=25`, "-t", String(SEGMENT_SECONDS), "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-movflags", "+faststart", out], { encoding: "utf8" });
      if (made.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${made.stderr}`);
    }
    // The aisle cameras' folders hold the same recording (the concurrency test needs many clips).
    for (let i = 1; i <= 7; i++) symlinkSync(join(archive, "entrance"), join(archive, `aisle-${i}`));
    server = await CustodyServer.start();
    admin = await setUpByApi(server.url);
    ivy = await withKeysByApi(await addUserByApi(admin, { email: "ivy@example.org", name: "Ivy Investigator", role: "investigator" }));
    olive = await addUserByApi(admin, { email: "olive@example.org", name: "Olive Operator", role: "site_operator" });
    caseId = (await openCaseByApi(ivy, "V-7")).id;
    site = await admin.json<SiteCreated>("/api/sites", { body: { name: "Corner Shop", address: "1 High Street", holdDays: 30 } });
    await admin.json(`/api/sites/${site.site.id}/operators/${olive.id}`, { method: "PUT" });
  }, 240_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("enrols with the one-time token, keeps its private keys owner-only, syncs its cameras and connects live", async () => {
    attachLogs();
    startAgent();
    const registry = await waitFor(() => ivy.json<{ cameras: { id: string; archiveId: string }[] }>("/api/cameras"), (r) => r.cameras.length === cameras.length, "the camera registry");
    for (const cam of registry.cameras) cameraIds.set(cam.archiveId, cam.id);
    expect((statSync(join(dataDir, "agent-keys.json")).mode & 0o777).toString(8)).toBe("600");
    expect((statSync(dataDir).mode & 0o777).toString(8)).toBe("700");
    const status = await waitFor(() => admin.json<{ agent: { enrolled: boolean; connected: boolean } }>(`/api/sites/${site.site.id}`), (s) => s.agent.connected, "the live connection");
    expect(status.agent.enrolled).toBe(true);
  });

  it("exports across segment boundaries, holds it encrypted to the site, and on approval delivers a playable, verified clip of the requested duration into the case", async () => {
    attachLogs();
    const asked = await ask(["entrance"], 15.5, 45.5); // 30 s over segments 1 to 4
    const held = await waitFor(() => request(asked.id), (r) => r.status === "held", "the clip to be held", 30_000);
    expect(held.clips[0]!.status).toBe("held");
    // At the site: ciphertext and a wrapped key only, no plaintext cut left behind.
    const clipDir = join(dataDir, "held", held.clips[0]!.id);
    expect(readdirSync(clipDir).sort()).toEqual(["clip.enc", "clip.json"]);
    expect(readFileSync(join(clipDir, "clip.enc")).includes(Buffer.from("ftyp"))).toBe(false);
    expect(readdirSync(join(dataDir, "work"))).toEqual([]);
    expect((statSync(join(clipDir, "clip.enc")).mode & 0o777).toString(8)).toBe("600");

    await olive.json(`/api/video-requests/${asked.id}/approve`, { method: "POST" });
    const delivered = await waitFor(() => request(asked.id), (r) => r.status === "delivered", "the delivery", 30_000);
    const evidenceId = delivered.clips[0]!.evidenceId!;
    const opened = await openEvidenceByApi(ivy, caseId, evidenceId);
    expect(opened.signer.owner).toMatchObject({ type: "agent", id: site.site.id });
    expect(opened.manifest).toMatchObject({ requestId: asked.id, uploaderId: site.site.id, caseId });
    const metadata = await decryptMetadata(opened.manifest.metadata, opened.fileKey);
    expect(metadata).toMatchObject({ mediaType: "video/mp4", camera: { name: "Entrance", archiveId: "entrance", recorderId: "nvr-1", direction: 90, requestId: asked.id, siteName: "Corner Shop" } });
    const file = join(work, "delivered.mp4");
    writeFileSync(file, opened.plaintext);
    expect(Math.abs(ffprobeDuration(file) - 30)).toBeLessThanOrEqual(1);
    // Plays: every frame decodes.
    const decoded = spawnSync("ffmpeg", ["-v", "error", "-i", file, "-f", "null", "-"], { encoding: "utf8" });
    expect(decoded.status).toBe(0);
    expect(decoded.stderr).toBe("");
    // Delivered, the site deletes its held copy.
    await waitFor(() => request(asked.id), (r) => r.purgedAt !== null, "the held copy's deletion");
    expect(readdirSync(join(dataDir, "held"))).toEqual([]);
  });

  it("on denial deletes the held clip and its key at the site and sends nothing", async () => {
    attachLogs();
    const asked = await ask(["entrance"], 50, 70);
    const held = await waitFor(() => request(asked.id), (r) => r.status === "held", "the clip to be held", 30_000);
    const clipDir = join(dataDir, "held", held.clips[0]!.id);
    const ciphertext = readFileSync(join(clipDir, "clip.enc"));
    const wrappedKey = Buffer.from((JSON.parse(readFileSync(join(clipDir, "clip.json"), "utf8")) as { fileKey: string }).fileKey);
    await olive.json(`/api/video-requests/${asked.id}/deny`, { body: { note: "Not relevant" } });
    const after = await waitFor(() => request(asked.id), (r) => r.purgedAt !== null, "the held copy's deletion");
    expect(after.status).toBe("denied");
    expect(after.clips[0]!.evidenceId).toBeNull();
    const sample = ciphertext.subarray(Math.floor(ciphertext.length / 2), Math.floor(ciphertext.length / 2) + 64);
    // Nothing at the site, nothing in the server's storage (D1, R2, Durable Objects on disk).
    expect(foundUnder(dataDir, sample)).toBeNull();
    expect(foundUnder(dataDir, wrappedKey)).toBeNull();
    expect(foundUnder(server.stateDir, sample)).toBeNull();
    expect(foundUnder(server.stateDir, wrappedKey)).toBeNull();
    expect(readdirSync(join(dataDir, "held"))).toEqual([]);
  });

  it("ends as video unavailable when the archive has no footage for the range", async () => {
    attachLogs();
    const asked = await ask(["car-park"], 0, 20);
    const done = await waitFor(() => request(asked.id), (r) => r.status === "unavailable", "video unavailable", 30_000);
    expect(done.clips[0]!.unavailable).toMatch(/no footage/);
  });

  it("finishes an export after the agent is killed in the middle of it and restarted", async () => {
    attachLogs();
    await agent!.stop();
    // An ffmpeg that signals it has started and then hangs: the agent is killed while it runs.
    const started = join(work, "ffmpeg-started");
    const hanging = join(work, "hanging-ffmpeg.sh");
    writeFileSync(hanging, `#!/bin/sh\ntouch '${started}'\nexec sleep 3600\n`);
    chmodSync(hanging, 0o755);
    startAgent({ ffmpeg: hanging }, "site-hanging.json");
    const asked = await ask(["entrance"], 20, 40);
    await waitFor(async () => { try { statSync(started); return true; } catch { return false; } }, Boolean, "the export to start", 30_000);
    expect((await request(asked.id)).status).toBe("exporting");
    await agent!.kill();
    // Nothing half-made survives as held; the server still says exporting.
    expect((await request(asked.id)).status).toBe("exporting");
    startAgent();
    const held = await waitFor(() => request(asked.id), (r) => r.status === "held", "the restarted export", 30_000);
    expect(held.clips[0]!.durationMs).toBeGreaterThan(19_000);
    expect(readdirSync(join(dataDir, "work"))).toEqual([]);
    await olive.json(`/api/video-requests/${asked.id}/deny`, { body: { note: "" } });
    await waitFor(() => request(asked.id), (r) => r.purgedAt !== null, "the held copy's deletion");
  });

  it("runs at most 5 exports at once", async () => {
    attachLogs();
    await agent!.stop();
    // A real ffmpeg behind a wrapper that counts how many run at once.
    const running = join(work, "running");
    const counts = join(work, "counts");
    mkdirSync(running, { recursive: true });
    const counting = join(work, "counting-ffmpeg.sh");
    writeFileSync(counting, `#!/bin/sh\ntouch '${running}'/$$\nls '${running}' | wc -l >> '${counts}'\nsleep 1\nffmpeg "$@"\nstatus=$?\nrm -f '${running}'/$$\nexit $status\n`);
    chmodSync(counting, 0o755);
    startAgent({ ffmpeg: counting }, "site-counting.json");
    const asked = await ask(cameras.filter((c) => c.archiveId.startsWith("aisle-")).map((c) => c.archiveId), 0, 10);
    expect(asked.clips).toHaveLength(7);
    const held = await waitFor(() => request(asked.id), (r) => r.status === "held", "seven clips held", 60_000);
    expect(held.clips.every((k) => k.status === "held")).toBe(true);
    const seen = readFileSync(counts, "utf8").trim().split("\n").map(Number);
    expect(seen).toHaveLength(7);
    expect(Math.max(...seen)).toBeLessThanOrEqual(5);
    expect(Math.max(...seen)).toBeGreaterThan(1); // they did run in parallel
    await olive.json(`/api/video-requests/${asked.id}/deny`, { body: { note: "" } });
    await waitFor(() => request(asked.id), (r) => r.purgedAt !== null, "the held copies' deletion");
  });
});

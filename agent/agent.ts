/**
 * The on-site agent (docs/agent.md): enrols once, syncs the camera list, then does what the
 * site's work list says, told at once over the live connection or finding it by polling:
 *
 * - a requested clip: cut it from the archive (ffmpeg, stream copy), encrypt it into the
 *   holding area at once under a key wrapped to the site's own key, report it held (or the
 *   footage unavailable). At most `maxExports` (5) exports run at once.
 * - an approved request: re-wrap each held clip's key to the case key, sign the manifest
 *   (camera metadata, request id), upload the ciphertext into the case, then delete the copy.
 * - a denied or expired request: delete the held ciphertext and its key; nothing is sent.
 *
 * Every step is idempotent and driven by the server's state, so an agent killed at any point
 * picks up where it was after a restart (an interrupted export starts again from the archive).
 */
import { MAX_CONCURRENT_EXPORTS, type AgentSite, type AgentWork, type AgentWorkItem, type ClipUpload } from "../shared/api/video.ts";
import type { PartUrls } from "../shared/api/cases.ts";
import type { Sha512 } from "../shared/crypto/index.ts";
import { createSha512Wasm } from "../web/src/upload/sha512-wasm.ts";
import { AgentApi, ApiFailure, loadOrEnrol, type AgentKeys } from "./api.ts";
import { Archive } from "./archive.ts";
import type { AgentConfig } from "./config.ts";
import { Holding } from "./holding.ts";
import { LiveConnection } from "./live.ts";
import { deliveryBody } from "./seal.ts";

type Clip = AgentWorkItem["clips"][number];

/** Part URLs asked for at once while delivering. */
const PART_URL_BATCH = 16;

/** Runs at most `limit` tasks at once. */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((go) => this.waiting.push(go));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

export class Agent {
  private api!: AgentApi;
  private keys!: AgentKeys;
  private site!: AgentSite;
  private readonly archive: Archive;
  private readonly holding: Holding;
  private readonly exports: Limiter;
  private readonly deliveries = new Limiter(2);
  /** Tasks under way, by key (`export:<clip>`, `deliver:<clip>`, `purge:<request>`), so a sync never starts one twice. */
  private readonly tasks = new Map<string, Promise<void>>();
  private live: LiveConnection | null = null;
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly log: (line: string) => void,
  ) {
    this.archive = new Archive(config.archive, { ffmpeg: config.ffmpeg, ffprobe: config.ffprobe });
    this.holding = new Holding(config.dataDir);
    this.exports = new Limiter(Math.min(config.maxExports, MAX_CONCURRENT_EXPORTS));
  }

  /** Enrols if needed, clears interrupted work, syncs the cameras. */
  async prepare(): Promise<void> {
    this.keys = await loadOrEnrol(this.config, this.log);
    this.api = new AgentApi(this.config.server, this.keys);
    this.site = await this.api.request<AgentSite>("GET", "/api/agent/site");
    await this.holding.init();
    const synced = await this.api.request<{ added: number; updated: number; removed: number }>("PUT", "/api/agent/cameras", { cameras: this.config.cameras });
    this.log(`site "${this.site.name}": ${this.config.cameras.length} cameras (${synced.added} added, ${synced.updated} updated, ${synced.removed} removed)`);
  }

  /** Runs until stopped: live connection, polling fallback, work as it comes. */
  async run(): Promise<void> {
    await this.prepare();
    this.live = new LiveConnection({
      url: () => this.api.liveUrl(),
      onWork: () => this.requestSync(),
      onState: () => this.schedulePoll(),
      log: this.log,
    });
    this.live.start();
    this.requestSync();
    this.schedulePoll();
  }

  /** One pass: does all the work there is now, waits for it to finish, and returns (for `--once`). */
  async runOnce(): Promise<void> {
    await this.prepare();
    for (let pass = 0; pass < 20; pass++) {
      await this.sync();
      await Promise.all(this.tasks.values());
      const work = await this.api.request<AgentWork>("GET", "/api/agent/work");
      if (!work.requests.some((r) => this.actionable(r))) return;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live?.stop();
    if (this.pollTimer) clearTimeout(this.pollTimer);
    await Promise.allSettled(this.tasks.values());
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    // Poll often while the live connection is down, and now and then while it is up, as a safety net.
    const seconds = this.live?.connected ? this.config.pollSeconds * 10 : this.config.pollSeconds;
    this.pollTimer = setTimeout(() => {
      this.requestSync();
      this.schedulePoll();
    }, seconds * 1000);
  }

  /** Asks for a sync; if one is running, another follows it (nothing said meanwhile is lost). */
  private requestSync(): void {
    if (this.stopped) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = this.sync()
      .catch((err: unknown) => this.log(`sync failed (will retry): ${describe(err)}`))
      .finally(() => {
        this.syncing = null;
        if (this.syncAgain) {
          this.syncAgain = false;
          this.requestSync();
        }
      });
  }

  /** Whether the request still needs this agent to do something. */
  private actionable(r: AgentWorkItem): boolean {
    if (r.status === "requested" || r.status === "exporting") return r.clips.some((k) => k.status === "pending" || k.status === "exporting");
    if (r.status === "approved") return r.clips.some((k) => k.status === "held");
    if (r.status === "held") return false;
    return !r.purged;
  }

  /** Reads the work list and starts what is not under way yet. */
  private async sync(): Promise<void> {
    const work = await this.api.request<AgentWork>("GET", "/api/agent/work");
    for (const request of work.requests) {
      if (request.status === "requested" || request.status === "exporting") {
        for (const clip of request.clips) if (clip.status === "pending" || clip.status === "exporting") this.start(`export:${clip.id}`, () => this.exports.run(() => this.exportClip(request, clip)));
      } else if (request.status === "approved") {
        for (const clip of request.clips) if (clip.status === "held") this.start(`deliver:${clip.id}`, () => this.deliveries.run(() => this.deliverClip(request, clip)));
      } else if (request.status !== "held" && !request.purged) {
        // Delivered, denied, expired or unavailable: the held copy goes (after any export of it still running).
        this.start(`purge:${request.id}`, () => this.purge(request));
      }
    }
  }

  private start(key: string, task: () => Promise<void>): void {
    if (this.tasks.has(key)) return;
    const running = task()
      .catch((err: unknown) => this.log(`${key} failed (will retry): ${describe(err)}`))
      .finally(() => this.tasks.delete(key));
    this.tasks.set(key, running);
  }

  private async hasher(): Promise<() => Sha512> {
    const hasher = await createSha512Wasm();
    return () => hasher;
  }

  /** Cuts, encrypts and holds one clip (or reports no footage). */
  private async exportClip(request: AgentWorkItem, clip: Clip): Promise<void> {
    const existing = await this.holding.read(clip.id);
    if (!existing) {
      try {
        await this.api.request("POST", `/api/agent/clips/${clip.id}/exporting`);
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 409) return; // decided meanwhile: the purge deletes anything left
        throw err;
      }
      this.log(`exporting clip ${clip.id}: ${clip.camera.name}, ${clip.start} to ${clip.end}`);
    }
    let held = existing;
    if (!held) {
      const work = this.holding.workPath(clip.id);
      const cut = await this.archive.cut(clip.camera.archiveId, Date.parse(clip.start), Date.parse(clip.end), work);
      if (!cut) {
        await this.report(clip.id, "unavailable", { reason: `The archive has no footage of camera "${clip.camera.name}" between ${clip.start} and ${clip.end}.` });
        this.log(`clip ${clip.id}: no footage, reported unavailable`);
        return;
      }
      held = await this.holding.seal(
        work,
        this.keys.encryption.publicJwk,
        { clipId: clip.id, requestId: request.id, ...cut, camera: clip.camera, requestedStart: clip.start, requestedEnd: clip.end, exportedAt: new Date().toISOString() },
        await this.hasher(),
      );
      this.log(`clip ${clip.id}: held (${held.byteSize} bytes, ${(held.durationMs / 1000).toFixed(1)} s), encrypted to the site's key`);
    }
    await this.report(clip.id, "held", { byteSize: held.byteSize, footageStart: held.footageStart, footageEnd: held.footageEnd, durationMs: held.durationMs });
  }

  /** Reports a clip's export; if its request was decided meanwhile, deletes the copy at once. */
  private async report(clipId: string, outcome: "held" | "unavailable", body: unknown): Promise<void> {
    try {
      await this.api.request("POST", `/api/agent/clips/${clipId}/${outcome}`, body);
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 409) {
        await this.holding.delete(clipId);
        this.log(`clip ${clipId}: its request was closed meanwhile; held copy deleted`);
        return;
      }
      throw err;
    }
  }

  /** Sends one held clip of an approved request into its case. */
  private async deliverClip(request: AgentWorkItem, clip: Clip): Promise<void> {
    const held = await this.holding.read(clip.id);
    if (!held) throw new Error(`clip ${clip.id} is approved but its held copy is missing from ${this.holding.heldDir}`);
    let body = await this.holding.readDelivery(clip.id);
    if (body && body.fileKey.caseKid !== request.delivery!.caseKey.kid && !clip.evidenceId) body = null; // the case key changed before delivery started
    if (!body) {
      body = await deliveryBody({ held, evidenceId: newId(), site: { id: this.site.id, name: this.site.name }, delivery: request.delivery!, keys: this.keys });
      await this.holding.saveDelivery(clip.id, body);
    }
    let upload: ClipUpload;
    try {
      upload = await this.api.request<ClipUpload>("POST", `/api/agent/clips/${clip.id}/evidence`, body);
    } catch (err) {
      if (err instanceof ApiFailure && err.code === "case_key_changed") await this.holding.saveDelivery(clip.id, null);
      throw err;
    }
    const missing = Array.from({ length: upload.partCount }, (_, n) => n).filter((n) => !upload.received.includes(n));
    for (let i = 0; i < missing.length; i += PART_URL_BATCH) {
      const { urls } = await this.api.request<PartUrls>("POST", `/api/agent/clips/${clip.id}/part-urls`, { parts: missing.slice(i, i + PART_URL_BATCH) });
      for (const { part, url } of urls) await this.api.putPart(url, await this.holding.readPart(held, part));
    }
    await this.api.request("POST", `/api/agent/clips/${clip.id}/delivered`);
    this.log(`clip ${clip.id}: delivered into the case as evidence ${upload.evidenceId}`);
    this.requestSync();
  }

  /** Deletes every held copy of a closed request and tells the server. */
  private async purge(request: AgentWorkItem): Promise<void> {
    // An export of this request still running finishes first (it then finds the request closed).
    await Promise.allSettled(request.clips.map((k) => this.tasks.get(`export:${k.id}`)).filter(Boolean));
    for (const clip of request.clips) await this.holding.delete(clip.id);
    await this.api.request("POST", `/api/agent/requests/${request.id}/purged`);
    this.log(`request ${request.id} (${request.status}): held copies and keys deleted`);
  }
}

function newId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

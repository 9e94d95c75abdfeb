/**
 * `npm run bench`, upload section: cases and evidence through the REAL web app, in Debian's
 * Chromium (playwright-core, a fresh on-disk profile so OPFS is on disk as for a user), against
 * ONE local server run exactly as `npm start` runs it (tests/e2e/harness.ts CustodyServer, its own
 * port and temp state folder). Set up through the UI (tests/e2e/flows.ts: setup, TOTP enrolment,
 * keys), create a case, then, all in this one run:
 *  (a) end-to-end upload of a 1 GiB file of random bytes: the app (pick the file on "Add photos,
 *      videos or documents"; encryption in its Web Worker into OPFS; parts to signed URLs, three
 *      in flight; complete), against a BASELINE in the same browser, from the app's own page, to
 *      the same server: a plain upload of the same file over the same protocol, with a manifest
 *      signed over the plaintext parts and the same three-in-flight PUTs
 *      (tests/bench/upload-page/plain.ts). Timed from the file being chosen to the server's answer
 *      to "complete"; throughput of both and the ratio;
 *  (b) bytes sent again after a connection drop at 50 %: a 256 MiB encrypted upload over a
 *      phone-like uplink (Chromium's own throttling, so upload progress stays true), through a
 *      proxy in front of the server (proxy.ts) that counts every part body byte that reaches the
 *      server; once half the ciphertext has (plus half a part, so the drop cuts a body half-way),
 *      every browser connection is cut and new ones refused for a few seconds while the device
 *      still says it is online. Re-sent = bytes that reached the server − the ciphertext size;
 *      it runs first, on its own origin (the proxy's port, keys unlocked there once);
 *  (c) peak browser memory during the whole encrypted upload of 256 MiB and of 2 GiB (and, from
 *      (a), of 1 GiB), sampled from outside the page (CDP and /proc, see probe.ts); peaks, and
 *      growth during the upload (peak − before).
 * Each measured upload runs in a freshly launched browser on the same profile, so memory does
 * not carry over from one to the next. Part bodies are counted by length (Content-Length where Chromium
 * reports it, checked against the part's fixed length), not copied out of the browser: see
 * hooks.ts for why Playwright is told not to copy request bodies (it slowed uploads ~15×).
 * Every upload is verified (the server says complete with every part; the signed manifest's
 * size and SHA-512 are those of the file Node wrote), and the bench fails only if one is not.
 * Where the time from choosing the file to its first part stored goes: an init script in the
 * bench's page (pageMarks, not part of the app) marks the file input's change, the encryption
 * job and the sealed parts coming back, the API requests and the part PUTs; `--only first-part`
 * prints them, and upload.json keeps them (`firstPartMarks` of the encrypted 1 GiB run).
 * `BENCH_DEBUG=1` adds when each worker was created and loaded its scripts.
 * Prints a table and writes bench-results/upload.json. Figures only: nothing passes or fails on time.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { readdirSync, statSync, statfsSync } from "node:fs";
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page, type Request } from "playwright-core";
import { build } from "vite";
import { MAX_POST_DATA_SIZE } from "./hooks.ts";
import { CHROMIUM, CHROMIUM_ARGS, MEMORY_KEYS, MiB, Probe, fmtMiB, type Memory } from "./probe.ts";
import { DropProxy, type ForwardedPart } from "./proxy.ts";
import type { PlainResult } from "./upload-page/plain.ts";

const root = resolve(import.meta.dirname, "../..");
const GiB = 1024 * MiB;
/** The ciphertext format (shared/crypto/stream.ts): 1 MiB segments + 16 B tag, 8 segments a part. */
const SEGMENT = MiB;
const TAG = 16;
const PART_SIZE = 8 * (SEGMENT + TAG);
const ciphertextSize = (bytes: number) => bytes + TAG * Math.max(1, Math.ceil(bytes / SEGMENT));
const partCount = (bytes: number) => Math.ceil(Math.max(1, Math.ceil(bytes / SEGMENT)) / 8);

const FULL_SIZES = { throughput: 1 * GiB, drop: 256 * MiB, memorySmall: 256 * MiB, memoryLarge: 2 * GiB };
const OFFLINE_MS = 3_000;
/** The uplink of (b): a phone on good 4G. */
const DROP_LINK = { uploadMbps: 40, latencyMs: 40 };
const SAMPLE_EVERY_MS = 100;
/** Not a timed assertion: only a guard so a stuck upload ends the bench instead of hanging it. */
const UPLOAD_GUARD_MS = 10 * 60_000;
/** Free space needed in the temp folder: the 2 GiB input, its 2 GiB ciphertext in OPFS, the server's stored parts (~4.6 GiB) and a margin. */
const DISK_NEEDED = 14 * GiB;

// ---------- inputs ----------

/** What (b), the connection drop, reports. */
interface DropResult {
  fileBytes: number;
  ciphertextBytes: number;
  parts: number;
  link: typeof DROP_LINK;
  offlineMs: number;
  partsStoredAtDrop: number;
  inFlightAtDrop: { part: number; bodyBytesDelivered: number; wholeBody: boolean }[];
  requests: number;
  requestsCut: { part: number; bodyBytesDelivered: number }[];
  bytesReachedServer: number;
  resentBytes: number;
  resentParts: number;
  partsWholeMoreThanOnce: number[];
  partsStoredBeforeDropSentAgain: number[];
  msOnlineToComplete: number;
  run: UploadRun;
}

interface Input {
  path: string;
  name: string;
  bytes: number;
  sha512: string;
  /** SHA-512 of each PART_SIZE slice of the file (what the plain baseline's manifest must list). */
  partSha512: string[];
}

/** Writes `bytes` of CSPRNG output in PART_SIZE chunks (never the whole file in memory), hashing as it goes. */
async function writeRandomFile(dir: string, name: string, bytes: number): Promise<Input> {
  const path = join(dir, name);
  const file = await open(path, "w");
  const whole = createHash("sha512");
  const partSha512: string[] = [];
  const chunk = Buffer.allocUnsafe(PART_SIZE);
  try {
    for (let done = 0; done < bytes; ) {
      const n = Math.min(PART_SIZE, bytes - done);
      const view = chunk.subarray(0, n);
      randomFillSync(view);
      await file.write(view, 0, n);
      whole.update(view);
      partSha512.push(createHash("sha512").update(view).digest("hex"));
      done += n;
    }
  } finally {
    await file.close();
  }
  return { path, name, bytes, sha512: whole.digest("hex"), partSha512 };
}

const label = (bytes: number) => (bytes >= GiB ? `${bytes / GiB}GiB` : `${bytes / MiB}MiB`);

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** dist/ is stale when anything the web app is built from is newer than dist/index.html. */
function distIsStale(): boolean {
  let built: number;
  try {
    built = statSync(join(root, "dist/index.html")).mtimeMs;
  } catch {
    return true;
  }
  const newer = (path: string): boolean => {
    const s = statSync(path);
    if (!s.isDirectory()) return s.mtimeMs > built;
    return readdirSync(path).some((name) => name !== "node_modules" && newer(join(path, name)));
  };
  return ["web", "shared", "vite.config.ts", "index.html", "package.json"].some((p) => {
    try {
      return newer(join(root, p));
    } catch {
      return false;
    }
  });
}

/** tests/bench/upload-page/plain.ts as one IIFE script, to evaluate in the app's page. */
async function buildPlainBaseline(outDir: string): Promise<string> {
  await build({
    root: join(root, "tests/bench/upload-page"),
    configFile: false,
    logLevel: "warn",
    build: {
      outDir,
      emptyOutDir: true,
      target: "es2023",
      minify: false,
      reportCompressedSize: false,
      lib: { entry: join(root, "tests/bench/upload-page/plain.ts"), formats: ["iife"], name: "CustodyBenchPlain", fileName: () => "plain.js" },
    },
  });
  return readFile(join(outDir, "plain.js"), "utf8");
}

// ---------- watching the upload protocol from outside the page ----------

interface Attempt {
  evidenceId: string;
  part: number;
  /** The request's Content-Length, when Chromium reports it (request bodies themselves are not copied out: see hooks.ts). */
  declared?: number;
  startedAt: number;
  endedAt?: number;
  status?: number;
  failure?: string;
}

/** Every part PUT (body length, outcome), every upload start and completion the page sends. */
class ProtocolWatch {
  readonly attempts: Attempt[] = [];
  private readonly byRequest = new WeakMap<Request, Attempt>();
  private readonly started = new Map<string, number>();
  private readonly completed = new Map<string, number>();
  private waiters: (() => void)[] = [];
  onStored?: (attempt: Attempt) => void;

  constructor(page: Page) {
    page.on("request", (request) => {
      const m = /\/api\/uploads\/([0-9a-f]{32})\/(\d+)/.exec(request.url());
      if (request.method() !== "PUT" || !m) return;
      const attempt: Attempt = { evidenceId: m[1]!, part: Number(m[2]), startedAt: Date.now() };
      this.attempts.push(attempt);
      this.byRequest.set(request, attempt);
      request.headerValue("content-length").then(
        (value) => (attempt.declared = value === null ? undefined : Number(value)),
        () => undefined,
      );
    });
    page.on("requestfailed", (request) => {
      const attempt = this.byRequest.get(request);
      if (!attempt) return;
      attempt.endedAt = Date.now();
      attempt.failure = request.failure()?.errorText ?? "failed";
    });
    page.on("response", (response) => {
      const request = response.request();
      const at = Date.now();
      const attempt = this.byRequest.get(request);
      if (attempt) {
        attempt.endedAt = at;
        attempt.status = response.status();
        if (attempt.status === 204) this.onStored?.(attempt);
        return;
      }
      if (request.method() !== "POST") return;
      const path = new URL(request.url()).pathname;
      if (/^\/api\/cases\/[0-9a-f]{32}\/evidence$/.test(path) && response.status() === 201) {
        this.started.set((request.postDataJSON() as { evidenceId: string }).evidenceId, at);
      } else if (/^\/api\/evidence\/[0-9a-f]{32}\/complete$/.test(path) && response.status() === 200) {
        this.completed.set(path.split("/")[3]!, at);
      } else return;
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /**
   * The PUT attempts for an upload of `total` bytes (ciphertext, or the plain file), each with its
   * body length: a part's length is fixed by the protocol (8 MiB + 128 B, the last shorter), and
   * any Content-Length Chromium reported must agree with it.
   */
  sized(evidenceId: string, total: number): (Attempt & { bytes: number })[] {
    return this.attempts
      .filter((a) => a.evidenceId === evidenceId)
      .map((a) => {
        const bytes = Math.min(PART_SIZE, total - a.part * PART_SIZE);
        if (bytes <= 0 || (a.declared !== undefined && a.declared !== bytes)) throw new Error(`PUT of part ${a.part} of ${evidenceId}: Content-Length ${a.declared}, the part is ${bytes} bytes`);
        return { ...a, bytes };
      });
  }

  /** When the server first answered 204 to a part of `evidenceId` (epoch ms). */
  firstStored(evidenceId: string): number {
    const times = this.attempts.filter((a) => a.evidenceId === evidenceId && a.status === 204 && a.endedAt !== undefined).map((a) => a.endedAt!);
    if (times.length === 0) throw new Error(`no part of ${evidenceId} was stored`);
    return Math.min(...times);
  }

  stored(evidenceId: string): Set<number> {
    return new Set(this.attempts.filter((a) => a.evidenceId === evidenceId && a.status === 204).map((a) => a.part));
  }

  /** The first upload started at or after `since` and its completion. */
  async completion(since: number, failed: () => Promise<string | undefined>): Promise<{ evidenceId: string; startedAt: number; completedAt: number }> {
    const deadline = Date.now() + UPLOAD_GUARD_MS;
    for (;;) {
      const found = [...this.started].find(([, at]) => at >= since);
      if (found && this.completed.has(found[0])) return { evidenceId: found[0], startedAt: found[1], completedAt: this.completed.get(found[0])! };
      const why = await failed();
      if (why) throw new Error(`the upload failed in the app: ${why}`);
      if (Date.now() > deadline) throw new Error(`the upload did not complete within ${UPLOAD_GUARD_MS / 60_000} minutes`);
      await new Promise<void>((wake) => {
        this.waiters.push(wake);
        setTimeout(wake, 1000);
      });
    }
  }
}

// ---------- where the time to the first part goes: marks taken in the bench's page ----------

/** One thing the page did, at epoch ms (performance.timeOrigin + now(), the same clock as Node's Date.now()). */
interface PageMark {
  at: number;
  what: string;
}

declare global {
  interface Window {
    benchMarks?: PageMark[];
  }
}

/**
 * An init script for the bench's page (never part of the app): it observes, without changing
 * what they do, the file input's change event, the Web Workers the page makes and the messages
 * it exchanges with them (the encryption job out, the first sealed parts back), its API requests
 * (fetch) and its part PUTs (XMLHttpRequest: sent, body sent, answered). The marks say where the
 * time from choosing a file to its first part stored goes; only the first few of each kind are kept.
 */
function pageMarks(): void {
  const marks: PageMark[] = (window.benchMarks = []);
  const counts = new Map<string, number>();
  const mark = (what: string, kind = what) => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    if (n <= 6) marks.push({ at: performance.timeOrigin + performance.now(), what });
  };
  document.addEventListener("change", (event) => {
    if (event.target instanceof HTMLInputElement && event.target.type === "file") mark(`file input change (${event.target.files?.length ?? 0} files)`, "change");
  }, true);
  const NativeWorker = window.Worker;
  window.Worker = class extends NativeWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      const name = options?.name ?? "worker";
      mark(`new Worker ${name}`, "worker");
      this.addEventListener("message", (event: MessageEvent) => {
        const data = event.data as { type?: string; index?: number } | undefined;
        if (data?.type === "part") mark(`${name} → page: part ${data.index} sealed`, "part");
        else if (data?.type === "progress") mark(`${name} → page: first progress`, "progress");
        else if (data?.type) mark(`${name} → page: ${data.type}`, `msg-${data.type}`);
      });
    }
    override postMessage(message: unknown, options?: unknown): void {
      const type = (message as { type?: string } | undefined)?.type;
      if (type) mark(`page → worker: ${type} job`, `post-${type}`);
      super.postMessage(message, options as StructuredSerializeOptions);
    }
  };
  const nativeFetch = window.fetch.bind(window);
  window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input), location.href);
    const what = `${init?.method ?? (input instanceof Request ? input.method : "GET")} ${url.pathname.replace(/[0-9a-f]{32}/g, ":id")}`;
    if (!url.pathname.startsWith("/api/")) return nativeFetch(input, init);
    mark(`fetch ${what} sent`, what);
    try {
      return await nativeFetch(input, init);
    } finally {
      mark(`fetch ${what} answered`, `${what} answered`);
    }
  };
  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  const urls = new WeakMap<XMLHttpRequest, string>();
  XMLHttpRequest.prototype.open = function (this: XMLHttpRequest, method: string, url: string | URL, ...rest: unknown[]) {
    urls.set(this, `${method} ${new URL(String(url), location.href).pathname.replace(/[0-9a-f]{32}/g, ":id")}`);
    return (open as (...args: unknown[]) => void).call(this, method, url, ...rest);
  } as typeof XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
    const what = urls.get(this) ?? "XHR";
    mark(`XHR ${what} sent`, "xhr-sent");
    this.upload.addEventListener("load", () => mark(`XHR ${what} body sent`, "xhr-body"));
    this.addEventListener("loadend", () => mark(`XHR ${what} answered ${this.status}`, "xhr-answered"));
    return send.call(this, body);
  };
}

// ---------- the run ----------

interface Verified {
  status: string;
  partCount: number;
  partsReceived: number;
  manifest: { byteSize: number; sha512: string; parts: string[] };
}

async function fetchEvidence(page: Page, evidenceId: string): Promise<Verified> {
  const response = await page.request.get(`/api/evidence/${evidenceId}`);
  if (!response.ok()) throw new Error(`GET /api/evidence/${evidenceId}: HTTP ${response.status()}`);
  const body = (await response.json()) as { status: string; partCount: number; partsReceived: number; manifest: string };
  return { ...body, manifest: JSON.parse(Buffer.from(body.manifest.split(".")[1]!, "base64url").toString("utf8")) };
}

interface UploadRun {
  evidenceId: string;
  /** When the file was chosen (epoch ms). */
  chosenAt: number;
  fileBytes: number;
  ciphertextBytes: number;
  parts: number;
  /** From the file being chosen (setInputFiles) to the server's 201 for the upload start, and to its 200 for complete. */
  msToStart: number;
  /** From the file being chosen to the server's 204 for the first part it stored. */
  msToFirstPart: number;
  msToComplete: number;
  mibPerSecond: number;
  transferMiBPerSecond: number;
  memory: { before: Memory; peak: Memory; samples: number };
  putAttempts: number;
  putBytes: number;
  /** Encrypted uploads: what the page did from the file being chosen to the first part stored (ms after choosing; see pageMarks). */
  firstPartMarks?: { ms: number; what: string }[];
}

export interface UploadOptions {
  /** Every size divided by 8 (128 MiB, 32 MiB, 256 MiB): to try the bench out, not for figures. */
  quick?: boolean;
  /** Leave the temp folder, profile and server state in place (for debugging). */
  keep?: boolean;
  /** "b": only the connection drop (during development); its figures are printed, nothing is written. */
  /** "b": the connection drop alone; "a": the 1 GiB upload alone (plain and encrypted, with the time to the first part stored). */
  only?: "a" | "b";
}

/** Runs the upload bench; returns its duration in seconds. */
export async function runUpload(options: UploadOptions = {}): Promise<number> {
  const started = Date.now();
  const loadAtStart = loadavg();
  const SIZES = options.quick ? Object.fromEntries(Object.entries(FULL_SIZES).map(([k, v]) => [k, v / 8])) as typeof FULL_SIZES : FULL_SIZES;
  const { CustodyServer } = await import("../e2e/harness.ts");
  const flows = await import("../e2e/flows.ts");

  const free = freeBytes(tmpdir());
  console.log(`Upload bench: ${fmtMiB(free)} free in ${tmpdir()} (needs about ${fmtMiB(DISK_NEEDED)}).`);
  if (free < DISK_NEEDED) throw new Error(`not enough free disk in ${tmpdir()}: ${fmtMiB(free)} free, about ${fmtMiB(DISK_NEEDED)} needed (2 GiB input, 2 GiB of ciphertext in OPFS, the server's stored parts)`);

  if (distIsStale()) {
    console.log("dist/ is older than web/ or shared/: vite build…");
    const built = spawnSync(join(root, "node_modules/.bin/vite"), ["build", "--logLevel", "warn"], { cwd: root, stdio: "inherit" });
    if (built.status !== 0) throw new Error("vite build failed");
  }

  const work = await mkdtemp(join(tmpdir(), "custody-bench-upload-"));
  const profile = await mkdtemp(join(tmpdir(), "custody-bench-upload-profile-"));
  const stateDir = await mkdtemp(join(tmpdir(), "custody-bench-upload-state-"));
  const cleanUp = () => Promise.all([work, profile, stateDir].map((dir) => rm(dir, { recursive: true, force: true })));
  let server: Awaited<ReturnType<typeof CustodyServer.start>>;
  let plainScript: string;
  try {
    plainScript = await buildPlainBaseline(join(work, "plain-build"));
    server = await CustodyServer.start({ stateDir });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  let context: BrowserContext | undefined;
  const nodeRss = { peak: process.memoryUsage().rss };
  const nodeTimer = setInterval(() => (nodeRss.peak = Math.max(nodeRss.peak, process.memoryUsage().rss)), 500);
  try {
    const launch = (baseURL = server.url) => chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, baseURL });
    context = await launch();
    let page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(60_000);
    page.on("pageerror", (e) => console.error("page error:", e));

    // ---- set up through the UI (TOTP enrolment included), keys, a case ----
    console.log(`Server ${server.url}; setting up the organisation, keys and a case through the UI…`);
    await flows.setUpThroughUi(page);
    await flows.createKeys(page, flows.ADMIN.keyPassphrase);
    await flows.expectSignedIn(page);
    await page.getByRole("button", { name: "New case" }).click();
    const form = page.getByRole("form", { name: "New case" });
    await form.getByLabel("Case number").fill("BENCH-1");
    await form.getByLabel("Title").fill("Upload bench");
    await form.getByRole("button", { name: "Create case" }).click();
    await flows.visible(page.getByRole("heading", { name: "Upload bench", level: 1 }));
    const caseId = new URL(page.url()).searchParams.get("case");
    if (!caseId) throw new Error(`no case id in ${page.url()}`);
    let cdp = await context.newCDPSession(page);
    const { product } = await cdp.send("Browser.getVersion");
    let probe!: Probe;
    let watch!: ProtocolWatch;
    /** Things the app did that the figures do not show (printed with the table). */
    const notes = new Set<string>();

    /**
     * Each measured upload runs in a fresh browser on the same profile (the session cookie, the
     * device keys in IndexedDB and OPFS stay), opened on the case page: one upload's memory does
     * not carry into the next one's figures.
     */
    const freshBrowser = async (baseURL = server.url) => {
      await context!.close();
      context = await launch(baseURL);
      page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(60_000);
      page.on("pageerror", (e) => console.error("page error:", e));
      await context.addInitScript(pageMarks);
      await page.goto(`/cases?case=${caseId}`);
      const heading = page.getByRole("heading", { name: "Upload bench", level: 1 });
      const unlock = page.getByRole("heading", { name: "Unlock your keys" });
      // Another origin (the drop proxy's port) has its own IndexedDB: the keys are unlocked there once, as on a new device.
      if ((await Promise.race([heading.waitFor().then(() => "case"), unlock.waitFor().then(() => "unlock")])) === "unlock") {
        await page.getByLabel("Key passphrase").fill(flows.ADMIN.keyPassphrase);
        await page.getByRole("button", { name: "Unlock" }).click();
      }
      await flows.visible(heading);
      cdp = await context.newCDPSession(page);
      await cdp.send("Performance.enable");
      probe = new Probe(cdp, profile, { sampleEveryMs: SAMPLE_EVERY_MS, refreshEveryMs: 2_000 });
      await probe.init();
      watch = new ProtocolWatch(page);
    };

        const failedItem = (name: string) => async () => {
      const alert = page.getByRole("listitem").filter({ hasText: name }).getByRole("alert");
      return (await alert.count()) > 0 ? ((await alert.first().textContent()) ?? "failed") : undefined;
    };

    /** Checks what the server stored against the file Node wrote. */
    const verify = async (evidenceId: string, input: Input, plain: boolean) => {
      const e = await fetchEvidence(page, evidenceId);
      const expectedParts = plain ? input.partSha512.length : partCount(input.bytes);
      const problems = [
        e.status !== "complete" && `status ${e.status}`,
        (e.partCount !== expectedParts || e.partsReceived !== expectedParts) && `${e.partsReceived}/${e.partCount} parts, expected ${expectedParts}`,
        !plain && e.manifest.byteSize !== input.bytes && `manifest byteSize ${e.manifest.byteSize}, file ${input.bytes}`,
        e.manifest.sha512 !== input.sha512 && "manifest SHA-512 is not the file's",
        plain && e.manifest.parts.some((h, n) => h !== input.partSha512[n]) && "manifest part hashes are not the file's",
      ].filter(Boolean);
      if (problems.length) throw new Error(`evidence ${evidenceId} (${input.name}) did not verify: ${problems.join("; ")}`);
    };

    /** One encrypted upload through the app: pick the file, wait for complete, verify; `afterComplete` before the UI check (the drop's end). */
    const encrypted = async (input: Input, afterComplete?: () => Promise<void>, before?: () => Promise<void>, baseURL?: string): Promise<UploadRun> => {
      await freshBrowser(baseURL);
      await before?.();
      await probe.gc();
      const sampled = await probe.during(async () => {
        const t0 = Date.now();
        await page.getByLabel("Add photos, videos or documents").setInputFiles(input.path);
        return { t0, ...(await watch.completion(t0, failedItem(input.name))) };
      });
      const { t0, evidenceId, startedAt, completedAt } = sampled.result;
      const firstStored = watch.firstStored(evidenceId);
      // The page's marks up to the first part stored, from the file being chosen.
      const workerMarks: PageMark[] = [];
      if (process.env["BENCH_DEBUG"]) for (const w of page.workers()) {
        const got = await w.evaluate(() => ({ origin: performance.timeOrigin, res: performance.getEntriesByType("resource").map((e) => ({ name: e.name.split("/").pop()!, end: (e as PerformanceResourceTiming).responseEnd })), now: performance.now(), name: (self as unknown as { name: string }).name })).catch(() => undefined);
        if (!got) continue;
        workerMarks.push({ at: got.origin, what: `[debug] worker ${got.name} created` });
        for (const r of got.res) workerMarks.push({ at: got.origin + r.end, what: `[debug] worker ${got.name} loaded ${r.name}` });
      }
      const marks = (await page.evaluate(() => window.benchMarks ?? [])).concat(workerMarks).sort((a, b) => a.at - b.at)
        .filter((m) => m.at <= firstStored)
        .map((m) => ({ ms: Math.round(m.at - t0), what: m.what }))
        .concat([{ ms: firstStored - t0, what: "server's 204 for the first part stored (seen by the bench)" }]);
      await verify(evidenceId, input, false);
      await afterComplete?.();
      // The case page lists it (its signature checked in the page); if the list missed the completion (e.g. it came while offline), a reload shows it.
      const link = page.getByRole("link", { name: new RegExp(`^Open ${input.name.replaceAll(".", "\\.")}`) }).and(page.locator(`[href$="evidence=${evidenceId}"]`));
      const listed = await flows.visible(link, 15_000).then(() => true, () => false);
      if (!listed) {
        notes.add(`the case page did not list an upload${afterComplete ? " that completed around a connection drop" : ""} within 15 s of completion; it did after a reload`);
        await page.reload();
        await flows.visible(link, 60_000);
      }
      const leftover = await page.evaluate(async (id) => {
        const root = await navigator.storage.getDirectory();
        const dir = await root.getDirectoryHandle("uploads", { create: true });
        for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) if (name.startsWith(id)) return true;
        return false;
      }, evidenceId);
      if (leftover) notes.add(`the app left uploads/<evidenceId>.bin in OPFS after the upload completed`);
      const ct = ciphertextSize(input.bytes);
      const attempts = watch.sized(evidenceId, ct);
      return {
        evidenceId,
        chosenAt: t0,
        fileBytes: input.bytes,
        ciphertextBytes: ct,
        parts: partCount(input.bytes),
        msToStart: startedAt - t0,
        msToFirstPart: firstStored - t0,
        msToComplete: completedAt - t0,
        mibPerSecond: input.bytes / MiB / ((completedAt - t0) / 1000),
        transferMiBPerSecond: ct / MiB / ((completedAt - startedAt) / 1000),
        memory: { before: sampled.before, peak: sampled.peak, samples: sampled.samples },
        putAttempts: attempts.length,
        putBytes: attempts.reduce((n, a) => n + a.bytes, 0),
        firstPartMarks: marks,
      };
    };

    // (b) is skipped with --only first-part, which runs (a) alone.
    let mid!: Input;
    let dropResult!: DropResult;
    if (options.only !== "a") {
      // ---- (b) 256 MiB with the connection dropped at 50 %, through the drop proxy, on a throttled link ----
      console.log(`(b) writing ${fmtMiB(SIZES.drop)}; encrypted upload at ${DROP_LINK.uploadMbps} Mbit/s up, the connection dropped for ${OFFLINE_MS / 1000} s at 50 %…`);
      mid = await writeRandomFile(work, `bench-${label(SIZES.drop)}.bin`, SIZES.drop);
          const proxy = new DropProxy(server.port);
      await proxy.start();
      const drop: { storedAtDrop?: number[]; atDrop?: ForwardedPart[]; offlineFrom?: number; offlineUntil?: number; done?: Promise<void> } = {};
      // The drop comes when half the ciphertext has reached the server, in the middle of a part's body.
      const dropAt = ciphertextSize(mid.bytes) / 2 + PART_SIZE / 2;
      proxy.onForwarded = (forwarding) => {
        if (drop.done) return;
        const mine = proxy.parts.filter((p) => p.evidenceId === forwarding.evidenceId);
        if (mine.reduce((n, p) => n + p.bytes, 0) < dropAt) return;
        drop.offlineFrom = Date.now();
        proxy.drop();
        drop.storedAtDrop = [...new Set(mine.filter((p) => p.status !== undefined && p.status < 300).map((p) => p.part))].sort((a, b) => a - b);
        // What each request of this upload had delivered when the connection died.
        drop.atDrop = mine.map((p) => ({ ...p }));
        drop.done = (async () => {
          await new Promise((r) => setTimeout(r, OFFLINE_MS));
          drop.offlineUntil = Date.now();
          proxy.restore();
        })();
      };
      let dropRun: UploadRun;
      try {
        dropRun = await encrypted(mid, async () => void (await drop.done), async () => {
          // A phone's uplink: Chromium paces the upload itself, so its progress events stay true.
          await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: DROP_LINK.latencyMs, downloadThroughput: -1, uploadThroughput: (DROP_LINK.uploadMbps * 1e6) / 8 });
        }, proxy.url);
      } finally {
        await proxy.close();
      }
      if (!drop.done) throw new Error("the connection drop never happened (half the ciphertext never reached the server)");
      await drop.done;
      const ct = dropRun.ciphertextBytes;
      const forwarded = proxy.parts.filter((p) => p.evidenceId === dropRun.evidenceId);
      for (const p of forwarded) {
        const length = Math.min(PART_SIZE, ct - p.part * PART_SIZE);
        if (p.bytes > length || (p.whole && p.bytes !== length)) throw new Error(`part ${p.part}: ${p.bytes} body bytes forwarded, the part is ${length}`);
      }
      const reached = forwarded.reduce((n, p) => n + p.bytes, 0);
      const timesWhole = (n: number) => forwarded.filter((p) => p.part === n && p.whole).length;
      const atDrop = drop.atDrop!.filter((p) => !drop.storedAtDrop!.includes(p.part) && (p.status === undefined || p.status >= 300));
      dropResult = {
        fileBytes: mid.bytes,
        ciphertextBytes: ct,
        parts: dropRun.parts,
        link: DROP_LINK,
        offlineMs: drop.offlineUntil! - drop.offlineFrom!,
        partsStoredAtDrop: drop.storedAtDrop!.length,
        /** Requests of the upload not yet answered at the drop: how much of each body had reached the server. */
        inFlightAtDrop: atDrop.map((p) => ({ part: p.part, bodyBytesDelivered: p.bytes, wholeBody: p.whole })),
        requests: forwarded.length,
        requestsCut: forwarded.filter((p) => !p.whole).map((p) => ({ part: p.part, bodyBytesDelivered: p.bytes })),
        bytesReachedServer: reached,
        resentBytes: reached - ct,
        resentParts: (reached - ct) / PART_SIZE,
        partsWholeMoreThanOnce: [...new Set(forwarded.map((p) => p.part))].filter((n) => timesWhole(n) > 1).sort((a, b) => a - b),
        partsStoredBeforeDropSentAgain: drop.storedAtDrop!.filter((n) => forwarded.some((p) => p.part === n && p.startedAt > drop.offlineFrom!)),
        msOnlineToComplete: dropRun.chosenAt + dropRun.msToComplete - drop.offlineUntil!,
        run: dropRun,
      };
      console.log(`    re-sent ${fmtMiB(dropResult.resentBytes)} (${dropResult.resentParts.toFixed(2)} parts)`);
      if (options.only === "b") {
        console.log(JSON.stringify({ ...dropResult, run: undefined }, null, 2));
        return (Date.now() - started) / 1000;
      }

    }

    // ---- (a) 1 GiB: plain baseline, then the app ----
    console.log(`(a) writing ${fmtMiB(SIZES.throughput)} of random bytes…`);
    const big = await writeRandomFile(work, `bench-${label(SIZES.throughput)}.bin`, SIZES.throughput);
    console.log("(a) plain upload (baseline) of the same bytes, same protocol, from the app's page…");
    await freshBrowser();
    await page.evaluate(plainScript);
    const plainInput = await page.evaluate((id) => window.benchPlain.install(id), caseId);
    await probe.gc();
    const plainSampled = await probe.during(async () => {
      const t0 = Date.now();
      await page.setInputFiles(plainInput, big.path);
      const inPage: PlainResult = await page.evaluate(() => window.benchPlain.result());
      return { t0, inPage, ...(await watch.completion(t0, async () => undefined)) };
    });
    const p = plainSampled.result;
    await verify(p.evidenceId, big, true);
    const plainAttempts = watch.sized(p.evidenceId, big.bytes);
    const plain: UploadRun & { inPageMs: PlainResult["ms"] } = {
      evidenceId: p.evidenceId,
      chosenAt: p.t0,
      fileBytes: big.bytes,
      ciphertextBytes: big.bytes,
      parts: p.inPage.partCount,
      msToStart: p.startedAt - p.t0,
      msToFirstPart: watch.firstStored(p.evidenceId) - p.t0,
      msToComplete: p.completedAt - p.t0,
      mibPerSecond: big.bytes / MiB / ((p.completedAt - p.t0) / 1000),
      transferMiBPerSecond: big.bytes / MiB / ((p.completedAt - p.startedAt) / 1000),
      memory: { before: plainSampled.before, peak: plainSampled.peak, samples: plainSampled.samples },
      putAttempts: plainAttempts.length,
      putBytes: plainAttempts.reduce((n, a) => n + a.bytes, 0),
      inPageMs: p.inPage.ms,
    };
    console.log(`    ${(plain.msToComplete / 1000).toFixed(1)} s, ${plain.mibPerSecond.toFixed(1)} MiB/s`);
    if (process.env["BENCH_DEBUG"]) console.log(JSON.stringify(plain.inPageMs), plainAttempts.map((a) => `${a.part}:${a.startedAt - p.t0}-${(a.endedAt ?? 0) - p.t0}`).join(" "));
    console.log("(a) encrypted upload through the app…");
    const enc1g = await encrypted(big);
    console.log(`    ${(enc1g.msToComplete / 1000).toFixed(1)} s, ${enc1g.mibPerSecond.toFixed(1)} MiB/s`);
    if (options.only === "a") {
      const ratio = enc1g.mibPerSecond / plain.mibPerSecond;
      console.log(`    where the time to the first part stored goes (ms after choosing the file):\n${enc1g.firstPartMarks!.map((m) => `      ${String(m.ms).padStart(6)}  ${m.what}`).join("\n")}`);
      console.log(`    file chosen → first part stored: plain ${(plain.msToFirstPart / 1000).toFixed(2)} s, encrypted ${(enc1g.msToFirstPart / 1000).toFixed(2)} s; end to end encrypted/plain ${ratio.toFixed(2)} (${cpus().length} cores, load ${loadAtStart.map((l) => l.toFixed(2)).join(" ")} → ${loadavg().map((l) => l.toFixed(2)).join(" ")})`);
      return (Date.now() - started) / 1000;
    }
    await rm(big.path);

    // ---- (c) memory: 256 MiB and 2 GiB, encrypted (1 GiB from (a)) ----
    console.log(`(c) encrypted upload of ${fmtMiB(SIZES.memorySmall)} for memory…`);
    const small = await encrypted(mid);
    await rm(mid.path);
    console.log(`    ${(small.msToComplete / 1000).toFixed(1)} s`);
    console.log(`(c) writing ${fmtMiB(SIZES.memoryLarge)}; encrypted upload for memory…`);
    const huge = await writeRandomFile(work, `bench-${label(SIZES.memoryLarge)}.bin`, SIZES.memoryLarge);
    const large = await encrypted(huge);
    await rm(huge.path);
    console.log(`    ${(large.msToComplete / 1000).toFixed(1)} s`);

    // ---- report ----
    const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const col = (s: string, w = 14) => s.padStart(w);
    const speedRatio = enc1g.mibPerSecond / plain.mibPerSecond;
    const transferRatio = enc1g.transferMiBPerSecond / plain.transferMiBPerSecond;
    const memRow = (label: string, k: keyof Memory, growth = false) => {
      const v = (r: UploadRun) => r.memory.peak[k] - (growth ? r.memory.before[k] : 0);
      return `  ${label.padEnd(40)}${col(fmtMiB(v(small)))}${col(fmtMiB(v(enc1g)))}${col(fmtMiB(v(large)))}${col((v(large) / v(small)).toFixed(2), 9)}${col(fmtMiB(v(plain)))}`;
    };
    const lines = [
      "",
      `(a) End-to-end upload of ${fmtMiB(big.bytes)} of random bytes to the local server (npm start), same browser and server, a fresh browser (same profile) each, one run each`,
      `  ${"".padEnd(40)}${col("plain")}${col("encrypted")}${col("enc/plain", 11)}`,
      `  ${"file chosen → complete".padEnd(40)}${col(secs(plain.msToComplete))}${col(secs(enc1g.msToComplete))}`,
      `  ${"throughput, file bytes".padEnd(40)}${col(`${plain.mibPerSecond.toFixed(1)} MiB/s`)}${col(`${enc1g.mibPerSecond.toFixed(1)} MiB/s`)}${col(speedRatio.toFixed(2), 11)}`,
      `  ${"  before the upload starts¹".padEnd(40)}${col(secs(plain.msToStart))}${col(secs(enc1g.msToStart))}`,
      `  ${"  parts PUT + complete".padEnd(40)}${col(secs(plain.msToComplete - plain.msToStart))}${col(secs(enc1g.msToComplete - enc1g.msToStart))}`,
      `  ${"file chosen → first part stored²".padEnd(40)}${col(secs(plain.msToFirstPart))}${col(secs(enc1g.msToFirstPart))}`,
      `  ${"  transfer throughput, bytes sent".padEnd(40)}${col(`${plain.transferMiBPerSecond.toFixed(1)} MiB/s`)}${col(`${enc1g.transferMiBPerSecond.toFixed(1)} MiB/s`)}${col(transferRatio.toFixed(2), 11)}`,
      `  ${"parts × PUT attempts".padEnd(40)}${col(`${plain.parts} × ${plain.putAttempts}`)}${col(`${enc1g.parts} × ${enc1g.putAttempts}`)}`,
      `  ¹ plain: read + SHA-512 per part and whole file, sign; encrypted: wrap the file key and start on the server (parts then go out as the worker pool seals them; the manifest is signed at the end).`,
      `  ² the server's 204 for the first part it stored (goal: at most 1 s after choosing a file of any size).`,
      "",
      `(b) Connection dropped at 50 %: ${fmtMiB(mid.bytes)} encrypted (${dropResult.parts} parts of ${PART_SIZE} B) over a ${DROP_LINK.uploadMbps} Mbit/s uplink (${DROP_LINK.latencyMs} ms latency, Chromium's own throttling),`,
      `  through a proxy in front of the server that counts every part body byte it delivers; once half the ciphertext plus half a part had reached the server (${dropResult.partsStoredAtDrop} parts stored),`,
      `  every browser connection cut and new ones refused for ${secs(dropResult.offlineMs)} (the device still said it was online)`,
      `  ${"ciphertext".padEnd(52)}${col(fmtMiB(dropResult.ciphertextBytes))}`,
      `  ${`part body bytes that reached the server, ${dropResult.requests} requests`.padEnd(52)}${col(fmtMiB(dropResult.bytesReachedServer))}`,
      `  ${"re-sent = reached − ciphertext".padEnd(52)}${col(fmtMiB(dropResult.resentBytes))}  = ${dropResult.resentParts.toFixed(2)} parts (target ≤ 1)`,
      `  unanswered at the drop: ${dropResult.inFlightAtDrop.map((p) => `part ${p.part} (${p.wholeBody ? "whole body delivered" : `${fmtMiB(p.bodyBytesDelivered)} delivered`})`).join(", ") || "none"}`,
      `  requests cut mid-body: ${dropResult.requestsCut.map((p) => `part ${p.part} after ${fmtMiB(p.bodyBytesDelivered)}`).join(", ") || "none"}; parts delivered whole more than once: ${dropResult.partsWholeMoreThanOnce.join(", ") || "none"}; stored before the drop and sent again: ${dropResult.partsStoredBeforeDropSentAgain.join(", ") || "none"}`,
      `  back online → complete: ${secs(dropResult.msOnlineToComplete)}`,
      "",
      `(c) Peak browser memory during the whole encrypted upload (file chosen → complete), each in a fresh browser, sampled every ${SAMPLE_EVERY_MS} ms`,
      `  ${"".padEnd(40)}${col(fmtMiB(small.fileBytes))}${col(fmtMiB(enc1g.fileBytes))}${col(fmtMiB(large.fileBytes))}${col("ratio³", 9)}${col("plain")}`,
      memRow("page JS heap used (CDP)", "jsHeapUsed"),
      memRow("page ArrayBuffers (CDP getHeapUsage)", "arrayBuffers"),
      memRow("renderer RSS (page + worker)", "rendererRss"),
      memRow("browser process RSS", "browserRss"),
      memRow("utility processes RSS (network, storage)", "utilityRss"),
      memRow("all Chromium processes RSS", "allRss"),
      `  growth during the upload (peak − before):`,
      memRow("  page ArrayBuffers", "arrayBuffers", true),
      memRow("  renderer RSS", "rendererRss", true),
      memRow("  all Chromium processes RSS", "allRss", true),
      `  ${"upload time".padEnd(40)}${col(secs(small.msToComplete))}${col(secs(enc1g.msToComplete))}${col(secs(large.msToComplete))}${"".padStart(9)}${col(secs(plain.msToComplete))}`,
      `  ³ ${fmtMiB(large.fileBytes)} peak / ${fmtMiB(small.fileBytes)} peak; "plain" is the baseline of (a), ${fmtMiB(plain.fileBytes)}.`,
      "",
      ...[...notes].map((n) => `Note: ${n}.`),
      `${product}, ${cpus().length} CPUs, load average ${loadAtStart[0]!.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end. Sampled processes: ${probe.processTypes()}. Upload section done in ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    ];
    console.log(lines.join("\n"));

    const results = {
      date: new Date().toISOString(),
      ...(options.quick ? { quick: "sizes divided by 8: not figures to quote" } : {}),
      environment: { browser: product, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, server: "npm start (wrangler dev, local D1/R2) via tests/e2e/harness.ts", nodePeakRss: nodeRss.peak, loadAverage: { start: loadAtStart, end: loadavg() }, playwrightMaxPostDataSize: MAX_POST_DATA_SIZE },
      format: { segmentBytes: SEGMENT, tagBytes: TAG, partBytes: PART_SIZE, partsInFlight: 3, bodiesOnTheWire: 1 },
      throughput: {
        fileBytes: big.bytes,
        plain,
        encrypted: enc1g,
        ratios: { encryptedToPlain: speedRatio, transferEncryptedToPlain: transferRatio },
        note: "timed from setInputFiles to the server's 200 for POST /api/evidence/:id/complete; plain: manifest signed over the plaintext parts (8 MiB + 128 B slices), declared byte size = file size − 16 B per MiB so its parts have the ciphertext's lengths",
      },
      connectionDrop: dropResult,
      memory: {
        sampleEveryMs: SAMPLE_EVERY_MS,
        runs: { "256MiB": small, "1GiB": enc1g, "2GiB": large, plain1GiB: plain },
        peakRatio2GiBTo256MiB: Object.fromEntries(MEMORY_KEYS.map((k) => [k, large.memory.peak[k] / small.memory.peak[k]])),
        growthRatio2GiBTo256MiB: Object.fromEntries(MEMORY_KEYS.map((k) => [k, (large.memory.peak[k] - large.memory.before[k]) / (small.memory.peak[k] - small.memory.before[k])])),
      },
      notes: [...notes],
      seconds: (Date.now() - started) / 1000,
    };
    await mkdir(join(root, "bench-results"), { recursive: true });
    const out = options.quick ? "bench-results/upload-quick.json" : "bench-results/upload.json";
    await writeFile(join(root, out), JSON.stringify(results, null, 2) + "\n");
    console.log(`Wrote ${out}`);
    return (Date.now() - started) / 1000;
  } catch (error) {
    console.error(`--- server log (${server.url}) ---\n${server.log.join("").slice(-20_000)}\n--- end of server log ---`);
    throw error;
  } finally {
    clearInterval(nodeTimer);
    await context?.close();
    if (options.keep) {
      await server.stop();
      console.log(`Kept: ${work}, ${profile}, ${stateDir}`);
    } else {
      await server.dispose();
      await cleanUp();
    }
  }
}

/**
 * Cases and evidence in a real browser against `npm start`: create a case, upload a real
 * ~50 MiB MP4 (made by ffmpeg, with a creation time), reload in the middle and see the upload resume without
 * re-sending what the server has, play the video once it verified, export the court package
 * and check it with `npm run verify`, see a flipped ciphertext byte reported as an integrity
 * failure, and prove no request body ever carried a 64-byte window of the plaintext.
 * Role locators only. Needs `npx vite build` first (the server runs with --no-build).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, playVideo, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const root = resolve(import.meta.dirname, "../..");
const shots = resolve(root, "test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/evidence-${name}.png`, fullPage: true });

const PART_SIZE = 8 * (1_048_576 + 16);
const FILE_NAME = "scene-camera.mp4";

/** A ciphertext part sent to a signed upload URL. */
const isPart = (s: Sent) => s.method === "PUT" && new URL(s.url).pathname.startsWith("/api/uploads/");

interface Sent {
  method: string;
  url: string;
  /** The body as the page sent it; empty for part uploads, whose body is a file slice the browser streams (not visible here). */
  body: Buffer;
  at: number;
}

/** Length of the ciphertext part a part upload carries, from its URL (`/api/uploads/<id>/<n>`). */
function partLengthOf(s: Sent, ciphertextSize: number): number {
  const n = Number(new URL(s.url).pathname.split("/").at(-1));
  return Math.min(PART_SIZE, ciphertextSize - n * PART_SIZE);
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : entry.isFile() ? [join(dir, entry.name)] : [],
  );
}

/**
 * An index of `plain`'s 32-byte blocks at offsets that are multiples of 32, by their first 4
 * bytes (open addressing in a typed array: fast enough to scan tens of MiB of request bodies).
 * Every 64-byte window of `plain` contains one such whole block.
 */
class BlockIndex {
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(readonly plain: Buffer) {
    let size = 1;
    while (size < (plain.length / 32) * 4) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    for (let p = 0; p + 32 <= plain.length; p += 32) {
      let slot = this.slot(plain.readUInt32LE(p));
      while (this.slots[slot] !== -1) {
        if (plain.compare(plain, this.slots[slot]!, this.slots[slot]! + 32, p, p + 32) === 0) break; // same block already indexed
        slot = (slot + 1) & this.mask;
      }
      if (this.slots[slot] === -1) this.slots[slot] = p;
    }
  }

  private slot(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> 0 & this.mask;
  }

  /** True when some 64-byte window of the plaintext occurs in `body`: each block hit is extended both ways to its full length. */
  leaks(body: Buffer): boolean {
    const plain = this.plain;
    for (let o = 0; o + 32 <= body.length; o++) {
      const key = body.readUInt32LE(o);
      for (let slot = this.slot(key); this.slots[slot] !== -1; slot = (slot + 1) & this.mask) {
        const p = this.slots[slot]!;
        if (plain.readUInt32LE(p) !== key || body.compare(plain, p, p + 32, o, o + 32) !== 0) continue;
        let left = 0;
        while (left < 32 && p - left - 1 >= 0 && o - left - 1 >= 0 && plain[p - left - 1] === body[o - left - 1]) left++;
        let right = 0;
        while (right < 32 && p + 32 + right < plain.length && o + 32 + right < body.length && plain[p + 32 + right] === body[o + 32 + right]) right++;
        if (left + 32 + right >= 64) return true;
      }
    }
    return false;
  }
}

describe("evidence: encrypted resumable upload, verified playback, court package, tamper, confidentiality", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  let video: string;
  let plain: Buffer;
  const sent: Sent[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-evidence-"));
    video = join(work, FILE_NAME);
    // A real H.264 MP4: 10 s of noisy test pattern at a high bit rate, so it is about 50 MiB and incompressible.
    const ffmpeg = spawnSync(
      "ffmpeg",
      ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=10:size=640x360:rate=30,noise=alls=60:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "38M", "-maxrate", "38M", "-bufsize", "76M", "-movflags", "+faststart", "-metadata", "creation_time=2024-05-06T07:08:09Z", video],
      { encoding: "utf8" },
    );
    if (ffmpeg.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${ffmpeg.stderr}`);
    plain = readFileSync(video);
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
    // Every body the page sends: JSON, part uploads, everything.
    page.on("request", (request) => {
      const body = request.postDataBuffer();
      if (body || request.method() === "PUT") sent.push({ method: request.method(), url: request.url(), body: body ?? Buffer.alloc(0), at: Date.now() });
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("creates a case with its key made in the browser", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await visible(page.getByText("You are not on any case yet."));
    await createCase(page, { number: "2026-0042", title: "Warehouse break-in", description: "Rear door forced overnight.", tags: "burglary, north" });
    await visible(page.getByText("Your role: Lead"));
    await visible(page.getByRole("region", { name: "Members" }).getByRole("listitem").filter({ hasText: ADMIN.email }));
    // A lead sees the case's history from the audit trail.
    await visible(page.getByRole("list", { name: "Case history" }).getByRole("listitem").filter({ hasText: "created the case" }));

    await page.getByRole("link", { name: "← Cases" }).click();
    await page.getByLabel("Search cases").fill("0042");
    await visible(page.getByRole("link", { name: /2026-0042.*Warehouse break-in/ }));
    await page.getByLabel("Search cases").fill("no such case");
    await visible(page.getByText("No case matches."));
    await page.getByLabel("Search cases").fill("");
    await page.getByLabel("Tag", { exact: true }).selectOption("burglary");
    await page.getByRole("link", { name: /Warehouse break-in/ }).click();
    await visible(page.getByRole("heading", { name: "Warehouse break-in", level: 1 }));
  });

  it("uploads a 50 MiB video encrypted, resumes after a reload without re-sending stored parts", async () => {
    server.attachLogOnFailure();
    const partCount = Math.ceil(Math.ceil(plain.length / 1_048_576) / 8);
    const ciphertextSize = plain.length + 16 * Math.ceil(plain.length / 1_048_576);
    expect(partCount).toBeGreaterThanOrEqual(6);

    // Let two parts through and fail the rest (as a dropped connection does): the reload then lands
    // in the middle of the upload. (Failed, not held: parts sent while the file is still being
    // encrypted are waited for before the queue takes over, so a held one would stall it.)
    let holding = true;
    let passed = 0;
    let refused = 0;
    await page.route("**/api/uploads/**", async (route) => {
      if (holding && passed >= 2) {
        refused++;
        return void (await route.abort("connectionreset").catch(() => undefined));
      }
      passed++;
      await route.continue();
    });
    const stored = new Set<string>();
    page.on("requestfinished", (request) => {
      if (request.method() === "PUT" && request.url().includes("/api/uploads/")) stored.add(new URL(request.url()).pathname);
    });

    await page.getByLabel("Add photos, videos or documents").setInputFiles(video);
    await visible(page.getByRole("progressbar", { name: `Uploading ${FILE_NAME}` }), 60_000);
    await visible(page.getByRole("progressbar", { name: "Overall upload" }));
    await expect.poll(() => stored.size, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => refused, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    const bar = page.getByRole("progressbar", { name: `Uploading ${FILE_NAME}` });
    await expect.poll(async () => Number(await bar.getAttribute("aria-valuenow")), { timeout: 10_000 }).toBeGreaterThan(0);
    await shot(page, "uploading");

    holding = false;
    const storedBeforeReload = new Set(stored);
    const reloadAt = Date.now();
    await page.reload();
    await page.unrouteAll({ behavior: "ignoreErrors" });

    // The queue resumes by itself on app start and finishes.
    await visible(page.getByRole("link", { name: new RegExp(`^Open ${FILE_NAME.replace(".", "\\.")}`) }), 120_000);
    await visible(page.getByText(`Signed by ${ADMIN.name}`), 20_000);
    const resent = sent.filter((s) => isPart(s) && s.at >= reloadAt);
    const resentBytes = resent.reduce((sum, s) => sum + partLengthOf(s, ciphertextSize), 0);
    const before = sent.filter((s) => isPart(s) && s.at < reloadAt && storedBeforeReload.has(new URL(s.url).pathname));
    expect(resent.length).toBeGreaterThan(0);
    expect(resentBytes).toBeLessThan(ciphertextSize);
    // Nothing the server already had was sent again.
    for (const s of resent) expect(before.some((b) => new URL(b.url).pathname === new URL(s.url).pathname)).toBe(false);
    const paths = [...new Set(sent.filter(isPart).map((s) => new URL(s.url).pathname))];
    expect(paths.length, paths.join("\n")).toBe(partCount);
    await shot(page, "uploaded");
  }, 180_000);

  it("opens it: verified badge after full verification, and the video plays", async () => {
    server.attachLogOnFailure();
    await page.getByRole("link", { name: new RegExp(`^Open ${FILE_NAME.replace(".", "\\.")}`) }).click();
    const badge = page.getByRole("region", { name: "Verified" });
    await visible(badge, 60_000);
    await visible(badge.getByText(ADMIN.name));
    // No TSA in this organisation: the page says so instead of a time it cannot vouch for.
    await visible(badge.getByText(/^No time-stamping authority configured/));
    await visible(page.getByRole("heading", { name: FILE_NAME, level: 1 }));
    // The capture time is the video's own (its movie header's creation_time), and the page says so.
    expect(await badge.textContent()).toMatch(/Captured.*2024.*\(from the video's own header\)/);
    const played = await playVideo(page);
    expect(played.now).toBeGreaterThan(played.start);
    expect(played.duration).toBeGreaterThan(9);
    await shot(page, "verified");

    // Details are versioned and encrypted under the file key.
    await page.getByRole("button", { name: "Edit details" }).click();
    const details = page.getByRole("form", { name: "Edit details" });
    await details.getByLabel("Title").fill("Loading bay camera");
    await details.getByLabel("Tags (comma-separated)").fill("cctv");
    await details.getByRole("button", { name: "Save details" }).click();
    await visible(page.getByRole("list", { name: "Details versions" }).getByText("Version 1"));
    const stored = (await (await page.request.get(`/api/evidence/${new URL(page.url()).searchParams.get("evidence")}/details/versions`)).json()) as { versions: { jwe: string }[] };
    expect(JSON.stringify(stored)).not.toContain("Loading bay");
  }, 90_000);

  it("exports the court package, which npm run verify accepts", async () => {
    server.attachLogOnFailure();
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), page.getByRole("button", { name: "Export package" }).click()]);
    const zip = join(work, "package.zip");
    await download.saveAs(zip);
    expect(statSync(zip).size).toBeGreaterThan(plain.length);
    const verify = spawnSync("npm", ["run", "verify", "--silent", "--", zip], { cwd: root, encoding: "utf8" });
    expect(verify.status, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    expect(verify.stdout).toContain(FILE_NAME);
  }, 90_000);

  it("reports a flipped ciphertext byte as an integrity failure and shows nothing", async () => {
    server.attachLogOnFailure();
    await page.route("**/api/evidence/*/parts/1", async (route) => {
      const response = await route.fetch();
      const body = await response.body();
      body[12345] = body[12345]! ^ 0x01;
      await route.fulfill({ response, body });
    });
    await page.reload();
    const alert = page.getByRole("alert").filter({ hasText: "Integrity check failed" });
    await visible(alert, 60_000);
    expect(await alert.textContent()).toContain("Integrity check failed: part 1");
    expect(await page.locator("video").count()).toBe(0);
    expect(await page.getByRole("region", { name: "Verified" }).count()).toBe(0);
    await shot(page, "tampered");
    await page.unrouteAll({ behavior: "ignoreErrors" });
  }, 90_000);

  it("never sent or stored a 64-byte window of the plaintext: request bodies, and every file of the server's storage", () => {
    server.attachLogOnFailure();
    const index = new BlockIndex(plain);
    expect(sent.filter((s) => !isPart(s)).reduce((sum, s) => sum + s.body.length, 0)).toBeGreaterThan(0); // JSON bodies were captured
    for (const s of sent) expect(index.leaks(s.body), `${s.method} ${s.url}`).toBe(false);
    // Part bodies are file slices the page does not see: check what the server stored from them
    // instead (D1, R2 and Durable Objects on disk under the state folder), which is every byte sent.
    let scanned = 0;
    for (const file of filesUnder(server.stateDir)) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (error) {
        // SQLite's transient -shm/-wal files come and go while the server runs; their pages live in the database file.
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw error;
      }
      scanned += bytes.length;
      expect(index.leaks(bytes), file).toBe(false);
    }
    expect(scanned).toBeGreaterThan(plain.length); // the stored ciphertext was among what was scanned
    // The check itself finds a window that is there.
    expect(index.leaks(Buffer.concat([Buffer.from("x"), plain.subarray(1001, 1070)]))).toBe(true);
    expect(index.leaks(Buffer.concat([Buffer.from([plain[1000]! ^ 0xff]), plain.subarray(1001, 1064)]))).toBe(false);
  }, 60_000);

  it("records where and when a photo taken on the phone was made, encrypted with it", async () => {
    server.attachLogOnFailure();
    const photo = join(work, "scene.png");
    const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=teal:s=320x240", "-frames:v", "1", photo], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`ffmpeg failed: ${made.stderr}`);
    await page.context().grantPermissions(["geolocation"], { origin: server.url });
    await page.context().setGeolocation({ latitude: 51.50722, longitude: -0.1275, accuracy: 12 });
    const caseId = new URL(page.url()).searchParams.get("case");
    await page.goto(`/cases?case=${caseId}`);
    await page.getByLabel("Take photo or video").setInputFiles(photo);
    const open = page.getByRole("link", { name: /^Open scene\.png/ });
    await visible(open, 60_000);
    await open.click();
    const badge = page.getByRole("region", { name: "Verified" });
    await visible(badge, 60_000);
    expect(await badge.textContent()).toContain("51.50722, -0.12750 (±12 m)");
    // A PNG has no capture time of its own: the file's modification time, said to be that.
    expect(await badge.textContent()).toMatch(/Captured.*\(the file's modification time\)/);
    // The server holds the location only inside the encrypted metadata.
    const id = new URL(page.url()).searchParams.get("evidence");
    const item = await (await page.request.get(`/api/evidence/${id}`)).text();
    expect(item).not.toContain("51.50722");
    await shot(page, "photo-location");
  }, 90_000);
});

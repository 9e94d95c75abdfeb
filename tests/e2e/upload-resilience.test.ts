/**
 * The upload queue when things go wrong, in a real browser against `npm start`:
 *  - the connection drops in the middle of an upload (a part on the wire is cut): nothing is
 *    sent while the device is offline, and when it is back the upload resumes by itself,
 *    without sending again what the server already stored, and completes; the evidence verifies;
 *  - the page is reloaded while a picked file is still being encrypted: the queue starts the
 *    encryption again from the copy it kept (no need to pick the file again), the upload
 *    completes and verifies, and the kept plaintext copy is gone afterwards.
 * Role locators only. Needs `npx vite build` first (the server runs with --no-build).
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const MiB = 1024 * 1024;

interface Put {
  part: number;
  at: number;
  status?: number;
  failure?: string;
}

/** Rows of one object store of the app's IndexedDB database, without their File/Blob fields. */
function idbRows(page: Page, store: string): Promise<Record<string, unknown>[]> {
  return page.evaluate(async (name) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open("custody");
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    try {
      const rows = await new Promise<Record<string, unknown>[]>((resolve, reject) => {
        const all = db.transaction(name).objectStore(name).getAll();
        all.onsuccess = () => resolve(all.result as Record<string, unknown>[]);
        all.onerror = () => reject(all.error);
      });
      return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Blob ? `Blob(${v.size})` : v])));
    } finally {
      db.close();
    }
  }, store);
}

describe("upload queue: a dropped connection and a reload during encryption", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  const puts: Put[] = [];

  /** A file of random bytes and its SHA-512 (what the signed manifest must state). */
  function randomFile(name: string, bytes: number): { path: string; sha512: string } {
    const path = join(work, name);
    const data = randomBytes(bytes);
    writeFileSync(path, data);
    return { path, sha512: createHash("sha512").update(data).digest("hex") };
  }

  /** Waits for the item to be listed as uploaded, opens it, sees it verified, and checks the manifest's SHA-512 is the file's. */
  async function expectVerified(name: string, sha512: string): Promise<void> {
    const link = page.getByRole("link", { name: new RegExp(`^Open ${name.replace(".", "\\.")}`) });
    await visible(link, 120_000);
    const evidenceId = new URL((await link.getAttribute("href"))!, server.url).searchParams.get("evidence")!;
    const item = (await (await page.request.get(`/api/evidence/${evidenceId}`)).json()) as { status: string; manifest: string };
    expect(item.status).toBe("complete");
    expect(JSON.parse(Buffer.from(item.manifest.split(".")[1]!, "base64url").toString()).sha512).toBe(sha512);
    await link.click();
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);
    await visible(page.getByRole("heading", { name, level: 1 }));
    await page.getByRole("link", { name: /^← / }).click();
  }

  /**
   * Freezes the page's encryption worker (it has one once a file was encrypted), so that what is
   * picked next stays "encrypting" until the page is reloaded, whatever the machine's speed.
   */
  async function freezeEncryption(): Promise<void> {
    const worker = page.workers().find((w) => w.url().includes("encrypt"));
    if (!worker) throw new Error("the page has no encryption worker yet");
    void worker
      .evaluate(() => {
        for (;;);
      })
      .catch(() => undefined);
    await page.waitForTimeout(200); // let the evaluation reach the worker
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-resilience-"));
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
    page.on("request", (request) => {
      const m = /\/api\/uploads\/[0-9a-f]{32}\/(\d+)/.exec(request.url());
      if (request.method() === "PUT" && m) puts.push({ part: Number(m[1]), at: Date.now() });
    });
    const putOf = (url: string, at: number) => puts.findLast((p) => new RegExp(`/api/uploads/[0-9a-f]{32}/${p.part}\\?`).test(url) && p.at <= at);
    page.on("response", (response) => {
      if (response.request().method() === "PUT") {
        const put = putOf(response.url(), Date.now());
        if (put) put.status = response.status();
      }
    });
    page.on("requestfailed", (request) => {
      if (request.method() === "PUT") {
        const put = putOf(request.url(), Date.now());
        if (put) put.failure = request.failure()?.errorText ?? "failed";
      }
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("sets up and opens a case", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await createCase(page, { number: "2026-0077", title: "Depot fire" });
  });

  it("a drop mid-upload: nothing is sent while offline, then it resumes by itself without re-sending stored parts, and verifies", async () => {
    server.attachLogOnFailure();
    const file = randomFile("dashcam.bin", 40 * MiB); // 5 parts
    const parts = 5;
    // Let two parts through; hold the third on its way out, as if it were on a slow link when the signal went.
    let passed = 0;
    const held: Route[] = [];
    await page.route("**/api/uploads/**", async (route) => {
      if (passed >= 2) return void held.push(route);
      passed++;
      await route.continue();
    });
    puts.length = 0;
    await page.getByLabel("Add photos, videos or documents").setInputFiles(file.path);
    await expect.poll(() => puts.filter((p) => p.status === 204).length, { timeout: 60_000 }).toBe(2);
    await expect.poll(() => held.length, { timeout: 30_000 }).toBe(1);
    const storedBefore = puts.filter((p) => p.status === 204).map((p) => p.part);

    // The signal goes: the part on the wire is cut.
    await page.context().setOffline(true);
    await held[0]!.abort("internetdisconnected");
    await page.unrouteAll({ behavior: "ignoreErrors" });
    const offlineAt = Date.now();
    const item = page.getByRole("listitem").filter({ hasText: "dashcam.bin" });
    await visible(item.getByRole("status").filter({ hasText: "Waiting for a connection" }), 15_000);
    // Long enough for retries on a timer (1 s, then 2 s) to have been tried, had there been any.
    await page.waitForTimeout(3_500);
    const sentWhileOffline = puts.filter((p) => p.at > offlineAt);
    await page.context().setOffline(false);

    await expectVerified("dashcam.bin", file.sha512);
    expect(sentWhileOffline, "no part upload is started while the device is offline").toEqual([]);
    const after = puts.filter((p) => p.at > offlineAt);
    // Nothing the server had stored was sent again; every part was stored once.
    expect(after.filter((p) => storedBefore.includes(p.part))).toEqual([]);
    const stored = puts.filter((p) => p.status === 204).map((p) => p.part).sort();
    expect(stored).toEqual(Array.from({ length: parts }, (_, n) => n));
  }, 180_000);

  it("a reload during encryption: the kept file is encrypted again by itself, uploaded and verified; the kept copy is then gone", async () => {
    server.attachLogOnFailure();
    const file = randomFile("bodycam.bin", 48 * MiB);
    await freezeEncryption();
    await page.getByLabel("Add photos, videos or documents").setInputFiles(file.path);
    await visible(page.getByRole("progressbar", { name: "Encrypting bodycam.bin" }), 30_000);
    await expect.poll(async () => (await idbRows(page, "pendingFiles")).length, { timeout: 30_000 }).toBe(1);
    const queued = await idbRows(page, "uploads");
    expect(queued.find((r) => r["fileName"] === "bodycam.bin")).toMatchObject({ state: "encrypting" });
    expect((await idbRows(page, "pendingFiles")).map((r) => r["file"])).toEqual([`Blob(${48 * MiB})`]);

    await page.reload();
    await expectVerified("bodycam.bin", file.sha512);
    // The plaintext copy went once the ciphertext was staged, and the ciphertext once uploaded.
    expect(await idbRows(page, "pendingFiles")).toEqual([]);
    expect(await page.evaluate(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("uploads", { create: true });
      const names: string[] = [];
      for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
      return names;
    })).toEqual([]);
  }, 180_000);

  it("a small file encrypted before its upload start is answered: the upload is started once, never cancelled, and verifies", async () => {
    server.attachLogOnFailure();
    const file = randomFile("note.bin", 200 * 1024);
    const calls: string[] = [];
    // The start (sent as soon as encryption begins) is slow to answer; the file is encrypted long before.
    await page.route("**/api/cases/*/evidence", async (route) => {
      if (route.request().method() !== "POST") return route.fallback();
      calls.push("start");
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await route.continue();
    });
    await page.route("**/api/evidence/*", async (route) => {
      if (route.request().method() === "DELETE") calls.push("cancel");
      await route.fallback();
    });
    try {
      await page.getByLabel("Add photos, videos or documents").setInputFiles(file.path);
      await expectVerified("note.bin", file.sha512);
    } finally {
      await page.unrouteAll({ behavior: "wait" });
    }
    // The queue waited for the start on its way instead of starting (then cancelling) the same upload beside it.
    expect(calls).toEqual(["start"]);
  }, 120_000);

  it("a camera capture is never kept unencrypted on the device", async () => {
    server.attachLogOnFailure();
    const file = randomFile("capture.jpg", 3 * MiB);
    await freezeEncryption();
    await page.getByLabel("Take photo or video").setInputFiles(file.path);
    await visible(page.getByRole("progressbar", { name: "Encrypting capture.jpg" }), 30_000);
    await expect.poll(async () => (await idbRows(page, "uploads")).some((r) => r["fileName"] === "capture.jpg")).toBe(true);
    expect(await idbRows(page, "pendingFiles")).toEqual([]);
    await page.reload();
    // It cannot be resumed: the app says so and what to do.
    const item = page.getByRole("listitem").filter({ hasText: "capture.jpg" });
    await visible(item.getByRole("alert").filter({ hasText: "take it again" }), 30_000);
    await item.getByRole("button", { name: "Cancel capture.jpg" }).click();
    await item.waitFor({ state: "detached" });
  }, 120_000);
});

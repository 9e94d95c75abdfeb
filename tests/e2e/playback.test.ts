/**
 * Streaming playback (issue 18) in a real browser against `npm start`, with the page's network
 * throttled (CDP Network.emulateNetworkConditions): a ~40 MiB video (5 parts) plays and seeks to
 * 90 % while one of its middle parts is still held back, so the download is not complete; the page
 * says "checking… N %" and shows no "Verified" until that part arrives and the whole file passed.
 * A tampered part stops playback at that part, names it, and nothing more is played; so does a part
 * longer than signed (refused as it downloads). The original
 * downloads through the service worker stream, byte for byte. Needs `npx vite build` first.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, BrowserContext, Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const root = resolve(import.meta.dirname, "../..");
const shots = resolve(root, "test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/playback-${name}.png`, fullPage: true });

const FILE_NAME = "corridor.mp4";
/** 40 Mbit/s down and up, 20 ms: the throttled case. */
const THROTTLE = { offline: false, latency: 20, downloadThroughput: (40e6 / 8), uploadThroughput: (40e6 / 8) };

/** Plays from where it is for a moment; resolves with where it started and where it got to. */
async function playFor(page: Page, ms: number): Promise<{ from: number; to: number; duration: number }> {
  return page.locator("video").evaluate(async (video: HTMLVideoElement, wait: number) => {
    video.muted = true;
    await video.play();
    const from = video.currentTime;
    await new Promise((r) => setTimeout(r, wait));
    return { from, to: video.currentTime, duration: video.duration };
  }, ms);
}

/** Seeks to `fraction` of the duration and waits for the seek to finish. */
async function seekTo(page: Page, fraction: number): Promise<number> {
  return page.locator("video").evaluate(async (video: HTMLVideoElement, at: number) => {
    const target = video.duration * at;
    const seeked = new Promise((r) => video.addEventListener("seeked", r, { once: true }));
    video.currentTime = target;
    await seeked;
    return target;
  }, fraction);
}

describe("streaming playback: plays and seeks before the download completes, verified at the end", () => {
  let server: CustodyServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let work: string;
  let video: string;
  let evidenceUrl: string;
  let viewUrl: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-playback-"));
    video = join(work, FILE_NAME);
    // 20 s of noisy H.264 at a high bit rate (about 40 MiB, 5 parts), movie header first.
    const ffmpeg = spawnSync(
      "ffmpeg",
      ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=20:size=640x360:rate=25,noise=alls=60:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "16M", "-maxrate", "16M", "-bufsize", "32M", "-g", "25", "-movflags", "+faststart", video],
      { encoding: "utf8" },
    );
    if (ffmpeg.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${ffmpeg.stderr}`);
    server = await CustodyServer.start();
    browser = await launchBrowser();
    context = await phoneContext(browser, server.url);
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("uploads the video", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await createCase(page, { number: "2026-0077", title: "Corridor" });
    await page.getByLabel("Add photos, videos or documents").setInputFiles(video);
    await visible(page.getByRole("link", { name: new RegExp(`^Open ${FILE_NAME.replace(".", "\\.")}`) }), 120_000);
    await visible(page.getByText(`Signed by ${ADMIN.name}`), 30_000);
    // The service worker controls the page (streaming needs it).
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller), { timeout: 30_000 }).toBe(true);
  }, 180_000);

  it("plays and seeks to 90 % on a throttled network while a middle part is still held back; Verified only once it arrives", async () => {
    server.attachLogOnFailure();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", THROTTLE);
    // Part 2 of 5 is held: the player needs only the start and the end, the check needs everything.
    const held: Route[] = [];
    const asked: number[] = [];
    await page.route("**/api/evidence/*/parts/*", async (route) => {
      const n = Number(new URL(route.request().url()).pathname.split("/").at(-1));
      asked.push(n);
      if (n === 2) held.push(route);
      else await route.continue();
    });

    await page.getByRole("link", { name: new RegExp(`^Open ${FILE_NAME.replace(".", "\\.")}`) }).click();
    const player = page.locator("video");
    await visible(player, 60_000);
    evidenceUrl = page.url();
    viewUrl = (await player.getAttribute("src"))!;
    expect(viewUrl).toMatch(/^\/view\/[0-9a-f]{32}$/);
    const checking = page.getByRole("region", { name: "Checking integrity" });
    await visible(checking);
    await visible(checking.getByText(/^checking… \d+ %$/));

    const start = await playFor(page, 1500);
    expect(start.to).toBeGreaterThan(start.from);
    expect(start.duration).toBeGreaterThan(19);
    const target = await seekTo(page, 0.9);
    const late = await playFor(page, 1500);
    expect(late.from).toBeGreaterThanOrEqual(target - 0.5);
    expect(late.to).toBeGreaterThan(late.from);
    // The download is not complete (part 2 never came), so the page cannot say "Verified".
    await expect.poll(() => held.length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await page.getByRole("region", { name: "Verified" }).count()).toBe(0);
    await visible(checking);
    expect(asked).toContain(4); // the seek read the last part
    await shot(page, "checking");

    for (const route of held) await route.continue();
    await page.unroute("**/api/evidence/*/parts/*");
    const badge = page.getByRole("region", { name: "Verified" });
    await visible(badge, 90_000);
    await visible(badge.getByText(ADMIN.name));
    expect(await checking.count()).toBe(0);
    await shot(page, "verified");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  }, 180_000);

  it("downloads the original through the service worker stream, byte for byte", async () => {
    server.attachLogOnFailure();
    // Without File System Access the download is streamed by the service worker.
    await page.evaluate(() => delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker);
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), page.getByRole("button", { name: "Download original" }).click()]);
    const saved = join(work, "downloaded.mp4");
    await download.saveAs(saved);
    expect(download.suggestedFilename()).toBe(FILE_NAME);
    expect(await download.failure()).toBeNull();
    expect(statSync(saved).size).toBe(statSync(video).size);
    expect(createHash("sha512").update(readFileSync(saved)).digest("hex")).toBe(createHash("sha512").update(readFileSync(video)).digest("hex"));
  }, 90_000);

  it("saves the original to a file the user picks (File System Access), written by the worker, byte for byte", async () => {
    server.attachLogOnFailure();
    // The picker's dialog cannot be driven headless: it answers with a file of the origin's own file system instead.
    await page.evaluate(() => {
      (window as unknown as { showSaveFilePicker: (options: { suggestedName: string }) => Promise<FileSystemFileHandle> }).showSaveFilePicker = async (options) =>
        (await navigator.storage.getDirectory()).getFileHandle(`picked-${options.suggestedName}`, { create: true });
    });
    await page.getByRole("button", { name: "Download original" }).click();
    const digest = () =>
      page.evaluate(async (name) => {
        const file = await (await (await navigator.storage.getDirectory()).getFileHandle(name)).getFile();
        if (file.size === 0) return "";
        return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-512", await file.arrayBuffer())), (b) => b.toString(16).padStart(2, "0")).join("");
      }, `picked-${FILE_NAME}`).catch(() => "");
    await expect.poll(digest, { timeout: 60_000 }).toBe(createHash("sha512").update(readFileSync(video)).digest("hex"));
  }, 90_000);

  it("stops at a tampered part: names it, removes the player, and plays nothing after it", async () => {
    server.attachLogOnFailure();
    await page.route("**/api/evidence/*/parts/3", async (route) => {
      const response = await route.fetch();
      const body = await response.body();
      body[4321] = body[4321]! ^ 0x01;
      await route.fulfill({ response, body });
    });
    // The furthest point any video on the page played to, and the duration it had.
    await page.addInitScript(() => {
      const seen = window as unknown as { maxPlayed: number; duration: number };
      seen.maxPlayed = 0;
      seen.duration = 0;
      document.addEventListener("timeupdate", (event) => {
        const video = event.target as HTMLVideoElement;
        seen.maxPlayed = Math.max(seen.maxPlayed, video.currentTime);
        seen.duration = video.duration;
      }, true);
    });
    await page.goto(evidenceUrl);
    // Play from the start, as a viewer would, until the check stops it.
    await page.locator("video").evaluate((video: HTMLVideoElement) => {
      video.muted = true;
      void video.play().catch(() => undefined);
    }).catch(() => undefined); // the player may already be gone
    const alert = page.getByRole("alert").filter({ hasText: "Integrity check failed" });
    // Whether the player or the background check reaches part 3 first, it stops there.
    await visible(alert, 90_000);
    expect(await alert.textContent()).toContain("Integrity check failed: part 3");
    expect(await page.locator("video").count()).toBe(0);
    expect(await page.getByRole("region", { name: "Verified" }).count()).toBe(0);
    // Nothing from part 3 on was played: the furthest point reached is before where its bytes start.
    const { maxPlayed, duration } = await page.evaluate(() => {
      const seen = window as unknown as { maxPlayed: number; duration: number };
      return { maxPlayed: seen.maxPlayed, duration: seen.duration };
    });
    const part3StartsAt = (3 * 8 * 1_048_576) / statSync(video).size;
    if (duration > 0) expect(maxPlayed / duration).toBeLessThan(part3StartsAt);
    // The earlier view's URL answers no more: its plaintext went with its worker when the page was left.
    expect(await page.evaluate(async (url) => (await fetch(url)).status, viewUrl)).toBe(404);
    await shot(page, "tampered");
    await page.unrouteAll({ behavior: "ignoreErrors" });
  }, 120_000);

  it("refuses a part longer than the signed size as it downloads: names it, and shows nothing", async () => {
    server.attachLogOnFailure();
    // Part 1 with 16 bytes more than signed: the evidence worker, reading it as it comes, stops there.
    await page.route("**/api/evidence/*/parts/1", async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, body: Buffer.concat([await response.body(), Buffer.alloc(16, 7)]) });
    });
    await page.goto(evidenceUrl);
    const alert = page.getByRole("alert").filter({ hasText: "Integrity check failed" });
    await visible(alert, 90_000);
    expect(await alert.textContent()).toContain("Integrity check failed: part 1");
    expect(await page.locator("video").count()).toBe(0);
    expect(await page.getByRole("region", { name: "Verified" }).count()).toBe(0);
    await page.unrouteAll({ behavior: "ignoreErrors" });
  }, 120_000);
});

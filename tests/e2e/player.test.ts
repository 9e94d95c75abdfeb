/**
 * The player's tools (issue 19, item 5) in Chromium against `npm start`, one journey: a short
 * ffmpeg video (testsrc draws a frame counter; 30 fps, a key frame each second, an MP4
 * creation_time) plays; the speed list sets playbackRate; frame step moves by one frame; a jump
 * moves by seconds; the overlay shows the recorded time (creation time plus position); a marker
 * with a note is saved and is still there after a reload; a clip export becomes a new item of
 * the case whose signed manifest names the original (derivedFrom) and which plays.
 * Needs `npx vite build` first.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, playVideo, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const root = resolve(import.meta.dirname, "../..");
const shots = resolve(root, "test-results/e2e");
mkdirSync(shots, { recursive: true });

const FILE_NAME = "hallway.mp4";
const CREATED = "2026-03-12T14:05:00Z";
const FRAME = 1 / 30;

/** The video's current time once any seek has finished. */
function currentTime(page: Page): Promise<number> {
  return page.locator("video").evaluate(async (video: HTMLVideoElement) => {
    if (video.seeking) await new Promise((r) => video.addEventListener("seeked", r, { once: true }));
    return video.currentTime;
  });
}

describe("video player tools: speed, frame step, jumps, recorded time, markers, clip export", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  let video: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-player-"));
    video = join(work, FILE_NAME);
    const ffmpeg = spawnSync(
      "ffmpeg",
      ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=6:size=320x240:rate=30", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30", "-metadata", `creation_time=${CREATED}`, "-movflags", "+faststart", video],
      { encoding: "utf8" },
    );
    if (ffmpeg.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${ffmpeg.stderr}`);
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("plays with speeds, frame step, jumps and the recorded time; keeps a marker across a reload; exports a derived clip that plays", async () => {
    server.attachLogOnFailure();
    onTestFailed(async () => {
      await page.screenshot({ path: `${shots}/player-failed-390.png`, fullPage: true }).catch(() => undefined);
      await page.setViewportSize({ width: 1366, height: 900 }).catch(() => undefined);
      await page.screenshot({ path: `${shots}/player-failed-1366.png`, fullPage: true }).catch(() => undefined);
    });
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await createCase(page, { number: "2026-0191", title: "Hallway" });
    const caseUrl = page.url();
    await page.getByLabel("Add photos, videos or documents").setInputFiles(video);
    await page.getByRole("link", { name: /^Open hallway\.mp4/ }).click({ timeout: 120_000 });
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller), { timeout: 30_000 }).toBe(true);

    const played = await playVideo(page);
    expect(played.now).toBeGreaterThan(played.start);
    expect(played.duration).toBeGreaterThan(5.5);

    // Speed: every step from 0.25× to 4× is offered; choosing one sets the video's playbackRate.
    const speed = page.getByLabel("Speed");
    expect(await speed.locator("option").allTextContents()).toEqual(["0.25×", "0.5×", "0.75×", "1×", "1.25×", "1.5×", "2×", "3×", "4×"]);
    await speed.selectOption("4");
    expect(await page.locator("video").evaluate((v: HTMLVideoElement) => v.playbackRate)).toBe(4);
    await speed.selectOption("0.25");
    expect(await page.locator("video").evaluate((v: HTMLVideoElement) => v.playbackRate)).toBe(0.25);

    await page.locator("video").evaluate((v: HTMLVideoElement) => v.pause());
    // Jumps by seconds, then frame step: it pauses, and each step is one frame (the track's 30 fps).
    await page.getByRole("button", { name: "Back 10 seconds" }).click();
    expect(await currentTime(page)).toBe(0);
    await page.getByRole("button", { name: "Forward 5 seconds" }).click();
    expect(await currentTime(page)).toBeCloseTo(5, 5);
    await page.getByRole("button", { name: "Back 5 seconds" }).click();
    await visible(page.getByText("30 frames per second", { exact: false }));
    await page.getByRole("button", { name: "Next frame" }).click();
    const first = await currentTime(page);
    await page.getByRole("button", { name: "Next frame" }).click();
    const second = await currentTime(page);
    expect(second - first).toBeCloseTo(FRAME, 4);
    await page.getByRole("button", { name: "Previous frame" }).click();
    expect(await currentTime(page)).toBeCloseTo(first, 4);
    expect(await page.locator("video").evaluate((v: HTMLVideoElement) => v.paused)).toBe(true);
    // The keyboard steps too, with the focus in the player.
    await page.getByRole("button", { name: "Next frame" }).focus();
    await page.keyboard.press(".");
    expect(await currentTime(page)).toBeCloseTo(second, 4);

    // The recorded time: the video's own creation time plus the position, with its time zone.
    const stamp = page.locator(".recorded-overlay time");
    await expect.poll(async () => Date.parse((await stamp.getAttribute("datetime"))!) - Date.parse(CREATED)).toBeCloseTo(second * 1000, -2);
    expect(await stamp.textContent()).toMatch(/2026.*\d{2}:\d{2}:\d{2}.*(UTC|GMT)/);

    // A marker with a note at 2 s, kept in the encrypted details: still there after a reload, and jumps back there.
    await page.getByRole("button", { name: "Back 10 seconds" }).click();
    await page.locator("video").evaluate((v: HTMLVideoElement) => void (v.currentTime = 2));
    expect(await currentTime(page)).toBe(2);
    await page.getByLabel(/^Marker note/).fill("Man in red jacket enters");
    await page.getByRole("button", { name: "Add marker" }).click();
    await visible(page.getByText("Marker added at 0:02.00."));
    await page.reload();
    const jump = page.getByRole("button", { name: "Jump to 0:02.00: Man in red jacket enters" });
    await visible(jump, 60_000);
    await page.getByRole("button", { name: "Forward 5 seconds" }).click();
    await jump.click();
    expect(await currentTime(page)).toBe(2);
    // The player's controls, markers and clip form: no serious or critical axe-core violation.
    const found = await new AxeBuilder({ page }).include(".video-player").analyze();
    expect(found.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
    // The details keep it as a version of their own.
    await visible(page.getByRole("list", { name: "Details versions" }).getByText("Version 1"));

    // Clip export from 2 s to 4 s: a new item in the same case, derived from this one.
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller), { timeout: 30_000 }).toBe(true);
    await page.getByLabel("Clip start (seconds)").fill("2");
    await page.getByLabel("Clip end (seconds)").fill("4");
    await page.getByRole("button", { name: "Export clip" }).click();
    await visible(page.getByText("Clip added to the case:"), 60_000);
    await page.screenshot({ path: `${shots}/player-390.png`, fullPage: true });
    await page.goto(caseUrl);
    await page.getByRole("link", { name: /^Open hallway clip 2s-4s\.mp4/ }).click({ timeout: 120_000 });
    const derived = page.getByRole("region", { name: "Derived from another item" });
    await visible(derived, 60_000);
    const sha512 = createHash("sha512").update(readFileSync(video)).digest("hex");
    expect(await derived.locator("code").getAttribute("title")).toBe(sha512);
    await visible(derived.getByText("A clip from 0:02.00 to 0:04.00"));
    // Its recorded time goes on from the original's: time 0 of the clip was recorded 2 s after the original's start.
    await expect.poll(() => page.locator(".recorded-overlay time").getAttribute("datetime"), { timeout: 15_000 }).toBe("2026-03-12T14:05:02.000Z");
    const clip = await playVideo(page);
    expect(clip.now).toBeGreaterThan(clip.start);
    // Cut on key frames (one a second): at least the two seconds asked for, not the whole video.
    expect(clip.duration).toBeGreaterThanOrEqual(1.9);
    expect(clip.duration).toBeLessThan(5);
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);
  }, 300_000);
});

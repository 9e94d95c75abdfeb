/**
 * Video redaction (issue 22), the copy's other paths, in Chromium against `npm start`, one
 * journey on one uploaded video (a 60 s ffmpeg video: a red square moving 50 px a second to the
 * right along a known path for the first 4 s, on a plain background; a steady 440 Hz tone):
 *  1. a filled region (top of the frame) and a bleep from 1.8 s to 2.4 s are marked; a copy of the
 *     whole video is started and cancelled mid-way: the editor says so, nothing was queued or
 *     uploaded (the case and this device's upload queue hold only the original) and the partial
 *     file is gone from OPFS (`redactions/`);
 *  2. a trim from 1 s to 3 s is added and the copy made again (H.264 in MP4): it lasts 2 s (ffprobe),
 *     its first frame shows the square where it was at 1 s, its sound is the 1 kHz bleep in the
 *     bleep range and the 440 Hz tone outside it, and its signed manifest lists the trim, the
 *     region and the bleep;
 *  3. with H.264 encoding made unavailable in the redaction Worker (`VideoEncoder.isConfigSupported`
 *     answers "unsupported" for avc codecs there), the same copy is made as VP9 in WebM, the editor
 *     says which format it made, and ffmpeg decodes it with the region filled and the trim applied.
 * Playwright's init scripts do not reach Workers: the page's `Worker` constructor is wrapped (an
 * init script, test only) to hold the redaction Worker's first message until the test has
 * replaced `isConfigSupported` inside that Worker, so the Worker cannot choose a format first.
 * Needs `npx vite build` first.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";
import { BACKGROUND, drag, frameAt, H, makeSquareVideo, maxDifference, seek, SIDE, squareAt, W } from "./video-helpers";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });

const SECONDS = 60;
const RED = [0xff, 0, 0] as const;
/** The filled region, in source pixels: above the square's path. */
const REGION = { x: 100, y: 10, w: 120, h: 50 };
const TRIM = { from: 1, to: 3 };
const BLEEP = { from: 1.8, to: 2.4 };

/** The power of `hz` in mono 48 kHz `samples` between `from` and `to` seconds (Goertzel), per sample. */
function power(samples: Float32Array, hz: number, from: number, to: number): number {
  const first = Math.round(from * 48000);
  const last = Math.round(to * 48000);
  const k = 2 * Math.cos((2 * Math.PI * hz) / 48000);
  let s1 = 0;
  let s2 = 0;
  for (let i = first; i < last; i++) {
    const s0 = samples[i]! + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / (last - first) ** 2;
}

/** The copy's duration in seconds, as ffprobe reads its container. */
function durationOf(file: string): number {
  const out = spawnSync("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`ffprobe could not read ${file}: ${out.stderr}`);
  return Number(out.stdout.trim());
}

/** When the copy's video stream starts, in seconds (0 when the trim's timestamps were moved to the start). */
function videoStartOf(file: string): number {
  const out = spawnSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=start_time", "-of", "csv=p=0", file], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`ffprobe could not read ${file}: ${out.stderr}`);
  return Number(out.stdout.trim());
}

/** The codec names of the copy's streams ("h264", "aac" …), video first. */
function codecsOf(file: string): string[] {
  const out = spawnSync("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", file], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`ffprobe could not read ${file}: ${out.stderr}`);
  return out.stdout.trim().split("\n");
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

type Held = { holdRedaction?: boolean; releaseRedaction?: () => void };

describe("video redaction: a cancelled copy, a trimmed copy with a bleep, and the WebM copy where H.264 can't be encoded", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  let original: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-redact-copies-"));
    original = join(work, "lobby.mp4");
    makeSquareVideo(original, SECONDS, 4);
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
    // Test only: with `holdRedaction` set, the redaction Worker's messages wait until `releaseRedaction()`.
    await page.addInitScript(() => {
      const Native = window.Worker;
      const held = window as unknown as Held;
      window.Worker = class extends Native {
        constructor(url: string | URL, options?: WorkerOptions) {
          super(url, options);
          if (!held.holdRedaction || !String(url).includes("redact.worker")) return;
          const waiting: unknown[] = [];
          this.postMessage = (message: unknown) => void waiting.push(message);
          held.releaseRedaction = () => {
            this.postMessage = Native.prototype.postMessage.bind(this);
            for (const message of waiting) this.postMessage(message);
          };
        }
      };
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("cancels a copy cleanly, makes a trimmed copy with a bleep, and makes VP9/WebM when H.264 can't be encoded", async () => {
    server.attachLogOnFailure();
    onTestFailed(async () => {
      await page.screenshot({ path: `${shots}/redaction-video-copies-failed.png`, fullPage: true }).catch(() => undefined);
    });
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await createCase(page, { number: "2026-0223", title: "Lobby" });
    const caseUrl = page.url();
    const caseId = new URL(caseUrl).searchParams.get("case")!;
    await page.getByLabel("Add photos, videos or documents").setInputFiles(original);
    await page.getByRole("link", { name: /^Open lobby\.mp4/ }).click({ timeout: 120_000 });
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller), { timeout: 30_000 }).toBe(true);

    await page.getByRole("button", { name: "Redact this video" }).click();
    const editor = page.getByRole("region", { name: "Redact this video" });
    const video = editor.locator("video");
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.duration), { timeout: 30_000 }).toBeGreaterThan(SECONDS - 1);
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);

    // A filled rectangle over the top of the frame, from 0 s to the end; a bleep from 1.8 s to 2.4 s.
    await editor.getByLabel(/^Effect/).selectOption("fill");
    await drag(editor.locator(".redact-overlay"), page, { x: REGION.x, y: REGION.y }, { x: REGION.x + REGION.w, y: REGION.y + REGION.h });
    await visible(editor.getByText("Region 1 marked at 0:00.00."));
    await editor.getByLabel("Audio range start (seconds)").fill(String(BLEEP.from));
    await editor.getByLabel("Audio range end (seconds)").fill(String(BLEEP.to));
    await editor.getByLabel("Audio effect").selectOption("bleep");
    await editor.getByRole("button", { name: "Add audio range" }).click();
    await visible(editor.getByRole("list", { name: "Audio ranges" }).getByText("Bleep 0:01.80 to 0:02.40"));

    // 1. Cancel: a copy of the whole minute, stopped once it is under way.
    const items = () => page.evaluate(async (id: string) => ((await (await fetch(`/api/cases/${id}/evidence`)).json()) as { evidence: unknown[] }).evidence.length, caseId);
    const queued = () =>
      page.evaluate(
        () =>
          new Promise<number>((done, fail) => {
            const open = indexedDB.open("custody");
            open.onerror = () => fail(open.error);
            open.onsuccess = () => {
              const count = open.result.transaction("uploads").objectStore("uploads").count();
              count.onsuccess = () => {
                open.result.close();
                done(count.result);
              };
              count.onerror = () => fail(count.error);
            };
          }),
      );
    const written = () =>
      page.evaluate(async () => {
        const names: string[] = [];
        const dir = (await (await navigator.storage.getDirectory()).getDirectoryHandle("redactions", { create: true })) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
        for await (const name of dir.keys()) names.push(name);
        return names;
      });
    expect(await items()).toBe(1);
    const queuedBefore = await queued();
    await editor.getByRole("button", { name: "Make redacted copy" }).click();
    const bar = editor.getByRole("progressbar", { name: "Making the redacted copy" });
    await expect.poll(async () => Number((await bar.getAttribute("aria-valuenow", { timeout: 1000 }).catch(() => null)) ?? 0), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
    // One job's files: the copy, its packet log, checkpoint and audio (web/src/redaction/video/packet-log.ts jobFiles).
    const during = await written();
    expect(new Set(during.map((name) => name.split(".")[0])).size).toBe(1);
    expect(during.some((name) => name.endsWith(".log"))).toBe(true);
    await editor.getByRole("button", { name: "Cancel the copy" }).click();
    await visible(editor.getByText("Canceled: nothing was added to the case. The edit is kept."), 30_000);
    await expect(editor.getByText("Redacted copy added to the case:").count()).resolves.toBe(0);
    expect(await items()).toBe(1);
    expect(await queued()).toBe(queuedBefore);
    expect(await written()).toEqual([]);

    // 2. Trim from 1 s to 3 s (at the playhead) and make the copy: H.264 in MP4.
    await seek(video, TRIM.from);
    await visible(editor.getByText("0:01.00", { exact: true }));
    await editor.getByRole("button", { name: "Trim start here" }).click();
    await seek(video, TRIM.to);
    await visible(editor.getByText("0:03.00", { exact: true }));
    await editor.getByRole("button", { name: "Trim end here" }).click();
    await visible(editor.getByText("The copy keeps 0:01.00 to 0:03.00 of the original."));
    await editor.getByRole("button", { name: "Make redacted copy" }).click();
    const made = editor.getByText("Redacted copy added to the case:");
    await visible(made, 120_000);
    await expect(made.textContent()).resolves.toContain("(H.264 in MP4)");
    const mp4Name = (await editor.getByRole("link", { name: /^Redacted copy of lobby\./ }).textContent())!;
    expect(mp4Name).toBe("Redacted copy of lobby.mp4");

    // 3. The same edit where H.264 can't be encoded: the Worker's isConfigSupported says no to avc, before the Worker starts.
    page.on("worker", (worker) => {
      if (!worker.url().includes("redact.worker")) return;
      void worker
        .evaluate(() => {
          const native = VideoEncoder.isConfigSupported.bind(VideoEncoder);
          VideoEncoder.isConfigSupported = (config: VideoEncoderConfig) => (/^avc[13]\./.test(config.codec) ? Promise.resolve({ supported: false, config }) : native(config));
        })
        .then(() => page.evaluate(() => (window as unknown as Held).releaseRedaction!()));
    });
    await page.evaluate(() => ((window as unknown as Held).holdRedaction = true));
    await editor.getByRole("button", { name: "Make redacted copy" }).click();
    await visible(editor.getByRole("link", { name: "Redacted copy of lobby.webm" }), 180_000);
    await expect(made.textContent()).resolves.toContain("(VP9 in WebM (this browser can't encode H.264))");
    await page.screenshot({ path: `${shots}/redaction-video-copies.png`, fullPage: true });

    // Both copies, opened from the case: the signed manifest's operations, then the plaintext into Node.
    const fetched: Record<string, string> = {};
    for (const name of [mp4Name, "Redacted copy of lobby.webm"]) {
      await page.goto(caseUrl);
      await page.getByRole("link", { name: new RegExp(`^Open ${escape(name)}`) }).click({ timeout: 120_000 });
      const derived = page.getByRole("region", { name: "Derived from another item" });
      await visible(derived, 60_000);
      const operations = derived.getByRole("list", { name: "Operations" }).getByRole("listitem");
      expect(await operations.allTextContents()).toEqual(["trim 1 s to 3 s", expect.stringMatching(/^fill rect 0 s to 60(\.\d+)? s \(1 key\)$/), "bleep audio 1.8 s to 2.4 s"]);
      await visible(page.getByRole("region", { name: "Verified" }), 60_000);
      const src = (await page.locator("video").first().getAttribute("src"))!;
      const base64 = await page.evaluate(async (url: string) => {
        const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
        let text = "";
        for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(text);
      }, src);
      fetched[name] = join(work, name);
      writeFileSync(fetched[name], Buffer.from(base64, "base64"));
    }
    expect(await items()).toBe(3);

    const mp4 = fetched[mp4Name]!;
    const webm = fetched["Redacted copy of lobby.webm"]!;
    // AAC where this Chromium can encode it, else Opus (Debian's Chromium has no AAC encoder).
    expect(codecsOf(mp4)).toEqual(["h264", expect.stringMatching(/^(aac|opus)$/)]);
    expect(codecsOf(webm)).toEqual(["vp9", "opus"]);
    for (const copy of [mp4, webm]) {
      // The trim: 2 s long, starting with what the original showed at 1 s (the square at x = 90, not at x = 40).
      expect(Math.abs(durationOf(copy) - (TRIM.to - TRIM.from)), `duration of ${copy}`).toBeLessThan(0.1);
      expect(Math.abs(videoStartOf(copy)), `video start of ${copy}`).toBeLessThan(0.05);
      for (const t of [0, 1]) {
        const frame = frameAt(copy, t);
        const square = squareAt(TRIM.from + t);
        expect(maxDifference(frame, { x: square.x + 4, y: square.y + 4, w: SIDE - 8, h: SIDE - 8 }, RED), `square at ${t} s of ${copy}`).toBeLessThan(60);
        const untrimmed = squareAt(t);
        expect(maxDifference(frame, { x: untrimmed.x + 4, y: untrimmed.y + 4, w: SIDE - 8, h: SIDE - 8 }, BACKGROUND), `no square where it was at ${t} s of the original`).toBeLessThan(24);
        // The region is filled; the rest of the background is as it was.
        expect(maxDifference(frame, { x: REGION.x + 3, y: REGION.y + 3, w: REGION.w - 6, h: REGION.h - 6 }, [0, 0, 0]), `region at ${t} s of ${copy}`).toBeLessThan(40);
        expect(maxDifference(frame, { x: 8, y: 190, w: 300, h: 40 }, BACKGROUND), `control area at ${t} s of ${copy}`).toBeLessThan(24);
      }

      // The sound: the bleep (1 kHz) from 0.8 s to 1.4 s of the copy (1.8 s to 2.4 s of the original), the 440 Hz tone around it.
      const pcm = spawnSync("ffmpeg", ["-v", "error", "-i", copy, "-vn", "-ac", "1", "-ar", "48000", "-f", "f32le", "-"], { maxBuffer: 64 * 1024 * 1024 });
      expect(pcm.status, pcm.stderr?.toString()).toBe(0);
      const samples = new Float32Array(pcm.stdout.buffer, pcm.stdout.byteOffset, Math.floor(pcm.stdout.length / 4));
      expect(samples.length / 48000).toBeGreaterThan(1.9);
      const inBleep = [BLEEP.from - TRIM.from + 0.1, BLEEP.to - TRIM.from - 0.1] as const;
      expect(power(samples, 1000, ...inBleep), `1 kHz in the bleep of ${copy}`).toBeGreaterThan(100 * power(samples, 440, ...inBleep));
      for (const [from, to] of [[0.1, 0.7], [1.5, 1.9]] as const) {
        expect(power(samples, 440, from, to), `440 Hz at ${from}–${to} s of ${copy}`).toBeGreaterThan(100 * power(samples, 1000, from, to));
      }
    }
  }, 400_000);
});

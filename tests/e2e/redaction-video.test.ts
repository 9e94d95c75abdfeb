/**
 * Video redaction (issue 22) in Chromium against `npm start`, one journey: an ffmpeg video (a red
 * square moving along a known straight path on a plain background, a steady 440 Hz tone) is
 * uploaded; in the redaction editor a filled region is drawn round the square at 0.5 s and
 * "Track this region" follows the square to the end (the tracker's keys, decoded frames); the tone
 * is muted from 1.5 s to 2.5 s; the edit survives a reload; the copy is started, the page is
 * reloaded once the copy has a checkpoint past 2 s, and "Resume" goes on from there (its progress
 * never goes back below the checkpoint); the copy is uploaded and opened, its signed manifest
 * names the original and the operations. Then, in Node, ffmpeg decodes the copy: it has every
 * frame once (120), at 1 s (written before the reload), 2 and 3 s (after it) the square's pixels
 * are black and a control area still has the background colour; the audio is silent in the muted
 * range and not outside it. No Content-Security-Policy refusal on the page or in its workers meanwhile.
 *
 * Then the whole-video face pass: a 4-second 640 × 360 pan across the face finder's sample photo
 * (three faces moving left along known paths, one leaving the frame and one entering it) is
 * uploaded to the same case; "Find faces in the whole video" looks every second, the faces found
 * are listed as tracks and outlined; added, they become blurred ellipses; on the copy's frames
 * decoded by ffmpeg the pixels round each face's centre changed from the original's while a
 * strip far from the faces did not. Before the copy, a second pass (every 0.25 s) is stopped after a
 * frame or two: it is labelled stopped, before the end, with the faces found up to there; discarded.
 * Needs `npx vite build` first.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";
import { BACKGROUND, drag, frameAt, H, makeSquareVideo, maxDifference, seek, SIDE, squareAt, W } from "./video-helpers";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });

const MARGIN = 8;

/** The faces video: a 640 × 360 window panning 80 px a second right over the sample photo scaled to 960 × 640. */
const FACES_PHOTO = resolve(import.meta.dirname, "../../node_modules/@vladmandic/face-api/demo/sample1.jpg");
const FW = 640;
const FH = 360;
/** The three faces' centres in the scaled photo (tests/browser/face-detect.test.ts gives them as fractions of it). */
const FACES = [
  { x: 250, y: 260 },
  { x: 466, y: 275 },
  { x: 778, y: 170 },
];
/** Where face `i` is in the frame at `t`. */
const faceAt = (i: number, t: number) => ({ x: FACES[i]!.x - 80 * t, y: FACES[i]!.y - 80 });

/** Root mean square of the mono 48 kHz samples of `file` between `from` and `to` seconds. */
function rms(samples: Float32Array, from: number, to: number): number {
  let sum = 0;
  const first = Math.round(from * 48000);
  const last = Math.round(to * 48000);
  for (let i = first; i < last; i++) sum += samples[i]! ** 2;
  return Math.sqrt(sum / (last - first));
}

/** In the page: the time of the checkpoint of the copy being written (0 while there is none). */
async function checkpointTime(): Promise<number> {
  const dir = (await (await navigator.storage.getDirectory()).getDirectoryHandle("redactions", { create: true })) as FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> };
  for await (const [name, handle] of dir.entries()) {
    if (!name.endsWith(".ckpt")) continue;
    try {
      return (JSON.parse(await (await (handle as FileSystemFileHandle).getFile()).text()) as { t: number }).t;
    } catch {
      return 0;
    }
  }
  return 0;
}

describe("video redaction: a moving region filled, a muted range, a redacted copy", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  let original: string;
  let caseUrl = "";

  /** The plaintext of the item open on the page (its first video), written to `name` in the work folder. */
  async function downloadOpenVideo(name: string): Promise<string> {
    const src = (await page.locator("video").first().getAttribute("src"))!;
    const base64 = await page.evaluate(async (url: string) => {
      const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
      let text = "";
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(text);
    }, src);
    const path = join(work, name);
    writeFileSync(path, Buffer.from(base64, "base64"));
    return path;
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-redact-video-"));
    original = join(work, "corridor.mp4");
    makeSquareVideo(original, 4);
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("draws a region on the square, tracks it, and mutes a range; the copy has the square black and the range silent, the rest unchanged", async () => {
    server.attachLogOnFailure();
    onTestFailed(async () => {
      await page.screenshot({ path: `${shots}/redaction-video-failed.png`, fullPage: true }).catch(() => undefined);
    });
    // The Content-Security-Policy lets the redaction Worker load and read the per-view URL: nothing refused, on the page or in a worker.
    const refused: string[] = [];
    const watch = (text: string) => /Content Security Policy/i.test(text) && refused.push(text);
    page.on("console", (message) => watch(message.text()));
    page.on("worker", (worker) => worker.on("console", (message) => watch(message.text())));
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await createCase(page, { number: "2026-0222", title: "Corridor" });
    caseUrl = page.url();
    await page.getByLabel("Add photos, videos or documents").setInputFiles(original);
    await page.getByRole("link", { name: /^Open corridor\.mp4/ }).click({ timeout: 120_000 });
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller), { timeout: 30_000 }).toBe(true);

    await page.getByRole("button", { name: "Redact this video" }).click();
    const editor = page.getByRole("region", { name: "Redact this video" });
    const video = editor.locator("video");
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    const overlay = editor.locator(".redact-overlay");

    // At 0.5 s: a filled rectangle drawn round the square, with a margin.
    await editor.getByLabel(/^Effect/).selectOption("fill");
    await seek(video, 0.5);
    const a = squareAt(0.5);
    await drag(overlay, page, { x: a.x - MARGIN, y: a.y - MARGIN }, { x: a.x + SIDE + MARGIN, y: a.y + SIDE + MARGIN });
    await visible(editor.getByText("Region 1 marked at 0:00.50."));
    // Tracked from 0.5 s to the region's end: the tracker's keys follow the square (checked on the copy's frames below).
    await editor.getByRole("button", { name: "Track this region" }).click();
    await visible(editor.getByText(/^Region 1: tracked to [34]\.\d s \(\d+ keys\)\.$/), 60_000);

    // The tone muted from 1.5 s to 2.5 s.
    await editor.getByLabel("Audio range start (seconds)").fill("1.5");
    await editor.getByLabel("Audio range end (seconds)").fill("2.5");
    await editor.getByRole("button", { name: "Add audio range" }).click();
    await visible(editor.getByRole("list", { name: "Audio ranges" }).getByText("Mute 0:01.50 to 0:02.50"));

    const found = await new AxeBuilder({ page }).include(".video-redactor").analyze();
    expect(found.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);

    // A reload keeps the edit: the editor opens again with it.
    await page.reload();
    const again = page.getByRole("region", { name: "Redact this video" });
    await visible(again.getByRole("list", { name: "Regions" }).getByText(/Region 1: solid fill rectangle, 0:00\.50 to 0:0[34]\.\d\d, \d+ keys/), 60_000);
    await visible(again.getByRole("list", { name: "Audio ranges" }).getByText("Mute 0:01.50 to 0:02.50"));
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller), { timeout: 30_000 }).toBe(true);
    await expect.poll(() => again.locator("video").evaluate((v: HTMLVideoElement) => v.duration), { timeout: 30_000 }).toBeGreaterThan(3.9);

    // The copy is started and the page reloaded part-way: once the checkpoint at the key frame of 2 s
    // is on disk. The CPU is slowed twentyfold meanwhile, so the rest of the copy is still to do at the reload.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Emulation.setCPUThrottlingRate", { rate: 20 });
    await again.getByRole("button", { name: "Make redacted copy" }).click();
    await expect.poll(() => page.evaluate(checkpointTime), { timeout: 120_000, interval: 50 }).toBeGreaterThanOrEqual(2);
    await page.reload();
    await cdp.send("Emulation.setCPUThrottlingRate", { rate: 1 });
    const resumed = page.getByRole("region", { name: "Redact this video" });
    const resume = resumed.getByRole("button", { name: /^Resume \(\d+ % done\)$/ });
    await visible(resume, 60_000);
    const kept = Number(/\((\d+) %/.exec((await resume.textContent())!)![1]);
    expect(kept).toBeGreaterThanOrEqual(45);
    await visible(resumed.getByRole("button", { name: "Start again" }));
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller), { timeout: 30_000 }).toBe(true);
    await expect.poll(() => resumed.locator("video").evaluate((v: HTMLVideoElement) => v.duration), { timeout: 30_000 }).toBeGreaterThan(3.9);
    // Every value the progress bar shows from now on: a copy started afresh would show less than what was kept.
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { progressSeen: number[] }).progressSeen = seen;
      new MutationObserver(() => {
        const bar = document.querySelector('[role="progressbar"][aria-label="Making the redacted copy"]');
        if (bar) seen.push(Number(bar.getAttribute("aria-valuenow")));
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-valuenow"] });
    });
    await resume.click();
    await visible(resumed.getByText("Redacted copy added to the case:").or(resumed.getByRole("alert")), 120_000);
    expect(await resumed.getByRole("alert").allTextContents()).toEqual([]);
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(kept);
    // The packet log, its checkpoint and the audio are gone; only the copy may wait for the upload queue.
    const left = await page.evaluate(async () => {
      const dir = (await (await navigator.storage.getDirectory()).getDirectoryHandle("redactions", { create: true })) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
      const names: string[] = [];
      for await (const name of dir.keys()) names.push(name);
      return names;
    });
    expect(left.filter((name) => name.includes("."))).toEqual([]);
    const name = (await resumed.getByRole("link", { name: /^Redacted copy of corridor\./ }).textContent())!;
    await page.screenshot({ path: `${shots}/redaction-video.png`, fullPage: true });
    expect(refused).toEqual([]);

    // The copy: a new item whose signed manifest names the original and what was hidden.
    await page.goto(caseUrl);
    await page.getByRole("link", { name: new RegExp(`^Open ${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`) }).click({ timeout: 120_000 });
    const derived = page.getByRole("region", { name: "Derived from another item" });
    await visible(derived, 60_000);
    expect(await derived.locator("code").getAttribute("title")).toBe(createHash("sha512").update(readFileSync(original)).digest("hex"));
    const operations = derived.getByRole("list", { name: "Operations" }).getByRole("listitem");
    expect(await operations.allTextContents()).toEqual([expect.stringMatching(/^fill rect 0\.5 s to [34](\.\d+)? s \(\d+ keys\)$/), "mute audio 1.5 s to 2.5 s"]);
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);

    // Its plaintext, through the per-view URL, into Node.
    const copy = await downloadOpenVideo(name);

    // Every frame once: none lost or repeated where the copy was resumed.
    const probe = spawnSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", copy], { encoding: "utf8" });
    expect(probe.status, probe.stderr).toBe(0);
    expect(Number(probe.stdout.trim())).toBe(120);
    for (const t of [1, 2, 3]) {
      const frame = frameAt(copy, t);
      const square = squareAt(t);
      // The square (inset a little from its edges, where the codec blends) is black: no red is left.
      expect(maxDifference(frame, { x: square.x + 3, y: square.y + 3, w: SIDE - 6, h: SIDE - 6 }, [0, 0, 0]), `square at ${t} s`).toBeLessThan(40);
      // Far from the region, the background is as it was (within the codec's tolerance).
      expect(maxDifference(frame, { x: 8, y: 8, w: 40, h: 40 }, BACKGROUND), `control area at ${t} s`).toBeLessThan(24);
      expect(maxDifference(frame, { x: 8, y: 190, w: 300, h: 40 }, BACKGROUND), `lower control area at ${t} s`).toBeLessThan(24);
    }

    const pcm = spawnSync("ffmpeg", ["-v", "error", "-i", copy, "-vn", "-ac", "1", "-ar", "48000", "-f", "f32le", "-"], { maxBuffer: 64 * 1024 * 1024 });
    expect(pcm.status, pcm.stderr?.toString()).toBe(0);
    const samples = new Float32Array(pcm.stdout.buffer, pcm.stdout.byteOffset, Math.floor(pcm.stdout.length / 4));
    expect(samples.length / 48000).toBeGreaterThan(3.8);
    // The sine source's level is 1/8 (RMS about 0.088); muted means (near) zero.
    expect(rms(samples, 1.6, 2.4)).toBeLessThan(0.003);
    expect(rms(samples, 0.5, 1.3)).toBeGreaterThan(0.05);
    expect(rms(samples, 2.7, 3.5)).toBeGreaterThan(0.05);
  }, 300_000);

  it("finds the faces of a panning video as tracks, adds them as blurred ellipses; the copy's faces are blurred and the rest unchanged", async () => {
    server.attachLogOnFailure();
    onTestFailed(async () => {
      await page.screenshot({ path: `${shots}/redaction-video-faces-failed.png`, fullPage: true }).catch(() => undefined);
    });
    const faces = join(work, "faces.mp4");
    const ffmpeg = spawnSync(
      "ffmpeg",
      [
        "-v", "error", "-y", "-loop", "1", "-framerate", "30", "-i", FACES_PHOTO,
        "-filter_complex", `[0]scale=960:640,crop=${FW}:${FH}:x='80*t':y=80,format=yuv420p[v]`,
        "-map", "[v]", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-movflags", "+faststart", faces,
      ],
      { encoding: "utf8" },
    );
    expect(ffmpeg.status, ffmpeg.stderr).toBe(0);
    await page.goto(caseUrl);
    await page.getByLabel("Add photos, videos or documents").setInputFiles(faces);
    await page.getByRole("link", { name: /^Open faces\.mp4/ }).click({ timeout: 120_000 });
    await page.getByRole("button", { name: "Redact this video" }).click();
    const editor = page.getByRole("region", { name: "Redact this video" });
    await expect.poll(() => editor.locator("video").evaluate((v: HTMLVideoElement) => v.duration), { timeout: 30_000 }).toBeGreaterThan(3.9);

    // A frame every second (0 to 4 s): five frames for the finder.
    await editor.getByLabel("Look every").selectOption("1");
    await editor.getByRole("button", { name: "Find faces in the whole video" }).click();
    await visible(editor.getByRole("progressbar", { name: "Finding faces in the video" }).or(editor.getByRole("group", { name: "Faces found in the video" })));
    const found = editor.getByRole("group", { name: "Faces found in the video" });
    await visible(found, 240_000);
    await visible(editor.getByText(/^3 faces found \(5 frames looked at\)\./));
    await page.screenshot({ path: `${shots}/redaction-video-faces.png`, fullPage: true });
    const boxes = found.getByRole("checkbox", { checked: true });
    expect(await boxes.count()).toBe(3);
    // Face 1 leaves the frame, face 2 stays throughout, face 3 enters it: the tracks say when each is seen.
    const labels = await found.locator("label").allTextContents();
    expect(labels).toEqual([
      expect.stringMatching(/^Face 1 · 0:00\.00–0:0[34]\.00 · [34] sightings$/),
      expect.stringMatching(/^Face 2 · 0:00\.00–0:04\.00 · 5 sightings$/),
      expect.stringMatching(/^Face 3 · 0:0[12]\.00–0:04\.00 · [23] sightings$/),
    ]);
    // The ticked tracks are outlined on the video while choosing.
    await expect.poll(() => editor.locator(".region-box.candidate").count()).toBeGreaterThanOrEqual(2);
    // Unticked, a face is no longer outlined; ticked again, it is.
    const outlined = await editor.locator(".region-box.candidate").count();
    await found.getByRole("checkbox", { name: /^Face 2 / }).uncheck();
    await expect.poll(() => editor.locator(".region-box.candidate").count()).toBe(outlined - 1);
    await found.getByRole("checkbox", { name: /^Face 2 / }).check();
    await expect.poll(() => editor.locator(".region-box.candidate").count()).toBe(outlined);
    // "Show" goes to the face's surest sighting (a sampled frame), where it is outlined.
    await found.getByRole("button", { name: /^Show face 3 \(at 0:0[234]\.00\)$/ }).click();
    await visible(editor.locator(".redact-time").getByText(/^0:0[234]\.00$/));
    await expect.poll(() => editor.locator(".region-box.candidate").count()).toBeGreaterThanOrEqual(2);
    const axe = await new AxeBuilder({ page }).include(".faces-in-video").analyze();
    expect(axe.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
    await found.getByRole("button", { name: "Add 3 faces as regions" }).click();
    await visible(editor.getByText(/^3 faces added as blurred ellipses that follow them \(Regions 1 to 3\)/));
    const regions = await editor.getByRole("list", { name: "Regions" }).getByRole("listitem").allTextContents();
    expect(regions.map((r) => r.replace(/\s+/g, " ").match(/^Region \d: blur ellipse, [0-9:.]+ to [0-9:.]+, \d+ keys?/)?.[0])).toEqual([
      expect.stringMatching(/^Region 1: blur ellipse, 0:00\.00 to 0:0[34]\.00/),
      expect.stringMatching(/^Region 2: blur ellipse, 0:00\.00 to 0:04\.00/),
      expect.stringMatching(/^Region 3: blur ellipse, 0:0[12]\.00 to 0:04\.00/),
    ]);
    expect(await editor.locator(".region-box.candidate").count()).toBe(0);

    // Stopped: a pass looking every 0.25 s (17 frames), stopped once it has looked at a frame or two and found faces,
    // keeps the faces found up to there and says where it stopped; discarded, it leaves the regions as they were.
    const seconds = (c: string) => Number(c.split(":")[0]) * 60 + Number(c.split(":")[1]);
    await editor.getByLabel("Look every").selectOption("0.25");
    await editor.getByRole("button", { name: "Find faces in the whole video" }).click();
    const bar = editor.getByRole("progressbar", { name: "Finding faces in the video" });
    await expect
      .poll(async () => (await bar.getAttribute("aria-valuetext", { timeout: 1000 }).catch(() => null)) ?? "", { timeout: 120_000, interval: 50 })
      .toMatch(/ · at 0:0(0\.(25|50|75)|[12]\.\d\d) · [1-9]\d* faces? so far/);
    await editor.getByRole("button", { name: "Stop finding faces" }).click();
    const stoppedText = (await editor.getByText(/^\d+ faces? found \(\d+ frames looked at, stopped at /).textContent({ timeout: 60_000 }))!;
    const [, kept, looked, stoppedAt] = /^(\d+) faces? found \((\d+) frames looked at, stopped at (\d:\d\d\.\d\d)\)/.exec(stoppedText)!;
    expect(Number(looked)).toBeGreaterThanOrEqual(2);
    expect(Number(looked)).toBeLessThan(17);
    expect(seconds(stoppedAt!)).toBeLessThan(4);
    const stoppedLabels = await found.locator("label").allTextContents();
    expect(stoppedLabels.length).toBe(Number(kept));
    expect(stoppedLabels.length).toBeGreaterThanOrEqual(1);
    for (const label of stoppedLabels) expect(seconds(/–(\d:\d\d\.\d\d)/.exec(label)![1]!), label).toBeLessThanOrEqual(seconds(stoppedAt!) + 0.25); // a track runs a step past its last sighting
    await found.getByRole("button", { name: "Discard" }).click();
    await expect.poll(() => editor.locator(".region-box.candidate").count()).toBe(0);
    expect(await editor.getByRole("list", { name: "Regions" }).getByRole("listitem").count()).toBe(3);

    await editor.getByRole("button", { name: "Make redacted copy" }).click();
    await visible(editor.getByText("Redacted copy added to the case:"), 180_000);
    const name = (await editor.getByRole("link", { name: /^Redacted copy of faces\./ }).textContent())!;
    await page.goto(caseUrl);
    await page.getByRole("link", { name: new RegExp(`^Open ${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`) }).click({ timeout: 120_000 });
    await visible(page.getByRole("region", { name: "Derived from another item" }), 60_000);
    const copy = await downloadOpenVideo(name);

    // Between the sampled frames too: each face well inside the frame has changed round its centre; the bottom strip has not.
    for (const t of [0.5, 1.5, 2.5, 3.5]) {
      const before = frameAt(faces, t, "gray", FW * FH);
      const after = frameAt(copy, t, "gray", FW * FH);
      /** The mean difference of the two frames over a box, in grey levels. */
      const change = (x0: number, y0: number, w: number, h: number) => {
        let sum = 0;
        for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) sum += Math.abs(before[y * FW + x]! - after[y * FW + x]!);
        return sum / (w * h);
      };
      for (const i of [0, 1, 2]) {
        const c = faceAt(i, t);
        if (c.x < 80 || c.x > FW - 80) continue;
        expect(change(Math.round(c.x) - 12, Math.round(c.y) - 12, 24, 24), `face ${i + 1} at ${t} s`).toBeGreaterThan(8);
      }
      expect(change(0, 330, FW, 30), `bottom strip at ${t} s`).toBeLessThan(3);
    }
  }, 400_000);
});

/**
 * `npm run bench`, redaction section (issue 22): a redacted copy of a 5-minute 720p 30 fps H.264
 * clip with sound, made in the REAL web app in Debian's Chromium against `npm start`'s server,
 * with two regions (one blurred ellipse, one filled rectangle) each with a key every second, as a
 * tracker would give them, and one muted range. The edit is put into the device's store
 * (IndexedDB, as the editor keeps it), the item is opened, and "Make redacted copy" is clicked:
 *  - time from the click until the copy is written and queued for upload ("Redacted copy added to
 *    the case"), as a ratio to the clip's duration (below 1: faster than real time);
 *  - peak memory meanwhile (renderer processes: page and workers; all Chromium processes), and
 *    the same before the click, sampled from outside the page (probe.ts); and the renderers'
 *    memory at 10 % … 95 % of the run, so a plateau (flat) shows apart from growth.
 * The clip is made once by ffmpeg and kept in the system temp folder (custody-bench-cache/).
 * `--quick` uses a 1-minute clip (not figures to quote). Writes bench-results/redaction.json.
 * `--large` (opt-in, about 10 more minutes): then the same copy of a ~1 GiB clip of the same length
 * (720p, noise over the test pattern at about 29 Mbit/s, so every byte is real picture to decode),
 * made in the same browser (each copy starts once the device has no upload left running: the
 * originals and the first copy are uploaded in the background), and its peak renderer
 * memory as a ratio to the first clip's peak: a 1 GiB video must not need 1 GiB of memory.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, MiB, Probe, fmtMiB, type Memory } from "./probe.ts";

const root = resolve(import.meta.dirname, "../..");
/** Not a timed assertion: a guard so a stuck step ends the bench instead of hanging it. */
const GUARD_MS = 30 * 60_000;

/**
 * A `seconds` long 720p 30 fps H.264 + AAC clip (moving test pattern, a tone), made once and kept;
 * `large`: with moving noise over the pattern at about 29 Mbit/s (about 1 GiB for 5 minutes).
 */
function makeClip(seconds: number, large = false): string {
  const dir = join(tmpdir(), "custody-bench-cache");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `redaction-720p30-${seconds}s${large ? "-1gib" : ""}.mp4`);
  try {
    if (statSync(path).size > 0) return path;
  } catch {
    // not made yet
  }
  console.log(`ffmpeg: a ${seconds} s 720p 30 fps ${large ? "high-bitrate " : ""}clip (once; kept in ${dir})…`);
  // Noise changes every pixel of every frame, so the encoder spends the whole bitrate (ultrafast: made in about 2 minutes here).
  const video = large ? ["-vf", "noise=alls=16:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "29M", "-maxrate", "29M", "-bufsize", "58M"] : ["-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M"];
  const made = spawnSync(
    "ffmpeg",
    ["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=duration=${seconds}:size=1280x720:rate=30`, "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`, ...video, "-pix_fmt", "yuv420p", "-g", "60", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", `${path}.part.mp4`],
    { encoding: "utf8" },
  );
  if (made.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${made.stderr}`);
  spawnSync("mv", [`${path}.part.mp4`, path]);
  return path;
}

/** The face-api demo photos the faces clip is made of (1920 pixels across, people facing the camera). */
const FACE_PHOTOS = [1, 2, 3, 4, 5, 6].map((n) => join(root, `node_modules/@vladmandic/face-api/demo/sample${n}.jpg`));

/**
 * A 5-minute 720p 30 fps H.264 + AAC clip with real faces moving: a slideshow of the six photos,
 * 50 s each, every photo scaled to 1600 pixels across and a 1280 × 720 window panning slowly over it
 * (left to right and down, then right to left and up, in turn: 320 px across and up to 560 px down
 * in 50 s), so every face drifts across the frame and some leave or enter it. Made once and kept.
 */
export function makeFaceClip(): string {
  const dir = join(tmpdir(), "custody-bench-cache");
  mkdirSync(dir, { recursive: true });
  const per = 50;
  const seconds = per * FACE_PHOTOS.length;
  const path = join(dir, `faces-720p30-${seconds}s.mp4`);
  try {
    if (statSync(path).size > 0) return path;
  } catch {
    // not made yet
  }
  console.log(`ffmpeg: a ${seconds} s 720p 30 fps clip panning over face-api's demo photos (once; kept in ${dir})…`);
  const inputs = FACE_PHOTOS.flatMap((photo) => ["-loop", "1", "-framerate", "30", "-t", String(per), "-i", photo]);
  const pans = FACE_PHOTOS.map((_, i) => {
    const along = i % 2 === 0 ? `t/${per}` : `(1-t/${per})`;
    return `[${i}]scale=1600:-2,crop=1280:720:x='(iw-ow)*${along}':y='(ih-oh)*${along}',setsar=1,format=yuv420p[p${i}]`;
  });
  const graph = `${pans.join(";")};${FACE_PHOTOS.map((_, i) => `[p${i}]`).join("")}concat=n=${FACE_PHOTOS.length}:v=1:a=0[v]`;
  const made = spawnSync(
    "ffmpeg",
    [
      "-v", "error", "-y", ...inputs,
      "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      "-filter_complex", graph, "-map", "[v]", "-map", `${FACE_PHOTOS.length}:a`,
      "-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M", "-pix_fmt", "yuv420p", "-g", "60", "-r", "30",
      "-c:a", "aac", "-b:a", "128k", "-t", String(seconds), "-movflags", "+faststart", `${path}.part.mp4`,
    ],
    { encoding: "utf8" },
  );
  if (made.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${made.stderr}`);
  spawnSync("mv", [`${path}.part.mp4`, path]);
  return path;
}

/** Two regions with a key every second (moving across the frame, as a tracker would hand them over) and a muted range. */
function benchEdit(seconds: number) {
  const keys = (x0: number, y0: number, dx: number) =>
    Array.from({ length: seconds + 1 }, (_, t) => ({ t, x: Math.round((x0 + ((dx * t) % 0.6)) * 1000) / 1000, y: y0, w: 0.15, h: 0.25 }));
  return {
    regions: [
      { type: "redact", shape: "ellipse", effect: "blur", from: 0, to: seconds, keys: keys(0.05, 0.1, 0.01) },
      { type: "redact", shape: "rect", effect: "fill", from: 0, to: seconds, keys: keys(0.2, 0.6, 0.007) },
    ],
    audio: [{ type: "audio", effect: "mute", from: 10, to: 20 }],
  };
}

/** Waits until this device's upload queue has nothing left to encrypt or send (uploads run in the background). */
function waitForUploads(page: Page) {
  return page.waitForFunction(
    () =>
      new Promise<boolean>((done, fail) => {
        const open = indexedDB.open("custody");
        open.onerror = () => fail(open.error);
        open.onsuccess = () => {
          const all = open.result.transaction("uploads").objectStore("uploads").getAll();
          all.onsuccess = () => {
            open.result.close();
            done((all.result as { state: string }[]).every((row) => row.state === "done" || row.state === "failed"));
          };
          all.onerror = () => fail(all.error);
        };
      }),
    undefined,
    { timeout: GUARD_MS, polling: 2000 },
  );
}

/** What one copy measured. */
interface CopyRun {
  seconds: number;
  clipBytes: number;
  format: string;
  ms: number;
  ratio: number;
  keys: number;
  before: Memory;
  peak: Memory;
  samples: number;
  timeline: { at: number; rendererRss: number }[];
}

/**
 * Builds the app, starts `npm start` on a fresh state folder, sets the organisation up and makes
 * the administrator's keys through the UI in a persistent Chromium profile, runs `body` signed
 * in (given the profile's folder, where the memory probe finds the renderer), then closes the browser and the server (and removes the profile unless `keep`).
 */
async function withSignedInApp(name: string, keep: boolean | undefined, body: (page: Page, context: BrowserContext, profile: string) => Promise<void>): Promise<void> {
  const { CustodyServer } = await import("../e2e/harness.ts");
  const flows = await import("../e2e/flows.ts");
  const built = spawnSync(join(root, "node_modules/.bin/vite"), ["build", "--logLevel", "warn"], { cwd: root, stdio: "inherit" });
  if (built.status !== 0) throw new Error("vite build failed");
  const profile = await mkdtemp(join(tmpdir(), `custody-bench-${name}-profile-`));
  const server = await CustodyServer.start();
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, baseURL: server.url });
    const page: Page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(GUARD_MS);
    console.log(`Server ${server.url}; setting up through the UI…`);
    await flows.setUpThroughUi(page);
    await flows.createKeys(page, flows.ADMIN.keyPassphrase);
    await flows.expectSignedIn(page);
    await body(page, context, profile);
  } finally {
    await context?.close().catch(() => undefined);
    await server.dispose();
    if (!keep) await rm(profile, { recursive: true, force: true });
  }
}

export async function runRedaction(options: { quick?: boolean; keep?: boolean; large?: boolean } = {}): Promise<number> {
  const started = Date.now();
  const loadAtStart = loadavg();
  const seconds = options.quick ? 60 : 300;
  const clip = makeClip(seconds);
  const large = options.large ? makeClip(seconds, true) : undefined;
  const flows = await import("../e2e/flows.ts");

  await withSignedInApp("redaction", options.keep, async (page, context, profile) => {
    await flows.createCase(page, { number: "BENCH-R", title: "Redaction bench" });
    const caseUrl = page.url();
    const userId = await page.evaluate(async () => ((await (await fetch("/api/auth/session")).json()) as { user: { id: string } }).user.id);
    let probe: Probe | undefined;
    let product = "";

    const uploadsSettled = () => waitForUploads(page);

    /** Uploads `path`, keeps the bench edit for it, makes the copy and measures it. */
    const copyOnce = async (path: string): Promise<CopyRun> => {
      const name = path.split("/").at(-1)!;
      console.log(`Uploading the ${(statSync(path).size / MiB).toFixed(0)} MiB clip ${name}…`);
      await page.goto(caseUrl);
      await page.getByLabel("Add photos, videos or documents").setInputFiles(path);
      await page.getByRole("link", { name: new RegExp(`^Open ${name.replaceAll(".", "\\.")}`) }).click({ timeout: GUARD_MS });
      await page.waitForFunction(() => !!navigator.serviceWorker.controller, undefined, { timeout: 60_000 });
      const here = new URL(page.url());
      const evidenceId = here.searchParams.get("evidence")!;
      const caseId = here.searchParams.get("case")!;

      // The edit, as the editor keeps it (Dexie's "videoRedactions" table of the "custody" database).
      const edit = benchEdit(seconds);
      await page.evaluate(
        ({ row }) =>
          new Promise<void>((done, fail) => {
            const open = indexedDB.open("custody");
            open.onerror = () => fail(open.error);
            open.onsuccess = () => {
              const tx = open.result.transaction("videoRedactions", "readwrite");
              tx.objectStore("videoRedactions").put(row);
              tx.oncomplete = () => {
                open.result.close();
                done();
              };
              tx.onerror = () => fail(tx.error);
            };
          }),
        { row: { evidenceId, userId, caseId, edit, updatedAt: new Date().toISOString() } },
      );
      await page.reload();
      const editor = page.getByRole("region", { name: "Redact this video" });
      await flows.visible(editor.getByRole("list", { name: "Regions" }), 60_000);
      await page.waitForFunction(() => !!navigator.serviceWorker.controller, undefined, { timeout: 60_000 });
      await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLVideoElement>(".video-redactor video")).some((v) => v.duration > 0), undefined, { timeout: 60_000 });

      // The original's upload (and an earlier copy's) goes on in the background: it must not count in this copy's time or memory.
      console.log("Waiting for this device's uploads to finish…");
      await uploadsSettled();
      if (!probe) {
        const cdp = await context.newCDPSession(page);
        await cdp.send("Performance.enable");
        probe = new Probe(cdp, profile, { sampleEveryMs: 250, refreshEveryMs: 2_000 });
        await probe.init();
        product = (await cdp.send("Browser.getVersion")).product;
      }
      const sampler = probe;
      await sampler.gc();
      const keys = edit.regions.reduce((n, r) => n + r.keys.length, 0);
      console.log(`Making the redacted copy of ${name} (${seconds} s, 2 regions, ${keys} keys, 1 muted range)…`);
      // Renderer memory over the run, to tell a plateau (flat) from growth with the clip's length.
      const timeline: { at: number; rendererRss: number }[] = [];
      const runStarted = Date.now();
      let sampling = true;
      const sampleLoop = (async () => {
        while (sampling) {
          const m = await sampler.read().catch(() => undefined);
          if (m) timeline.push({ at: Date.now() - runStarted, rendererRss: m.rendererRss });
          await new Promise((r) => setTimeout(r, 1000));
        }
      })();
      const sampled = await sampler.during(async () => {
        const t0 = Date.now();
        await editor.getByRole("button", { name: "Make redacted copy" }).click();
        const done = editor.getByText("Redacted copy added to the case:");
        const failed = editor.getByRole("alert");
        await done.or(failed).waitFor({ timeout: GUARD_MS });
        if (await failed.isVisible()) throw new Error(`the copy failed: ${await failed.textContent()}`);
        return { ms: Date.now() - t0, status: (await done.textContent()) ?? "" };
      });
      sampling = false;
      await sampleLoop;
      const format = /\(([^)]*in (MP4|WebM)[^)]*)\)/.exec(sampled.result.status)?.[1] ?? "unknown format";
      return { seconds, clipBytes: statSync(path).size, format, ms: sampled.result.ms, ratio: sampled.result.ms / 1000 / seconds, keys, before: sampled.before, peak: sampled.peak, samples: sampled.samples, timeline };
    };

    /** The lines that describe one copy. */
    const report = (run: CopyRun, clipName: string): string[] => {
      /** Renderer RSS at a fraction of the run (the sample nearest to it). */
      const rssAt = (fraction: number) => run.timeline.reduce((best, p) => (Math.abs(p.at - fraction * run.ms) < Math.abs(best.at - fraction * run.ms) ? p : best), run.timeline[0]!).rendererRss;
      return [
        "",
        `Redaction: a redacted copy of ${clipName}, 2 regions with a key every second and a muted range, in the app (${product}); output ${run.format}`,
        `  time to make the copy (click → written and queued)  ${(run.ms / 1000).toFixed(1)} s`,
        `  ratio to the clip's duration                        ${run.ratio.toFixed(2)}× ${run.ratio < 1 ? "(faster than real time)" : "(slower than real time)"}`,
        `  renderer RSS (page + workers): before ${fmtMiB(run.before.rendererRss)}, peak ${fmtMiB(run.peak.rendererRss)}`,
        `  renderer RSS at 10 %, 25 %, 50 %, 75 %, 95 % of the run: ${[0.1, 0.25, 0.5, 0.75, 0.95].map((f) => fmtMiB(rssAt(f))).join(", ")}`,
        `  all Chromium processes RSS:    before ${fmtMiB(run.before.allRss)}, peak ${fmtMiB(run.peak.allRss)}`,
        `  page JS heap peak ${fmtMiB(run.peak.jsHeapUsed)}, page ArrayBuffers peak ${fmtMiB(run.peak.arrayBuffers)} (${run.samples} samples)`,
      ];
    };

    const first = await copyOnce(clip);
    const lines = report(first, `a ${seconds} s 720p 30 fps H.264 clip (${fmtMiB(first.clipBytes)})`);
    let big: CopyRun | undefined;
    if (large) {
      big = await copyOnce(large);
      lines.push(...report(big, `a ${seconds} s 720p 30 fps high-bitrate H.264 clip (${fmtMiB(big.clipBytes)}, ${((big.clipBytes * 8) / seconds / 1e6).toFixed(1)} Mbit/s)`));
      lines.push(
        "",
        `Redaction, large against small (same length, same edit, same browser): ${(big.clipBytes / first.clipBytes).toFixed(1)}× the bytes;`,
        `  renderer RSS peak ${fmtMiB(big.peak.rendererRss)} against ${fmtMiB(first.peak.rendererRss)}: ratio ${(big.peak.rendererRss / first.peak.rendererRss).toFixed(2)}×`,
        `  peak difference ${fmtMiB(big.peak.rendererRss - first.peak.rendererRss)} for ${fmtMiB(big.clipBytes - first.clipBytes)} more of clip (${(((big.peak.rendererRss - first.peak.rendererRss) / (big.clipBytes - first.clipBytes)) * 100).toFixed(0)} %)`,
        `  time ratio to duration ${big.ratio.toFixed(2)}× against ${first.ratio.toFixed(2)}×`,
      );
    }
    lines.push(`  Machine: ${cpus().length} cores, load average ${loadAtStart.map((l) => l.toFixed(2)).join(" ")} at the start, ${loadavg().map((l) => l.toFixed(2)).join(" ")} at the end.`);
    console.log(lines.join("\n"));
    await mkdir(join(root, "bench-results"), { recursive: true });
    const out = options.quick ? "bench-results/redaction-quick.json" : "bench-results/redaction.json";
    const json = (run: CopyRun) => ({ clipBytes: run.clipBytes, format: run.format, ms: run.ms, ratio: run.ratio, before: run.before, peak: run.peak, rendererTimeline: run.timeline });
    await writeFile(
      join(root, out),
      JSON.stringify(
        {
          at: new Date().toISOString(),
          browser: product,
          cores: cpus().length,
          loadAtStart,
          loadAtEnd: loadavg(),
          seconds,
          ...json(first),
          ...(big ? { large: { ...json(big), peakRendererRatio: big.peak.rendererRss / first.peak.rendererRss } } : {}),
        },
        null,
        2,
      ) + "\n",
    );
    console.log(`Wrote ${out}.`);
  });
  return (Date.now() - started) / 1000;
}

/**
 * `npm run bench -- --only facepass` (issue 22's "blur every face in a 5-minute video in minutes on
 * a laptop"): the faces clip (`makeFaceClip`: 5 minutes, 720p 30 fps, real faces panning) uploaded
 * in the REAL web app, the video editor opened, "Find faces in the whole video" at the default step
 * pressed through the UI, all the faces found added as regions, and "Make redacted copy" pressed:
 *  - the pass's time (click → the list of faces found), as a ratio to the clip's duration, the
 *    frames looked at and the tracks found, and so the time a frame;
 *  - the copy's time (click → written and queued), as a ratio to the clip's duration;
 *  - the total (pass + copy) in minutes: what the investigator waits for, on top of the review.
 * The pass starts once the original's background upload has ended, so the upload does not count.
 * Writes bench-results/facepass.json.
 */
export async function runFacePass(options: { keep?: boolean } = {}): Promise<number> {
  const started = Date.now();
  const loadAtStart = loadavg();
  const clip = makeFaceClip();
  const name = clip.split("/").at(-1)!;
  const flows = await import("../e2e/flows.ts");

  await withSignedInApp("facepass", options.keep, async (page, context) => {
    const product = (await (await context.newCDPSession(page)).send("Browser.getVersion")).product;
    await flows.createCase(page, { number: "BENCH-F", title: "Face pass bench" });
    console.log(`Uploading the ${(statSync(clip).size / MiB).toFixed(0)} MiB clip ${name}…`);
    await page.getByLabel("Add photos, videos or documents").setInputFiles(clip);
    await page.getByRole("link", { name: new RegExp(`^Open ${name.replaceAll(".", "\\.")}`) }).click({ timeout: GUARD_MS });
    await page.waitForFunction(() => !!navigator.serviceWorker.controller, undefined, { timeout: 60_000 });
    await page.getByRole("button", { name: "Redact this video" }).click();
    const editor = page.getByRole("region", { name: "Redact this video" });
    const seconds = await (async () => {
      for (;;) {
        const d = await editor.locator("video").first().evaluate((v: HTMLVideoElement) => v.duration);
        if (d > 0 && Number.isFinite(d)) return d;
        await page.waitForTimeout(500);
      }
    })();
    console.log("Waiting for this device's uploads to finish…");
    await waitForUploads(page);

    console.log(`Finding faces in the whole ${seconds.toFixed(1)} s video at the default step…`);
    const step = await editor.getByLabel("Look every").inputValue();
    const t0 = Date.now();
    await editor.getByRole("button", { name: "Find faces in the whole video" }).click();
    const found = editor.getByRole("group", { name: "Faces found in the video" });
    const failed = editor.getByRole("alert");
    await found.or(failed).waitFor({ timeout: GUARD_MS });
    const passMs = Date.now() - t0;
    if (await failed.isVisible()) throw new Error(`the face pass failed: ${await failed.textContent()}`);
    const status = (await editor.getByText(/faces? found \(\d+ frames? looked at/).textContent()) ?? "";
    const match = /^(\d+) faces? found \((\d+) frames? looked at/.exec(status);
    if (!match) throw new Error(`unexpected face pass status: ${status}`);
    const tracks = Number(match[1]);
    const samples = Number(match[2]);
    const labels = await found.locator("label").allTextContents();
    console.log(`  ${status}\n  ${labels.join("\n  ")}`);

    await found.getByRole("button", { name: /^Add \d+ faces? as (a )?regions?$/ }).click();
    await editor.getByText(/added as blurred ellipses that follow them/).waitFor({ timeout: 60_000 });
    const regions = await editor.getByRole("list", { name: "Regions" }).getByRole("listitem").count();
    console.log(`Making the redacted copy (${regions} regions)…`);
    const t1 = Date.now();
    await editor.getByRole("button", { name: "Make redacted copy" }).click();
    const done = editor.getByText("Redacted copy added to the case:");
    await done.or(failed).waitFor({ timeout: GUARD_MS });
    const copyMs = Date.now() - t1;
    if (await failed.isVisible()) throw new Error(`the copy failed: ${await failed.textContent()}`);
    const format = /\(([^)]*in (MP4|WebM)[^)]*)\)/.exec((await done.textContent()) ?? "")?.[1] ?? "unknown format";

    const loadAtEnd = loadavg();
    const totalMin = (passMs + copyMs) / 60_000;
    console.log(
      [
        "",
        `Face pass: "Find faces in the whole video" (every ${step} s) on a ${seconds.toFixed(0)} s 720p 30 fps clip of real faces panning (${fmtMiB(statSync(clip).size)}), in the app (${product})`,
        `  pass (click → faces listed)             ${(passMs / 1000).toFixed(1)} s, ${(passMs / 1000 / seconds).toFixed(2)}× the clip's duration`,
        `  frames looked at ${samples} (${(passMs / samples).toFixed(0)} ms a frame), tracks found ${tracks}`,
        `  copy with the ${regions} regions (click → written and queued, ${format})  ${(copyMs / 1000).toFixed(1)} s, ${(copyMs / 1000 / seconds).toFixed(2)}× the clip's duration`,
        `  total (pass + copy)                     ${totalMin.toFixed(1)} min for a ${(seconds / 60).toFixed(0)}-minute video`,
        `  Machine: ${cpus().length} cores, load average ${loadAtStart.map((l) => l.toFixed(2)).join(" ")} at the start, ${loadAtEnd.map((l) => l.toFixed(2)).join(" ")} at the end.`,
      ].join("\n"),
    );
    await mkdir(join(root, "bench-results"), { recursive: true });
    await writeFile(
      join(root, "bench-results/facepass.json"),
      JSON.stringify(
        {
          at: new Date().toISOString(),
          browser: product,
          cores: cpus().length,
          loadAtStart,
          loadAtEnd,
          clipSeconds: seconds,
          clipBytes: statSync(clip).size,
          step: Number(step),
          pass: { ms: passMs, ratio: passMs / 1000 / seconds, samples, msPerFrame: passMs / samples, tracks, labels },
          copy: { ms: copyMs, ratio: copyMs / 1000 / seconds, regions, format },
          totalMinutes: totalMin,
        },
        null,
        2,
      ) + "\n",
    );
    console.log("Wrote bench-results/facepass.json.");
  });
  return (Date.now() - started) / 1000;
}

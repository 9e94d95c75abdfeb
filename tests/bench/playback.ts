/**
 * `npm run bench`, playback section (issue 18): streaming playback through the REAL web app in
 * Debian's Chromium (fresh on-disk profile) against ONE local server run as `npm start` runs it,
 * against a BASELINE in the same browser in the same run: the same MP4 served plain, with Range
 * support, by a small local Node server (another port) to a page with only a <video>.
 *
 * Videos: 64 MiB, 512 MiB and 1 GiB H.264 MP4s (movie header first), made by ffmpeg by looping
 * one short noisy clip without re-encoding. Each is uploaded through the app first (not timed
 * here). Then, for each size, unthrottled and with the page's network throttled to 40 Mbit/s
 * (CDP Network.emulateNetworkConditions, on both pages alike):
 *  - first frame: from the click on the item's link (app) or the page's navigation start (plain)
 *    to the first frame presented while playing (requestVideoFrameCallback);
 *  - seek to 90 %: from setting currentTime to the first frame presented after the seek;
 *  - peak renderer memory (and of all Chromium processes) in the app, from the click until the
 *    page says "Verified" (the whole file checked), sampled from outside the page (probe.ts).
 * Ratios app ÷ plain per size and link; memory 1 GiB ÷ 64 MiB. Figures only: nothing passes or
 * fails on time. Writes bench-results/playback.json (playback-quick.json with --quick, sizes ÷ 8).
 * `--sizes 64` (MiB, comma-separated) limits the sizes, for development on a shared machine.
 */
import { spawnSync } from "node:child_process";
import { createReadStream, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type CDPSession, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, MiB, Probe, fmtMiB, type Memory } from "./probe.ts";

const root = resolve(import.meta.dirname, "../..");
const FULL_SIZES_MIB = [64, 512, 1024];
const THROTTLED = { offline: false, latency: 20, downloadThroughput: 40e6 / 8, uploadThroughput: 40e6 / 8 };
const UNTHROTTLED = { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 };
/** Not a timed assertion: a guard so a stuck step ends the bench instead of hanging it. */
const GUARD_MS = 15 * 60_000;

export interface PlaybackOptions {
  quick?: boolean;
  keep?: boolean;
  /** Sizes in MiB (default 64, 512, 1024). */
  sizes?: number[];
}

interface Timing {
  firstFrameMs: number;
  seekMs: number;
}

interface SizeResult {
  mib: number;
  bytes: number;
  plain: { unthrottled: Timing; throttled: Timing };
  app: { unthrottled: Timing; throttled: Timing; memory: { before: Memory; peak: Memory }; msToVerified: number; marks: { unthrottled: [string, number][]; throttled: [string, number][] } };
}

/** One noisy 8 s clip at a high bit rate, looped (stream copy) to `bytes`, movie header first. */
function makeVideo(dir: string, bytes: number): string {
  const clip = join(dir, "clip.mp4");
  try {
    statSync(clip);
  } catch {
    const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=8:size=640x360:rate=25,noise=alls=40:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "24M", "-maxrate", "24M", "-bufsize", "48M", "-g", "25", clip], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${made.stderr}`);
  }
  const loops = Math.max(0, Math.ceil(bytes / statSync(clip).size) - 1);
  const out = join(dir, `video-${Math.round(bytes / MiB)}MiB.mp4`);
  const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-stream_loop", String(loops), "-i", clip, "-c", "copy", "-fs", String(bytes), "-movflags", "+faststart", out], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`ffmpeg failed: ${made.stderr}`);
  return out;
}

/** The baseline: the file served plain with Range support (206, Content-Range), and a page with a <video>. */
async function plainServer(files: Map<string, string>): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname === "/") {
      response.writeHead(200, { "Content-Type": "text/html" });
      return response.end(`<!doctype html><meta charset="utf-8"><title>plain</title><video id="v" muted playsinline controls></video>`);
    }
    const path = files.get(url.pathname);
    if (!path) return response.writeHead(404).end();
    const size = statSync(path).size;
    const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.range ?? "");
    if (!range) {
      response.writeHead(200, { "Content-Type": "video/mp4", "Content-Length": size, "Accept-Ranges": "bytes" });
      return void createReadStream(path).pipe(response);
    }
    const start = range[1] === "" ? size - Number(range[2]) : Number(range[1]);
    const end = range[1] !== "" && range[2] !== "" ? Math.min(Number(range[2]), size - 1) : size - 1;
    response.writeHead(206, { "Content-Type": "video/mp4", "Content-Length": end - start + 1, "Content-Range": `bytes ${start}-${end}/${size}`, "Accept-Ranges": "bytes" });
    createReadStream(path, { start, end }).pipe(response);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { server, url: `http://localhost:${(server.address() as AddressInfo).port}` };
}

/** In the page: waits for a <video>, plays it muted, resolves with the time of its first presented frame (performance.now()). */
const FIRST_FRAME = () =>
  new Promise<number>((resolve) => {
    const start = (video: HTMLVideoElement) => {
      performance.mark("bench:video-element");
      for (const name of ["loadstart", "loadedmetadata", "loadeddata", "canplay", "playing"]) video.addEventListener(name, () => performance.mark(`bench:${name}`), { once: true });
      video.muted = true;
      video.requestVideoFrameCallback(() => {
        performance.mark("bench:first-frame");
        resolve(performance.now());
      });
      void video.play().catch(() => undefined);
    };
    const found = document.querySelector("video");
    if (found) return start(found);
    const observer = new MutationObserver(() => {
      const video = document.querySelector("video");
      if (!video) return;
      observer.disconnect();
      start(video);
    });
    observer.observe(document.body, { childList: true, subtree: true });
  });

/** In the page: seeks the playing video to 90 % and resolves with ms to the first frame presented after it. */
const SEEK_90 = () =>
  new Promise<number>((resolve, reject) => {
    const video = document.querySelector("video");
    if (!video) return reject(new Error("no video"));
    const t0 = performance.now();
    performance.mark("bench:seek");
    video.addEventListener("seeked", () => {
      performance.mark("bench:seeked");
      video.requestVideoFrameCallback(() => {
        performance.mark("bench:seek-frame");
        resolve(performance.now() - t0);
      });
    }, { once: true });
    video.currentTime = video.duration * 0.9;
    void video.play().catch(() => undefined);
  });

/** In a page or worker: its `custody:` marks (the app's, web/src/evidence/marks.ts) and the bench's, in absolute ms. */
const TIMELINE = () =>
  performance
    .getEntriesByType("mark")
    .filter((m) => m.name.startsWith("custody:") || m.name.startsWith("bench:"))
    .map((m) => [m.name.replace(/^custody:/, ""), performance.timeOrigin + m.startTime] as [string, number]);

/** Where the time went: every mark of the page, its workers and the service worker from `from` to `to` (absolute ms), as ms after `from`. */
async function breakdown(page: Page, context: BrowserContext, from: number, to: number): Promise<[string, number][]> {
  const timelines = await Promise.all([page.evaluate(TIMELINE), ...page.workers().map((w) => w.evaluate(TIMELINE).catch(() => [])), ...context.serviceWorkers().map((w) => w.evaluate(TIMELINE).catch(() => []))]);
  return timelines
    .flat()
    .filter(([, at]) => at >= from - 1 && at <= to + 1)
    .sort((a, b) => a[1] - b[1])
    .map(([name, at]) => [name, Math.round(at - from)] as [string, number]);
}

function printBreakdown(label: string, marks: [string, number][]): void {
  console.log(`    ${label}: ${marks.map(([name, ms]) => `${name} ${ms}`).join(" · ")}`);
}

async function throttle(cdp: CDPSession, on: boolean): Promise<void> {
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", on ? THROTTLED : UNTHROTTLED);
}

export async function runPlayback(options: PlaybackOptions = {}): Promise<number> {
  const started = Date.now();
  const loadAtStart = loadavg();
  const sizes = (options.sizes ?? FULL_SIZES_MIB).map((mib) => (options.quick ? mib / 8 : mib));
  const { CustodyServer } = await import("../e2e/harness.ts");
  const flows = await import("../e2e/flows.ts");

  const built = spawnSync(join(root, "node_modules/.bin/vite"), ["build", "--logLevel", "warn"], { cwd: root, stdio: "inherit" });
  if (built.status !== 0) throw new Error("vite build failed");
  const work = await mkdtemp(join(tmpdir(), "custody-bench-playback-"));
  const profile = await mkdtemp(join(tmpdir(), "custody-bench-playback-profile-"));
  const server = await CustodyServer.start();
  let context: BrowserContext | undefined;
  let plain: { server: Server; url: string } | undefined;
  try {
    const files = new Map<string, string>();
    const videos = sizes.map((mib) => {
      console.log(`ffmpeg: a ${mib} MiB MP4…`);
      const path = makeVideo(work, mib * MiB);
      files.set(`/video-${mib}.mp4`, path);
      return { mib, path, bytes: statSync(path).size, name: path.split("/").at(-1)! };
    });
    plain = await plainServer(files);

    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, baseURL: server.url });
    const page: Page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(GUARD_MS);
    console.log(`Server ${server.url}; setting up through the UI and uploading ${videos.map((v) => `${v.mib} MiB`).join(", ")}…`);
    await flows.setUpThroughUi(page);
    await flows.createKeys(page, flows.ADMIN.keyPassphrase);
    await flows.expectSignedIn(page);
    await flows.createCase(page, { number: "BENCH-P", title: "Playback bench" });
    const caseUrl = page.url();
    for (const video of videos) {
      await page.getByLabel("Add photos, videos or documents").setInputFiles(video.path);
      await flows.visible(page.getByRole("link", { name: new RegExp(`^Open ${video.name.replaceAll(".", "\\.")}`) }), GUARD_MS);
    }
    if (!(await page.evaluate(() => !!navigator.serviceWorker.controller))) throw new Error("the service worker does not control the page: streaming cannot be measured");

    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    const probe = new Probe(cdp, profile, { sampleEveryMs: 100, refreshEveryMs: 2_000 });
    await probe.init();
    const { product } = await cdp.send("Browser.getVersion");

    const plainRun = async (mib: number, throttled: boolean): Promise<Timing> => {
      await page.goto("about:blank");
      await throttle(cdp, throttled);
      await page.goto(`${plain!.url}/`);
      const frameAt = await page.evaluate(async (src) => {
        const video = document.querySelector("video")!;
        const t0 = performance.now();
        const frame = new Promise<number>((resolve) => video.requestVideoFrameCallback(() => resolve(performance.now())));
        video.src = src;
        void video.play().catch(() => undefined);
        return (await frame) - t0;
      }, `/video-${mib}.mp4`);
      const seekMs = await page.evaluate(SEEK_90);
      return { firstFrameMs: frameAt, seekMs };
    };

    const appRun = async (video: (typeof videos)[number], throttled: boolean, measureMemory: boolean) => {
      await page.goto(caseUrl);
      const link = page.getByRole("link", { name: new RegExp(`^Open ${video.name.replaceAll(".", "\\.")}`) });
      await flows.visible(link, 60_000);
      await throttle(cdp, throttled);
      if (measureMemory) await probe.gc();
      const run = async () => {
        const t0Node = Date.now();
        const frame = page.evaluate(FIRST_FRAME);
        const clickedAt = await link.evaluate((a: HTMLAnchorElement) => {
          const at = performance.now();
          a.click();
          return [at, performance.timeOrigin + at] as const;
        });
        const firstFrameMs = (await frame) - clickedAt[0];
        const seekMs = await page.evaluate(SEEK_90);
        const marks = await breakdown(page, context!, clickedAt[1], clickedAt[1] + firstFrameMs + 60_000);
        printBreakdown(`app ${throttled ? "40 Mbit/s" : "localhost"}, ms after the click`, marks);
        let msToVerified = 0;
        if (measureMemory) {
          await page.getByRole("region", { name: "Verified" }).waitFor({ timeout: GUARD_MS });
          msToVerified = Date.now() - t0Node;
        }
        return { firstFrameMs, seekMs, msToVerified, marks };
      };
      if (!measureMemory) return { ...(await run()), memory: undefined };
      const sampled = await probe.during(run);
      return { ...sampled.result, memory: { before: sampled.before, peak: sampled.peak } };
    };

    const results: SizeResult[] = [];
    for (const video of videos) {
      console.log(`${video.mib} MiB: plain and app, unthrottled then 40 Mbit/s…`);
      const plainFast = await plainRun(video.mib, false);
      const appFast = await appRun(video, false, true);
      const plainSlow = await plainRun(video.mib, true);
      const appSlow = await appRun(video, true, false);
      await throttle(cdp, false);
      results.push({
        mib: video.mib,
        bytes: video.bytes,
        plain: { unthrottled: plainFast, throttled: plainSlow },
        app: { unthrottled: { firstFrameMs: appFast.firstFrameMs, seekMs: appFast.seekMs }, throttled: { firstFrameMs: appSlow.firstFrameMs, seekMs: appSlow.seekMs }, memory: appFast.memory!, msToVerified: appFast.msToVerified, marks: { unthrottled: appFast.marks, throttled: appSlow.marks } },
      });
      const r = results.at(-1)!;
      console.log(`    first frame ${r.app.unthrottled.firstFrameMs.toFixed(0)} ms (plain ${r.plain.unthrottled.firstFrameMs.toFixed(0)}), seek ${r.app.unthrottled.seekMs.toFixed(0)} ms (plain ${r.plain.unthrottled.seekMs.toFixed(0)}); at 40 Mbit/s ${r.app.throttled.firstFrameMs.toFixed(0)} / ${r.plain.throttled.firstFrameMs.toFixed(0)} ms, seek ${r.app.throttled.seekMs.toFixed(0)} / ${r.plain.throttled.seekMs.toFixed(0)} ms`);
    }

    const ms = (v: number) => `${v.toFixed(0)} ms`.padStart(10);
    const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`.padStart(8);
    const lines = [
      "",
      `Playback: the app (streamed through its service worker, each part checked before it plays) vs the same MP4 served plain with Range support by a local server; ${product}, same browser, same run`,
      `  ${"size".padEnd(10)}${"link".padEnd(12)}${"first frame: app".padStart(18)}${"plain".padStart(10)}${"ratio".padStart(8)}${"seek 90 %: app".padStart(16)}${"plain".padStart(10)}${"ratio".padStart(8)}`,
      ...results.flatMap((r) =>
        (["unthrottled", "throttled"] as const).map(
          (link) =>
            `  ${`${r.mib} MiB`.padEnd(10)}${(link === "throttled" ? "40 Mbit/s" : "localhost").padEnd(12)}${ms(r.app[link].firstFrameMs).padStart(18)}${ms(r.plain[link].firstFrameMs)}${x(r.app[link].firstFrameMs, r.plain[link].firstFrameMs)}${ms(r.app[link].seekMs).padStart(16)}${ms(r.plain[link].seekMs)}${x(r.app[link].seekMs, r.plain[link].seekMs)}`,
        ),
      ),
      "",
      `  Peak memory in the app, from the click until "Verified" (the whole file checked), unthrottled:`,
      `  ${"".padEnd(34)}${results.map((r) => `${r.mib} MiB`.padStart(12)).join("")}${results.length > 1 ? "ratio last/first".padStart(18) : ""}`,
      ...(["rendererRss", "allRss", "arrayBuffers"] as const).map((k) => {
        const label = { rendererRss: "renderer RSS (page + workers)", allRss: "all Chromium processes RSS", arrayBuffers: "page ArrayBuffers" }[k];
        const values = results.map((r) => r.app.memory.peak[k]);
        return `  ${label.padEnd(34)}${values.map((v) => fmtMiB(v).padStart(12)).join("")}${results.length > 1 ? `${(values.at(-1)! / values[0]!).toFixed(2)}×`.padStart(18) : ""}`;
      }),
      `  ${"click → Verified".padEnd(34)}${results.map((r) => `${(r.app.msToVerified / 1000).toFixed(1)} s`.padStart(12)).join("")}`,
      "",
      `  Machine: ${cpus().length} cores, load average ${loadAtStart.map((l) => l.toFixed(2)).join(" ")} at the start, ${loadavg().map((l) => l.toFixed(2)).join(" ")} at the end (shared with other work: read the ratios, not the times).`,
    ];
    console.log(lines.join("\n"));
    await mkdir(join(root, "bench-results"), { recursive: true });
    const out = options.quick ? "bench-results/playback-quick.json" : "bench-results/playback.json";
    await writeFile(join(root, out), JSON.stringify({ at: new Date().toISOString(), browser: product, cores: cpus().length, loadAtStart, loadAtEnd: loadavg(), results }, null, 2) + "\n");
    console.log(`Wrote ${out}.`);
  } finally {
    await context?.close().catch(() => undefined);
    plain?.server.close();
    await server.dispose();
    if (!options.keep) await Promise.all([work, profile].map((dir) => rm(dir, { recursive: true, force: true })));
  }
  return (Date.now() - started) / 1000;
}

/**
 * `npm run bench -- --only detection` (issue 22): how long one pass of the face finder takes
 * (web/src/redaction/detect.ts, its Worker, the Tiny Face Detector of @vladmandic/face-api) on
 * TensorFlow.js's WebAssembly backend, against its plain JavaScript ("cpu") backend measured in
 * the same run, in headless Debian Chromium without a GPU (as the tests run it, and as a phone or
 * laptop without usable WebGL does).
 *
 * Builds tests/bench/detection-page with Vite, serves it on 127.0.0.1, and times `findFaces` on
 * each sample photo face-api ships with its demo (node_modules/@vladmandic/face-api/demo/*.jpg,
 * 1920 pixels across, scaled to 960 as an editor shows a photo), at the photo input size (608)
 * and at a video pass's 416, the whole picture only (`parts: false`: one run of the network; at
 * 608 a 960-pixel photo is not searched in parts anyway), ROUNDS times. Each backend has its own
 * page (so its own Worker, never switching backends), and the two take turns photo by photo, so
 * load on the machine falls on both alike; medians of all passes. A pass is the whole call: the
 * picture copied to the Worker, scaled, run through the network, the boxes merged. Start-up (the
 * page's first pass: a new Worker, the model, and for wasm the WebAssembly compiled) is timed
 * apart.
 * Writes bench-results/detection.json. Figures only: a run fails only when a backend other than
 * the one asked for answers, or when the two backends find a different number of faces.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Page } from "playwright-core";
import { buildPage, serve } from "./crypto.ts";
import { CHROMIUM, CHROMIUM_ARGS } from "./probe.ts";

const root = resolve(import.meta.dirname, "../..");
const ROUNDS = 3;
const BACKENDS = ["cpu", "wasm"] as const;
const SIZES = [608, 416] as const;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Backend = (typeof BACKENDS)[number];
interface Pass {
  ms: number;
  faces: number;
  backend: string;
}

/** Runs the face detection bench; returns its duration in seconds. */
export async function runDetection(): Promise<number> {
  const started = Date.now();
  const loadAtStart = loadavg();
  const outDir = await mkdtemp(join(tmpdir(), "custody-bench-detection-"));
  await buildPage(outDir, "detection-page");
  const { server, url } = await serve(outDir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    type BenchApi = { prepare(): Promise<number>; pass(i: number, b: Backend, s: number): Promise<Pass> };
    const pages = {} as Record<Backend, Page>;
    let photos = 0;
    for (const backend of BACKENDS) {
      const page = (pages[backend] = await browser.newPage());
      page.on("pageerror", (e) => console.error("page error:", e));
      await page.goto(url);
      await page.waitForFunction(() => document.title === "bench ready");
      photos = await page.evaluate(() => (window as unknown as { bench: BenchApi }).bench.prepare());
    }
    if (photos === 0) throw new Error("no sample photos in node_modules/@vladmandic/face-api/demo");
    const pass = async (index: number, backend: Backend, size: number): Promise<Pass> => {
      // The page whose turn it is in front, so Chromium never runs it as a background tab.
      await pages[backend].bringToFront();
      const result = await pages[backend].evaluate(({ i, b, s }) => (window as unknown as { bench: BenchApi }).bench.pass(i, b, s), { i: index, b: backend, s: size });
      if (result.backend !== backend) throw new Error(`asked for the ${backend} backend, ${result.backend} answered`);
      return result;
    };

    // Start-up: each page's first pass (a new Worker: the model, the backend, the WebAssembly compiled); then each size once, untimed.
    const startup: Record<string, number> = {};
    for (const backend of BACKENDS) {
      startup[backend] = (await pass(0, backend, 608)).ms;
      await pass(0, backend, 416);
    }
    const runs: Record<string, number[]> = {};
    const faces: Record<string, number[]> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const size of SIZES) {
        for (let i = 0; i < photos; i++) {
          for (const backend of BACKENDS) {
            const result = await pass(i, backend, size);
            (runs[`${backend}@${size}`] ??= []).push(result.ms);
            if (round === 1) (faces[`${backend}@${size}`] ??= []).push(result.faces);
          }
        }
      }
      console.log(`  round ${round} of ${ROUNDS} done`);
    }
    for (const size of SIZES) {
      const [cpu, wasm] = [faces[`cpu@${size}`]!, faces[`wasm@${size}`]!];
      if (cpu.join() !== wasm.join()) throw new Error(`at ${size} the backends found different numbers of faces: cpu ${cpu.join(", ")}, wasm ${wasm.join(", ")}`);
    }
    const ms = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)])) as Record<string, number>;
    const { product } = await (await pages.cpu.context().newCDPSession(pages.cpu)).send("Browser.getVersion");
    const f = (v: number) => `${v.toFixed(0)} ms`.padStart(9);
    const lines = [
      `${product}, ${cpus().length} CPUs, load ${loadAtStart.map((l) => l.toFixed(1)).join(" ")} at the start. ${photos} photos 960 px wide × ${ROUNDS} rounds; median ms per pass.`,
      `  input size   cpu (plain JS)   wasm (SIMD)   cpu ÷ wasm`,
      ...SIZES.map((size) => `  ${String(size).padEnd(11)}${f(ms[`cpu@${size}`]!).padStart(17)}${f(ms[`wasm@${size}`]!).padStart(14)}${`${(ms[`cpu@${size}`]! / ms[`wasm@${size}`]!).toFixed(1)}×`.padStart(13)}`),
      `  wasm 416 against cpu 608 (the old default): ${(ms["cpu@608"]! / ms["wasm@416"]!).toFixed(1)}× faster`,
      `  start-up (a new Worker's first pass at 608): cpu ${startup["cpu"]!.toFixed(0)} ms, wasm ${startup["wasm"]!.toFixed(0)} ms`,
      `  faces found per photo: ${SIZES.map((size) => `${size}: ${faces[`wasm@${size}`]!.join(" ")}`).join("; ")} (the same on both backends)`,
    ];
    console.log(lines.join("\n"));
    await mkdir(join(root, "bench-results"), { recursive: true });
    await writeFile(
      join(root, "bench-results/detection.json"),
      JSON.stringify(
        {
          date: new Date().toISOString(),
          environment: { browser: product, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAverageAtStart: loadAtStart },
          baseline: "TensorFlow.js cpu backend (plain JavaScript), same page, Worker and run",
          photos: { count: photos, width: 960, source: "@vladmandic/face-api demo/*.jpg" },
          rounds: ROUNDS,
          medianMsPerPass: ms,
          msPerPass: runs,
          cpuOverWasm: Object.fromEntries(SIZES.map((size) => [size, ms[`cpu@${size}`]! / ms[`wasm@${size}`]!])),
          startupMs: startup,
          facesPerPhoto: faces,
        },
        null,
        2,
      ) + "\n",
    );
  } finally {
    await browser.close();
    server.close();
    await rm(outDir, { recursive: true, force: true });
  }
  return (Date.now() - started) / 1000;
}

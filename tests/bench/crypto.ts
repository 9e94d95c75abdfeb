/**
 * `npm run bench`, crypto section: speed and memory of the evidence crypto pipeline in Debian's Chromium.
 *
 * Builds tests/bench/page with Vite into a temp dir, serves it on 127.0.0.1, opens it in
 * headless Chromium (playwright-core, a fresh temp profile). The input is generated in the page:
 * random 1 MiB chunks written to a file in the origin private file system, whose File (a
 * disk-backed Blob, like a file the user picks) is what gets read. All in the same page and run:
 *  (a) throughput on a 256 MiB input: encryptBlob (read, AES-256-GCM, per-part SHA-512,
 *      whole-file SHA-512) with the hash-wasm hasher and with the pure-TS hasher, as ratios to
 *      raw WebCrypto AES-256-GCM and SHA-512 over the same 1 MiB chunks;
 *  (b) peak memory while encryptBlob runs over a 256 MiB and a 1 GiB input, sampled from outside
 *      the page: JS heap (CDP Performance.getMetrics JSHeapUsedSize), ArrayBuffer backing stores
 *      (CDP Runtime.getHeapUsage), and resident memory of the renderer and browser processes (/proc).
 * Prints a table and writes bench-results/crypto.json. Figures only: nothing here passes or fails on time.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { cpus, tmpdir } from "node:os";
import { extname, join, resolve, sep } from "node:path";
import { chromium } from "playwright-core";
import { build } from "vite";
import { CHROMIUM, CHROMIUM_ARGS, MiB, ZERO, Probe, fmtMiB, type Memory } from "./probe.ts";

const root = resolve(import.meta.dirname, "../..");
const THROUGHPUT_BYTES = 256 * MiB;
const MEMORY_SIZES = [256 * MiB, 1024 * MiB];
const ROUNDS = 3;
const SAMPLE_EVERY_MS = 50;

interface Timing {
  bytes: number;
  ms: number;
  sha512?: string;
}
type Kind = "wasm" | "ts";
/** What the page exposes as window.bench (tests/bench/page/main.ts). */
interface BenchPage {
  generate(bytes: number): Promise<number>;
  free(): Promise<void>;
  readOnly(): Promise<Timing>;
  aesGcm(): Promise<Timing>;
  webcryptoSha512(): Promise<Timing>;
  streamingHash(kind: Kind): Promise<Timing>;
  pipeline(kind: Kind): Promise<Timing>;
}

// ---------- build and serve the page ----------

/** Builds a bench page (`tests/bench/<page>/index.html` and what it imports) into `outDir`, for `serve`. */
export async function buildPage(outDir: string, page = "page"): Promise<void> {
  await build({
    root: join(root, "tests/bench", page),
    base: "./",
    configFile: false,
    logLevel: "warn",
    build: { outDir, emptyOutDir: true, target: "es2023", reportCompressedSize: false },
  });
}

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };

export function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = resolve(dir, "." + (path.endsWith("/") ? path + "index.html" : path));
    if (!file.startsWith(dir + sep)) return void res.writeHead(403).end();
    readFile(file).then(
      (body) => res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  return new Promise((done) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      done({ server, url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/` });
    }),
  );
}

// ---------- the run ----------

const mibs = (t: Timing) => t.bytes / MiB / (t.ms / 1000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface MemoryRun {
  inputBytes: number;
  generation: { before: Memory; peak: Memory; samples: number };
  pipeline: { before: Memory; peak: Memory; samples: number; ms: number; mibPerSecond: number };
}

/** Runs the crypto bench; returns its duration in seconds. */
export async function runCrypto(): Promise<number> {
  const started = Date.now();
  const outDir = await mkdtemp(join(tmpdir(), "custody-bench-"));
  // A real (non-incognito) profile, so the origin private file system is on disk as for a user.
  const profile = await mkdtemp(join(tmpdir(), "custody-bench-profile-"));
  await buildPage(outDir);
  const { server, url } = await serve(outDir);
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (e) => console.error("page error:", e));
    await page.goto(url);
    await page.waitForFunction(() => document.title === "bench ready");
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    const { product } = await cdp.send("Browser.getVersion");
    const probe = new Probe(cdp, profile, { sampleEveryMs: SAMPLE_EVERY_MS });
    await probe.init();
    const call = <K extends keyof BenchPage>(name: K, ...args: Parameters<BenchPage[K]>) =>
      page.evaluate(
        ({ n, a }) => ((window as unknown as Record<"bench", Record<string, (...x: unknown[]) => unknown>>).bench[n]!)(...a),
        { n: name as string, a: args as unknown[] },
      ) as ReturnType<BenchPage[K]>;

    // (a) throughput on 256 MiB: ROUNDS rounds, the measures interleaved; medians.
    console.log(`${product}, ${cpus().length} CPUs. Writing ${fmtMiB(THROUGHPUT_BYTES)} of random input in the page…`);
    await call("generate", THROUGHPUT_BYTES);
    const runs: Record<string, Timing[]> = {};
    const measures: [string, () => Promise<Timing>][] = [
      ["read", () => call("readOnly")],
      ["aesGcm", () => call("aesGcm")],
      ["sha512", () => call("webcryptoSha512")],
      ["hashWasm", () => call("streamingHash", "wasm")],
      ["hashTs", () => call("streamingHash", "ts")],
      ["pipelineWasm", () => call("pipeline", "wasm")],
      ["pipelineTs", () => call("pipeline", "ts")],
    ];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, run] of measures) (runs[name] ??= []).push(await run());
      console.log(`  throughput round ${round}/${ROUNDS} done`);
    }
    // Not a timing check: every whole-input SHA-512 (both hashers, alone and inside encryptBlob) must agree.
    const digests = new Set(Object.values(runs).flat().flatMap((t) => (t.sha512 ? [t.sha512] : [])));
    if (digests.size !== 1) throw new Error(`the hashers disagree on the same input: ${[...digests].join(", ")}`);
    const speed = Object.fromEntries(Object.entries(runs).map(([k, ts]) => [k, median(ts.map(mibs))])) as Record<string, number>;

    // (b) memory: the same pipeline (hash-wasm hasher) over 256 MiB and 1 GiB.
    const memory: MemoryRun[] = [];
    for (const size of MEMORY_SIZES) {
      await call("free");
      await probe.gc();
      console.log(`Memory: writing ${fmtMiB(size)} of random input…`);
      const gen = await probe.during(() => call("generate", size));
      await probe.gc();
      console.log(`Memory: encryptBlob over ${fmtMiB(size)}…`);
      const run = await probe.during(() => call("pipeline", "wasm"));
      memory.push({
        inputBytes: size,
        generation: { before: gen.before, peak: gen.peak, samples: gen.samples },
        pipeline: { before: run.before, peak: run.peak, samples: run.samples, ms: run.result.ms, mibPerSecond: mibs(run.result) },
      });
    }
    await call("free");
    const [small, large] = memory as [MemoryRun, MemoryRun];

    // ---------- report ----------
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    const row = (label: string, v: number, extra = "") => `  ${label.padEnd(46)}${v.toFixed(0).padStart(7)} MiB/s${extra}`;
    const memRow = (label: string, a: number, b: number, withRatio = true) =>
      `  ${label.padEnd(46)}${fmtMiB(a).padStart(12)}${fmtMiB(b).padStart(12)}${withRatio ? ratio(b, a).padStart(8) : ""}`;
    const lines = [
      "",
      `(a) Throughput on a ${fmtMiB(THROUGHPUT_BYTES)} file, same page, median of ${ROUNDS}`,
      row("Blob.slice().arrayBuffer(), 1 MiB reads", speed["read"]!),
      row("WebCrypto AES-256-GCM encrypt, 1 MiB chunks", speed["aesGcm"]!),
      row("WebCrypto SHA-512 digest, 1 MiB chunks", speed["sha512"]!),
      row("hash-wasm SHA-512, streaming", speed["hashWasm"]!),
      row("pure-TS SHA-512, streaming", speed["hashTs"]!),
      row("encryptBlob + hash-wasm hasher, all parts", speed["pipelineWasm"]!,
        `  = ${ratio(speed["pipelineWasm"]!, speed["aesGcm"]!)}× AES-GCM, ${ratio(speed["pipelineWasm"]!, speed["sha512"]!)}× SHA-512`),
      row("encryptBlob + pure-TS hasher, all parts", speed["pipelineTs"]!,
        `  = ${ratio(speed["pipelineTs"]!, speed["aesGcm"]!)}× AES-GCM, ${ratio(speed["pipelineTs"]!, speed["sha512"]!)}× SHA-512`),
      "",
      `(b) Peak memory during encryptBlob (hash-wasm), sampled every ${SAMPLE_EVERY_MS} ms (${small.pipeline.samples} and ${large.pipeline.samples} samples)`,
      `  ${"".padEnd(46)}${"256 MiB".padStart(12)}${"1 GiB".padStart(12)}${"ratio".padStart(8)}`,
      memRow("JS heap used (CDP JSHeapUsedSize)", small.pipeline.peak.jsHeapUsed, large.pipeline.peak.jsHeapUsed),
      memRow("ArrayBuffer backing stores (CDP getHeapUsage)", small.pipeline.peak.arrayBuffers, large.pipeline.peak.arrayBuffers),
      memRow("renderer process(es) RSS", small.pipeline.peak.rendererRss, large.pipeline.peak.rendererRss),
      memRow("browser process RSS", small.pipeline.peak.browserRss, large.pipeline.peak.browserRss),
      memRow("writing the input: peak JS heap used", small.generation.peak.jsHeapUsed, large.generation.peak.jsHeapUsed, false),
      memRow("writing the input: peak ArrayBuffers", small.generation.peak.arrayBuffers, large.generation.peak.arrayBuffers, false),
      "",
      `Sampled processes: ${probe.processTypes()}. Done in ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    ];
    console.log(lines.join("\n"));

    const results = {
      date: new Date().toISOString(),
      environment: { browser: product, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model },
      input: "random 1 MiB chunks written to a file in the origin private file system; its File (a disk-backed Blob) is the input",
      throughput: {
        inputBytes: THROUGHPUT_BYTES,
        rounds: ROUNDS,
        medianMiBPerSecond: speed,
        ratios: {
          pipelineWasmToAesGcm: speed["pipelineWasm"]! / speed["aesGcm"]!,
          pipelineWasmToSha512: speed["pipelineWasm"]! / speed["sha512"]!,
          pipelineTsToAesGcm: speed["pipelineTs"]! / speed["aesGcm"]!,
          pipelineTsToSha512: speed["pipelineTs"]! / speed["sha512"]!,
          pipelineWasmToPipelineTs: speed["pipelineWasm"]! / speed["pipelineTs"]!,
        },
        runs,
      },
      memory: {
        sampleEveryMs: SAMPLE_EVERY_MS,
        runs: memory,
        peakRatio1GiBTo256MiB: Object.fromEntries(
          (Object.keys(ZERO) as (keyof Memory)[]).map((k) => [k, large.pipeline.peak[k] / small.pipeline.peak[k]]),
        ),
      },
    };
    await mkdir(join(root, "bench-results"), { recursive: true });
    await writeFile(join(root, "bench-results/crypto.json"), JSON.stringify(results, null, 2) + "\n");
    console.log("Wrote bench-results/crypto.json");
    return (Date.now() - started) / 1000;
  } finally {
    await context.close();
    server.close();
    await rm(outDir, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  }
}


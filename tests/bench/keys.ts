/**
 * `npm run bench -- --only keys`: what the key bundle's Argon2id seal costs, against the PBKDF2
 * seal it replaces, in Debian's Chromium on this machine, as ratios measured in the same run.
 *
 * Builds tests/bench/keys-page with Vite, serves it on 127.0.0.1, opens it in headless Chromium
 * and measures, ROUNDS times interleaved (medians): PBKDF2-HMAC-SHA512 at 210,000 rounds
 * (WebCrypto: the version 1 derivation, the baseline); Argon2id at the current parameters (64 MiB,
 * t = 3, p = 1) and at OWASP's minimum (19 MiB, t = 2), in the page's thread and in the app's Web
 * Worker; opening a whole version 1 and version 2 bundle; and the longest gap between animation
 * frames while a version 2 bundle opens in the Worker (the page is not blocked). An attacker's
 * cost per guess grows with the memory too, which a time ratio does not show: Argon2id makes
 * each guess fill 64 MiB, where PBKDF2 needs a few hundred bytes.
 * Writes bench-results/keys.json. Figures only: nothing here passes or fails on time.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { ARGON2ID_FLOOR, ARGON2ID_PARAMS } from "../../shared/crypto/keys.ts";
import { buildPage, serve } from "./crypto.ts";
import { CHROMIUM, CHROMIUM_ARGS } from "./probe.ts";

const root = resolve(import.meta.dirname, "../..");
const ROUNDS = 7;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs the key bundle bench; returns its duration in seconds. */
export async function runKeys(): Promise<number> {
  const started = Date.now();
  const outDir = await mkdtemp(join(tmpdir(), "custody-bench-keys-"));
  await buildPage(outDir, "keys-page");
  const { server, url } = await serve(outDir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => console.error("page error:", e));
    await page.goto(url);
    await page.waitForFunction(() => document.title === "bench ready");
    const call = (name: string, ...args: unknown[]) =>
      page.evaluate(({ n, a }) => (window as unknown as { bench: Record<string, (...x: unknown[]) => Promise<number>> }).bench[n]!(...a), { n: name, a: args });
    await call("prepare");
    const measures: [string, () => Promise<number>][] = [
      ["pbkdf2", () => call("pbkdf2")],
      ["argon2Thread", () => call("argon2InThread", "current")],
      ["argon2Worker", () => call("argon2InWorker", "current")],
      ["argon2FloorThread", () => call("argon2InThread", "floor")],
      ["openV1", () => call("openV1")],
      ["openV2", () => call("openV2")],
      ["frameGap", () => call("longestFrameGapDuringOpen")],
    ];
    const runs: Record<string, number[]> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, run] of measures) (runs[name] ??= []).push(await run());
    }
    const ms = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)])) as Record<string, number>;
    const base = ms["pbkdf2"]!;
    const ratio = (v: number) => `${(v / base).toFixed(2)}×`;
    const { product } = await (await page.context().newCDPSession(page)).send("Browser.getVersion");
    const a = ARGON2ID_PARAMS;
    const f = ARGON2ID_FLOOR;
    const lines = [
      `${product}, ${cpus().length} CPUs. Median of ${ROUNDS}; ratios against PBKDF2-HMAC-SHA512 × 210,000 (version 1) measured in the same run.`,
      `  Argon2id m=${a.m / 1024} MiB t=${a.t} p=${a.p} (version 2), in the page's thread`.padEnd(70) + ratio(ms["argon2Thread"]!),
      `  Argon2id, same, in the app's Web Worker (incl. start-up)`.padEnd(70) + ratio(ms["argon2Worker"]!),
      `  Argon2id m=${(f.m / 1024).toFixed(0)} MiB t=${f.t} p=${f.p} (OWASP minimum, the floor)`.padEnd(70) + ratio(ms["argon2FloorThread"]!),
      `  open a whole version 1 bundle (PBES2)`.padEnd(70) + ratio(ms["openV1"]!),
      `  open a whole version 2 bundle (Argon2id in the Worker)`.padEnd(70) + ratio(ms["openV2"]!),
      `  longest gap between frames while a version 2 bundle opens`.padEnd(70) + ratio(ms["frameGap"]!),
      `  memory per guess: Argon2id ${a.m / 1024} MiB, PBKDF2 under 1 KiB.`,
    ];
    console.log(lines.join("\n"));
    await mkdir(join(root, "bench-results"), { recursive: true });
    await writeFile(
      join(root, "bench-results/keys.json"),
      JSON.stringify(
        {
          date: new Date().toISOString(),
          environment: { browser: product, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model },
          baseline: "PBKDF2-HMAC-SHA512, 210,000 rounds, WebCrypto, same page and run",
          argon2id: { current: ARGON2ID_PARAMS, floor: ARGON2ID_FLOOR },
          rounds: ROUNDS,
          ratiosToBaseline: Object.fromEntries(Object.entries(ms).filter(([k]) => k !== "pbkdf2").map(([k, v]) => [k, v / base])),
          medianMs: ms,
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

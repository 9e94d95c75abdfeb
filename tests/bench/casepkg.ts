/**
 * `npm run bench`, case package section: memory stays flat however large the package. Builds a
 * small case package (3 items of 32 MiB) and a 5 GiB one (5 items of 1 GiB) with the shared
 * builder the browser's worker runs (shared/disclosure/case-package.ts), each in a fresh Node
 * process (casepkg-child.ts) streaming to a file on disk, sampling its memory every 20 ms; then
 * checks both packages with `npm run verify` (the large one has entries past 4 GiB: ZIP64
 * offsets). Prints peak memory of the large run as a ratio to the small one's, and writes
 * bench-results/casepkg.json. Figures only: the section fails only if a package does not verify.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const node = process.execPath;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const RUNS = [
  { name: "small", items: 3, size: 32 * MiB },
  { name: "5 GiB", items: 5, size: GiB },
];

interface ChildResult {
  items: number;
  size: number;
  written: number;
  ms: number;
  before: { rss: number; heapUsed: number; arrayBuffers: number; external: number };
  peak: { rss: number; heapUsed: number; arrayBuffers: number; external: number };
  maxRssKiB: number;
}

const fmt = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

export async function runCasePackage(): Promise<number> {
  const started = Date.now();
  const work = await mkdtemp(join(tmpdir(), "custody-bench-casepkg-"));
  try {
    const results: (ChildResult & { name: string; verifyMs: number })[] = [];
    for (const run of RUNS) {
      const out = join(work, `${run.name.replace(/\W+/g, "-")}.zip`);
      console.log(`building the ${run.name} case package (${run.items} × ${fmt(run.size)})…`);
      const child = spawnSync(node, ["--expose-gc", join(root, "tests/bench/casepkg-child.ts"), String(run.items), String(run.size), out], { cwd: root, encoding: "utf8", maxBuffer: 16 * MiB });
      if (child.status !== 0) throw new Error(`case package build failed: ${child.stderr}`);
      const result = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as ChildResult;
      const verifyStarted = Date.now();
      const verify = spawnSync(node, [join(root, "scripts/verify.ts"), out], { cwd: root, encoding: "utf8", maxBuffer: 16 * MiB });
      if (verify.status !== 0) throw new Error(`the ${run.name} case package does not verify:\n${verify.stdout}\n${verify.stderr}`);
      results.push({ ...result, name: run.name, verifyMs: Date.now() - verifyStarted });
      await rm(out, { force: true });
    }
    const [small, large] = results as [(typeof results)[0], (typeof results)[0]];
    const row = (label: string, a: number, b: number) => `  ${label.padEnd(34)} ${fmt(a).padStart(12)} ${fmt(b).padStart(12)}   ×${(b / a).toFixed(2)}`;
    const lines = [
      "",
      `Case package: peak memory while building (Node ${process.versions.node}, fresh process each, sampled every 20 ms)`,
      `  ${"".padEnd(34)} ${`small`.padStart(12)} ${`5 GiB`.padStart(12)}   large/small`,
      `  ${"package size".padEnd(34)} ${fmt(small.written).padStart(12)} ${fmt(large.written).padStart(12)}   ×${(large.written / small.written).toFixed(1)}`,
      row("resident memory (RSS), peak", small.peak.rss, large.peak.rss),
      row("resident memory, max RSS (kernel)", small.maxRssKiB * 1024, large.maxRssKiB * 1024),
      row("JS heap used, peak", small.peak.heapUsed, large.peak.heapUsed),
      row("ArrayBuffers, peak", small.peak.arrayBuffers, large.peak.arrayBuffers),
      `  ${"build time".padEnd(34)} ${`${(small.ms / 1000).toFixed(1)} s`.padStart(12)} ${`${(large.ms / 1000).toFixed(1)} s`.padStart(12)}`,
      `  ${"npm run verify time".padEnd(34)} ${`${(small.verifyMs / 1000).toFixed(1)} s`.padStart(12)} ${`${(large.verifyMs / 1000).toFixed(1)} s`.padStart(12)}`,
      "Both packages pass npm run verify (the 5 GiB one with ZIP64 sizes and offsets past 4 GiB).",
    ];
    console.log(lines.join("\n"));
    await mkdir(join(root, "bench-results"), { recursive: true });
    await writeFile(join(root, "bench-results/casepkg.json"), `${JSON.stringify({ at: new Date().toISOString(), node: process.versions.node, runs: results }, null, 2)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return (Date.now() - started) / 1000;
}

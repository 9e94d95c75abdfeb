/**
 * Memory of Debian's Chromium, sampled from outside the page while something runs in it:
 * JS heap (CDP Performance.getMetrics JSHeapUsedSize), ArrayBuffer backing stores (CDP
 * Runtime.getHeapUsage), and resident memory of Chromium's processes (/proc/<pid>/status VmRSS),
 * found from the browser process that was given the profile's --user-data-dir. Shared by
 * crypto.ts and upload.ts.
 */
import { readdir, readFile } from "node:fs/promises";
import type { CDPSession } from "playwright-core";

export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
export const MiB = 1024 * 1024;
export const fmtMiB = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

export interface Memory {
  jsHeapUsed: number; // CDP Performance.getMetrics JSHeapUsedSize: the V8 heap of the page (not its workers)
  arrayBuffers: number; // CDP Runtime.getHeapUsage backingStorageSize: ArrayBuffer (and external string) memory, outside the V8 heap
  rendererRss: number; // VmRSS summed over renderer processes (the page, its workers)
  browserRss: number; // VmRSS of the browser process (Blob storage, file system backend, DevTools)
  utilityRss: number; // VmRSS summed over utility processes (network service, storage service, …)
  allRss: number; // VmRSS summed over every Chromium process of the profile
}
export const ZERO: Memory = { jsHeapUsed: 0, arrayBuffers: 0, rendererRss: 0, browserRss: 0, utilityRss: 0, allRss: 0 };
export const MEMORY_KEYS = Object.keys(ZERO) as (keyof Memory)[];

async function rssBytes(pid: number): Promise<number> {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // process gone
  }
}

/** Chromium's processes for a profile: the browser (the one given --user-data-dir and no --type) and its descendants, by type. */
async function chromiumProcesses(profile: string): Promise<{ type: string; id: number }[]> {
  const all: { id: number; ppid: number; cmdline: string }[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      all.push({ id: Number(name), ppid, cmdline: (await readFile(`/proc/${name}/cmdline`, "utf8")).replaceAll("\0", " ") });
    } catch {
      // exited meanwhile
    }
  }
  const root = all.find((p) => p.cmdline.includes(`--user-data-dir=${profile}`) && !p.cmdline.includes("--type="));
  if (!root) return [];
  const out: { type: string; id: number }[] = [];
  const visit = (pid: number) => {
    const p = all.find((q) => q.id === pid)!;
    out.push({ type: /--type=([\w-]+)/.exec(p.cmdline)?.[1] ?? "browser", id: pid });
    for (const child of all.filter((q) => q.ppid === pid)) visit(child.id);
  };
  visit(root.id);
  return out;
}

export class Probe {
  /**
   * `refreshEveryMs`: look for Chromium's processes again this often while sampling (a page that
   * navigates or starts workers may get new ones); 0 finds them once, in init().
   */
  constructor(page: CDPSession, profile: string, options: { sampleEveryMs: number; refreshEveryMs?: number }) {
    this.page = page;
    this.profile = profile;
    this.sampleEveryMs = options.sampleEveryMs;
    this.refreshEveryMs = options.refreshEveryMs ?? 0;
  }
  private readonly page: CDPSession;
  private readonly profile: string;
  readonly sampleEveryMs: number;
  private readonly refreshEveryMs: number;
  private procs: { type: string; id: number }[] = [];
  private foundAt = 0;

  /** Find the processes (renderers for this page exist by then). */
  async init(): Promise<void> {
    this.procs = await chromiumProcesses(this.profile);
    this.foundAt = Date.now();
    if (!this.procs.some((p) => p.type === "renderer")) throw new Error("found no Chromium renderer process to sample");
  }

  processTypes(): string {
    return [...new Set(this.procs.map((p) => p.type))].join(", ");
  }

  async read(): Promise<Memory> {
    if (this.refreshEveryMs > 0 && Date.now() - this.foundAt > this.refreshEveryMs) await this.init();
    const [metrics, heap] = await Promise.all([this.page.send("Performance.getMetrics"), this.page.send("Runtime.getHeapUsage")]);
    const rss = await Promise.all(this.procs.map(async (p) => ({ type: p.type, rss: await rssBytes(p.id) })));
    const sum = (type?: string) => rss.filter((p) => !type || p.type === type).reduce((n, p) => n + p.rss, 0);
    return {
      jsHeapUsed: metrics.metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0,
      arrayBuffers: heap.backingStorageSize,
      rendererRss: sum("renderer"),
      browserRss: sum("browser"),
      utilityRss: sum("utility"),
      allRss: sum(),
    };
  }

  async gc(): Promise<void> {
    await this.page.send("HeapProfiler.collectGarbage");
  }

  /** Run `work` while sampling every sampleEveryMs; returns its result, the memory before it, and the per-field peaks. */
  async during<T>(work: () => Promise<T>): Promise<{ result: T; before: Memory; peak: Memory; samples: number }> {
    const before = await this.read();
    const peak = { ...before };
    let running = true;
    let samples = 1;
    const loop = (async () => {
      while (running) {
        const m = await this.read().catch(() => undefined); // a sample may fail while the page navigates
        if (m) {
          samples++;
          for (const k of MEMORY_KEYS) peak[k] = Math.max(peak[k], m[k]);
        }
        await new Promise((r) => setTimeout(r, this.sampleEveryMs));
      }
    })();
    try {
      const result = await work();
      return { result, before, peak, samples };
    } finally {
      running = false;
      await loop;
    }
  }
}

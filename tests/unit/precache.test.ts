/**
 * The service worker's precache list, from a real production build (vite build into a temp
 * folder, with the project's own vite.config.ts): the whole app shell is in it, so the app opens
 * offline (index.html, every script and stylesheet the build emits, the web manifest, the
 * icons, the face finder's model and WebAssembly), every entry is a file the build wrote, nothing is listed twice, and the service worker
 * does not list itself (a worker that precaches itself can never be updated).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");

/** The `{ url, revision }` entries Workbox's injectManifest put into the built service worker. */
function precacheList(sw: string): { url: string; revision: string | null }[] {
  const entries = [...sw.matchAll(/\{"revision":(null|"[^"]*"),"url":"([^"]+)"\}|\{"url":"([^"]+)","revision":(null|"[^"]*")\}/g)];
  return entries.map((m) => ({ url: (m[2] ?? m[3])!, revision: JSON.parse((m[1] ?? m[4])!) as string | null }));
}

describe("the service worker's precache list (production build)", () => {
  let out: string;
  let files: string[];
  let list: { url: string; revision: string | null }[];

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), "custody-precache-"));
    await build({ configFile: resolve(root, "vite.config.ts"), logLevel: "silent", build: { outDir: out, emptyOutDir: true } });
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [relative(out, join(dir, name))]));
    files = walk(out);
    list = precacheList(readFileSync(join(out, "sw.js"), "utf8"));
  }, 120_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it("lists the app shell: index.html, the manifest, every script and stylesheet, the icons", () => {
    const urls = list.map((e) => e.url);
    expect(urls).toContain("index.html");
    expect(urls).toContain("manifest.webmanifest");
    const shell = files.filter((f) => /\.(js|css)$/.test(f) && f !== "sw.js");
    expect(shell.length).toBeGreaterThan(2);
    for (const file of shell) expect(urls, file).toContain(file);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.webmanifest"), "utf8")) as { icons: { src: string }[] };
    for (const icon of manifest.icons) expect(urls, icon.src).toContain(icon.src.replace(/^\//, ""));
    // index.html's own script and stylesheet are among them.
    const html = readFileSync(join(out, "index.html"), "utf8");
    for (const [, src] of html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)) expect(urls).toContain(src);
    // The face finder's model and TensorFlow.js's WebAssembly (plain and SIMD), so "Find faces" works offline.
    const finder = files.filter((f) => /\.(bin|wasm)$/.test(f));
    expect(finder.filter((f) => f.endsWith(".wasm"))).toHaveLength(2);
    expect(finder.filter((f) => f.endsWith(".bin"))).toHaveLength(1);
    for (const file of finder) expect(urls, file).toContain(file);
  });

  it("does not list the service worker itself, and lists only files the build wrote, once each", () => {
    const urls = list.map((e) => e.url);
    expect(urls.filter((u) => /(^|\/)sw\.(js|mjs)$/.test(u))).toEqual([]);
    for (const url of urls) expect(files, url).toContain(url);
    expect(new Set(urls).size).toBe(urls.length);
    // Unhashed files carry a revision, so an update replaces them; hashed assets need none.
    for (const entry of list) if (!/-[\w-]{8}\.\w+$/.test(entry.url)) expect(entry.revision, entry.url).toMatch(/^[0-9a-f]{32}$/);
  });
});
